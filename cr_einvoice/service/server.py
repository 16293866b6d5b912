"""Serving the application with uvicorn: in the foreground (``cr-einvoice serve``) or, for tests, benchmarks
and programs that embed it, in a background thread (:class:`BackgroundServer`)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from cr_einvoice.core.errors import ConfigError
from cr_einvoice.transport.listen import listening_socket

__all__ = ["BackgroundServer", "serve"]


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ConfigError("the service needs uvicorn: pip install 'cr-einvoice[server]'") from None
    return uvicorn


def _config(app: Any, **options: Any) -> Any:
    # No access log: a line per request adds nothing the service's own log lacks (and never a header). No
    # Server header: which server software answers is nobody's business.
    return _uvicorn().Config(
        app, access_log=False, log_level="warning", lifespan="on", server_header=False, **options
    )


def serve(app: Any, host: str, port: int, *, announce: Callable[[str], None] | None = None) -> int | None:
    """Serve ``app`` on ``host``:``port`` (0: a free port) until SIGINT or SIGTERM, then stop gracefully
    (the worker first). ``announce(url)`` is called once the socket is bound. Returns the stopping signal."""
    uvicorn = _uvicorn()
    stopped_by: list[int] = []

    class Server(uvicorn.Server):  # type: ignore[misc,name-defined]  # uvicorn has no type hints
        """uvicorn's server, remembering the stopping signal instead of raising it again on the way out."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def handle_exit(self, sig: int, frame: Any) -> None:
            stopped_by.append(sig)
            super().handle_exit(sig, frame)

    sock = listening_socket(host, port)
    shown = f"[{host}]" if ":" in host else host
    if announce is not None:
        announce(f"http://{shown}:{sock.getsockname()[1]}")
    try:
        Server(_config(app)).run(sockets=[sock])
    finally:
        sock.close()
    return stopped_by[0] if stopped_by else None


class BackgroundServer:
    """``app`` served by uvicorn on ``host`` (port 0: a free port) in a thread; :attr:`url` once started::

    with BackgroundServer(app) as server:
        httpx.get(server.url + "/healthz")
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, startup: float = 30.0) -> None:
        self._socket = listening_socket(host, port)
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        self._server = _uvicorn().Server(_config(app))
        self._server.install_signal_handlers = lambda: None  # uvicorn < 0.29 reads this attribute
        self._thread = threading.Thread(target=self._run, name="cr-einvoice-service", daemon=True)
        self._startup = startup
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # reported by __enter__ / __exit__
            self._error = exc

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + self._startup
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._socket.close()
                raise ConfigError(
                    f"the service did not start: {self._error or 'startup failed or timed out'}"
                )
            time.sleep(0.01)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()
