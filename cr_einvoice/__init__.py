"""cr-einvoice: Costa Rica electronic vouchers v4.4, end to end, plus Chilean bill and invoice retrieval."""

from __future__ import annotations

from cr_einvoice.core.errors import (
    APIError,
    CertificateError,
    ClaveError,
    ConfigError,
    CrEinvoiceError,
    Problem,
    SignatureError,
    TransportError,
    ValidationError,
    VerificationError,
    XMLParseError,
)
from cr_einvoice.core.version import __version__

__all__ = [
    "APIError",
    "CertificateError",
    "ClaveError",
    "ConfigError",
    "CrEinvoiceError",
    "Problem",
    "SignatureError",
    "TransportError",
    "ValidationError",
    "VerificationError",
    "XMLParseError",
    "__version__",
]
