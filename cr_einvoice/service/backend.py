"""What the service needs from the program around it: the store, the configured taxpayers, their issuers and
receivers, a worker and the public-data client.

:class:`~cr_einvoice.app.runtime.Runtime` is one (``create_app(runtime)``); the service is typed against this
protocol so that it sits below the ``app`` floor and never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cr_einvoice.hacienda.publicdata import PublicDataClient
    from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
    from cr_einvoice.outbox.receiving import Receiver
    from cr_einvoice.outbox.store import Store
    from cr_einvoice.outbox.worker import Worker

__all__ = ["Backend", "TaxpayerConfig", "TaxpayerView"]


class TaxpayerView(Protocol):
    """One configured taxpayer (an :class:`~cr_einvoice.app.issuers.Taxpayer`): its name in the file and who
    issues, read without loading the signing key."""

    @property
    def name(self) -> str: ...

    def issuer_settings(self) -> IssuerSettings: ...


class TaxpayerConfig(Protocol):
    """The configured taxpayers (a :class:`~cr_einvoice.app.config.Config`)."""

    def taxpayer_of(self, numero_identificacion: str) -> TaxpayerView | None: ...


class Backend(Protocol):
    """The store, taxpayers, issuers, receivers, worker and public data of one configuration (a
    :class:`Runtime`)."""

    @property
    def config(self) -> TaxpayerConfig: ...

    @property
    def store(self) -> Store: ...

    def issuer(self, name: str | None = None, **overrides: Any) -> Issuer: ...

    def receiver(self, name: str | None = None, **overrides: Any) -> Receiver: ...

    def worker(
        self, issuers: Sequence[str] | None = None, **overrides: Any
    ) -> AbstractAsyncContextManager[Worker]: ...

    def public_data(self) -> PublicDataClient: ...
