"""cr-einvoice: Costa Rica electronic vouchers v4.4, end to end, plus Chilean bill and invoice retrieval.

The names a point-of-sale or ERP program needs are importable from here::

    from cr_einvoice import Runtime, Tiquete, document_from_json, ValidationError

Documents and their JSON/XML forms, the :class:`Issuer`/:class:`Receiver`/:class:`Worker` of the outbox, the
Hacienda :class:`Client`/:class:`AsyncClient`, the XAdES :class:`Signer` and :func:`verify`,
:func:`decode_respuesta` (alias ``decode``), :func:`render_pdf` (the graphic representation), :class:`Secret`
and the exception tree. Each is imported on first use, so ``import cr_einvoice`` stays cheap; the modules
behind them are listed in ``docs/design.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cr_einvoice.core.errors import (
    APIError,
    CertificateError,
    ClaveError,
    ConfigError,
    CrEinvoiceError,
    Problem,
    SignatureError,
    StoreError,
    TransportError,
    ValidationError,
    VerificationError,
    XMLParseError,
)
from cr_einvoice.core.version import __version__

if TYPE_CHECKING:
    from cr_einvoice.app.config import (
        Config,
        load_config,
    )
    from cr_einvoice.app.runtime import (
        Runtime,
    )
    from cr_einvoice.core.catalogs import (
        Situacion,
        TipoDocumento,
        TipoIdentificacion,
    )
    from cr_einvoice.core.clave import (
        Clave,
        Consecutivo,
    )
    from cr_einvoice.core.identifiers import (
        Identificacion,
    )
    from cr_einvoice.core.secret import (
        Secret,
    )
    from cr_einvoice.delivery.pdf import (
        render_pdf,
    )
    from cr_einvoice.hacienda.auth import (
        Credentials,
    )
    from cr_einvoice.hacienda.callbacks import (
        parse_callback,
    )
    from cr_einvoice.hacienda.client import (
        AsyncClient,
        Client,
        StatusResult,
        SubmitResult,
    )
    from cr_einvoice.hacienda.environments import (
        Environment,
    )
    from cr_einvoice.hacienda.respuesta import (
        Respuesta,
        decode_respuesta,
    )
    from cr_einvoice.hacienda.respuesta import decode_respuesta as decode
    from cr_einvoice.outbox.issuing import (
        IssuedVoucher,
        Issuer,
        IssuerSettings,
        PaperVoucher,
        build_correction,
    )
    from cr_einvoice.outbox.receiving import (
        Receiver,
    )
    from cr_einvoice.outbox.store import (
        Store,
        VoucherRecord,
        VoucherState,
        open_store,
    )
    from cr_einvoice.outbox.worker import (
        Worker,
        WorkerSettings,
    )
    from cr_einvoice.signing.certs import (
        Credential,
        load_p12,
    )
    from cr_einvoice.signing.xades import (
        Signer,
        TrustStore,
        VerificationResult,
        verify,
    )
    from cr_einvoice.vouchers.jsonio import (
        document_from_json,
        document_to_json,
    )
    from cr_einvoice.vouchers.model import (
        Descuento,
        Document,
        Emisor,
        Exoneracion,
        FacturaCompra,
        FacturaElectronica,
        FacturaExportacion,
        Impuesto,
        InformacionReferencia,
        LineaDetalle,
        MedioPago,
        MensajeReceptor,
        NotaCredito,
        NotaDebito,
        OtroCargo,
        Receptor,
        ReciboPago,
        Tiquete,
        Ubicacion,
    )
    from cr_einvoice.vouchers.validate import (
        ValidationReport,
        validate_xml,
    )
    from cr_einvoice.vouchers.xmlread import (
        from_xml,
    )
    from cr_einvoice.vouchers.xmlwrite import (
        to_xml,
    )

#: Public name -> the module that defines it (imported lazily by :func:`__getattr__`).
_LAZY: dict[str, str] = {
    "FacturaElectronica": "cr_einvoice.vouchers.model",
    "NotaDebito": "cr_einvoice.vouchers.model",
    "NotaCredito": "cr_einvoice.vouchers.model",
    "Tiquete": "cr_einvoice.vouchers.model",
    "FacturaCompra": "cr_einvoice.vouchers.model",
    "FacturaExportacion": "cr_einvoice.vouchers.model",
    "ReciboPago": "cr_einvoice.vouchers.model",
    "MensajeReceptor": "cr_einvoice.vouchers.model",
    "Document": "cr_einvoice.vouchers.model",
    "Emisor": "cr_einvoice.vouchers.model",
    "Receptor": "cr_einvoice.vouchers.model",
    "LineaDetalle": "cr_einvoice.vouchers.model",
    "Impuesto": "cr_einvoice.vouchers.model",
    "Exoneracion": "cr_einvoice.vouchers.model",
    "Descuento": "cr_einvoice.vouchers.model",
    "OtroCargo": "cr_einvoice.vouchers.model",
    "MedioPago": "cr_einvoice.vouchers.model",
    "InformacionReferencia": "cr_einvoice.vouchers.model",
    "Ubicacion": "cr_einvoice.vouchers.model",
    "Identificacion": "cr_einvoice.core.identifiers",
    "Clave": "cr_einvoice.core.clave",
    "Consecutivo": "cr_einvoice.core.clave",
    "TipoDocumento": "cr_einvoice.core.catalogs",
    "TipoIdentificacion": "cr_einvoice.core.catalogs",
    "Situacion": "cr_einvoice.core.catalogs",
    "Secret": "cr_einvoice.core.secret",
    "document_from_json": "cr_einvoice.vouchers.jsonio",
    "document_to_json": "cr_einvoice.vouchers.jsonio",
    "to_xml": "cr_einvoice.vouchers.xmlwrite",
    "from_xml": "cr_einvoice.vouchers.xmlread",
    "validate_xml": "cr_einvoice.vouchers.validate",
    "ValidationReport": "cr_einvoice.vouchers.validate",
    "Credential": "cr_einvoice.signing.certs",
    "load_p12": "cr_einvoice.signing.certs",
    "Signer": "cr_einvoice.signing.xades",
    "TrustStore": "cr_einvoice.signing.xades",
    "VerificationResult": "cr_einvoice.signing.xades",
    "verify": "cr_einvoice.signing.xades",
    "render_pdf": "cr_einvoice.delivery.pdf",
    "Credentials": "cr_einvoice.hacienda.auth",
    "Environment": "cr_einvoice.hacienda.environments",
    "Client": "cr_einvoice.hacienda.client",
    "AsyncClient": "cr_einvoice.hacienda.client",
    "StatusResult": "cr_einvoice.hacienda.client",
    "SubmitResult": "cr_einvoice.hacienda.client",
    "Respuesta": "cr_einvoice.hacienda.respuesta",
    "decode_respuesta": "cr_einvoice.hacienda.respuesta",
    "parse_callback": "cr_einvoice.hacienda.callbacks",
    "Issuer": "cr_einvoice.outbox.issuing",
    "IssuerSettings": "cr_einvoice.outbox.issuing",
    "IssuedVoucher": "cr_einvoice.outbox.issuing",
    "PaperVoucher": "cr_einvoice.outbox.issuing",
    "build_correction": "cr_einvoice.outbox.issuing",
    "Receiver": "cr_einvoice.outbox.receiving",
    "Worker": "cr_einvoice.outbox.worker",
    "WorkerSettings": "cr_einvoice.outbox.worker",
    "Store": "cr_einvoice.outbox.store",
    "VoucherRecord": "cr_einvoice.outbox.store",
    "VoucherState": "cr_einvoice.outbox.store",
    "open_store": "cr_einvoice.outbox.store",
    "Config": "cr_einvoice.app.config",
    "load_config": "cr_einvoice.app.config",
    "Runtime": "cr_einvoice.app.runtime",
}

__all__ = [
    "APIError",
    "AsyncClient",
    "CertificateError",
    "Clave",
    "ClaveError",
    "Client",
    "Config",
    "ConfigError",
    "Consecutivo",
    "CrEinvoiceError",
    "Credential",
    "Credentials",
    "Descuento",
    "Document",
    "Emisor",
    "Environment",
    "Exoneracion",
    "FacturaCompra",
    "FacturaElectronica",
    "FacturaExportacion",
    "Identificacion",
    "Impuesto",
    "InformacionReferencia",
    "IssuedVoucher",
    "Issuer",
    "IssuerSettings",
    "LineaDetalle",
    "MedioPago",
    "MensajeReceptor",
    "NotaCredito",
    "NotaDebito",
    "OtroCargo",
    "PaperVoucher",
    "Problem",
    "Receiver",
    "Receptor",
    "ReciboPago",
    "Respuesta",
    "Runtime",
    "Secret",
    "SignatureError",
    "Signer",
    "Situacion",
    "StatusResult",
    "Store",
    "StoreError",
    "SubmitResult",
    "TipoDocumento",
    "TipoIdentificacion",
    "Tiquete",
    "TransportError",
    "TrustStore",
    "Ubicacion",
    "ValidationError",
    "ValidationReport",
    "VerificationError",
    "VerificationResult",
    "VoucherRecord",
    "VoucherState",
    "Worker",
    "WorkerSettings",
    "XMLParseError",
    "__version__",
    "build_correction",
    "decode",
    "decode_respuesta",
    "document_from_json",
    "document_to_json",
    "from_xml",
    "load_config",
    "load_p12",
    "open_store",
    "parse_callback",
    "render_pdf",
    "to_xml",
    "validate_xml",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name == "decode":
        name = "decode_respuesta"
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()["decode"] = value
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cr_einvoice' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
