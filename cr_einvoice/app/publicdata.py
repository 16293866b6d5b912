"""``[publicdata]``: Hacienda's public lookups (api.hacienda.go.cr) for the issuing path and the CLI.

With ``enabled = true`` the issuer completes a JSON document from the registry (a receptor given by cédula,
the BCCR rate of a foreign-currency voucher) and notes what the registry says about each issued voucher
(:mod:`cr_einvoice.hacienda.publicdata.enrich`). Answers are cached in the outbox store, so a point of sale
keeps working offline (``offline = true``: the cache only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cr_einvoice.core.errors import ConfigError

if TYPE_CHECKING:  # the configuration is read without loading the HTTP stack
    from cr_einvoice.hacienda.publicdata import Cache, PublicDataClient

__all__ = ["PublicDataConfig", "check_publicdata_config", "open_public_data"]


@dataclass(frozen=True, slots=True)
class PublicDataConfig:
    """``[publicdata]`` (see the module's description)."""

    enabled: bool = False
    #: ``hacienda.publicdata.DEFAULT_BASE_URL`` (a test keeps the two equal).
    base_url: str = "https://api.hacienda.go.cr"
    offline: bool = False
    #: The longest a 429 from the API may hold a lookup (seconds) before it uses the cache or fails.
    max_wait: float = 30.0


def check_publicdata_config(c: PublicDataConfig) -> None:
    if not c.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"publicdata.base_url must be an http(s) URL, got {c.base_url!r}")
    if c.max_wait < 0:
        raise ConfigError(f"publicdata.max_wait must be >= 0, got {c.max_wait}")


def open_public_data(
    c: PublicDataConfig, cache: Cache | None, *, base_url: str | None = None, offline: bool | None = None
) -> PublicDataClient:
    """A client for ``[publicdata]`` keeping its answers in ``cache`` (the outbox store, or None);
    ``base_url``/``offline`` override the file."""
    from cr_einvoice.hacienda.publicdata import PublicDataClient

    return PublicDataClient(
        base_url or c.base_url,
        cache=cache,
        offline=c.offline if offline is None else offline,
        max_wait=c.max_wait,
    )
