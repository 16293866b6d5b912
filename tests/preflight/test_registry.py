"""The preflight's registry checks against the simulator's public data (a real HTTP server on 127.0.0.1
serving /fe/ae, /fe/cabys and /fe/ex from its seeded registry), through the package's PublicDataClient and a
real SQLite outbox as its cache -- and, for -37 and -408, the same registry file the simulator runs on
imported into that cache (``lookup import``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from preflight_helpers import Factory, Hacienda

from cr_einvoice.hacienda.publicdata import PublicDataClient
from cr_einvoice.hacienda.publicdata.imported import import_registry_file
from cr_einvoice.outbox.store import SQLiteStore, open_store
from cr_einvoice.preflight import PreflightReport, Severity, preflight
from cr_einvoice.testing.examples import EXAMPLE_KINDS
from cr_einvoice.vouchers.rules import MESSAGES


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = open_store(tmp_path / "outbox.db", create=True)
    yield store
    store.close()


@pytest.fixture
def imported(outbox: SQLiteStore, tmp_path: Path) -> SQLiteStore:
    """The outbox with the registry file the simulator runs on (its bundled default) imported."""
    path = tmp_path / "registry.json"
    path.write_bytes(resources.files("cr_einvoice.sandbox").joinpath("registry_default.json").read_bytes())
    import_registry_file(outbox, path)
    return outbox


@pytest.fixture
def public_data(hacienda: Hacienda, outbox: SQLiteStore) -> Iterator[PublicDataClient]:
    with PublicDataClient(hacienda.sim.root_url, cache=outbox) as client:
        yield client


def _activity(code: str) -> Callable[[dict[str, Any]], None]:
    def patch(data: dict[str, Any]) -> None:
        data["codigo_actividad_emisor"] = code

    return patch


def _exonerated(numero: str, fecha: str, line: int = 1) -> Callable[[dict[str, Any]], None]:
    """The FE's line ``line`` (0-based; 1 is the laptops, CABYS 4527100000100) exonerated under ``numero``."""

    def patch(data: dict[str, Any]) -> None:
        data["lineas"][line]["impuestos"][0]["exoneracion"] = {
            "tipo_documento_ex1": "04",
            "numero_documento": numero,
            "nombre_institucion": "01",
            "fecha_emision_ex": fecha,
            "tarifa_exonerada": "13",
        }

    return patch


def _reasons(report: PreflightReport) -> list[tuple[int | None, Severity, str]]:
    return [(r.code, r.severity, r.path) for r in report.reasons]


def test_a_registered_voucher_has_no_registry_reason(factory: Factory, public_data: PublicDataClient) -> None:
    report = preflight(factory.voucher("fe").xml, public_data=public_data, allow_lookup=True)
    assert report.accepted and report.reasons == (), report
    # no registry data imported: the address is not known (-37 skipped); the activity code is an active
    # activity of the emisor (looked up), so it exists in the catalogue: -408 is not skipped
    assert [s for s in report.skipped if "-37" in s or "-408" in s] == [
        "address (-37): the registered address of 3101123456 is not imported (the public taxpayer lookup "
        "gives none; cr-einvoice lookup import FILE with your registered data from ATV)"
    ]


def test_activity_not_registered_for_the_emisor_is_a_minus_407_warning(
    factory: Factory, public_data: PublicDataClient
) -> None:
    report = preflight(
        factory.voucher("fe", patch=_activity("751101")).xml, public_data=public_data, allow_lookup=True
    )
    assert report.accepted
    assert _reasons(report) == [(-407, Severity.WARNING, "CodigoActividadEmisor")]
    assert report.reasons[0].message == MESSAGES[-407]


def test_cabys_not_in_the_catalogue_is_minus_400_per_line(
    factory: Factory, public_data: PublicDataClient
) -> None:
    def edit(xml: bytes) -> bytes:
        return re.sub(rb"<CodigoCABYS>8314200000000<", b"<CodigoCABYS>8399999999999<", xml, count=1)

    report = preflight(factory.voucher("fe", edit=edit).xml, public_data=public_data, allow_lookup=True)
    assert not report.accepted
    assert _reasons(report) == [(-400, Severity.REJECTION, "DetalleServicio/LineaDetalle[1]/CodigoCABYS")]
    assert report.reasons[0].message == MESSAGES[-400].format(n=1)


