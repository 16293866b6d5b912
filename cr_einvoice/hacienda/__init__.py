"""Hacienda's recepción API: environments, tokens, submit/status/list/get (sync and async), the respuesta
(MensajeHacienda) decoder with signature verification, and callbacks.

Rooms: ``wire`` (the API's vocabulary and bodies, shared with the simulator and the worker), ``recepcion``
(requests and response parsing as pure functions), ``client`` (the sync and async clients), ``auth``,
``environments``, ``respuesta``, ``callbacks``.

See ``docs/design.md`` ("Area: Hacienda client") and the README section for usage.
"""

from __future__ import annotations

from cr_einvoice.hacienda.auth import AsyncTokenManager, BearerAuth, Credentials, TokenManager, TokenStats
from cr_einvoice.hacienda.callbacks import (
    CallbackError,
    CallbackResult,
    callback_app,
    callback_token,
    callback_url,
    parse_callback,
)
from cr_einvoice.hacienda.client import (
    AlreadyReceived,
    AsyncClient,
    Client,
    ClientOptions,
    InvalidRequestBodyError,
    ListOptions,
    StatusResult,
    Submission,
    SubmitOptions,
    SubmitResult,
    UnexpectedResponseError,
    submission_from_xml,
)
from cr_einvoice.hacienda.environments import (
    HACIENDA_SELLO_CEDULA,
    PRODUCTION_RECEPCION_URL,
    SANDBOX_RECEPCION_URL,
    SANDBOX_RECEPCION_URL_ANEXO3,
    Environment,
)
from cr_einvoice.hacienda.respuesta import (
    DetalleError,
    DetalleMensaje,
    Respuesta,
    RespuestaMismatchError,
    decode_respuesta,
    parse_detalle_mensaje,
    verify_respuesta,
)
from cr_einvoice.hacienda.wire import Estado

__all__ = [
    "HACIENDA_SELLO_CEDULA",
    "PRODUCTION_RECEPCION_URL",
    "SANDBOX_RECEPCION_URL",
    "SANDBOX_RECEPCION_URL_ANEXO3",
    "AlreadyReceived",
    "AsyncClient",
    "AsyncTokenManager",
    "BearerAuth",
    "CallbackError",
    "CallbackResult",
    "Client",
    "ClientOptions",
    "Credentials",
    "DetalleError",
    "DetalleMensaje",
    "Environment",
    "Estado",
    "InvalidRequestBodyError",
    "ListOptions",
    "Respuesta",
    "RespuestaMismatchError",
    "StatusResult",
    "Submission",
    "SubmitOptions",
    "SubmitResult",
    "TokenManager",
    "TokenStats",
    "UnexpectedResponseError",
    "callback_app",
    "callback_token",
    "callback_url",
    "decode_respuesta",
    "parse_callback",
    "parse_detalle_mensaje",
    "submission_from_xml",
    "verify_respuesta",
]
