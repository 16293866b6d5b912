"""The typed :class:`Runtime`: everything a program needs to issue, built once from a :class:`Config`.

A point-of-sale or ERP program writes the configuration once (``cr-einvoice init``) and then::

    from cr_einvoice import Runtime

    with Runtime.from_file() as runtime:                 # ./cr-einvoice.toml or $CR_EINVOICE_CONFIG
        issued = runtime.issuer().issue(ticket)          # numbered, signed and stored: milliseconds
        record = runtime.issue_and_wait(other, within=20) # ... or wait for Hacienda's answer

Every accessor is lazy (nothing is opened, loaded or imported before it is used) and typed; the store and the
signers are built once and shared, the Hacienda clients are new objects each time (use them with ``with`` /
``async with``).

Several taxpayers in one file (``[issuers.NAME]``, :mod:`cr_einvoice.app.issuers`): the per-taxpayer accessors
take the taxpayer's name (``runtime.issuer("acme")``, ``runtime.client("acme")``; without one, the default
taxpayer), and :meth:`Runtime.worker` sends each voucher with its own taxpayer's client -- its own token and
its own rate limit -- for every taxpayer of the file, or those named.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
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
    from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
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
        self._signers: dict[str, Signer] = {}
        self._trusts: dict[Path, TrustStore] = {}
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
                self.config.store_location(),
                create=self.create_store,
                password=self.config.store_password(),
                pool_size=self.config.store.pool_size,
            )
        return self._store

    @property
    def signer(self) -> Signer:
        """The XAdES signer of the default taxpayer's ``.p12`` (:meth:`signer_of`)."""
        return self.signer_of(None)

    def signer_of(self, name: str | None = None) -> Signer:
        """The XAdES signer of taxpayer ``name``'s ``.p12`` (its ``signing`` table; the PIN from its variable
        or file), loaded once."""
        taxpayer = self.config.taxpayer(name)
        if taxpayer.name not in self._signers:
            from cr_einvoice.signing.certs import load_p12
            from cr_einvoice.signing.xades import Signer

            path = taxpayer.p12_path
            if not path.is_file():
                raise ConfigError(f"{taxpayer.prefix}signing.p12_path: {path} does not exist")
            self._signers[taxpayer.name] = Signer(load_p12(str(path), taxpayer.pin()))
        return self._signers[taxpayer.name]

    @property
    def trust(self) -> TrustStore | None:
        """The anchors Hacienda's signed answers must chain to (``[hacienda] trust_ca``), or None."""
        return self.trust_of(None)

    def trust_of(self, name: str | None = None) -> TrustStore | None:
        """The anchors of taxpayer ``name``'s Hacienda environment (its ``trust_ca``), or None (the bundled
        national PKI)."""
        taxpayer = self.config.taxpayer(name)
        path = taxpayer.trust_ca_path()
        if path is None:
            return None
        if path not in self._trusts:
            self._trusts[path] = _trust_store(path, f"{taxpayer.prefix}hacienda.trust_ca")
        return self._trusts[path]

    def supplier_trust(self) -> TrustStore | None:
        """The anchors suppliers' certificates must chain to (``[receiving] trust_ca``), or None."""
        if not self.config.receiving.trust_ca:
            return None
        return _trust_store(self.config.resolve(self.config.receiving.trust_ca), "receiving.trust_ca")

    # -- issuing and receiving ------------------------------------------------------------------------
    def issuer(self, name: str | None = None, **overrides: Any) -> Issuer:
        """An :class:`~cr_einvoice.outbox.issuing.Issuer` for taxpayer ``name`` (default: the configured one);
        ``overrides`` replace fields of its :class:`~cr_einvoice.outbox.issuing.IssuerSettings`
        (``terminal=2``, ``validate_xsd=False``)."""
        from cr_einvoice.outbox.issuing import Issuer

        public_data = self.public_data() if self.config.publicdata.enabled else None
        settings = self._issuer_settings(name, overrides)
        return Issuer(self.store, self.signer_of(name), settings, public_data=public_data)

    def receiver(self, name: str | None = None, **overrides: Any) -> Receiver:
        """A :class:`~cr_einvoice.outbox.receiving.Receiver` that imports suppliers' vouchers and answers them
        with taxpayer ``name``'s MensajeReceptor; ``overrides`` as for :meth:`issuer`."""
        from cr_einvoice.outbox.receiving import Receiver

        settings = self._issuer_settings(name, overrides)
        return Receiver(self.store, self.signer_of(name), settings, trust=self.supplier_trust())

    def _issuer_settings(self, name: str | None, overrides: dict[str, Any]) -> IssuerSettings:
        from dataclasses import replace

        taxpayer = self.config.taxpayer(name)
        settings = replace(taxpayer.issuer_settings(), **overrides)
        taxpayer.check_terminal(settings.sucursal, settings.terminal)
        return settings

    def public_data(self) -> PublicDataClient:
        """The api.hacienda.go.cr client of ``[publicdata]``, caching its answers in the store (one, shared;
        closed with the runtime)."""
        if self._public_data is None:
            from cr_einvoice.app.publicdata import open_public_data

            self._public_data = open_public_data(self.config.publicdata, self.store)
        return self._public_data

    # -- Hacienda -------------------------------------------------------------------------------------
    def credentials(self, name: str | None = None) -> Credentials:
        """Taxpayer ``name``'s IdP username and password, read from the variables or files the file names."""
        from cr_einvoice.hacienda.auth import Credentials

        taxpayer = self.config.taxpayer(name)
        return Credentials(taxpayer.username(), taxpayer.password())

    def client(self, name: str | None = None) -> Client:
        """A new synchronous recepción client of taxpayer ``name`` (``with runtime.client() as api: ...``)."""
        from cr_einvoice.hacienda.client import Client

        environment = self.config.taxpayer(name).environment()
        return Client(environment, self.credentials(name), trust=self.trust_of(name))

    def async_client(self, name: str | None = None) -> AsyncClient:
        """A new asynchronous recepción client of taxpayer ``name`` (``async with runtime.async_client()``):
        its own token cache and rate limiter."""
        from cr_einvoice.hacienda.client import AsyncClient

        environment = self.config.taxpayer(name).environment()
        return AsyncClient(environment, self.credentials(name), trust=self.trust_of(name))

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

    def worker(
        self, issuers: Sequence[str] | None = None, **overrides: Any
    ) -> AbstractAsyncContextManager[Worker]:
        """A :class:`~cr_einvoice.outbox.worker.Worker` over this store with Hacienda clients of its own, open
        for the ``async with`` block::

            async with runtime.worker() as worker:
                await worker.run_forever(stop_event)

        A file with one taxpayer: one client sends every voucher of the store. With ``[issuers.NAME]``
        tables, or ``issuers`` named: one client per taxpayer (its own token and rate limit), each voucher
        sent with its taxpayer's; vouchers of taxpayers not served are left alone.
        """
        return self._worker(issuers, overrides)

    @asynccontextmanager
    async def _worker(
        self, issuers: Sequence[str] | None, overrides: dict[str, Any]
    ) -> AsyncIterator[Worker]:
        from cr_einvoice.outbox.worker import Worker

        settings = self.worker_settings(**overrides)
        async with AsyncExitStack() as stack:
            if issuers is None and not self.config.issuers:
                api = await stack.enter_async_context(self.async_client())
                worker = Worker(self.store, api, settings)
            else:
                names = list(issuers) if issuers is not None else self.config.issuer_names()
                clients = {}
                for name in names:
                    numero = self.config.taxpayer(name).issuer_settings().numero_identificacion
                    clients[numero] = await stack.enter_async_context(self.async_client(name))
                worker = Worker(
                    self.store, clients, settings, trust=self.trust_of(names[0]) if names else None
                )
            yield self.with_delivery(worker)

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
            senders={
                t.emisor.numero_identificacion: t.emisor.correo_electronico
                for t in (c.taxpayer(name) for name in c.issuer_names())
                if t.emisor.numero_identificacion
            },
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
