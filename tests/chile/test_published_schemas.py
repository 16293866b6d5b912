"""The fakes answer what the providers publish: their bodies checked against the published OpenAPI schemas.

The YAML files stay in ../shared/chile (read through the ``shared_dir`` fixture, never copied; parsed by
``openapi_subset`` since the project has no YAML dependency). Belvo's
published file describes the Mexican invoice endpoint, so only the shapes shared with the Chile endpoint are
checked against it: error items, the 202 acknowledgement and the page envelope.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from cr_einvoice.chile.flow import Invoice, sign_params
from cr_einvoice.testing.chile_fakes import FakeBelvo, FakeFlow, dumps, sample_flow_invoice

from .conftest import LINK, belvo_invoices
from .openapi_subset import load_schemas


@cache
def _load(path: Path) -> dict[str, Any]:
    return load_schemas(path)


def schemas(shared_dir: Path, name: str) -> dict[str, Any]:
    return _load(shared_dir / "chile" / name)


def conforms(
    schema: Mapping[str, Any], value: Any, components: Mapping[str, Any], path: str = "$"
) -> list[str]:
    """A small OpenAPI 3.0 schema check: $ref, oneOf/anyOf, nullable, type, pattern, properties, items."""
    if "$ref" in schema:
        return conforms(components[schema["$ref"].rsplit("/", 1)[1]], value, components, path)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            results = [conforms(option, value, components, path) for option in schema[key]]
            return [] if any(not r for r in results) else [f"{path}: matches none of {key}"]
    if value is None:
        return [] if schema.get("nullable") else [f"{path}: null but not nullable"]
    kind = schema.get("type", "object" if "properties" in schema else None)
    checks = {
        "string": isinstance(value, str),
        "number": isinstance(value, int | Decimal) and not isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, Mapping),
    }
    if kind is not None and not checks[kind]:
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    problems: list[str] = []
    if kind == "string" and "pattern" in schema and not re.fullmatch(schema["pattern"], value):
        problems.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            problems += conforms(schema["items"], item, components, f"{path}[{index}]")
    if kind == "object":
        problems += [f"{path}.{name}: required" for name in schema.get("required", []) if name not in value]
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                problems += conforms(sub, value[name], components, f"{path}.{name}")
    return problems


def body(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


# -- Flow ----------------------------------------------------------------------------------------------------
def test_flow_invoice_matches_the_published_schema(shared_dir: Path, fake_flow: FakeFlow) -> None:
    components = schemas(shared_dir, "flow-openapi.yaml")
    params = {"apiKey": fake_flow.api_key, "invoiceId": "1034"}
    params["s"] = sign_params(params, fake_flow.secret_key)
    response = httpx.get(fake_flow.base_url + "/invoice/get", params=params)
    assert response.status_code == 200
    invoice = body(response)
    assert conforms({"$ref": "#/components/schemas/Invoice"}, invoice, components) == []
    assert set(components["Invoice"]["properties"]) <= set(invoice)


def test_flow_invoice_model_keeps_every_published_field_name(shared_dir: Path) -> None:
    published = set(schemas(shared_dir, "flow-openapi.yaml")["Invoice"]["properties"])
    model = {f.name for f in dataclasses.fields(Invoice)}
    assert published <= model
    assert {"attemp_count", "attemped", "next_attemp_date", "chargeAttemps"} <= published


@pytest.mark.parametrize(
    "params",
    [
        {"invoiceId": "1034", "s": "0" * 64},  # wrong signature: 400 / 108
        {"invoiceId": "999"},  # unknown invoice: 401
    ],
)
def test_flow_errors_match_the_published_schema(
    shared_dir: Path, fake_flow: FakeFlow, params: dict[str, str]
) -> None:
    components = schemas(shared_dir, "flow-openapi.yaml")
    query = {"apiKey": fake_flow.api_key, **params}
    query.setdefault("s", sign_params(query, fake_flow.secret_key))
    response = httpx.get(fake_flow.base_url + "/invoice/get", params=query)
    assert response.status_code in (400, 401)
    assert conforms(components["Error"], body(response), components) == []


def test_sample_flow_invoice_also_valid_when_paid(shared_dir: Path) -> None:
    components = schemas(shared_dir, "flow-openapi.yaml")
    paid = sample_flow_invoice(5, status=1)
    paid["payment"] = {"flowOrder": 3567899, "commerceOrder": "sf1", "status": 2, "amount": Decimal("20000")}
    wire = json.loads(dumps(paid), parse_float=Decimal)
    assert conforms(components["Invoice"], wire, components) == []
    wire["payment"]["status"] = "paid"
    assert conforms(components["Invoice"], wire, components) == [
        "$.payment.status: expected integer, got str"
    ]


# -- Belvo ---------------------------------------------------------------------------------------------------
def belvo_call(fake: FakeBelvo, method: str, path: str, *, password: str | None = None, **kwargs: Any) -> Any:
    auth = (fake.secret_id, password or fake.secret_password)
    return httpx.request(method, fake.origin + path, auth=auth, timeout=5, **kwargs)


@pytest.mark.parametrize(
    ("schema", "status", "call"),
    [
        ("UnauthorizedError", 401, {"method": "GET", "path": "/api/cl/invoices/", "password": "wrong"}),
        ("NotFoundError", 404, {"method": "GET", "path": "/api/cl/invoices/nope/"}),
        (
            "ValidationError",
            400,
            {"method": "POST", "path": "/api/cl/invoices/", "json": {"date_from": "2024-01-01"}},
        ),
    ],
)
def test_belvo_error_items_match_the_published_schemas(
    shared_dir: Path, fake_belvo: FakeBelvo, schema: str, status: int, call: dict[str, Any]
) -> None:
    components = schemas(shared_dir, "belvo-openapi.yaml")
    response = belvo_call(fake_belvo, **call)
    assert response.status_code == status
    payload = body(response)
    assert isinstance(payload, list) and payload
    for item in payload:
        assert conforms(components[schema], item, components) == []
        assert item["code"] == components[schema]["properties"]["code"]["example"]


def test_belvo_timeout_and_unexpected_error_items(shared_dir: Path, fake_belvo: FakeBelvo) -> None:
    components = schemas(shared_dir, "belvo-openapi.yaml")
    retrieval = {"link": LINK, "date_from": "2024-01-01", "date_to": "2024-02-01", "type": None}
    fake_belvo.faults.request_timeout = 1
    timeout = belvo_call(fake_belvo, "POST", "/api/cl/invoices/", json=retrieval)
    fake_belvo.faults.unexpected_error = 1
    unexpected = belvo_call(fake_belvo, "POST", "/api/cl/invoices/", json=retrieval)
    assert (timeout.status_code, unexpected.status_code) == (408, 500)
    assert conforms(components["RequestTimeoutError"], body(timeout)[0], components) == []
    assert conforms(components["UnexpectedError"], body(unexpected)[0], components) == []
    assert body(timeout)[0]["message"] == " ".join(
        components["RequestTimeoutError"]["properties"]["message"]["example"].split()
    )


def test_belvo_async_ack_and_page_envelope(shared_dir: Path, fake_belvo: FakeBelvo) -> None:
    components = schemas(shared_dir, "belvo-openapi.yaml")
    retrieval = {"link": LINK, "date_from": "2024-01-01", "date_to": "2024-12-01", "type": None}
    accepted = belvo_call(
        fake_belvo, "POST", "/api/cl/invoices/", json=retrieval, headers={"X-Belvo-Request-Mode": "async"}
    )
    assert accepted.status_code == 202
    assert conforms(components["AsynchronousAccepted202"], body(accepted), components) == []
    assert re.fullmatch("[a-f0-9]{32}", body(accepted)["request_id"])
    fake_belvo.store(belvo_invoices())
    page = belvo_call(fake_belvo, "GET", "/api/cl/invoices/", params={"page_size": 4, "link": LINK})
    envelope = dict(components["InvoicesResponsePaginatedResponse"])
    # The published items are Mexico's invoice objects; the Chile invoice is checked by the client tests.
    envelope["properties"] = {**envelope["properties"], "results": {"type": "array"}}
    payload = body(page)
    assert conforms(envelope, payload, components) == []
    assert payload["next"].startswith(fake_belvo.origin + "/api/cl/invoices/?")
    assert payload["previous"] is None


def test_openapi_subset_reader(tmp_path: Path) -> None:
    text = """openapi: 3.0.0
paths: {}
components:
  schemas:
    Thing:
      type: object
      required:
      - id
      - 'name'
      properties:
        id:
          type: string
          pattern: '[a-f0-9]{32}'
          description: >-
            A long description: with a colon,
            folded on two lines.
        kind:
          oneOf:
            - $ref: '#/components/schemas/Other'
            - type: integer
              nullable: true
        message:
          type: string
          example: The request timed out, you can retry
            asking for less data
        tags: [a, b]
        empty: {}
        flag: false
        size: 12
servers:
  - url: x
"""
    path = tmp_path / "api.yaml"
    path.write_text(text, encoding="utf-8")
    thing = load_schemas(path)["Thing"]
    assert thing["required"] == ["id", "name"]
    props = thing["properties"]
    assert props["id"] == {
        "type": "string",
        "pattern": "[a-f0-9]{32}",
        "description": "A long description: with a colon, folded on two lines.",
    }
    assert props["kind"]["oneOf"] == [
        {"$ref": "#/components/schemas/Other"},
        {"type": "integer", "nullable": True},
    ]
    assert props["message"]["example"] == "The request timed out, you can retry asking for less data"
    assert (props["tags"], props["empty"], props["flag"], props["size"]) == (["a", "b"], {}, False, 12)
