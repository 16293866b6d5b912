"""Listening sockets for the package's HTTP servers (the issuing service, the worker's callback receiver)."""

from __future__ import annotations

import socket

__all__ = ["listening_socket"]


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host``:``port`` (0: a free port) whose connections send at once.

    asyncio turns Nagle's algorithm off only on sockets created with ``IPPROTO_TCP``, and
    :func:`socket.create_server` gives protocol 0; with Nagle on, a response written in two parts waits for
    the client's delayed ACK -- about 40 ms on every keep-alive request. TCP_NODELAY set on the listening
    socket is inherited by the accepted ones.
    """
    sock = socket.create_server((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
