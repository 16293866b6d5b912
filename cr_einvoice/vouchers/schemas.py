"""The official XSD schemas: where they are, downloading them, compiling them offline, XSD validation.

The files are never bundled (Hacienda publishes them; ``xsd/manifest.json`` lists each one with its official
URL, its path in Hacienda's folder layout, root element, namespace and the SHA-256 of the revision this
package is tested against). Lookup order for the folder that holds them:

1. the environment variable ``CR_EINVOICE_SCHEMAS``;
2. the cache folder filled by ``cr-einvoice schemas fetch`` (download) or ``cr-einvoice schemas import``
   (a folder or zip the user already has) (``$XDG_CACHE_HOME/cr-einvoice/schemas``, by default
   ``~/.cache/cr-einvoice/schemas``; pass ``cache_dir`` to override).

Every file is checked against the manifest's SHA-256 (:func:`check_schemas`, :func:`import_schemas`,
:func:`fetch_schemas`): a different digest is reported as a new revision (Hacienda republishes files).

Compilation never touches the network: the parser has ``no_network=True`` and DTD loading off, and a resolver
maps every ``schemaLocation`` that ends in ``xmldsig-core-schema.xsd`` (the relative ``../../`` import of the
v4.4 files and the absolute W3C URL of the 2019 v4.3 files) to the local copy, served without its DOCTYPE so
``XMLSchema.dtd`` is never requested. Any other external reference is refused. Each schema is compiled once
per process (thread-safe cache).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
from lxml import etree

from cr_einvoice.core.catalogs import DOCUMENT_KINDS, TipoDocumento
from cr_einvoice.core.errors import (
    APIError,
    ConfigError,
    CrEinvoiceError,
    NotFoundError,
    Problem,
    SchemaNotFoundError,
    ServerError,
)
from cr_einvoice.transport import http as _http

__all__ = [
    "ENV_VAR",
    "REPEATABLE",
    "FetchResult",
    "SchemaCheck",
    "SchemaEntry",
    "check_schemas",
    "default_cache_dir",
    "element_path",
    "fetch_schemas",
    "find_schemas_dir",
    "has_signature",
    "identify",
    "import_schemas",
    "manifest",
    "schema_for",
    "validate_xsd",
]

log = logging.getLogger("cr_einvoice.schemas")

ENV_VAR = "CR_EINVOICE_SCHEMAS"
XMLDSIG_FILE = "xmldsig-core-schema.xsd"
_HOW_TO = (
    "Get the official schemas with 'cr-einvoice schemas fetch' (downloads them to {cache}), or "
    "'cr-einvoice schemas import DIR|ZIP' (files you already have, checked against the manifest), or point "
    f"the environment variable {ENV_VAR} at a folder laid out like Hacienda's (2024/v4.4/*.xsd, "
    f"2019/v4.3/*.xsd and {XMLDSIG_FILE} at the top). To skip the XSD check (Hacienda's business rules "
    "still run): 'cr-einvoice validate --no-xsd', 'cr-einvoice issue --no-xsd', or 'validate_xsd = false' "
    "in the [issuer] section of cr-einvoice.toml."
)

#: ``fe`` ... ``mh`` → root element, from :data:`cr_einvoice.core.catalogs.DOCUMENT_KINDS`.
_ABBREVIATIONS = {kind.abbreviation.lower(): kind.root for kind in DOCUMENT_KINDS}


@dataclass(frozen=True, slots=True)
class SchemaEntry:
    """One manifest row."""

    file: str
    path: str
    url: str
    version: str
    root: str
    namespace: str
    tipos: tuple[str, ...]
    sha256: str


def _manifest_path() -> Path:
    here = Path(__file__).resolve().parents[1]  # the cr_einvoice package
    for candidate in (here / "xsd" / "manifest.json", here.parent / "xsd" / "manifest.json"):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "xsd/manifest.json was not found beside the cr_einvoice package; reinstall cr-einvoice from a "
        "complete source tree"
    )


@functools.cache
def manifest() -> tuple[SchemaEntry, ...]:
    """The rows of ``xsd/manifest.json`` (read once)."""
    data: dict[str, Any] = json.loads(_manifest_path().read_text(encoding="utf-8"))
    return tuple(
        SchemaEntry(
            file=row["file"],
            path=row["path"],
            url=row["url"],
            version=row["version"],
            root=row["root"],
            namespace=row["namespace"],
            tipos=tuple(row["tipos"]),
            sha256=row["sha256"].lower(),
        )
        for row in data["schemas"]
    )


def identify(root_or_tag: etree._Element | str) -> SchemaEntry:
    """The manifest row for a document root (or its ``{namespace}Local`` tag), from its namespace.

    Raises :class:`~cr_einvoice.core.errors.CrEinvoiceError` for an unknown namespace, naming it.
    """
    tag = root_or_tag if isinstance(root_or_tag, str) else root_or_tag.tag
    if not isinstance(tag, str):
        raise CrEinvoiceError("the document root is not an element")
    qname = etree.QName(tag)
    for entry in manifest():
        if entry.namespace == qname.namespace and entry.root == qname.localname:
            return entry
    known = sorted({e.namespace.rsplit("/", 2)[-2] for e in manifest() if e.version != "1.0"})
    raise CrEinvoiceError(
        f"unknown document: root element {qname.localname!r} in namespace {qname.namespace!r} is not a "
        f"Costa Rica comprobante electrónico (supported versions: {', '.join(known)}; namespaces are "
        "case-sensitive, for example https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica)"
    )


def _entry_for(root_tag_or_tipo: str | TipoDocumento, version: str) -> SchemaEntry:
    rows = [e for e in manifest() if e.version == version]
    if not rows:
        raise CrEinvoiceError(f"unknown schema version {version!r} (known: 4.4, 4.3)")
    key = root_tag_or_tipo.value if isinstance(root_tag_or_tipo, TipoDocumento) else str(root_tag_or_tipo)
    if key.startswith("{"):
        entry = identify(key)
        return entry
    key = _ABBREVIATIONS.get(key.lower(), key)
    for entry in rows:
        if key == entry.root or key in entry.tipos:
            return entry
    raise CrEinvoiceError(
        f"no v{version} schema for {root_tag_or_tipo!r}: use a root element name ("
        + ", ".join(e.root for e in rows)
        + "), a document type code or an abbreviation ("
        + ", ".join(_ABBREVIATIONS)
        + ")"
    )


def default_cache_dir() -> Path:
    """Where ``cr-einvoice schemas fetch`` stores the files by default."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cr-einvoice" / "schemas"


