"""``cr-einvoice lookup import FILE``: what api.hacienda.go.cr does not publish, loaded into the public-data
cache (the outbox store) for the preflight's -37 and -408.

- **The catalogue of economic activities**, which Hacienda publishes as a spreadsheet: a CSV export of it
  (a header row with a code column and a description column is looked for in the first rows; ``,``, ``;``
  or tab separated; UTF-8 or Windows-1252), or JSON -- a registry file's ``actividades`` object or an array
  of ``{"codigo", "descripcion"}``.
- **A taxpayer's registered data** (your own, as ATV shows it): name, activities and the address
  (provincia/cantón/distrito), in the registry-file format the simulator's ``--registry`` reads
  (:mod:`.registrydata`, the one reader of it).

Each entry is cached as a small registry file naming its origin (``_importedFrom``), under its own
namespace (:data:`~.cache.NS_ACTIVITIES`, :data:`~.cache.NS_REGISTERED`) that never expires: it stays until
imported again. A bad file raises :class:`~cr_einvoice.core.errors.ValidationError` naming the row (CSV) or
the entry (JSON) and the field; nothing is written then.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cr_einvoice.core.errors import ConfigError, Problem, ValidationError
from cr_einvoice.core.jsonsafe import loads as json_loads
from cr_einvoice.hacienda.publicdata.cache import NS_ACTIVITIES, NS_REGISTERED, Cache
from cr_einvoice.hacienda.publicdata.model import ActivityCatalogue, RegisteredTaxpayer, activity_key
from cr_einvoice.hacienda.publicdata.registrydata import RegistryData, RegistryFileError, digits_key

__all__ = [
    "CATALOGUE_KEY",
    "ImportSummary",
    "activity_catalogue",
    "import_registry",
    "import_registry_file",
    "read_activity_csv",
    "registered_taxpayer",
]

#: The key of the one catalogue entry (replaced whole by each import: never half old, half new).
CATALOGUE_KEY = "catalogue"
#: How many rows may precede the header (a title, the date of publication ...).
_HEADER_WITHIN = 20
_DELIMITERS = (",", ";", "\t")
#: CodigoActividadEmisor is 6 characters (Anexos v4.4).
_CODE_DIGITS = 6
#: Kept by the import; the other sections of a registry file are the simulator's only.
_IMPORTED_SECTIONS = ("contribuyentes", "actividades")
_ORIGIN = "_importedFrom"


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import loaded: the taxpayers (their numbers), the catalogue's size (None: not in the file),
    the sections of the file not imported, and the origin written in each entry."""

    source: str
    format: str
    taxpayers: tuple[str, ...]
    actividades: int | None
    ignored: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "taxpayers": list(self.taxpayers),
            "actividades": self.actividades,
            "ignored": list(self.ignored),
        }


# -- the catalogue as CSV ------------------------------------------------------------------------------------
def _folded(cell: str) -> str:
    """A header cell for comparison: lower case, no accents, letters and digits only."""
    plain = unicodedata.normalize("NFKD", cell).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in plain if ch.isalnum())


def _header(row: list[str]) -> tuple[int, int] | None:
    """The (code, description) columns of a header row, or None when ``row`` is not one."""
    folded = [_folded(c) for c in row]
    code = next((i for i, c in enumerate(folded) if c.startswith(("cod", "ciiu"))), None)
    desc = next(
        (
            i
            for i, c in enumerate(folded)
            if i != code and c.startswith(("descrip", "nombre", "actividad", "detalle"))
        ),
        None,
    )
    return None if code is None or desc is None else (code, desc)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="strict")


def _rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    for row in reader:
        yield reader.line_num, row


def read_activity_csv(raw: bytes, *, source: str = "(given)") -> dict[str, str]:
    """The activity catalogue of a CSV export (code -> description, codes as written). Every row after the
    header must carry a code (digits; a dot allowed) and a description; an empty row is skipped."""
    try:
        text = _decode(raw)
    except UnicodeDecodeError:
        raise ValidationError(f"{source}: neither UTF-8 nor Windows-1252 text", path="file") from None
    problems: list[Problem] = []
    for delimiter in _DELIMITERS:
        try:
            found = _read_with(text, delimiter, problems)
        except csv.Error as exc:
            raise ValidationError(f"{source}: not CSV ({exc})", path="file") from None
        if found is not None:
            if problems:
                raise ValidationError(problems)
            if not found:
                raise ValidationError(f"{source}: the catalogue has no activities", path="file")
            return found
    raise ValidationError(
        f"{source}: no header row with a code column (Código ...) and a description column (Descripción, "
        f"Nombre, Actividad ...) in the first {_HEADER_WITHIN} rows",
        path="file",
    )


def _read_with(text: str, delimiter: str, problems: list[Problem]) -> dict[str, str] | None:
    rows = _rows(text, delimiter)
    columns = None
    for line, row in rows:
        columns = _header(row)
        if columns is not None or line >= _HEADER_WITHIN:
            break
    if columns is None:
        return None
    code_at, desc_at = columns
    found: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        code = row[code_at].strip() if code_at < len(row) else ""
        desc = row[desc_at].strip() if desc_at < len(row) else ""
        where = f"row {line}"
        if not code:
            problems.append(Problem(f"{where}/codigo", "the activity code is empty"))
            continue
        if not activity_key(code).isdigit() or code.count(".") > 1 or len(activity_key(code)) > _CODE_DIGITS:
            problems.append(Problem(f"{where}/codigo", f"{code!r} is not an activity code (up to 6 digits)"))
            continue
        if not desc:
            problems.append(Problem(f"{where}/descripcion", f"activity {code} has no description"))
            continue
        key = activity_key(code)
        if key in first_row and found[_code_of(found, key)] != desc:
            problems.append(
                Problem(
                    f"{where}/codigo", f"activity {code} is on row {first_row[key]} too, described otherwise"
                )
            )
            continue
        first_row.setdefault(key, line)
        found.setdefault(code, desc)
    return found


