"""``[service]`` of the configuration file: how ``cr-einvoice serve`` listens and what it allows.

Defined here, beside the service that reads it; :mod:`cr_einvoice.app.config` registers it as a section.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServiceSettings"]


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """``[service]``: ``cr-einvoice serve`` (:mod:`cr_einvoice.service`)."""

    host: str = "127.0.0.1"
    port: int = 8080
    #: Request bodies above this size are answered 413 (a 1,000-line invoice is well under 2 MiB).
    max_body_bytes: int = 2 * 1024 * 1024
    #: Requests per second allowed to one API key (and to one console session), with bursts of
    #: ``rate_burst``; more are answered 429 with ``Retry-After``.
    rate_per_second: float = 20.0
    rate_burst: int = 40
    #: The console's cookies carry ``Secure``; turn off only to try it over plain http from another host
    #: (browsers accept ``Secure`` cookies from http://localhost and 127.0.0.1).
    secure_cookies: bool = True
    #: A console session ends after this long.
    session_minutes: int = 480
    #: Failed console sign-ins allowed from one address per minute (in bursts of as many); more are answered
    #: 429 until the address's allowance refills. (Each account also locks after repeated failures.)
    login_failures_per_minute: int = 10
