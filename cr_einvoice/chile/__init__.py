"""Chilean bill and invoice retrieval: Khipu (Enel bill PDF), Belvo (SII invoices), Flow (subscriptions).

Each provider has a synchronous and an asynchronous client built on one shared, I/O-free protocol core
(request builders, response parsers and flows, sent with :meth:`cr_einvoice.transport.http.HTTPCore.exchange`)
run by the one sync/async driver of :mod:`cr_einvoice.transport`:

* :mod:`cr_einvoice.chile.khipu` -- :class:`KhipuClient`, :class:`AsyncKhipuClient`, :class:`KhipuCallbacks`
  (its errors, credentials, results and answer envelope live in :mod:`cr_einvoice.chile.khipu_model`);
* :mod:`cr_einvoice.chile.belvo` -- :class:`BelvoClient`, :class:`AsyncBelvoClient`,
  :func:`parse_belvo_webhook`;
* :mod:`cr_einvoice.chile.flow` -- :class:`FlowClient`, :class:`AsyncFlowClient`, :func:`sign_params`;
* :mod:`cr_einvoice.testing.chile_fakes` -- loopback fake servers of the three APIs, for tests and
demonstrations.

Amounts are ``Decimal`` (JSON is parsed with ``parse_float=Decimal``); secrets are
:class:`~cr_einvoice.core.secret.Secret` and never appear in reprs, logs or errors.
"""

from __future__ import annotations

from cr_einvoice.chile._common import ChileAPIError, UnexpectedResponseError
from cr_einvoice.chile.belvo import (
    BELVO_ENVIRONMENTS,
    AsyncBelvoClient,
    BelvoAccepted,
    BelvoAuth,
    BelvoClient,
    BelvoError,
    BelvoRequestTimeoutError,
    BelvoWebhook,
    parse_belvo_webhook,
)
from cr_einvoice.chile.belvo import Invoice as BelvoInvoice
from cr_einvoice.chile.flow import (
    FLOW_ENVIRONMENTS,
    AsyncFlowClient,
    FlowAuth,
    FlowClient,
    FlowError,
    FlowInvalidSignatureError,
    sign_params,
)
from cr_einvoice.chile.flow import Invoice as FlowInvoice
from cr_einvoice.chile.khipu import (
    KHIPU_ENVIRONMENTS,
    AsyncKhipuClient,
    EnelBillResult,
    KhipuAccepted,
    KhipuAuth,
    KhipuCallbacks,
    KhipuClient,
    KhipuClientCredentials,
    KhipuDeferred,
    KhipuDoNotRetryError,
    KhipuError,
    parse_khipu_callback,
)

__all__ = [
    "BELVO_ENVIRONMENTS",
    "FLOW_ENVIRONMENTS",
    "KHIPU_ENVIRONMENTS",
    "AsyncBelvoClient",
    "AsyncFlowClient",
    "AsyncKhipuClient",
    "BelvoAccepted",
    "BelvoAuth",
    "BelvoClient",
    "BelvoError",
    "BelvoInvoice",
    "BelvoRequestTimeoutError",
    "BelvoWebhook",
    "ChileAPIError",
    "EnelBillResult",
    "FlowAuth",
    "FlowClient",
    "FlowError",
    "FlowInvalidSignatureError",
    "FlowInvoice",
    "KhipuAccepted",
    "KhipuAuth",
    "KhipuCallbacks",
    "KhipuClient",
    "KhipuClientCredentials",
    "KhipuDeferred",
    "KhipuDoNotRetryError",
    "KhipuError",
    "UnexpectedResponseError",
    "parse_belvo_webhook",
    "parse_khipu_callback",
    "sign_params",
]
