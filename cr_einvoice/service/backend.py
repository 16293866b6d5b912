"""What the service needs from the program around it: the store, the issuer, the receiver and a worker.

:class:`~cr_einvoice.app.runtime.Runtime` is one (``create_app(runtime)``); the service is typed against this
protocol so that it sits below the ``app`` floor and never imports it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
    from cr_einvoice.outbox.receiving import Receiver
    from cr_einvoice.outbox.store import Store
    from cr_einvoice.outbox.worker import Worker

__all__ = ["Backend", "TaxpayerConfig"]


class TaxpayerConfig(Protocol):
    """Who issues (a :class:`~cr_einvoice.app.config.Config`), read without loading the signing key."""

    def issuer_settings(self) -> IssuerSettings: ...


class Backend(Protocol):
    """The store, issuer, receiver and worker of one configuration (a :class:`Runtime`)."""

    @property
    def config(self) -> TaxpayerConfig: ...

    @property
    def store(self) -> Store: ...

    def issuer(self, **overrides: Any) -> Issuer: ...

    def receiver(self, **overrides: Any) -> Receiver: ...

    def worker(self, **overrides: Any) -> AbstractAsyncContextManager[Worker]: ...
