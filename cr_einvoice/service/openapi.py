"""The OpenAPI 3.1 document of the ``/v1`` API, served at ``/openapi.json``.

The request schema of ``POST /v1/vouchers`` is the JSON input format's JSON Schema, generated from the model
by :func:`cr_einvoice.vouchers.jsonschema.json_schema` (its ``$defs`` become ``components/schemas``;
nothing is copied by hand). OpenAPI 3.1 schemas are JSON Schema 2020-12, so the generated schema is used
as it is.
"""

from __future__ import annotations

import functools
from typing import Any

from cr_einvoice.core.version import __version__

__all__ = ["openapi_document"]

_REF = "#/components/schemas/"


def _moved(node: Any) -> Any:
    """``node`` with every ``#/$defs/X`` reference pointing at ``components/schemas/X``."""
    if isinstance(node, dict):
        out = {k: _moved(v) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = _REF + ref[len("#/$defs/") :]
        return out
    if isinstance(node, list):
        return [_moved(v) for v in node]
    return node


def _document_schemas() -> dict[str, Any]:
    from cr_einvoice.vouchers.jsonschema import json_schema

    schema = json_schema()
    defs = schema.pop("$defs")
    for name in ("$schema", "$id"):
        schema.pop(name, None)
    return {"Document": _moved(schema), **{name: _moved(body) for name, body in defs.items()}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    """An object schema with these properties, ``required`` of them required."""
    return {"type": "object", "required": required, "properties": properties}


_STR = {"type": "string"}


_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; `problems` lists each finding with its JSON path and code.",
    "required": ["type", "title", "status", "detail", "problems"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "message", "code"],
                "properties": {
                    "path": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": ["integer", "null"]},
                },
            },
        },
    },
}
_LINKS = {
    "type": "object",
    "properties": {k: {"type": "string"} for k in ("self", "xml", "respuesta", "pdf")},
}
_STATE = {"enum": ["signed", "sending", "submitted", "processing", "accepted", "rejected", "error"]}
_NULLABLE_STR = {"type": ["string", "null"]}
_ISSUED = {
    "type": "object",
    "required": ["key", "clave", "consecutivo", "tipo", "state", "links"],
    "properties": {
        "key": {"type": "string"},
        "clave": {"type": "string", "pattern": "^[0-9]{50}$"},
        "consecutivo": {"type": "string", "pattern": "^[0-9]{20}$"},
        "tipo": {"type": "string"},
        "state": _STATE,
        "fecha_emision": {"type": "string", "format": "date-time"},
        "created": {"type": "boolean"},
        "links": _ref("Links"),
        "notes": {
            "type": "array",
            "description": "what Hacienda's public data completed or says ([publicdata] enabled)",
            "items": {"type": "object"},
        },
    },
}
_RESPUESTA = {
    "type": "object",
    "properties": {
        "received_at": {"type": "string", "format": "date-time"},
        "source": {"type": "string"},
        "estado": {"type": "string"},
        "mensaje": {"type": ["integer", "null"]},
        "detalle": _NULLABLE_STR,
        "errores": {"type": "array", "items": {"type": "object"}},
    },
}
_VOUCHER = _obj(
    ["key", "clave", "consecutivo", "state", "links"],
    key=_STR,
    clave=_STR,
    consecutivo=_STR,
    kind={"enum": ["issued", "receptor_message"]},
    tipo=_STR,
    state=_STATE,
    last_error=_NULLABLE_STR,
    links=_ref("Links"),
    respuestas={"type": "array", "items": _ref("Respuesta")},
    hacienda={"anyOf": [_ref("Respuesta"), {"type": "null"}]},
)
_RECEIVED = _obj(
    ["clave", "tipo", "emisor", "total_comprobante", "decision"],
    clave=_STR,
    tipo=_STR,
    emisor={"type": "object"},
    total_comprobante=_STR,
    decision=_NULLABLE_STR,
    answer=_NULLABLE_STR,
)
_DECISION = {
    "type": "object",
    "required": ["decision"],
    "additionalProperties": False,
    "properties": {
        "decision": {"enum": ["accept", "partial", "reject"]},
        "reason": {"type": "string", "minLength": 5, "maxLength": 160},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _xml(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/xml": {"schema": {"type": "string"}}}}


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {
        400: "Bad request",
        401: "No valid API key",
        403: "The key's emisor is not one this service signs for",
        404: "Not found (or another emisor's)",
        409: "Conflict (the store refused)",
        413: "Body too large",
        415: "Wrong media type",
        422: "Invalid input: `problems` names each field",
        429: "Rate limited (`Retry-After`)",
        502: "Hacienda did not answer usably",
        503: "Hacienda is limiting requests, or the service is starting",
    }
    problem = {"content": {"application/problem+json": {"schema": _ref("Problem")}}}
    return {str(s): {"description": texts[s], **problem} for s in (401, 429, *statuses)}


def _key_param(name: str = "key") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


_TIPO_PARAM = _query("tipo", "document type: 01..10 or fe, nd, nc, te, fec, fee, rep, mr")
#: The date filters, the page size and the cursor every listing takes.
_PAGE_PARAMS = (
    _query("since", "FechaEmision from this day (YYYY-MM-DD)", {"type": "string", "format": "date"}),
    _query("until", "FechaEmision up to this day", {"type": "string", "format": "date"}),
    _query("limit", "1..200 (default 50)", {"type": "integer", "minimum": 1, "maximum": 200}),
    _query("cursor", "next_cursor of the previous page (opaque)"),
)


def _page_of(item: str) -> dict[str, Any]:
    """A listing's answer: one page of ``item`` and the cursor of the next (null on the last page)."""
    return _json(
        {
            "type": "object",
            "required": ["items", "next_cursor"],
            "properties": {
                "items": {"type": "array", "items": _ref(item)},
                "next_cursor": _NULLABLE_STR,
                "next": {"type": "string", "description": "the next page's URL (when there is one)"},
            },
        },
        "One page",
    )


def _lookup_paths() -> dict[str, Any]:
    """``/v1/lookups``: Hacienda's public data, each answered as the result's JSON."""
    found = _json({"type": "object", "description": "the result (amounts as strings, ISO dates)"}, "Found")

    def lookup(summary: str, operation: str, *params: dict[str, Any]) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "operationId": operation,
                "parameters": list(params),
                "responses": {"200": found, **_errors(404, 422, 502, 503)},
            }
        }

    return {
        "/v1/lookups/taxpayers/{identificacion}": lookup(
            "A taxpayer: name, regime, situation, activities", "lookupTaxpayer", _key_param("identificacion")
        ),
        "/v1/lookups/cabys/{codigo}": lookup(
            "A CABYS code and its tax rate", "lookupCabys", _key_param("codigo")
        ),
        "/v1/lookups/cabys": lookup(
            "Search CABYS by text", "searchCabys", _query("q", "the text"), _query("top", "at most this many")
        ),
        "/v1/lookups/exchange-rates/{currency}": lookup(
            "BCCR exchange rate (USD, EUR)",
            "lookupExchangeRate",
            _key_param("currency"),
            _query("date", "YYYY-MM-DD (default: today)", {"type": "string", "format": "date"}),
        ),
        "/v1/lookups/exonerations/{authorization}": lookup(
            "An exoneration by its authorization number", "lookupExoneration", _key_param("authorization")
        ),
    }


def _paths() -> dict[str, Any]:
    voucher = {"parameters": [_key_param()]}
    return {
        "/v1/vouchers": {
            "post": {
                "summary": "Issue a voucher (numbered, signed and stored; the worker sends it)",
                "operationId": "issueVoucher",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "A retry with the same key and body returns the same voucher (200).",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("Document")}},
                },
                "responses": {
                    "201": _json(_ref("Issued"), "Issued"),
                    "200": _json(_ref("Issued"), "Issued before with this Idempotency-Key"),
                    **_errors(403, 413, 415, 422),
                },
            },
            "get": {
                "summary": "The key's vouchers, newest first, a page at a time",
                "operationId": "listVouchers",
                "parameters": [
                    _query("state", "signed, sending, submitted, processing, accepted, rejected or error"),
                    _TIPO_PARAM,
                    *_PAGE_PARAMS,
                ],
                "responses": {"200": _page_of("Voucher"), **_errors(422)},
            },
        },
        "/v1/vouchers/{key}": {
            **voucher,
            "get": {
                "summary": "A voucher: its state, Hacienda's answers and errors",
                "operationId": "getVoucher",
                "responses": {"200": _json(_ref("Voucher"), "The voucher"), **_errors(404)},
            },
        },
        "/v1/vouchers/{key}/xml": {
            **voucher,
            "get": {
                "summary": "The signed XML, byte for byte",
                "operationId": "getVoucherXml",
                "responses": {"200": _xml("Signed voucher"), **_errors(404)},
            },
        },
        "/v1/vouchers/{key}/respuesta": {
            **voucher,
            "get": {
                "summary": "Hacienda's signed answer (MensajeHacienda)",
                "operationId": "getRespuesta",
                "responses": {"200": _xml("MensajeHacienda"), **_errors(404)},
            },
        },
        "/v1/vouchers/{key}/pdf": {
            **voucher,
            "get": {
                "summary": "The graphic representation (PDF), with Hacienda's answer when there is one",
                "operationId": "getVoucherPdf",
                "parameters": [_query("format", "a4 (default), letter, 80mm or 58mm")],
                "responses": {
                    "200": {
                        "description": "PDF",
                        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    **_errors(404, 422),
                },
            },
        },
        **_lookup_paths(),
        "/v1/vouchers/{key}/reissue": {
            **voucher,
            "post": {
                "summary": "Issue a rejected voucher (or one in error) again as a new voucher",
                "operationId": "reissueVoucher",
                "responses": {"201": _json(_ref("Voucher"), "The new voucher"), **_errors(404, 409, 422)},
            },
        },
        "/v1/vouchers/{key}/refresh": {
            **voucher,
            "post": {
                "summary": "Ask Hacienda for the voucher's status now",
                "operationId": "refreshVoucher",
                "responses": {"200": _json(_ref("Voucher"), "The voucher"), **_errors(404, 409, 502)},
            },
        },
        "/v1/received": {
            "post": {
                "summary": "Import a supplier's signed voucher; ?decision= answers it at once",
                "operationId": "importReceived",
                "parameters": [
                    _query(
                        "decision", "accept, partial or reject", {"enum": ["accept", "partial", "reject"]}
                    ),
                    _query("reason", "5..160 characters (partial, reject)"),
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/xml": {"schema": {"type": "string"}}},
                },
                "responses": {
                    "201": _json(
                        {
                            "type": "object",
                            "properties": {
                                "received": _ref("Received"),
                                "answer": {"anyOf": [_ref("Voucher"), {"type": "null"}]},
                            },
                        },
                        "Imported (and answered)",
                    ),
                    **_errors(403, 409, 413, 415, 422),
                },
            },
            "get": {
                "summary": "Suppliers' vouchers received by the key's emisor, newest first, a page at a time",
                "operationId": "listReceived",
                "parameters": [
                    _query(
                        "decision",
                        "pending (not answered yet), answered, accept, partial or reject",
                        {"enum": ["pending", "answered", "accept", "partial", "reject"]},
                    ),
                    _TIPO_PARAM,
                    _query("emisor", "the supplier's identification number", {"type": "string"}),
                    *_PAGE_PARAMS,
                ],
                "responses": {"200": _page_of("Received"), **_errors(422)},
            },
        },
        "/v1/received/{clave}": {
            "parameters": [_key_param("clave")],
            "get": {
                "summary": "One received voucher",
                "operationId": "getReceived",
                "responses": {"200": _json(_ref("Received"), "Received voucher"), **_errors(404)},
            },
        },
        "/v1/received/{clave}/decision": {
            "parameters": [_key_param("clave")],
            "post": {
                "summary": "Accept, partially accept or reject a received voucher (MensajeReceptor)",
                "operationId": "answerReceived",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("Decision")}},
                },
                "responses": {"201": _json(_ref("Voucher"), "The MensajeReceptor"), **_errors(404, 409, 422)},
            },
        },
        "/healthz": {
            "get": {
                "summary": "Liveness",
                "operationId": "healthz",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "Alive")},
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: the store answers, the worker runs",
                "operationId": "readyz",
                "security": [],
                "responses": {
                    "200": _json({"type": "object"}, "Ready"),
                    "503": _json({"type": "object"}, "Not ready"),
                },
            }
        },
    }


@functools.cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cr-einvoice issuing service",
            "version": __version__,
            "description": "Issue Costa Rica electronic vouchers (v4.4), follow Hacienda's answers, answer "
            "suppliers' vouchers. Errors are RFC 9457 problem details.",
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key from 'cr-einvoice apikey create' (crk_...)",
                }
            },
            "schemas": {
                **_document_schemas(),
                "Problem": _PROBLEM,
                "Links": _LINKS,
                "Issued": _ISSUED,
                "Respuesta": _RESPUESTA,
                "Voucher": _VOUCHER,
                "Received": _RECEIVED,
                "Decision": _DECISION,
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh copy)."""
    import copy

    return copy.deepcopy(_document())
