"""cr-einvoice: Costa Rica electronic vouchers v4.4, end to end, plus Chilean bill and invoice retrieval."""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
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
