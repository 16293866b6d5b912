"""The package's exception hierarchy.

Every error raised on purpose by ``cr_einvoice`` derives from :class:`CrEinvoiceError`, so an embedding
application can catch one class. The tree::

    CrEinvoiceError
    ├── ConfigError                 bad or missing configuration (names the setting)
    ├── ValidationError             a document or input value is wrong (carries Problems)
    │   └── ClaveError              a clave / consecutivo part is wrong (names the part)
    ├── SchemaNotFoundError         the official XSD files cannot be located
    ├── XMLParseError               untrusted XML is malformed, too large or hostile
    ├── SignatureError              signing or verification failed
    │   ├── CertificateError        the .p12 / certificate cannot be used
    │   └── VerificationError       a signature does not verify
    ├── TransportError              no usable HTTP response (timeout, connection refused, TLS)
    ├── APIError                    the server answered with an error status
    │   ├── BadRequestError         400 (X-Error-Cause)
    │   ├── AuthenticationError     401 / IdP refused the credentials
    │   ├── ForbiddenError          403
    │   ├── NotFoundError           404
    │   ├── RateLimitedError        429
    │   └── ServerError             5xx
    └── StoreError                  the durable store refused an operation

Messages are written for a person who has to act on them; secrets never appear in them.

Every class carries the process exit code the command line ends with when it stops on it
(:attr:`CrEinvoiceError.exit_code`, one of :class:`ExitCode`, defined here once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "CertificateError",
    "ClaveError",
    "ConfigError",
    "CrEinvoiceError",
    "ExitCode",
    "ForbiddenError",
    "NotFoundError",
    "Problem",
    "RateLimitedError",
    "SchemaNotFoundError",
    "ServerError",
    "SignatureError",
    "StoreError",
    "TransportError",
    "ValidationError",
    "VerificationError",
    "XMLParseError",
]


class ExitCode(IntEnum):
    """The exit codes of ``cr-einvoice``, one per class of outcome (listed in the README)."""

    #: Everything done; every voucher concerned ended accepted.
    OK = 0
    #: Another failure (none of the classes below).
    FAILED = 1
    #: Bad usage or configuration: options, the configuration file, credentials, the .p12, the schemas.
    USAGE = 2
    #: Invalid input: a document, a file, a signature that does not verify.
    INVALID = 3
    #: Hacienda rejected a voucher, or a voucher ended in ``error`` (``cr-einvoice show CLAVE`` says why).
    REJECTED = 4
    #: Hacienda could not be reached or did not answer usably (timeouts, 5xx, 429 after the retries).
    UNREACHABLE = 5
    #: The outbox database refused (missing, empty, damaged, full, locked).
    STORE = 6
    #: Vouchers were sent but Hacienda's final answer did not come within the time given (the worker goes
    #: on following them).
    PENDING = 7
    #: Stopped by Ctrl-C / SIGINT.
    INTERRUPTED = 130


class CrEinvoiceError(Exception):
    """Root of every error raised by cr_einvoice."""

    #: What the command line exits with when it stops on this error.
    exit_code: ClassVar[ExitCode] = ExitCode.FAILED


class ConfigError(CrEinvoiceError):
    """Configuration is missing or inconsistent; the message names the setting."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding.

    ``path`` is the field path in Hacienda's element names (``DetalleServicio/LineaDetalle[2]/MontoTotal``)
    or the model/JSON field name for inputs; ``code`` is Hacienda's rejection code when known (``-52``).
    """

    path: str
    message: str
    code: int | None = None

    def __str__(self) -> str:
        prefix = f"[{self.code}] " if self.code is not None else ""
        return f"{prefix}{self.path}: {self.message}"


class ValidationError(CrEinvoiceError, ValueError):
    """Input or a document is invalid. ``problems`` lists every finding, each naming its field."""

    exit_code = ExitCode.INVALID

    def __init__(self, problems: Iterable[Problem] | str, *, path: str = "", code: int | None = None) -> None:
        if isinstance(problems, str):
            probs: tuple[Problem, ...] = (Problem(path, problems, code),)
        else:
            probs = tuple(problems)
        self.problems = probs
        super().__init__(self._render(probs))

    @staticmethod
    def _render(problems: tuple[Problem, ...]) -> str:
        if not problems:
            return "invalid document"
        if len(problems) == 1:
            return str(problems[0])
        lines = [f"{len(problems)} problems:"] + [f"  - {p}" for p in problems]
        return "\n".join(lines)


class ClaveError(ValidationError):
    """A clave or consecutivo is malformed; ``path`` of the single problem names the part."""


class SchemaNotFoundError(CrEinvoiceError):
    """The official XSD schemas were not found (the message says how to get them)."""

    exit_code = ExitCode.USAGE


class XMLParseError(CrEinvoiceError):
    """Untrusted XML was malformed, too large, or used forbidden constructs (DTD, entities)."""

    exit_code = ExitCode.INVALID


class SignatureError(CrEinvoiceError):
    """Signing or signature verification failed."""

    exit_code = ExitCode.INVALID


class CertificateError(SignatureError):
    """The certificate or key cannot be used (wrong PIN, not PKCS#12, expired, ...)."""

    exit_code = ExitCode.USAGE


class VerificationError(SignatureError):
    """A signature did not verify. Subclasses name the exact reason."""


class TransportError(CrEinvoiceError):
    """No usable response: timeout, refused connection, TLS failure. ``request_sent`` tells whether
    the request may have reached the server (an ambiguous failure)."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str, *, url: str = "", request_sent: bool = False) -> None:
        super().__init__(message)
        self.url = url
        self.request_sent = request_sent


_REDACTED_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"})


class APIError(CrEinvoiceError):
    """The server answered with an error status.

    Carries ``status``, the response ``headers`` (credentials redacted), Hacienda's ``X-Error-Cause``
    (``error_cause``), the voucher ``clave`` when the call concerned one, and the response ``body`` text.
    """

    exit_code = ExitCode.UNREACHABLE

    def __init__(
        self,
        message: str,
        *,
        status: int,
        headers: Mapping[str, str] | None = None,
        error_cause: str | None = None,
        clave: str | None = None,
        body: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.headers: dict[str, str] = {
            k: ("<redacted>" if k.lower() in _REDACTED_HEADERS else v) for k, v in (headers or {}).items()
        }
        self.error_cause = error_cause
        self.clave = clave
        self.body = body[:4000]
        self.url = url
        detail = f"HTTP {status}"
        if error_cause:
            detail += f", X-Error-Cause: {error_cause}"
        if clave:
            detail += f", clave {clave}"
        super().__init__(f"{message} ({detail})")


class BadRequestError(APIError):
    """HTTP 400: the server refused the request; ``error_cause`` says why."""

    exit_code = ExitCode.REJECTED


class AuthenticationError(APIError):
    """HTTP 401 or the identity provider refused the credentials."""

    exit_code = ExitCode.USAGE


class ForbiddenError(APIError):
    """HTTP 403: authenticated, but not allowed (for example not this emisor)."""

    exit_code = ExitCode.USAGE


class NotFoundError(APIError):
    """HTTP 404: unknown resource (a clave Hacienda has not registered yet)."""

    exit_code = ExitCode.INVALID


class RateLimitedError(APIError):
    """HTTP 429 after the retries were used up."""


class ServerError(APIError):
    """HTTP 5xx after the retries were used up."""


class StoreError(CrEinvoiceError):
    """The durable store refused an operation (conflict, missing record, corrupted state)."""

    exit_code = ExitCode.STORE
