"""What the worker reads of Hacienda's answer (a decoded MensajeHacienda or a test double): its error rows,
raw bytes, DetalleMensaje, a one-line summary, and whether a rejection is transient (query and send again)."""

from __future__ import annotations

from typing import Any

__all__ = ["TRANSIENT_TEXTS", "detalle", "errores", "raw_xml", "summary", "transient"]


def errores(respuesta: Any) -> list[dict[str, Any]]:
    out = []
    for item in getattr(respuesta, "errores", None) or ():
        out.append(
            {
                "codigo": getattr(item, "codigo", None),
                "mensaje": getattr(item, "mensaje", str(item)),
                "fila": getattr(item, "fila", None),
                "columna": getattr(item, "columna", None),
            }
        )
    return out


def raw_xml(respuesta: Any) -> bytes | None:
    for name in ("raw_xml", "xml", "raw"):
        value = getattr(respuesta, name, None)
        if isinstance(value, bytes):
            return value
    return None


def detalle(respuesta: Any) -> str | None:
    for name in ("detalle_mensaje", "detalle"):
        value = getattr(respuesta, name, None)
        if isinstance(value, str):
            return value
    return None


#: Hacienda's texts of a transient rejection: query again, then send again (bounded), never final.
TRANSIENT_TEXTS = ("error al comunicarse con el signum one", "valorar reenvío", "valorar reenvio")


def transient(respuesta: Any) -> str | None:
    """The transient text of a rejection (as Hacienda wrote it), or None for a real rejection."""
    text = " ".join(filter(None, (detalle(respuesta), summary(respuesta)))) if respuesta is not None else ""
    lowered = text.lower()
    for needle in TRANSIENT_TEXTS:
        if needle in lowered:
            start = lowered.index(needle)
            return text[start : start + len(needle)]
    return None


def summary(respuesta: Any) -> str:
    errs = errores(respuesta)
    if not errs:
        return detalle(respuesta) or "rechazado"
    parts = [
        f"[{e['codigo']}] {e['mensaje']}" if e["codigo"] is not None else str(e["mensaje"]) for e in errs
    ]
    return "; ".join(parts)
