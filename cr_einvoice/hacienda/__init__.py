"""Hacienda's recepción API: environments, tokens, submit/status/list/get (sync and async), the respuesta
(MensajeHacienda) decoder with signature verification, and callbacks.

See ``docs/design.md`` ("Area: Hacienda client") and the README section for usage.
"""

from __future__ import annotations

from .auth import AsyncTokenManager, BearerAuth, Credentials, TokenManager, TokenStats
from .callbacks import (
    CallbackError,
    CallbackResult,
    callback_app,
    callback_token,
    callback_url,
    parse_callback,
)
from .client import (
    AlreadyReceived,
    AsyncClient,
    Client,
    InvalidRequestBodyError,
    Party,
    StatusResult,
    Submission,
    SubmitResult,
    UnexpectedResponseError,
    submission_from_xml,
)
from .environments import (
    HACIENDA_SELLO_CEDULA,
    PRODUCTION_RECEPCION_URL,
    SANDBOX_RECEPCION_URL,
    SANDBOX_RECEPCION_URL_ANEXO3,
    Environment,
)
from .respuesta import (
    DetalleError,
    DetalleMensaje,
    Respuesta,
    RespuestaMismatchError,
    decode_respuesta,
    parse_detalle_mensaje,
    verify_respuesta,
)

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
    "Credentials",
    "DetalleError",
    "DetalleMensaje",
    "Environment",
    "InvalidRequestBodyError",
    "Party",
    "Respuesta",
    "RespuestaMismatchError",
    "StatusResult",
    "Submission",
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
