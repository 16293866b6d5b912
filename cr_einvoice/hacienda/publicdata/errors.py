"""The errors of the public-data client: each tells a person what to do about it.

``NotRegisteredError`` (HTTP 404: the registry has no such taxpayer, code or authorisation) and
``MalformedQueryError`` (HTTP 400: the registry refused the identification or query as invalid) are
distinct, as Hacienda's API document distinguishes them; ``NotCachedError`` is an offline lookup the cache
cannot answer.
"""

from __future__ import annotations

from cr_einvoice.core.errors import (
    APIError,
    BadRequestError,
    CrEinvoiceError,
    ExitCode,
    NotFoundError,
    RateLimitedError,
)

__all__ = [
    "MalformedQueryError",
    "NotCachedError",
    "NotRegisteredError",
    "PublicDataBlockedError",
    "UnexpectedAnswerError",
]


class NotRegisteredError(NotFoundError):
    """HTTP 404: the taxpayer, CABYS code or exoneration is not in Hacienda's registry."""


class MalformedQueryError(BadRequestError):
    """HTTP 400: Hacienda considers the identification (or query) sent not valid."""

    exit_code = ExitCode.INVALID


class UnexpectedAnswerError(APIError):
    """api.hacienda.go.cr answered 200 with a body this client does not understand."""


class PublicDataBlockedError(RateLimitedError):
    """api.hacienda.go.cr asked us to stop (HTTP 429) for longer than a lookup may wait."""


class NotCachedError(CrEinvoiceError):
    """An offline lookup (``offline=True`` / ``--offline``) found nothing in the cache."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(self, what: str, key: str) -> None:
        self.what = what
        self.key = key
        super().__init__(
            f"{what} {key!r} is not in the local cache and the lookup is offline; look it up once online "
            "(without --offline) so it is cached"
        )