def _code_of(found: Mapping[str, str], key: str) -> str:
    return next(code for code in found if activity_key(code) == key)


# -- the catalogue as JSON, and registry files ---------------------------------------------------------
def _catalogue_array(data: list[Any]) -> dict[str, Any]:
    """``[{"codigo", "descripcion"}]`` as a registry file's ``actividades`` object."""
    problems: list[Problem] = []
    actividades: dict[str, str] = {}
    for i, item in enumerate(data):
        where = f"[{i}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(where, "expected an object with codigo and descripcion"))
            continue
        code, desc = item.get("codigo"), item.get("descripcion")
        if not isinstance(code, str | int) or not str(code).strip():
            problems.append(Problem(f"{where}/codigo", "the activity code is missing"))
        elif not isinstance(desc, str) or not desc.strip():
            problems.append(Problem(f"{where}/descripcion", f"activity {code} has no description"))
        else:
            actividades[str(code).strip()] = desc
    if problems:
        raise ValidationError(problems)
    return {"actividades": actividades}


def _registry(raw: bytes, source: str, fmt: str) -> RegistryData:
    try:
        if fmt == "csv":
            return RegistryData.from_mapping(
                {"actividades": read_activity_csv(raw, source=source)}, source=source
            )
        data = json_loads(raw, what=source, max_bytes=32 * 1024 * 1024)
        if isinstance(data, list):
            data = _catalogue_array(data)
        return RegistryData.from_mapping(data, source=source)
    except RegistryFileError as exc:
        raise ValidationError(
            [Problem(exc.where.removeprefix(source).strip() or "file", exc.detail)]
        ) from None


def _format(raw: bytes, fmt: str | None, name: str) -> str:
    if fmt is not None:
        if fmt not in ("csv", "json"):
            raise ConfigError(f"import format {fmt!r}: the formats are csv and json")
        return fmt
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix == ".json":
        return "json"
    return "json" if raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[") else "csv"


def _entry(source: str, section: str, content: Any) -> bytes:
    return json.dumps({_ORIGIN: source, section: content}, ensure_ascii=False, sort_keys=True).encode()


def import_registry(
    cache: Cache, raw: bytes, *, source: str, fmt: str | None = None, now: datetime | None = None
) -> ImportSummary:
    """Load a catalogue (CSV or JSON) or a registry file (its taxpayers and catalogue) into ``cache``.

    ``source`` names the data (a file name) in each entry; ``fmt`` is ``csv`` or ``json`` (default: by the
    name's suffix, else by the content). Everything is read and checked before anything is written."""
    kind = _format(raw, fmt, source)
    registry = _registry(raw, source, kind)
    present = [s for s in _IMPORTED_SECTIONS if s in registry.sections]
    if not present:
        raise ValidationError(f"{source}: no contribuyentes and no actividades to import", path="file")
    if "actividades" in present and not registry.actividades:
        raise ValidationError(f"{source}: the catalogue of activities is empty", path="actividades")
    when = now if now is not None else datetime.now(UTC)
    for ident in registry.taxpayers:  # every entry readable as the preflight will read it, or nothing written
        try:
            registry.registered(ident, fetched_at=when)
        except RegistryFileError as exc:
            raise ValidationError([Problem(f"contribuyentes.{ident}", exc.detail)]) from None
    for ident, entry in registry.taxpayers.items():
        value = _entry(source, "contribuyentes", {ident: entry})
        cache.cache_put(NS_REGISTERED, ident, value, fetched_at=when)
    if "actividades" in present:
        cache.cache_put(
            NS_ACTIVITIES, CATALOGUE_KEY, _entry(source, "actividades", registry.actividades), fetched_at=when
        )
    return ImportSummary(
        source=source,
        format=kind,
        taxpayers=tuple(registry.taxpayers),
        actividades=len(registry.actividades) if "actividades" in present else None,
        ignored=tuple(s for s in registry.sections if s not in _IMPORTED_SECTIONS),
    )


def import_registry_file(cache: Cache, path: str | Path, *, fmt: str | None = None) -> ImportSummary:
    """:func:`import_registry` of a file; its name and SHA-256 are the entries' origin."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"import: cannot read {path}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(raw).hexdigest()[:16]
    kind = _format(raw, fmt, str(path))
    return import_registry(cache, raw, source=f"{Path(path).name}, sha256 {digest}", fmt=kind)


# -- reading it back ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _cached_registry(value: bytes) -> RegistryData:
    data = json_loads(value, what="an imported registry entry", max_bytes=32 * 1024 * 1024)
    origin = data.get(_ORIGIN, "an import") if isinstance(data, Mapping) else "an import"
    return RegistryData.from_mapping(data, source=f"imported from {origin}")


def registered_taxpayer(cache: Cache, identificacion: str) -> RegisteredTaxpayer | None:
    """The imported registered data of ``identificacion``, or None when none was imported."""
    entry = cache.cache_get(NS_REGISTERED, digits_key(identificacion))
    if entry is None:
        return None
    registry = _cached_registry(bytes(entry.value))
    return registry.registered(identificacion, fetched_at=entry.fetched_at, source="cache", stale=False)


def activity_catalogue(cache: Cache) -> ActivityCatalogue | None:
    """The imported catalogue of economic activities, or None when none was imported."""
    entry = cache.cache_get(NS_ACTIVITIES, CATALOGUE_KEY)
    if entry is None:
        return None
    registry = _cached_registry(bytes(entry.value))
    return registry.catalogue(fetched_at=entry.fetched_at, source="cache", stale=False)
