"""``lookup import``: the activity catalogue (CSV with its header found, JSON) and taxpayers' registered data
(the simulator's registry format) loaded into the store's public-data cache, on SQLite and PostgreSQL;
strict errors naming the row or the entry and the field; entries that never expire and name their origin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from cr_einvoice.app.cli import main
from cr_einvoice.app.config import Config, StoreSettings, write_config
from cr_einvoice.core.errors import ExitCode, ValidationError
from cr_einvoice.hacienda.publicdata import MemoryCache, PublicDataClient
from cr_einvoice.hacienda.publicdata.cache import NS_ACTIVITIES, NS_REGISTERED, CachePolicy
from cr_einvoice.hacienda.publicdata.imported import (
    CATALOGUE_KEY,
    activity_catalogue,
    import_registry,
    import_registry_file,
    read_activity_csv,
    registered_taxpayer,
)
from cr_einvoice.hacienda.publicdata.model import RegisteredAddress
from cr_einvoice.outbox.store import Store, open_store
from cr_einvoice.testing.pgserver import PgServer

#: A CSV export as a Spanish Excel writes it: a title and a blank row before the header, ';' separated,
#: Windows-1252, a code with a dot, a code whose leading zero the spreadsheet dropped.
SPREADSHEET = (
    "Catálogo de Actividades Económicas;;\r\n"
    ";;\r\n"
    "Código;Descripción;Impuesto\r\n"
    "620100;ACTIVIDADES DE PROGRAMACIÓN INFORMÁTICA;13\r\n"
    "4649.01;VENTA AL POR MAYOR DE ARTÍCULOS DE OFICINA;13\r\n"
    "12701;CULTIVO Y BENEFICIADO DE CAFÉ;1\r\n"
    ";;\r\n"
).encode("cp1252")

TAXPAYER = {
    "contribuyentes": {
        "3-101-123456": {
            "nombre": "SOLUCIONES TECNOLOGICAS DEL VALLE SOCIEDAD ANONIMA",
            "tipoIdentificacion": "02",
            "ubicacion": {"provincia": "1", "canton": "01", "distrito": "08"},
            "actividades": [
                {"estado": "A", "tipo": "P", "codigo": "620100", "descripcion": "PROGRAMACION"},
                {"estado": "I", "tipo": "S", "codigo": "469000", "descripcion": "VENTA AL POR MAYOR"},
            ],
        }
    }
}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        location = str(tmp_path / "outbox.db")
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        location = server.create_database()
    s = open_store(location, create=True)
    yield s
    s.close()


def test_the_spreadsheet_export_is_read_after_its_title_rows() -> None:
    assert read_activity_csv(SPREADSHEET) == {
        "620100": "ACTIVIDADES DE PROGRAMACIÓN INFORMÁTICA",
        "4649.01": "VENTA AL POR MAYOR DE ARTÍCULOS DE OFICINA",
        "12701": "CULTIVO Y BENEFICIADO DE CAFÉ",
    }
    utf8 = '\ufeffcodigo,"nombre de la actividad"\n620100,"PROGRAMACION, DESARROLLO"\n'.encode()
    assert read_activity_csv(utf8) == {"620100": "PROGRAMACION, DESARROLLO"}


@pytest.mark.parametrize(
    ("csv", "path", "says"),
    [
        ("Código;Descripción\n620100;PROGRAMACION\nA1;AGRICULTURA\n", "row 3/codigo", "'A1' is not"),
        ("Código;Descripción\n620100;PROGRAMACION\n;CAFE\n", "row 3/codigo", "code is empty"),
        ("Código;Descripción\n6201001;PROGRAMACION\n", "row 2/codigo", "up to 6 digits"),
        ("Código;Descripción\n620100;\n", "row 2/descripcion", "no description"),
        ("Código;Descripción\n620100;UNA\n6201.00;OTRA\n", "row 3/codigo", "on row 2 too"),
        ("Código;Descripción\n", "file", "no activities"),
        ("620100;PROGRAMACION\n461001;VENTA\n", "file", "no header row"),
    ],
)
def test_a_bad_catalogue_names_the_row_and_the_field(csv: str, path: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        read_activity_csv(csv.encode())
    assert caught.value.problems[0].path == path
    assert says in caught.value.problems[0].message


def test_the_import_fills_the_cache_and_never_expires(store: Store) -> None:
    when = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    summary = import_registry(store, SPREADSHEET, source="actividades.csv", now=when)
    assert (summary.format, summary.actividades, summary.taxpayers) == ("csv", 3, ())
    catalogue = activity_catalogue(store)
    assert catalogue is not None and len(catalogue) == 3
    assert catalogue.has("464901") and catalogue.has("012701") and not catalogue.has("999999")
    assert catalogue.fetched_at == when and catalogue.imported_from == "imported from actividades.csv"
    entry = store.cache_get(NS_ACTIVITIES, CATALOGUE_KEY)
    assert entry is not None and json.loads(entry.value)["_importedFrom"] == "actividades.csv"
    assert CachePolicy().fresh(NS_ACTIVITIES, when, when + timedelta(days=3650))

    summary = import_registry(store, json.dumps(TAXPAYER).encode(), source="atv.json")
    assert (summary.format, summary.actividades, summary.taxpayers) == ("json", None, ("3101123456",))
    registered = registered_taxpayer(store, "3101123456")
    assert registered is not None
    assert registered.ubicacion == RegisteredAddress("1", "01", "08")
    assert registered.taxpayer.nombre.startswith("SOLUCIONES") and registered.imported_from.endswith(
        "atv.json"
    )
    assert registered.taxpayer.actividad("620100") is not None
    assert CachePolicy().fresh(NS_REGISTERED, registered.fetched_at, datetime.now(UTC) + timedelta(days=900))
    assert registered_taxpayer(store, "3101654321") is None
    # the catalogue is still the one imported before: a file without actividades leaves it alone
    assert activity_catalogue(store) is not None

    # importing again replaces the catalogue whole
    import_registry(store, b'[{"codigo": "620100", "descripcion": "PROGRAMACION"}]', source="new.json")
    again = activity_catalogue(store)
    assert again is not None and len(again) == 1 and not again.has("464901")


def test_a_bad_file_writes_nothing() -> None:
    cache = MemoryCache()
    bad = {"contribuyentes": {"3101123456": {"nombre": "X", "tipoIdentificacion": "02", "ubicacion": {}}}}
    with pytest.raises(ValidationError) as caught:
        import_registry(cache, json.dumps(bad).encode(), source="bad.json")
    assert caught.value.problems[0].path == "contribuyentes.3101123456.ubicacion"
    regimen = {"contribuyentes": {"3101123456": {"nombre": "X", "tipoIdentificacion": "02", "regimen": 1}}}
    with pytest.raises(ValidationError, match="regimen"):
        import_registry(cache, json.dumps(regimen).encode(), source="bad.json")
    with pytest.raises(ValidationError) as caught:
        import_registry(cache, b'[{"codigo": "620100"}]', source="a.json")
    assert caught.value.problems[0].path == "[0]/descripcion"
    with pytest.raises(ValidationError, match="empty"):
        import_registry(cache, b'{"actividades": {}}', source="a.json")
    with pytest.raises(ValidationError, match="no contribuyentes and no actividades"):
        import_registry(cache, b'{"cabys": []}', source="a.json")
    with pytest.raises(ValidationError) as caught:
        import_registry(cache, b'{"actividades": {"X1": "NADA"}}', source="a.json")
    assert caught.value.problems[0].path == "actividades.X1"
    assert registered_taxpayer(cache, "3101123456") is None and activity_catalogue(cache) is None


def test_the_simulators_registry_file_imports_as_is(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_bytes(resources.files("cr_einvoice.sandbox").joinpath("registry_default.json").read_bytes())
    cache = MemoryCache()
    summary = import_registry_file(cache, path)
    assert "3101123456" in summary.taxpayers and summary.actividades
    assert set(summary.ignored) == {"cabys", "tipoCambio", "exoneraciones"}
    assert summary.source.startswith("registry.json, sha256 ")
    with PublicDataClient(cache=cache, offline=True) as client:
        registered = client.registered("3-101-123456")
        assert registered is not None and registered.ubicacion == RegisteredAddress("1", "01", "08")
        catalogue = client.activity_catalogue()
        assert catalogue is not None and catalogue.has("620100")
    with PublicDataClient(offline=True) as no_cache:
        assert no_cache.registered("3101123456") is None and no_cache.activity_catalogue() is None


def test_the_cli_imports_into_the_configured_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CR_EINVOICE_CONFIG", raising=False)
    csv = tmp_path / "actividades.csv"
    csv.write_bytes(SPREADSHEET)
    # without a configuration there is no store to keep it in
    assert main(["lookup", "import", str(csv)]) == ExitCode.USAGE
    assert "give --config" in capsys.readouterr().err

    open_store(tmp_path / "outbox.db", create=True).close()
    config = write_config(
        Config(base_dir=tmp_path, store=StoreSettings(path="outbox.db")), tmp_path / "cr-einvoice.toml"
    )
    assert main(["lookup", "import", str(csv), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "catalogue of economic activities: 3 activities" in out and "actividades.csv, sha256" in out
    taxpayer = tmp_path / "atv.json"
    taxpayer.write_text(json.dumps(TAXPAYER))
    assert main(["lookup", "import", str(taxpayer), "--config", str(config), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["taxpayers"], doc["actividades"], doc["format"]) == (["3101123456"], None, "json")

    bad = tmp_path / "bad.csv"
    bad.write_text("Código,Descripción\n620100,PROGRAMACION\nABC,OTRA\n")
    assert main(["lookup", "import", str(bad), "--config", str(config)]) == ExitCode.INVALID
    assert "row 3/codigo" in capsys.readouterr().err
    assert main(["lookup", "import", str(tmp_path / "none.csv"), "--config", str(config)]) == ExitCode.USAGE
    assert "cannot read" in capsys.readouterr().err

    store = open_store(tmp_path / "outbox.db")
    try:
        catalogue = activity_catalogue(store)
        assert catalogue is not None and len(catalogue) == 3  # the bad file changed nothing
        assert registered_taxpayer(store, "3101123456") is not None
    finally:
        store.close()
