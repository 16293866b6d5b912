"""Serving the worker's callback receiver (:meth:`~cr_einvoice.outbox.worker.Worker.callback_app`) in the
running event loop, with uvicorn (the ``server`` extra)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from cr_einvoice.core.errors import ConfigError
from cr_einvoice.transport.listen import listening_socket

__all__ = ["CallbackServer"]


class CallbackServer:
    """Serves :meth:`Worker.callback_app` with uvicorn (the ``server`` extra) in the running event loop.

    The socket is bound at construction, so :attr:`url` (the ``callback_url`` to configure the worker with)
    is known before the worker exists::

        server = CallbackServer(host="127.0.0.1", port=0)
        worker = Worker(store, client, WorkerSettings(callback_url=server.url, callback_secret=secret))
        async with server.serving(worker.callback_app()):
            await worker.run_forever(stop)

    Hacienda must be able to reach the URL: behind a proxy, pass ``public_url``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/hacienda/callbacks/",
        public_url: str | None = None,
    ) -> None:
        self._socket = listening_socket(host, port)
        bound_port = int(self._socket.getsockname()[1])
        self.path = path if path.endswith("/") else path + "/"
        shown = f"[{host}]" if ":" in host else host
        self.url = public_url or f"http://{shown}:{bound_port}{self.path}"
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def serving(self, app: Any) -> AsyncIterator[CallbackServer]:
        try:
            import uvicorn
        except ImportError:  # pragma: no cover - depends on the installed extras
            self._socket.close()
            raise ConfigError(
                "receiving callbacks needs uvicorn: pip install 'cr-einvoice[server]'"
            ) from None
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        try:
            for _ in range(500):
                if self._server.started or self._task.done():
                    break
                await asyncio.sleep(0.01)
            if self._task.done():
                self._task.result()
            yield self
        finally:
            self._server.should_exit = True
            await self._task
            self._socket.close()