def _looks_complete(folder: Path) -> bool:
    return (folder / XMLDSIG_FILE).is_file() and (folder / "2024" / "v4.4").is_dir()


#: ``$CR_EINVOICE_SCHEMAS`` values found to hold the schemas.
_found_at_env: dict[str, Path] = {}


def find_schemas_dir(*, cache_dir: Path | None = None) -> Path:
    """The folder holding the schemas (``$CR_EINVOICE_SCHEMAS``, then the fetch cache).

    Raises :class:`~cr_einvoice.core.errors.SchemaNotFoundError` saying how to get them.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        found = _found_at_env.get(env)
        if found is not None:  # checked once per value (every validation asks)
            return found
        folder = Path(env).expanduser()
        if _looks_complete(folder):
            _found_at_env[env] = folder
            return folder
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    how_to = _HOW_TO.format(cache=cache)
    if env:
        raise SchemaNotFoundError(
            f"{ENV_VAR}={env} does not hold the schemas (expected {XMLDSIG_FILE} and 2024/v4.4/ in it). "
            + how_to
        )
    if _looks_complete(cache):
        return cache
    raise SchemaNotFoundError(f"the official XSD schemas were not found ({ENV_VAR} is not set). " + how_to)


class _LocalResolver(etree.Resolver):
    """Serves the xmldsig import from disk; refuses every other external reference."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self._folder = folder
        self.requested: list[str] = []
        self.refused: list[str] = []

    def resolve(self, system_url: str, public_id: str, context: object = None) -> Any:
        url = system_url or ""
        self.requested.append(url)
        if url.endswith(XMLDSIG_FILE):
            raw = (self._folder / XMLDSIG_FILE).read_bytes()
            # The W3C file starts with a DOCTYPE pointing at XMLSchema.dtd; nothing in the schema needs it.
            raw = re.sub(rb"<!DOCTYPE[^\[>]*(\[.*?\])?\s*>", b"", raw, count=1, flags=re.S)
            return self.resolve_string(raw, context, base_url=str(self._folder / XMLDSIG_FILE))
        local = url[len("file://") :] if url.startswith("file://") else url
        if "://" not in local and Path(local).is_file():
            return None  # a local file: libxml2 reads it from disk
        self.refused.append(url)
        raise SchemaNotFoundError(f"schema compilation tried to load {url!r}; network access is disabled")


