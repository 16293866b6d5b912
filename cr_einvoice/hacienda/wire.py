"""The recepción API's vocabulary, shared by the client, the callback receiver, the worker and the simulator.

One definition each: the processing states Hacienda reports (``ind-estado``) and which of them are final, and
the one decision whether a refusal means "Hacienda already has this document" (``ya fue recibido``), which is
not a rejection: the caller asks for the status instead of sending again.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

__all__ = ["ALREADY_RECEIVED_MARKERS", "FINAL_ESTADOS", "Estado", "fold", "is_already_received"]


class Estado(StrEnum):
    """``ind-estado`` of ``GET /recepcion/{clave}`` (Hacienda writes it in lower case)."""

    RECIBIDO = "recibido"
    PROCESANDO = "procesando"
    ACEPTADO = "aceptado"
    RECHAZADO = "rechazado"
    ERROR = "error"


#: Hacienda's answer is final: the voucher was accepted or rejected and will not change.
FINAL_ESTADOS: frozenset[str] = frozenset({Estado.ACEPTADO, Estado.RECHAZADO})

#: Hacienda's texts for a document it already has, accent- and case-folded: the 400 ``X-Error-Cause`` "El
#: comprobante ya fue recibido anteriormente" and the -99 detail "… ya existe en nuestras bases de datos …".
ALREADY_RECEIVED_MARKERS: tuple[str, ...] = ("ya fue recibido", "ya existe en nuestras bases de datos")


def fold(text: str) -> str:
    """Lower case without accents (``Recepción`` → ``recepcion``), for comparing Hacienda's free texts."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def is_already_received(*texts: str | None) -> bool:
    """True when any of ``texts`` (an ``X-Error-Cause``, a response body) says Hacienda already received the
    document. The one place this is decided: the client turns such a 400 into an ``AlreadyReceived`` result
    and the worker resolves it by polling."""
    folded = fold(" ".join(t for t in texts if t))
    return any(marker in folded for marker in ALREADY_RECEIVED_MARKERS)
