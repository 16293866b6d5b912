"""Preflight: predict Hacienda's verdict on a signed voucher offline (``cr-einvoice check``).

:func:`preflight` returns a :class:`PreflightReport` whose reasons carry Hacienda's code and text and a
severity (a warning never makes the prediction a rejection). The checks are in :mod:`.checks` (signature,
signer, dates, consecutivo) and in the modules they reuse: the XSD and business rules
(:mod:`cr_einvoice.vouchers.validate`) and the XAdES verifier (:mod:`cr_einvoice.signing.xades`).
"""

from __future__ import annotations

from cr_einvoice.preflight.checks import StoredVoucher, VoucherLookup, document_owners, signer_is_owner
from cr_einvoice.preflight.report import (
    PreflightOptions,
    PreflightRejected,
    PreflightReport,
    Reason,
    Severity,
)
from cr_einvoice.preflight.run import preflight

__all__ = [
    "PreflightOptions",
    "PreflightRejected",
    "PreflightReport",
    "Reason",
    "Severity",
    "StoredVoucher",
    "VoucherLookup",
    "document_owners",
    "preflight",
    "signer_is_owner",
]
