"""Hacienda's public data (api.hacienda.go.cr): taxpayers, CABYS, BCCR exchange rates, exonerations.

Rooms: ``answers`` (queries, requests and answers as pure functions), ``model`` (the typed results),
``client`` (:class:`PublicDataClient` and its async twin), ``cache`` (the :class:`Cache` protocol an outbox
store satisfies, freshness per kind), ``limiter`` (sliding windows under the API's limits, a hold after 429),
``errors``, ``enrich`` (what a voucher gains from the registry: a receptor from a cédula, the exchange rate,
warnings about CABYS tax rates and exonerations), ``registrydata`` (the registry-file format: the
simulator's ``--registry``), ``imported`` (``lookup import``: the activity catalogue and taxpayers'
registered addresses, which the API does not publish, loaded into the cache).
"""

from __future__ import annotations

from cr_einvoice.hacienda.publicdata.answers import DEFAULT_BASE_URL
from cr_einvoice.hacienda.publicdata.cache import Cache, CachedEntry, CachePolicy, MemoryCache
from cr_einvoice.hacienda.publicdata.client import AsyncPublicDataClient, PublicDataClient, PublicDataOptions
from cr_einvoice.hacienda.publicdata.errors import (
    MalformedQueryError,
    NotCachedError,
    NotRegisteredError,
    PublicDataBlockedError,
    UnexpectedAnswerError,
)
from cr_einvoice.hacienda.publicdata.imported import ImportSummary, import_registry, import_registry_file
from cr_einvoice.hacienda.publicdata.limiter import PUBLIC_API_WINDOWS, SlidingWindowLimiter
from cr_einvoice.hacienda.publicdata.model import (
    Actividad,
    ActivityCatalogue,
    Cabys,
    CabysSearch,
    ExchangeHistory,
    ExchangeRate,
    Exoneration,
    Fetched,
    Regimen,
    RegisteredAddress,
    RegisteredTaxpayer,
    Situacion,
    Taxpayer,
    TipoDocumentoExoneracion,
    as_json,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "PUBLIC_API_WINDOWS",
    "Actividad",
    "ActivityCatalogue",
    "AsyncPublicDataClient",
    "Cabys",
    "CabysSearch",
    "Cache",
    "CachePolicy",
    "CachedEntry",
    "ExchangeHistory",
    "ExchangeRate",
    "Exoneration",
    "Fetched",
    "ImportSummary",
    "MalformedQueryError",
    "MemoryCache",
    "NotCachedError",
    "NotRegisteredError",
    "PublicDataBlockedError",
    "PublicDataClient",
    "PublicDataOptions",
    "Regimen",
    "RegisteredAddress",
    "RegisteredTaxpayer",
    "Situacion",
    "SlidingWindowLimiter",
    "Taxpayer",
    "TipoDocumentoExoneracion",
    "UnexpectedAnswerError",
    "as_json",
    "import_registry",
    "import_registry_file",
]
