"""The service over a configuration with two taxpayers ([issuers.NAME]): each API key issues as its own
taxpayer (its certificate, its numbering, its IdP user through the in-process worker) and sees only its
vouchers. Uses the two-taxpayer setup of tests/app/test_taxpayers.py."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from test_taxpayers import Party, parties, sim, ticket_file, write_config  # noqa: F401 (fixtures)

from cr_einvoice import Runtime
from cr_einvoice.sandbox import Simulator
from cr_einvoice.service.app import create_app
from cr_einvoice.service.auth import ApiKeys
from cr_einvoice.service.server import BackgroundServer
from cr_einvoice.signing.xades import verify


def test_each_key_issues_as_its_own_taxpayer(
    sim: Simulator,  # noqa: F811 (the fixture imported above)
    parties: tuple[Party, Party],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path = write_config(tmp_path, sim, parties, monkeypatch)
    body = ticket_file(tmp_path).read_bytes()  # no emisor: each taxpayer's [issuers.NAME.emisor] fills it
    with Runtime.from_file(config_path) as runtime:
        keys = {p.name: ApiKeys(runtime.store).create(p.numero, p.name)[0].reveal() for p in parties}
        with BackgroundServer(create_app(runtime)) as server:
            issued: dict[str, list[str]] = {"alfa": [], "beta": []}
            for name in ("alfa", "beta", "alfa"):
                response = httpx.post(
                    server.url + "/v1/vouchers",
                    content=body,
                    headers={"Authorization": f"Bearer {keys[name]}", "Content-Type": "application/json"},
                    timeout=30,
                )
                assert response.status_code == 201, response.text
                issued[name].append(response.json()["key"])
            for party in parties:
                for number, key in enumerate(issued[party.name], start=1):
                    deadline = time.monotonic() + 30
                    while not runtime.store.require(key).is_final and time.monotonic() < deadline:
                        time.sleep(0.1)
                    record = runtime.store.require(key)
                    assert record.state.value == "accepted", record.last_error
                    assert (
                        record.emisor_numero == party.numero and record.numero == number
                    )  # its own sequence
                    assert verify(record.signed_xml).signer_cedula == party.numero  # its own certificate
                    submission = sim.store.get(record.clave)
                    assert submission is not None and submission.username == party.user  # its own token
            alfa_sees = httpx.get(
                server.url + "/v1/vouchers", headers={"Authorization": f"Bearer {keys['alfa']}"}
            )
            assert sorted(v["key"] for v in alfa_sees.json()["items"]) == sorted(issued["alfa"])
            other = httpx.get(
                f"{server.url}/v1/vouchers/{issued['beta'][0]}",
                headers={"Authorization": f"Bearer {keys['alfa']}"},
            )
            assert other.status_code == 404
