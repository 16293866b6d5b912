"""An Idempotency-Key's voucher and the record of the body it was issued for are stored in one transaction:
when the record cannot be stored, neither is the voucher (its number is taken back), so a later request with
the key is a first request, and a retry never finds a voucher without the body to compare with."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from service_support import Service, running_service, ticket_json

from cr_einvoice.app.demo import EMISOR, LocalSandbox
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.core.clave import Clave
from cr_einvoice.core.errors import StoreError


def post(service: Service, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json", **service.auth()}
    if key is not None:
        headers["Idempotency-Key"] = key
    return httpx.post(
        service.url + "/v1/vouchers", content=json.dumps(body).encode(), headers=headers, timeout=30
    )


def numero(response: httpx.Response) -> int:
    return int(Clave.parse(response.json()["clave"]).consecutivo.numero)


def test_a_voucher_whose_idempotency_record_fails_is_not_stored(
    box: LocalSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert box.config is not None
    runtime = Runtime(box.config)
    store = runtime.store
    real = store.log_event

    def failing(key: str | None, kind: str, detail: Any = None) -> None:
        if kind == "api_request":  # the record of the request's body
            raise StoreError("disk I/O error")
        real(key, kind, detail)

    try:
        with running_service(box, run_worker=False, runtime=runtime) as service:
            first = post(service, ticket_json())
            assert first.status_code == 201, first.text

            monkeypatch.setattr(store, "log_event", failing)
            failed = post(service, ticket_json(), "venta-atomica")
            assert failed.status_code == 409, failed.text
            assert store.find_by_ref(f"api:{EMISOR}:venta-atomica") is None  # the voucher went with it
            monkeypatch.undo()

            other = ticket_json(codigo_actividad_emisor="620100")
            created = post(service, other, "venta-atomica")
            assert created.status_code == 201, created.text  # a first request: the key was never used
            assert numero(created) == numero(first) + 1  # the failed request's number was taken back
            replayed = post(service, other, "venta-atomica")
            assert replayed.status_code == 200 and replayed.json()["clave"] == created.json()["clave"]
            reused = post(service, ticket_json(), "venta-atomica")  # the body of the failed request
            assert reused.status_code == 422, reused.text
            assert reused.json()["problems"][0]["path"] == "Idempotency-Key"
            kinds = [e.kind for e in store.events(created.json()["key"])]
            assert kinds.count("issued") == 1 and kinds.count("api_request") == 1
    finally:
        runtime.close()
