"""What the preflight predicts: each reason Hacienda would give, as a warning or a rejection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from cr_einvoice.core.errors import ExitCode, Problem, ValidationError

__all__ = ["PreflightOptions", "PreflightRejected", "PreflightReport", "Reason", "Severity"]


class Severity(StrEnum):
    """A warning is listed in an accepted answer; a rejection makes Hacienda answer Mensaje 3."""

    WARNING = "warning"
    REJECTION = "rejection"


@dataclass(frozen=True, slots=True)
class Reason:
    """One finding: Hacienda's code and text (``problem``; ``code`` None for Hacienda's uncoded lines such as
    the signature ones, or for a rule whose code was never captured) and, in ``detail``, the local
    explanation."""

    problem: Problem
    severity: Severity
    detail: str = ""

    @property
    def code(self) -> int | None:
        return self.problem.code

    @property
    def message(self) -> str:
        return self.problem.message

    @property
    def path(self) -> str:
        return self.problem.path

    @property
    def rejects(self) -> bool:
        return self.severity is Severity.REJECTION

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "severity": self.severity.value,
            "detail": self.detail,
        }

    def __str__(self) -> str:
        code = "-" if self.code is None else str(self.code)
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.severity.value} {code} {self.path}: {self.message}{extra}"


@dataclass(frozen=True, slots=True)
class PreflightOptions:
    """Tolerances of the offline checks.

    ``clock_tolerance``: how far FechaEmision may lie ahead of ``now`` (the signer's clock against
    Hacienda's) before the preflight warns (-53 "hora oficial"), and how much it is forgiven at midnight
    before -53 "superior al día de hoy" rejects. ``late_after``: a FechaEmision older than this gets the -16
    warning ("extemporánea"); Hacienda accepts such vouchers (Mensaje 1), and the notes give no figure for the
    delay, so the default (72 hours) is this package's choice; None turns the warning off. ``schemas_dir``:
    the official XSDs (default: ``CR_EINVOICE_SCHEMAS`` or the package's lookup).
    """

    clock_tolerance: timedelta = timedelta(minutes=5)
    late_after: timedelta | None = timedelta(hours=72)
    schemas_dir: Path | None = None


class PreflightRejected(ValidationError):
    """Hacienda would reject the voucher; ``problems`` are the reasons (warnings excluded)."""

    exit_code = ExitCode.REJECTED


@dataclass(frozen=True, slots=True)
class PreflightReport:
    """The prediction for one signed document.

    ``accepted`` is True when no reason is a rejection (warnings allowed). ``skipped`` names the checks that
    could not run and why (no store given, a registry answer neither cached nor looked up ...).
    """

    reasons: tuple[Reason, ...]
    document_type: str
    clave: str | None = None
    signer_cedula: str | None = None
    skipped: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return not any(r.rejects for r in self.reasons)

    @property
    def rejections(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.rejects)

    @property
    def warnings(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if not r.rejects)

    @property
    def codes(self) -> list[int | None]:
        """The codes of the rejections, in Hacienda's order."""
        return [r.code for r in self.rejections]

    def raise_for_rejection(self) -> None:
        """Raise :class:`PreflightRejected` carrying the rejections, if there are any."""
        if not self.accepted:
            raise PreflightRejected([r.problem for r in self.rejections])

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "document_type": self.document_type,
            "clave": self.clave,
            "signer_cedula": self.signer_cedula,
            "reasons": [r.to_dict() for r in self.reasons],
            "skipped": list(self.skipped),
        }
