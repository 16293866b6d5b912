"""``cr-einvoice schemas fetch|import|where``: download the official XSD files, copy them from a folder or
zip you already have, or say where they are (checking each file's SHA-256 against the manifest)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cr_einvoice.app.cli._common import add_group, dump_json
from cr_einvoice.vouchers.schemas import (
    FetchResult,
    check_schemas,
    default_cache_dir,
    fetch_schemas,
    find_schemas_dir,
    import_schemas,
)


def register(sub: Any) -> None:
    verbs = add_group(sub, "schemas", "download, import or locate the official XSD schemas")
    p_fetch = verbs.add_parser(
        "fetch",
        help="download every schema listed in xsd/manifest.json and check its SHA-256",
        description="Download the official v4.4 and v4.3 schemas and the W3C xmldsig schema. A SHA-256 that "
        "differs from the manifest is reported as a WARNING (Hacienda published a new revision); the file is "
        "saved anyway. Network and HTTP errors fail.",
    )
    p_fetch.add_argument("--dir", type=Path, help=f"target folder (default: {default_cache_dir()})")
    p_fetch.add_argument(
        "--base-url",
        help="download from BASE_URL/<path> (a mirror laid out like Hacienda's: 2024/v4.4/..., "
        "2019/v4.3/...) instead of the official URLs; file:///folder reads a local copy",
    )
    p_fetch.set_defaults(func=run_fetch)
    p_import = verbs.add_parser(
        "import",
        help="copy the schemas from a folder or zip you already have (offline), checking each SHA-256",
        description="Copy every file listed in xsd/manifest.json from SOURCE (a folder or a .zip; files are "
        "found at their Hacienda path or by name anywhere inside) into the folder the validator uses. A "
        "SHA-256 that differs from the manifest is reported as a new revision; the file is saved anyway. "
        "Nothing is copied when a file is missing.",
    )
    p_import.add_argument("source", type=Path, metavar="DIR|ZIP", help="folder or zip holding the XSD files")
    p_import.add_argument("--dir", type=Path, help=f"target folder (default: {default_cache_dir()})")
    p_import.set_defaults(func=run_import)
    p_where = verbs.add_parser(
        "where",
        help="print the folder the validator uses and check every file against the manifest",
        description="Print the schemas folder, then one line per manifest file: ok, NEW REVISION (the "
        "SHA-256 differs from the tested revision) or missing. Exit 1 when a file is missing.",
    )
    p_where.add_argument("--json", action="store_true", help="print the folder and the checks as JSON")
    p_where.set_defaults(func=run_where)


def _report(results: list[FetchResult], target: Path, verb: str, explicit_dir: bool) -> None:
    for r in results:
        print(f"{'NEW REVISION' if r.new_revision else 'ok':12} {r.path}")
    for r in results:
        if r.new_revision:
            print(
                f"WARNING: {r.path.name} differs from the tested revision (sha256 {r.sha256}, expected "
                f"{r.expected_sha256}); Hacienda may have published a new revision. It was saved; check the "
                "changes.",
                file=sys.stderr,
            )
    print(f"{len(results)} file(s) {verb} into {target}", file=sys.stderr)
    if explicit_dir:
        print(f"use them with: export CR_EINVOICE_SCHEMAS={target}", file=sys.stderr)


def run_fetch(args: argparse.Namespace) -> int:
    target = args.dir if args.dir is not None else default_cache_dir()
    _report(fetch_schemas(target, base_url=args.base_url), target, "saved", args.dir is not None)
    return 0


def run_import(args: argparse.Namespace) -> int:
    target = args.dir if args.dir is not None else default_cache_dir()
    _report(import_schemas(args.source, target), target, "imported", args.dir is not None)
    return 0


def run_where(args: argparse.Namespace) -> int:
    folder = find_schemas_dir()
    checks = check_schemas(folder)
    if args.json:
        dump_json(
            {
                "folder": str(folder),
                "files": [
                    {"path": c.entry.path, "status": c.status, "sha256": c.sha256, "expected": c.entry.sha256}
                    for c in checks
                ],
            }
        )
    else:
        print(folder)
        for c in checks:
            print(f"{c.status:12} {c.entry.path}", file=sys.stderr)
        new = sum(c.new_revision for c in checks)
        missing = sum(c.missing for c in checks)
        print(f"{len(checks) - new - missing} ok, {new} new revision(s), {missing} missing", file=sys.stderr)
    return 1 if any(c.missing for c in checks) else 0