def test_exonerations_are_checked_against_the_authorisation(
    factory: Factory, public_data: PublicDataClient
) -> None:
    def check(patch: Callable[[dict[str, Any]], None]) -> PreflightReport:
        return preflight(factory.voucher("fe", patch=patch).xml, public_data=public_data, allow_lookup=True)

    ok = check(_exonerated("AL-00460853-20", "2026-01-10T00:00:00-06:00"))
    assert ok.accepted and ok.reasons == (), ok
    path = "DetalleServicio/LineaDetalle[2]/Impuesto[1]/Exoneracion"
    unknown = check(_exonerated("AL-99999999-99", "2026-01-10T00:00:00-06:00"))
    assert _reasons(unknown) == [(None, Severity.REJECTION, f"{path}/NumeroDocumento")]
    assert "not in Hacienda's registry" in unknown.reasons[0].message
    expired = check(_exonerated("AL-00000001-24", "2024-02-01T00:00:00-06:00"))
    assert _reasons(expired) == [(None, Severity.REJECTION, f"{path}/NumeroDocumento")]
    assert "is not valid on" in expired.reasons[0].message
    wrong_date = check(_exonerated("AL-00460853-20", "2026-01-11T00:00:00-06:00"))
    assert _reasons(wrong_date) == [(None, Severity.REJECTION, f"{path}/FechaEmisionEX")]
    service = check(_exonerated("AL-00460853-20", "2026-01-10T00:00:00-06:00", line=0))
    first = "DetalleServicio/LineaDetalle[1]/Impuesto[1]/Exoneracion/NumeroDocumento"
    assert _reasons(service) == [(None, Severity.REJECTION, first)]
    assert "does not cover CABYS 8314200000000" in service.reasons[0].message


def test_without_lookups_only_the_cache_answers(
    factory: Factory, hacienda: Hacienda, outbox: SQLiteStore, public_data: PublicDataClient
) -> None:
    built = factory.voucher("fe", patch=_activity("751101"))
    # Nothing cached yet and no lookup allowed: the registry checks are skipped, and say why.
    cold = preflight(built.xml, store=outbox)
    assert cold.accepted and cold.reasons == ()
    assert any("taxpayer 3101123456" in s and "cache" in s for s in cold.skipped), cold.skipped
    # A lookup (through the client whose cache is the outbox) fills the cache ...
    assert preflight(built.xml, public_data=public_data, allow_lookup=True).reasons[0].code == -407
    # ... and then the outbox alone answers offline, even with the simulator stopped.
    hacienda.sim.stop()
    warm = preflight(built.xml, store=outbox)
    assert _reasons(warm) == [(-407, Severity.WARNING, "CodigoActividadEmisor")]
    # an online client given without allow_lookup is limited to its cache too
    assert _reasons(preflight(built.xml, public_data=public_data)) == _reasons(warm)


def _other_distrito(xml: bytes) -> bytes:
    return xml.replace(b"<Distrito>08</Distrito>", b"<Distrito>01</Distrito>", 1)


def _unknown_cabys(xml: bytes) -> bytes:
    return xml.replace(b"<CodigoCABYS>8314200000000<", b"<CodigoCABYS>8399999999999<", 1)


#: name -> (patch, edit, the prediction's (codes or None) rejections, its warnings' codes).
REGISTRY_CASES: dict[str, tuple[Any, Any, list[int | None], list[int | None]]] = {
    "-37 address not the registered one": (None, _other_distrito, [], [-37]),
    "-408 activity not in the catalogue": (_activity("999999"), None, [-408], []),
    "-407 activity not registered": (_activity("751101"), None, [], [-407]),
    "-400 CABYS not in the catalogue": (None, _unknown_cabys, [-400], []),
    "exoneration not in force": (
        _exonerated("AL-00000001-24", "2024-02-01T00:00:00-06:00"),
        None,
        [None],
        [],
    ),
    "exoneration for other goods": (
        _exonerated("AL-00460853-20", "2026-01-10T00:00:00-06:00", line=0),
        None,
        [None],
        [],
    ),
}


