"""The issuing path with Hacienda's public data (the simulator's, over loopback): a receptor given by cédula
only and a USD document without TipoCambio are completed and the changes stated; the registry's findings
come back as notes; an offline miss takes no number."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.hacienda.publicdata import NotCachedError, PublicDataClient, SlidingWindowLimiter
from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.store import CounterKey, SQLiteStore
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import Signer
from cr_einvoice.testing.examples import example_json
from cr_einvoice.vouchers.xmlread import from_xml

EMISOR = "3101123456"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory, schemas_dir: Path) -> Iterator[Simulator]:
    os.environ.setdefault("CR_EINVOICE_SCHEMAS", str(schemas_dir))
    settings = SimulatorSettings(check_schema=False, certs_dir=tmp_path_factory.mktemp("sim"))
    with Simulator(settings) as simulator:
        yield simulator


def _issuer(store: SQLiteStore, signer: Signer, sim: Simulator, **options: Any) -> Issuer:
    client = PublicDataClient(sim.root_url, cache=store, limiter=SlidingWindowLimiter(), **options)
    settings = IssuerSettings("02", EMISOR, "Soluciones Tecnológicas del Valle S.A.")
    return Issuer(store, signer, settings, public_data=client)


def _usd_fe_for(cedula: str) -> dict[str, Any]:
    data = example_json("fe")
    data["receptor"] = {"identificacion": {"numero": cedula}, "correo_electronico": "compras@example.cr"}
    data["codigo_moneda"] = "USD"
    data.pop("tipo_cambio", None)
    return data


def test_receptor_and_rate_are_completed_and_stated(
    store: SQLiteStore, signer: Signer, sim: Simulator
) -> None:
    issued = _issuer(store, signer, sim).issue_json(_usd_fe_for("3102654321"))
    doc: Any = from_xml(issued.signed_xml)
    assert doc.receptor.nombre == "DISTRIBUIDORA LA SABANA LIMITADA"
    assert doc.receptor.identificacion.tipo.value == "02"
    published = sim.registry.rate("USD", datetime.now(CR_TZ).date())
    assert published is not None
    assert doc.tipo_cambio == published[1]["venta"].quantize(Decimal("0.00001"))
    paths = [n.path for n in issued.notes]
    assert paths[:2] == ["receptor.nombre", "tipo_cambio"]
    assert (
        "BCCR sell rate of USD" in issued.notes[1].message and "api.hacienda.go.cr" in issued.notes[1].message
    )
    assert len(issued.notes) == 2  # the registry has nothing to say about this voucher


def test_registry_findings_are_notes(store: SQLiteStore, signer: Signer, sim: Simulator) -> None:
    data = example_json("fe")
    data["lineas"][1]["codigo_cabys"] = "2316100000100"  # rice (1 % IVA) sold at 13 %
    data["codigo_actividad_emisor"] = "464901"  # an activity of another taxpayer
    issued = _issuer(store, signer, sim).issue_json(data)
    notes = {(n.path, n.code) for n in issued.notes}
    assert ("CodigoActividadEmisor", -407) in notes
    assert ("DetalleServicio/LineaDetalle[2]/Impuesto/Tarifa", None) in notes
    events = [e for e in store.events(issued.key) if e.kind == "registry_notes"]
    assert len(events) == 1 and len(events[0].detail["notes"]) == len(issued.notes)


def test_an_offline_miss_takes_no_number(store: SQLiteStore, signer: Signer, sim: Simulator) -> None:
    issuer = _issuer(store, signer, sim, offline=True)
    before = store.peek_next_number(CounterKey(EMISOR, 1, 1, "01"))
    with pytest.raises(NotCachedError):
        issuer.issue_json(_usd_fe_for("3102654321"))
    assert store.peek_next_number(CounterKey(EMISOR, 1, 1, "01")) == before


def test_without_public_data_nothing_changes(store: SQLiteStore, signer: Signer) -> None:
    issuer = Issuer(store, signer, IssuerSettings("02", EMISOR, "Soluciones Tecnológicas del Valle S.A."))
    assert issuer.issue_json(example_json("fe")).notes == ()


def test_a_runtime_with_publicdata_enabled_completes_documents(
    tmp_path: Path, sim: Simulator, pki: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cr_einvoice.app.config import Config, EmisorSettings, SigningSettings, StoreSettings
    from cr_einvoice.app.publicdata import PublicDataConfig
    from cr_einvoice.app.runtime import Runtime

    monkeypatch.setenv("CR_EINVOICE_PIN", pki.pin)
    config = Config(
        base_dir=tmp_path,
        store=StoreSettings(path="outbox.db"),
        signing=SigningSettings(p12_path=str(pki.taxpayer_p12)),
        emisor=EmisorSettings("02", EMISOR, "Soluciones Tecnológicas del Valle S.A."),
        publicdata=PublicDataConfig(enabled=True, base_url=sim.root_url),
    )
    with Runtime(config, create_store=True) as runtime:
        issued = runtime.issuer().issue_json(_usd_fe_for("112345678"))
        assert [n.path for n in issued.notes][:2] == ["receptor.nombre", "tipo_cambio"]
        assert runtime.store.cache_get("taxpayer", "112345678") is not None  # the store is the cache
    off = Config(base_dir=tmp_path, store=StoreSettings(path="outbox.db"), emisor=config.emisor,
                 signing=config.signing)  # fmt: skip
    with Runtime(off) as runtime:
        assert runtime.issuer().public_data is None


def test_json_bytes_are_completed_too(store: SQLiteStore, signer: Signer, sim: Simulator) -> None:
    """What the issuing service hands over (the request body) gets the same completion."""
    import json

    doc: Any = _issuer(store, signer, sim).from_json(json.dumps(_usd_fe_for("112345678")).encode())
    assert doc.receptor.nombre == "MARIA FERNANDA SOLANO QUESADA" and doc.tipo_cambio > 0
