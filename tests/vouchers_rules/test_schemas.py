"""Schemas: manifest vs the official files, offline compilation, lookup errors, and `schemas fetch`."""

from __future__ import annotations

import hashlib
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from lxml import etree

from cr_einvoice.app.cli import main
from cr_einvoice.core.errors import ConfigError, NotFoundError, SchemaNotFoundError, TransportError
from cr_einvoice.transport.http import RetryPolicy
from cr_einvoice.vouchers import schemas

REPO = Path(__file__).resolve().parents[2]


def test_manifest_lists_every_official_file(schemas_dir: Path) -> None:
    entries = schemas.manifest()
    on_disk = sorted(p.relative_to(schemas_dir).as_posix() for p in schemas_dir.rglob("*.xsd"))
    assert sorted(e.path for e in entries) == on_disk
    roots44 = {e.root for e in entries if e.version == "4.4"}
    assert roots44 == {
        "FacturaElectronica",
        "NotaDebitoElectronica",
        "NotaCreditoElectronica",
        "TiqueteElectronico",
        "FacturaElectronicaCompra",
        "FacturaElectronicaExportacion",
        "ReciboElectronicoPago",
        "MensajeReceptor",
        "MensajeHacienda",
    }
    for entry in entries:
        raw = (schemas_dir / entry.path).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == entry.sha256, entry.path
        if entry.version == "1.0":
            continue
        doc = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
        assert doc.get("targetNamespace") == entry.namespace
        assert doc.find(f"{{http://www.w3.org/2001/XMLSchema}}element[@name='{entry.root}']") is not None
        assert entry.url.endswith(entry.file)
        base = "https://atv.hacienda.go.cr/ATV/ComprobanteElectronico/docs/esquemas/"
        folder = "2024/v4.4/" if entry.version == "4.4" else "2016/v4.3/"
        assert entry.url == base + folder + entry.file


def test_namespaces_are_camel_case() -> None:
    by_root = {e.root: e.namespace for e in schemas.manifest() if e.version == "4.4"}
    assert by_root["FacturaElectronica"].endswith("/v4.4/facturaElectronica")
    assert by_root["NotaDebitoElectronica"].endswith("/v4.4/notaDebitoElectronica")
    assert by_root["FacturaElectronicaExportacion"].endswith("/v4.4/facturaElectronicaExportacion")
    assert by_root["ReciboElectronicoPago"].endswith("/v4.4/reciboElectronicoPago")