@pytest.mark.usefixtures("imported")
@pytest.mark.parametrize("name", list(REGISTRY_CASES))
def test_the_simulator_answers_the_registry_reasons_predicted(
    factory: Factory, hacienda: Hacienda, public_data: PublicDataClient, name: str
) -> None:
    patch, edit, rejections, warnings = REGISTRY_CASES[name]
    built = factory.voucher("fe", patch=patch, edit=edit)
    report = preflight(built.xml, public_data=public_data, allow_lookup=True)
    assert [r.code for r in report.rejections] == rejections
    assert [r.code for r in report.warnings] == warnings
    verdict = hacienda.judge(built)
    assert verdict.accepted == report.accepted, (report, verdict)
    if report.accepted:
        assert [w for w in verdict.warnings if isinstance(w, int)] == warnings
    else:
        messages = {r.message for r in report.rejections}
        coded = [c for c in verdict.rejections if isinstance(c, int)]
        assert coded == [c for c in rejections if c is not None]
        # an exoneration rejection has no captured code: the simulator writes a bare line ending with the
        # preflight's reason
        bare = [line for line in verdict.rejections if isinstance(line, str)]
        assert len(bare) == rejections.count(None)
        assert all(any(line.endswith(m) for m in messages) for line in bare), (bare, messages)


def test_without_imported_registry_data_minus_37_and_minus_408_are_skipped(
    factory: Factory, hacienda: Hacienda, public_data: PublicDataClient
) -> None:
    """The simulator holds addresses and the activity catalogue; the public API does not: with nothing
    imported the preflight says it could not predict them (-37 is only a warning; -408 a rejection)."""
    moved = factory.voucher("fe", edit=_other_distrito)
    report = preflight(moved.xml, public_data=public_data, allow_lookup=True)
    assert report.accepted and report.reasons == ()
    assert any(s.startswith("address (-37)") and "not imported" in s for s in report.skipped)
    verdict = hacienda.judge(moved)
    assert verdict.accepted and verdict.warnings == [-37]

    invented = factory.voucher("fe", patch=_activity("999999"))
    report = preflight(invented.xml, public_data=public_data, allow_lookup=True)
    assert report.accepted and [r.code for r in report.warnings] == [-407]
    assert any(s.startswith("activity catalogue (-408)") and "not imported" in s for s in report.skipped)
    verdict = hacienda.judge(invented)
    assert not verdict.accepted and verdict.rejections == [-408]


def test_with_the_registry_imported_the_outbox_alone_predicts_minus_37_and_minus_408(
    factory: Factory, imported: SQLiteStore
) -> None:
    """No public-data client, no network: the outbox's imported data answers (as ``check --offline``)."""
    moved = preflight(factory.voucher("fe", edit=_other_distrito).xml, store=imported)
    assert moved.accepted
    assert _reasons(moved) == [(-37, Severity.WARNING, "Emisor/Ubicacion")]
    assert moved.reasons[0].message == MESSAGES[-37]
    assert "1/01/01" in moved.reasons[0].detail and "1/01/08" in moved.reasons[0].detail

    invented = preflight(factory.voucher("fe", patch=_activity("999999")).xml, store=imported)
    assert not invented.accepted
    assert _reasons(invented) == [(-408, Severity.REJECTION, "CodigoActividadEmisor")]  # no -407 beside it
    assert invented.reasons[0].message == MESSAGES[-408]
    assert "registry.json, sha256" in invented.reasons[0].detail

    # a code of the catalogue the emisor has not registered: -407 from the imported registered data
    other = preflight(factory.voucher("fe", patch=_activity("751101")).xml, store=imported)
    assert other.accepted and _reasons(other) == [(-407, Severity.WARNING, "CodigoActividadEmisor")]

    valid = preflight(factory.voucher("fe").xml, store=imported)
    assert valid.accepted and valid.reasons == (), valid
    assert not [s for s in valid.skipped if "-37" in s or "-408" in s or "taxpayer" in s], valid.skipped


@pytest.mark.usefixtures("imported")
@pytest.mark.parametrize("kind", [k for k in EXAMPLE_KINDS if k != "mr"])
def test_every_example_gets_the_simulators_registry_verdict_code_by_code(
    factory: Factory, hacienda: Hacienda, public_data: PublicDataClient, kind: str
) -> None:
    """Valid vouchers, with the simulator's registry imported: accepted by both, with the same registry
    warnings (the FEE example's emisor address is not the one registered: -37 from both)."""
    built = factory.voucher(kind)
    report = preflight(built.xml, public_data=public_data, allow_lookup=True)
    verdict = hacienda.judge(built)
    assert report.accepted and verdict.accepted, (report, verdict)
    assert sorted(r.code for r in report.warnings if r.code is not None) == sorted(
        w for w in verdict.warnings if isinstance(w, int)
    )
    assert not [s for s in report.skipped if "-37" in s or "-408" in s], report.skipped
