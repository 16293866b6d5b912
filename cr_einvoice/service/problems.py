"""Errors as RFC 9457 problem details (``application/problem+json``), carrying the library's problems.

Every error the API answers has the same body::

    {"type": "https://cr-einvoice.invalid/problems/invalid-document", "title": "Invalid document",
     "status": 422, "detail": "...", "instance": "/v1/vouchers",
     "problems": [{"path": "lineas[0].cantidad", "message": "...", "code": null}]}

``problems`` lists each finding of a :class:`~cr_einvoice.core.errors.ValidationError` (its JSON path, message
and Hacienda's code); for other errors it is empty. Messages of the library's errors are written for a person
and never carry a secret; an unexpected failure answers a fixed text (the details go to the log).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cr_einvoice.core.errors import (
    APIError,
    BadRequestError,
    ConfigError,
    CrEinvoiceError,
    NotFoundError,
    Problem,
    RateLimitedError,
    SignatureError,
    StoreError,
    TransportError,
    ValidationError,
    XMLParseError,
)

__all__ = ["PROBLEM_BASE", "PROBLEM_TYPE", "HTTPProblem", "problem_body", "problem_of"]

PROBLEM_TYPE = "application/problem+json"
PROBLEM_BASE = "https://cr-einvoice.invalid/problems/"


class HTTPProblem(Exception):
    """An error answered as a problem document: raised by the routes, rendered by the application."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str = "",
        *,
        problems: Sequence[Problem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.problems = tuple(problems)
        self.headers = dict(headers or {})


def problem_body(problem: HTTPProblem, instance: str) -> bytes:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + problem.slug,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail or problem.title,
        "instance": instance,
        "problems": [{"path": p.path, "message": p.message, "code": p.code} for p in problem.problems],
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def problem_of(exc: CrEinvoiceError) -> HTTPProblem:
    """The problem a library error is answered with."""
    if isinstance(exc, ValidationError):
        return HTTPProblem(422, "invalid-document", "Invalid document", str(exc), problems=exc.problems)
    if isinstance(exc, XMLParseError):
        return HTTPProblem(422, "invalid-xml", "Invalid XML", str(exc))
    if isinstance(exc, SignatureError):
        return HTTPProblem(422, "invalid-signature", "The signature cannot be used", str(exc))
    if isinstance(exc, StoreError):
        return HTTPProblem(409, "conflict", "The store refused the operation", str(exc))
    if isinstance(exc, NotFoundError):
        return HTTPProblem(404, "not-registered", "Not registered", str(exc))
    if isinstance(exc, BadRequestError):
        return HTTPProblem(422, "refused-upstream", "Refused by Hacienda", str(exc))
    if isinstance(exc, RateLimitedError):
        return HTTPProblem(
            503, "upstream-busy", "Hacienda is limiting requests", str(exc), headers={"Retry-After": "30"}
        )
    if isinstance(exc, APIError | TransportError):
        return HTTPProblem(502, "hacienda-unavailable", "Hacienda did not answer usably", str(exc))
    if isinstance(exc, ConfigError):
        return HTTPProblem(500, "misconfigured", "The service is not configured for this", str(exc))
    return HTTPProblem(500, "internal", "Internal error", "the request failed; the service log says why")