_compile_lock = threading.Lock()
_compiled: dict[tuple[str, str, bool], tuple[etree.XMLSchema, threading.Lock]] = {}
#: The same schemas by the folder's path as given (a shortcut to ``_compiled``, whose keys are resolved).
_compiled_as_given: dict[tuple[str, str, bool], tuple[etree.XMLSchema, threading.Lock]] = {}
_XS = "http://www.w3.org/2001/XMLSchema"


def _compile(
    entry: SchemaEntry, folder: Path, *, signature_optional: bool = False
) -> tuple[etree.XMLSchema, threading.Lock]:
    """Compile (once) the published schema, or the variant where ``ds:Signature`` is optional.

    The variant is the published schema with ``minOccurs="0"`` on the root's ``ds:Signature`` reference,
    for checking a document before it is signed; nothing else changes.
    """
    given = (str(folder), entry.path, signature_optional)
    cached = _compiled_as_given.get(given)  # the folder as the caller named it: no path resolution
    if cached is not None:
        return cached
    key = (str(folder.resolve()), entry.path, signature_optional)
    with _compile_lock:
        cached = _compiled.get(key)
        if cached is not None:
            _compiled_as_given[given] = cached
            return cached
        path = folder / entry.path
        if not path.is_file():
            raise SchemaNotFoundError(
                f"{entry.file} is missing from {folder} (expected at {entry.path}). "
                + _HOW_TO.format(cache=default_cache_dir())
            )
        parser = etree.XMLParser(
            no_network=True, load_dtd=False, resolve_entities=False, dtd_validation=False, huge_tree=False
        )
        resolver = _LocalResolver(folder)
        parser.resolvers.add(resolver)
        try:
            doc = etree.parse(str(path), parser)
            if signature_optional:
                for ref in doc.getroot().iter(f"{{{_XS}}}element"):
                    if (ref.get("ref") or "").endswith(":Signature"):
                        ref.set("minOccurs", "0")
            schema = etree.XMLSchema(doc)
        except (etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
            if resolver.refused:
                raise SchemaNotFoundError(
                    f"{path} imports {resolver.refused[0]!r}, which is not the xmldsig schema; network "
                    "access is disabled during schema compilation, so it was not loaded"
                ) from None
            raise SchemaNotFoundError(f"{path} could not be compiled: {exc}") from None
        result = (schema, threading.Lock())
        _compiled[key] = _compiled_as_given[given] = result
        return result


def schema_for(
    root_tag_or_tipo: str | TipoDocumento, version: str = "4.4", *, schemas_dir: Path | None = None
) -> etree.XMLSchema:
    """The compiled schema for a root element name (``FacturaElectronica``), a ``{ns}Root`` tag, a
    document type (``TipoDocumento`` or ``"01"``; 05-07 are the MensajeReceptor) or an abbreviation
    (``fe`` ... ``mh``).

    Compiled once per process and folder. ``schemas_dir`` overrides :func:`find_schemas_dir`.
    """
    entry = _entry_for(root_tag_or_tipo, version)
    folder = schemas_dir if schemas_dir is not None else find_schemas_dir()
    return _compile(entry, folder)[0]


#: Elements that may repeat: their paths carry a 1-based index (``LineaDetalle[2]``, ``Impuesto[1]``).
REPEATABLE = frozenset(
    {
        "LineaDetalle",
        "Impuesto",
        "Descuento",
        "CodigoComercial",
        "NumeroVINoSerie",
        "LineaDetalleSurtido",
        "CodigoComercialSurtido",
        "DescuentoSurtido",
        "ImpuestoSurtido",
        "OtrosCargos",
        "TotalDesgloseImpuesto",
        "MedioPago",
        "InformacionReferencia",
        "CorreoElectronico",
        "OtroTexto",
        "OtroContenido",
        "Signature",
    }
)


def element_path(element: etree._Element) -> str:
    """Path of ``element`` below the document root, in Hacienda's element names
    (``DetalleServicio/LineaDetalle[2]/Impuesto[1]/Monto``); the root's own name for the root."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None and node.getparent() is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        assert parent is not None
        if name in REPEATABLE:
            same = [c for c in parent if isinstance(c.tag, str) and c.tag == node.tag]
            name = f"{name}[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    if not steps:
        return etree.QName(element).localname
    return "/".join(reversed(steps))


def _error_element(root: etree._Element, xpath: str | None) -> etree._Element | None:
    """Follow libxml2's positional path (``/*/*[9]/*[2]``) from the root."""
    if not xpath:
        return None
    steps = xpath.strip("/").split("/")
    if not steps or steps[0] != "*":
        return None
    node = root
    for step in steps[1:]:
        match = re.fullmatch(r"\*(?:\[(\d+)\])?", step)
        if match is None:
            return None
        index = int(match.group(1) or 1)
        children = [c for c in node if isinstance(c.tag, str)]
        if index > len(children):
            return None
        node = children[index - 1]
    return node


def has_signature(root: etree._Element) -> bool:
    """True when the root carries at least one ``ds:Signature`` child."""
    return root.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is not None


def validate_xsd(
    root: etree._Element, *, signed: bool | None = None, schemas_dir: Path | None = None
) -> list[Problem]:
    """XSD problems of a document (code -1, Hacienda's code for schema errors); empty when valid.

    The version and type come from the root's namespace. The message starts with the line number (for a
    parsed document; a tree built in memory has none).
    ``signed``: True checks against the published schema (a ``ds:Signature`` is required); False against the
    variant where it is optional (a document about to be signed); None (default) picks the published schema
    when the document carries a signature and the variant otherwise.
    """
    entry = identify(root)
    folder = schemas_dir if schemas_dir is not None else find_schemas_dir()
    strict = has_signature(root) if signed is None else signed
    schema, lock = _compile(entry, folder, signature_optional=not strict)
    with lock:
        ok = schema.validate(root.getroottree())
        # lxml-stubs types the error log opaquely; it is an iterable of _LogEntry.
        errors: list[Any] = list(cast(Iterable[Any], schema.error_log)) if not ok else []
    problems = []
    for err in errors:
        node = _error_element(root, err.path)
        path = element_path(node) if node is not None else (err.path or etree.QName(root).localname)
        # A tree built in memory (not parsed) has no line numbers: then the path alone says where.
        where = f"line {err.line}, column {err.column}: " if err.line else ""
        problems.append(Problem(path, f"{where}{err.message}", -1))
    return problems


# -- download ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One downloaded file. ``new_revision`` is True when its SHA-256 differs from the manifest's."""

    path: Path
    url: str
    sha256: str
    expected_sha256: str
    new_revision: bool


def _map_error(response: httpx.Response, request: _http.Request) -> Exception | None:
    status = response.status_code
    if status < 400:
        return None
    message = f"{request.what}: GET {request.url} failed"
    cls: type[APIError] = NotFoundError if status == 404 else ServerError if status >= 500 else APIError
    return cls(
        message, status=status, headers=dict(response.headers), body=response.text[:500], url=request.url
    )


def fetch_schemas(
    dest: Path | None = None,
    *,
    base_url: str | None = None,
    client: httpx.Client | None = None,
    retry: _http.RetryPolicy | None = None,
    entries: Iterable[SchemaEntry] | None = None,
) -> list[FetchResult]:
    """Download every manifest schema into ``dest`` (default :func:`default_cache_dir`).

    ``base_url`` replaces the official locations with ``base_url + path`` (a mirror laid out like
    Hacienda's folders). A SHA-256 different from the manifest is logged as a WARNING (Hacienda published a
    new revision) and the file is still saved; HTTP and network failures raise ``APIError`` /
    ``TransportError``.
    """
    target = dest if dest is not None else default_cache_dir()
    rows = list(entries) if entries is not None else list(manifest())
    if base_url is not None and not base_url.lower().startswith(("http://", "https://")):
        if base_url.lower().startswith("file://"):
            return import_schemas(Path(base_url[len("file://") :]), target, entries=rows)
        raise ConfigError(
            f"--base-url {base_url!r}: only http://, https:// and file:// locations are supported "
            "(for a folder or zip on disk use 'cr-einvoice schemas import DIR|ZIP')"
        )
    core = _http.HTTPCore(map_error=_map_error, retry=retry or _http.RetryPolicy(max_attempts=3))
    own = client is None
    http = client or httpx.Client(timeout=_http.DEFAULT_TIMEOUT, follow_redirects=True)
    results: list[FetchResult] = []
    try:
        for entry in rows:
            url = entry.url if base_url is None else base_url.rstrip("/") + "/" + entry.path
            response = core.send(http, _http.Request("GET", url, what=f"download {entry.file}"))
            results.append(_save(entry, target, url, response.content))
    finally:
        if own:
            http.close()
    _forget_compiled(target)
    return results


def _save(entry: SchemaEntry, target: Path, source: str, body: bytes) -> FetchResult:
    """Save ``body`` as ``entry``'s file below ``target``; a digest other than the manifest's is logged."""
    out = target / entry.path
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        tmp.write_bytes(body)
        tmp.replace(out)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {out}: {exc.strerror or exc}; choose another folder with --dir"
        ) from None
    digest = hashlib.sha256(body).hexdigest()
    new = digest != entry.sha256
    if new:
        log.warning(
            "%s: SHA-256 %s differs from the tested revision %s; Hacienda appears to have published "
            "a new revision (saved anyway; review the changes before relying on it)",
            entry.file,
            digest,
            entry.sha256,
        )
    return FetchResult(out, source, digest, entry.sha256, new)