def test_all_schemas_compile_without_network(schemas_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requested: list[str] = []
    original = schemas._LocalResolver.resolve

    def spy(self: schemas._LocalResolver, url: str, public_id: str, context: object = None) -> object:
        requested.append(url)
        return original(self, url, public_id, context)

    monkeypatch.setattr(schemas._LocalResolver, "resolve", spy)
    monkeypatch.setattr(schemas, "_compiled", {})
    compiled = 0
    for entry in schemas.manifest():
        if entry.version == "1.0":
            continue
        for optional in (False, True):
            schema, _ = schemas._compile(entry, schemas_dir, signature_optional=optional)
            assert isinstance(schema, etree.XMLSchema)
            compiled += 1
    assert compiled == 2 * 17
    remote = [u for u in requested if "://" in u and not u.startswith("file://")]
    # Only the W3C xmldsig URL of the 2019 v4.3 files was asked for, and the resolver served it locally.
    assert remote and set(remote) == {
        "http://www.w3.org/TR/2008/REC-xmldsig-core-20080610/xmldsig-core-schema.xsd"
    }
    assert not any(u.endswith(".dtd") for u in requested)


def test_other_external_references_are_refused(tmp_path: Path, schemas_dir: Path) -> None:
    folder = tmp_path / "schemas"
    (folder / "2024" / "v4.4").mkdir(parents=True)
    (folder / "xmldsig-core-schema.xsd").write_bytes((schemas_dir / "xmldsig-core-schema.xsd").read_bytes())
    evil = (
        b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x">'
        b'<xs:import namespace="urn:y" schemaLocation="http://example.invalid/other.xsd"/>'
        b'<xs:element name="FacturaElectronica"/></xs:schema>'
    )
    entry = next(e for e in schemas.manifest() if e.root == "FacturaElectronica" and e.version == "4.4")
    (folder / entry.path).write_bytes(evil)
    with pytest.raises(SchemaNotFoundError, match="network access is disabled"):
        schemas._compile(entry, folder)


def test_schema_for_accepts_names_codes_and_abbreviations(schemas_dir: Path) -> None:
    fe = schemas.schema_for("FacturaElectronica")
    assert schemas.schema_for("01") is fe
    assert schemas.schema_for("fe") is fe
    assert schemas.schema_for("06") is schemas.schema_for("MensajeReceptor")
    assert schemas.schema_for("te", "4.3") is not schemas.schema_for("te")
    with pytest.raises(Exception, match=r"no v4\.3 schema"):
        schemas.schema_for("rep", "4.3")


def test_missing_schemas_say_how_to_get_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CR_EINVOICE_SCHEMAS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(SchemaNotFoundError) as info:
        schemas.find_schemas_dir()
    message = str(info.value)
    assert "cr-einvoice schemas fetch" in message and "CR_EINVOICE_SCHEMAS" in message
    assert str(tmp_path / "cache" / "cr-einvoice" / "schemas") in message
    monkeypatch.setenv("CR_EINVOICE_SCHEMAS", str(tmp_path / "nowhere"))
    with pytest.raises(SchemaNotFoundError, match=r"CR_EINVOICE_SCHEMAS=.*nowhere"):
        schemas.find_schemas_dir()


def test_fetch_cache_is_used_when_env_is_unset(
    tmp_path: Path, schemas_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CR_EINVOICE_SCHEMAS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = tmp_path / "cr-einvoice" / "schemas"
    (cache / "2024" / "v4.4").mkdir(parents=True)
    (cache / "xmldsig-core-schema.xsd").write_bytes(b"<x/>")
    assert schemas.find_schemas_dir() == cache


# -- fetch against a real loopback server -----------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path, schemas_dir: Path) -> Iterator[tuple[str, Path]]:
    """A copy of the official files served over HTTP on 127.0.0.1 (port 0)."""
    root = tmp_path / "mirror"
    for entry in schemas.manifest():
        target = root / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((schemas_dir / entry.path).read_bytes())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_fetch_downloads_and_verifies(mirror: tuple[str, Path], tmp_path: Path, schemas_dir: Path) -> None:
    url, _ = mirror
    dest = tmp_path / "out"
    results = schemas.fetch_schemas(dest, base_url=url)
    assert len(results) == len(schemas.manifest())
    assert not any(r.new_revision for r in results)
    for entry in schemas.manifest():
        assert (dest / entry.path).read_bytes() == (schemas_dir / entry.path).read_bytes()
    fe = next(e for e in schemas.manifest() if e.root == "FacturaElectronica" and e.version == "4.4")
    assert schemas.schema_for("fe", schemas_dir=dest) is not None
    assert (dest / fe.path).read_bytes().count(b"\r\n") == 0  # bare CR kept: bytes untouched


def test_fetch_tampered_file_is_a_warning(
    mirror: tuple[str, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, root = mirror
    entry = next(e for e in schemas.manifest() if e.root == "TiqueteElectronico" and e.version == "4.4")
    tampered = (root / entry.path).read_bytes().replace(b'maxOccurs="5"', b'maxOccurs="6"', 1)
    assert tampered != (root / entry.path).read_bytes()
    (root / entry.path).write_bytes(tampered)
    dest = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="cr_einvoice.schemas"):
        results = schemas.fetch_schemas(dest, base_url=url)
    flagged = [r for r in results if r.new_revision]
    assert [r.path.name for r in flagged] == [entry.file]
    assert flagged[0].sha256 == hashlib.sha256(tampered).hexdigest()
    assert (dest / entry.path).read_bytes() == tampered  # saved anyway
    assert any("new revision" in r.getMessage() for r in caplog.records)
    # the CLI: exit 0, WARNING on stderr
    code = main(["schemas", "fetch", "--dir", str(tmp_path / "cli"), "--base-url", url])
    err = capsys.readouterr().err
    assert code == 0
    assert "WARNING: TiqueteElectronico_V4.4.xsd differs from the tested revision" in err


def test_fetch_missing_file_fails(mirror: tuple[str, Path], tmp_path: Path) -> None:
    url, root = mirror
    entry = next(e for e in schemas.manifest() if e.root == "ReciboElectronicoPago")
    (root / entry.path).unlink()
    with pytest.raises(NotFoundError, match=r"ReciboElectronicoPago_V4\.4\.xsd"):
        schemas.fetch_schemas(tmp_path / "out", base_url=url)


def test_fetch_network_error_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransportError, match="download"):
        schemas.fetch_schemas(
            tmp_path / "out", base_url=f"http://127.0.0.1:{port}/", retry=RetryPolicy(max_attempts=1)
        )
    transport = httpx.MockTransport(lambda request: httpx.Response(503))
    with httpx.Client(transport=transport) as client, pytest.raises(Exception, match="HTTP 503"):
        schemas.fetch_schemas(
            tmp_path / "out",
            base_url="http://mirror.invalid/",
            client=client,
            retry=RetryPolicy(max_attempts=1),
        )


def test_manifest_file_is_valid_json() -> None:
    data = json.loads((REPO / "xsd" / "manifest.json").read_text(encoding="utf-8"))
    assert len(data["schemas"]) == 18


def test_compiled_once_and_shared_between_threads(schemas_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schemas, "_compiled", {})
    calls: list[str] = []
    original = etree.XMLSchema

    def counting(*args: object, **kwargs: object) -> etree.XMLSchema:
        calls.append("compile")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(schemas.etree, "XMLSchema", counting)
    results: list[etree.XMLSchema] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        barrier.wait()
        results.append(schemas.schema_for("nc", schemas_dir=schemas_dir))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 6 and all(r is results[0] for r in results)
    assert calls == ["compile"]


def test_fetch_into_an_unwritable_place_fails_clearly(
    mirror: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = mirror
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["schemas", "fetch", "--dir", str(blocker / "sub"), "--base-url", url]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "--dir" in err and "Traceback" not in err


# -- offline: import a folder or a zip, hash checks, file:// (issue #11 item 1) -----------------------


def _copy_flat(schemas_dir: Path, target: Path) -> None:
    """The official files in one flat folder (as a user might have unpacked them)."""
    target.mkdir(parents=True)
    for entry in schemas.manifest():
        (target / entry.file).write_bytes((schemas_dir / entry.path).read_bytes())


def test_import_from_a_flat_folder_checks_hashes_and_reports_new_revisions(
    tmp_path: Path, schemas_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "download"
    _copy_flat(schemas_dir, source)
    changed = next(e for e in schemas.manifest() if e.root == "TiqueteElectronico" and e.version == "4.4")
    (source / changed.file).write_bytes((source / changed.file).read_bytes() + b"\n<!-- rev D -->\n")
    monkeypatch.delenv("CR_EINVOICE_SCHEMAS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main(["schemas", "import", str(source)]) == 0
    out, err = capsys.readouterr()
    cache = tmp_path / "cache" / "cr-einvoice" / "schemas"
    assert f"NEW REVISION {cache / changed.path}" in out
    assert out.count("\nok ") + out.startswith("ok ") == len(schemas.manifest()) - 1
    assert "differs from the tested revision" in err
    assert schemas.find_schemas_dir() == cache  # the folder `schemas fetch` fills and the validator reads
    assert main(["schemas", "where"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(cache)
    assert f"NEW REVISION {changed.path}" in err and f"{len(schemas.manifest()) - 1} ok" in err
    (cache / changed.path).unlink()
    assert main(["schemas", "where", "--json"]) == 1  # a missing file fails
    report = json.loads(capsys.readouterr().out)
    assert {f["path"]: f["status"] for f in report["files"]}[changed.path] == "missing"


def test_import_from_a_zip_and_refusal_when_files_are_missing(tmp_path: Path, schemas_dir: Path) -> None:
    import zipfile

    archive = tmp_path / "esquemas.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for entry in schemas.manifest():
            z.write(schemas_dir / entry.path, f"esquemas/{entry.path}")
    results = schemas.import_schemas(archive, tmp_path / "out")
    assert not any(r.new_revision for r in results)
    assert all(c.status == "ok" for c in schemas.check_schemas(tmp_path / "out"))
    assert schemas.validate_xsd(
        etree.fromstring((REPO / "tests" / "vouchers_rules" / "data" / "fe_valid.xml").read_bytes()),
        schemas_dir=tmp_path / "out",
    ) == schemas.validate_xsd(
        etree.fromstring((REPO / "tests" / "vouchers_rules" / "data" / "fe_valid.xml").read_bytes())
    )
    partial = tmp_path / "partial"
    _copy_flat(schemas_dir, partial)
    (partial / "xmldsig-core-schema.xsd").unlink()
    with pytest.raises(ConfigError, match=r"lacks 1 of the .*xmldsig-core-schema\.xsd.*nothing was imported"):
        schemas.import_schemas(partial, tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()
    with pytest.raises(ConfigError, match="does not exist"):
        schemas.import_schemas(tmp_path / "nowhere", tmp_path / "nothing")


def test_fetch_from_file_url_and_unsupported_schemes_fail_at_once(tmp_path: Path, schemas_dir: Path) -> None:
    results = schemas.fetch_schemas(tmp_path / "a", base_url=schemas_dir.as_uri())
    assert len(results) == len(schemas.manifest()) and not any(r.new_revision for r in results)
    assert (tmp_path / "a" / "2024" / "v4.4" / "FacturaElectronica_V4.4.xsd").is_file()

    class NoNetwork(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            raise AssertionError("an unsupported scheme must not be tried")

    with (
        httpx.Client(transport=NoNetwork()) as client,
        pytest.raises(ConfigError, match=r"only http://, https:// and file://"),
    ):
        schemas.fetch_schemas(tmp_path / "b", base_url="ftp://mirror.example/esquemas", client=client)


def test_schemas_not_found_names_the_no_xsd_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CR_EINVOICE_SCHEMAS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fe = REPO / "tests" / "vouchers_rules" / "data" / "fe_valid.xml"
    assert main(["validate", str(fe)]) != 0
    err = capsys.readouterr().err
    assert "validate --no-xsd" in err and "issue --no-xsd" in err and "validate_xsd = false" in err
    assert "schemas import" in err and "Traceback" not in err
    assert main(["validate", "--no-xsd", str(fe)]) == 0
