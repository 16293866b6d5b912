"""The typed :class:`Runtime`: everything a program needs to issue, built once from a :class:`Config`.

A point-of-sale or ERP program writes the configuration once (``cr-einvoice init``) and then::

    from cr_einvoice import Runtime

    with Runtime.from_file() as runtime:                 # ./cr-einvoice.toml or $CR_EINVOICE_CONFIG
        issued = runtime.issuer().issue(ticket)          # numbered, signed and stored: milliseconds
        record = runtime.issue_and_wait(other, within=20) # ... or wait for Hacienda's answer

Every accessor is lazy (nothing is opened, loaded or imported before it is used) and typed; the store and the
signer are built once and shared, the Hacienda clients are new objects each time (use them with ``with`` /
``async with``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from cr_einvoice.app.config import Config, load_config
from cr_einvoice.core.errors import ConfigError

if TYPE_CHECKING:
    from cr_einvoice.hacienda.auth import Credentials
    from cr_einvoice.hacienda.client import AsyncClient, Client
    from cr_einvoice.hacienda.publicdata import PublicDataClient
    from cr_einvoice.outbox.delivering import Deliverer
    from cr_einvoice.outbox.issuing import Issuer
    from cr_einvoice.outbox.receiving import Receiver
    from cr_einvoice.outbox.store import Store, VoucherRecord
    from cr_einvoice.outbox.worker import RoundReport, Worker, WorkerSettings
    from cr_einvoice.signing.xades import Signer, TrustStore
    from cr_einvoice.vouchers.model import Document

__all__ = ["Runtime"]


class Runtime:
    """The store, the signer, the issuer, the receiver, the trust anchors, the Hacienda clients and the worker
    of one configuration file. Close it (or use it in a ``with`` block) to close the store."""

    def __init__(self, config: Config, *, create_store: bool = True) -> None:
        self.config = config
        #: Whether a missing outbox database may be created on first use (a configuration built in code);
        #: an empty or damaged file is refused either way (:func:`~cr_einvoice.outbox.store.open_store`).
        self.create_store = create_store
        self._store: Store | None = None
        self._signer: Signer | None = None
        self._trust: TrustStore | None = None
        self._trust_loaded = False
        self._public_data: PublicDataClient | None = None

    @classmethod
    def from_file(cls, path: str | Path | None = None, *, create_store: bool = False) -> Runtime:
        """Load ``path`` (default: ``$CR_EINVOICE_CONFIG`` or ``./cr-einvoice.toml``). Its outbox database
        must exist (``cr-einvoice init`` creates both) unless ``create_store`` is True."""
        return cls(load_config(path), create_store=create_store)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- shared, built once -----------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The outbox (``[store]``: the SQLite ``path`` or the PostgreSQL ``url``), opened on first use."""
        if self._store is None:
            from cr_einvoice.outbox.store import open_store

            self._store = open_store(
                self.config.store_location(), create=self.create_store, password=self.config.store_password()
            )
        return self._store

    @property
    def signer(self) -> Signer:
        """The XAdES signer of the taxpayer's ``.p12`` (``[signing]``; the PIN from its environment variable),
        loaded once."""
        if self._signer is None:
            from cr_einvoice.signing.certs import load_p12
            from cr_einvoice.signing.xades import Signer

            path = self.config.p12_path
            if not path.is_file():
                raise ConfigError(f"signing.p12_path: {path} does not exist")
            self._signer = Signer(load_p12(str(path), self.config.pin()))
        return self._signer

    @property
    def trust(self) -> TrustStore | None:
        """The anchors Hacienda's signed answers must chain to (``[hacienda] trust_ca``), or None."""
        if not self._trust_loaded:
            path = self.config.trust_ca_path()
            if path is not None:
                self._trust = _trust_store(path, "hacienda.trust_ca")
            self._trust_loaded = True
        return self._trust

    def supplier_trust(self) -> TrustStore | None:
        """The anchors suppliers' certificates must chain to (``[receiving] trust_ca``), or None."""
        if not self.config.receiving.trust_ca:
            return None
        return _trust_store(self.config.resolve(self.config.receiving.trust_ca), "receiving.trust_ca")

    # -- issuing and receiving ------------------------------------------------------------------------
    def issuer(self, **overrides: Any) -> Issuer:
        """An :class:`~cr_einvoice.outbox.issuing.Issuer` for the configured taxpayer; ``overrides`` replace
        fields of its :class:`~cr_einvoice.outbox.issuing.IssuerSettings` (``terminal=2``,
        ``validate_xsd=False``)."""
        from dataclasses import replace

        from cr_einvoice.outbox.issuing import Issuer

        public_data = self.public_data() if self.config.publicdata.enabled else None
        settings = replace(self.config.issuer_settings(), **overrides)
        return Issuer(self.store, self.signer, settings, public_data=public_data)

    def receiver(self, **overrides: Any) -> Receiver:
        """A :class:`~cr_einvoice.outbox.receiving.Receiver` that imports suppliers' vouchers and answers them
        with the taxpayer's MensajeReceptor; ``overrides`` as for :meth:`issuer`."""
        from dataclasses import replace

        from cr_einvoice.outbox.receiving import Receiver

        settings = replace(self.config.issuer_settings(), **overrides)
        return Receiver(self.store, self.signer, settings, trust=self.supplier_trust())

    def public_data(self) -> PublicDataClient:
        """The api.hacienda.go.cr client of ``[publicdata]``, caching its answers in the store (one, shared;
        closed with the runtime)."""
        if self._public_data is None:
            from cr_einvoice.app.publicdata import open_public_data

            self._public_data = open_public_data(self.config.publicdata, self.store)
        return self._public_data

    # -- Hacienda -------------------------------------------------------------------------------------
    def credentials(self) -> Credentials:
        """The IdP username and password, read from the environment variables the file names."""
        from cr_einvoice.hacienda.auth import Credentials

        return Credentials(self.config.username(), self.config.password())

    def client(self) -> Client:
        """A new synchronous recepción client (``with runtime.client() as api: api.status(clave)``)."""
        from cr_einvoice.hacienda.client import Client

        return Client(self.config.environment(), self.credentials(), trust=self.trust)

    def async_client(self) -> AsyncClient:
        """A new asynchronous recepción client (``async with runtime.async_client() as api: ...``)."""
        from cr_einvoice.hacienda.client import AsyncClient

        return AsyncClient(self.config.environment(), self.credentials(), trust=self.trust)

    def worker_settings(self, **overrides: Any) -> WorkerSettings:
        """The worker's tuning from ``[worker]`` (and ``[hacienda] callback_url``); ``overrides`` win."""
        from cr_einvoice.outbox.worker import WorkerSettings

        w = self.config.worker
        values: dict[str, Any] = {
            "concurrency": w.concurrency,
            "poll_initial": w.poll_initial,
            "poll_max": w.poll_max,
            "send_backoff_max": w.send_backoff_max,
            "callback_url": self.config.hacienda.callback_url or None,
        }
        values.update(overrides)
        return WorkerSettings(**values)

    def worker(self, **overrides: Any) -> AbstractAsyncContextManager[Worker]:
        """A :class:`~cr_einvoice.outbox.worker.Worker` over this store with its own Hacienda client, open for
        the ``async with`` block::

            async with runtime.worker() as worker:
                await worker.run_forever(stop_event)
        """
        return self._worker(overrides)

    @asynccontextmanager
    async def _worker(self, overrides: dict[str, Any]) -> AsyncIterator[Worker]:
        from cr_einvoice.outbox.worker import Worker

        async with self.async_client() as api:
            yield self.with_delivery(Worker(self.store, api, self.worker_settings(**overrides)))

    async def drain(self, keys: list[str] | None = None, *, within: float = 60.0) -> RoundReport:
        """Send and follow the vouchers ``keys`` (default: every pending one) until each is final or in
        ``error``, or ``within`` seconds pass (no error then: look at the records' states)."""
        async with self.worker() as worker:
            try:
                return await worker.drain(within=within, keys=keys)
            except TimeoutError:
                from cr_einvoice.outbox.worker import RoundReport

                return RoundReport()

    def issue_and_wait(
        self, document: Document, *, within: float = 30.0, external_ref: str | None = None
    ) -> VoucherRecord:
        """Issue ``document`` and wait, synchronously, for Hacienda's answer: the point-of-sale path.

        Returns the stored record: ``record.state`` is ``accepted`` or ``rejected`` when Hacienda answered
        within ``within`` seconds (``runtime.store.respuestas(record.key)`` holds Hacienda's reasons),
        otherwise still pending -- the voucher stays in the outbox and ``cr-einvoice worker`` finishes it;
        nothing is lost. Must not be called from a running event loop (use :meth:`issuer` and :meth:`drain`
        there).
        """
        issued = self.issuer().issue(document, external_ref=external_ref)
        asyncio.run(self.drain([issued.clave], within=within))
        return self.store.require(issued.clave)

    def with_delivery(self, worker: Worker) -> Worker:
        """``worker``, also sending the vouchers' e-mails after every round when ``[delivery] enabled`` is
        true (its deliveries held under the worker's id, kept alive by its heartbeat)."""
        if self.config.delivery.enabled:
            worker.mailer = self.deliverer(owner=worker.worker_id).run
        return worker

    def deliverer(self, *, owner: str | None = None) -> Deliverer:
        """The e-mail :class:`~cr_einvoice.outbox.delivering.Deliverer` of ``[delivery]`` and ``[smtp]`` (the
        SMTP login read from its environment variables); ``owner`` names the worker that holds what it
        claims."""
        from cr_einvoice.app.mailing import build_deliverer

        c = self.config
        return build_deliverer(
            c.delivery,
            c.smtp,
            self.store,
            emisor_correo=c.emisor.correo_electronico,
            resolve=c.resolve,
            owner=owner,
        )

    def close(self) -> None:
        """Close the public-data client and the store (the signer and the settings need no closing)."""
        if self._public_data is not None:
            self._public_data.close()
            self._public_data = None
        if self._store is not None:
            self._store.close()
            self._store = None


def _trust_store(path: Path, setting: str) -> TrustStore:
    from cr_einvoice.signing.xades import TrustStore

    if not path.is_file():
        raise ConfigError(f"{setting}: {path} does not exist")
    return TrustStore.from_pem_files(path)