def _forget_compiled(folder: Path) -> None:
    with _compile_lock:
        for key in [k for k in _compiled if k[0] == str(folder.resolve())]:
            del _compiled[key]
        _compiled_as_given.clear()


# -- checking and importing files the user already has ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    """One manifest file in a folder: ``sha256`` None when the file is missing."""

    entry: SchemaEntry
    path: Path
    sha256: str | None

    @property
    def missing(self) -> bool:
        return self.sha256 is None

    @property
    def new_revision(self) -> bool:
        """True when the file differs from the revision this package is tested against."""
        return self.sha256 is not None and self.sha256 != self.entry.sha256

    @property
    def status(self) -> str:
        return "missing" if self.missing else "NEW REVISION" if self.new_revision else "ok"


def check_schemas(folder: Path | None = None) -> list[SchemaCheck]:
    """Each manifest file in ``folder`` (default :func:`find_schemas_dir`) with its SHA-256."""
    root = folder if folder is not None else find_schemas_dir()
    checks = []
    for entry in manifest():
        path = root / entry.path
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        checks.append(SchemaCheck(entry, path, digest))
    return checks


def _find_in_folder(source: Path, entry: SchemaEntry) -> Path | None:
    """``entry``'s file in ``source``: at its Hacienda path, else the one file of that name anywhere."""
    direct = source / entry.path
    if direct.is_file():
        return direct
    found = sorted(p for p in source.rglob(entry.file) if p.is_file())
    return found[0] if found else None


def _find_in_zip(names: list[str], entry: SchemaEntry) -> str | None:
    exact = [n for n in names if n == entry.path or n.endswith("/" + entry.path)]
    if exact:
        return exact[0]
    by_name = sorted(n for n in names if n == entry.file or n.endswith("/" + entry.file))
    return by_name[0] if by_name else None


def import_schemas(
    source: Path, dest: Path | None = None, *, entries: Iterable[SchemaEntry] | None = None
) -> list[FetchResult]:
    """Copy the manifest's schemas from a folder or a ``.zip`` into ``dest`` (default
    :func:`default_cache_dir`, the folder :func:`find_schemas_dir` looks in), checking each SHA-256.

    Files are found at their Hacienda path (``2024/v4.4/FacturaElectronica_V4.4.xsd``) or by file name
    anywhere below ``source``. A digest other than the manifest's is a new revision (``new_revision``,
    logged as a WARNING; saved anyway, like :func:`fetch_schemas`). Raises ``ConfigError`` naming the files
    that are missing (nothing is written then) or when ``source`` is neither a folder nor a zip.
    """
    target = dest if dest is not None else default_cache_dir()
    rows = list(entries) if entries is not None else list(manifest())
    bodies: list[tuple[SchemaEntry, str, bytes]] = []
    missing: list[str] = []
    if source.is_dir():
        for entry in rows:
            path = _find_in_folder(source, entry)
            if path is None:
                missing.append(entry.path)
            else:
                bodies.append((entry, str(path), path.read_bytes()))
    elif source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            for entry in rows:
                name = _find_in_zip(names, entry)
                if name is None:
                    missing.append(entry.path)
                else:
                    bodies.append((entry, f"{source}!{name}", archive.read(name)))
    elif source.exists():
        raise ConfigError(f"{source} is neither a folder nor a zip file")
    else:
        raise ConfigError(f"{source} does not exist (give a folder or a zip holding the XSD files)")
    if missing:
        raise ConfigError(
            f"{source} lacks {len(missing)} of the {len(rows)} schema files listed in xsd/manifest.json: "
            + ", ".join(missing)
            + " (nothing was imported)"
        )
    results = [_save(entry, target, origin, body) for entry, origin, body in bodies]
    _forget_compiled(target)
    return results
