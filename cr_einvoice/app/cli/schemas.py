"""``cr-einvoice schemas fetch|where``: download the official XSD files, or say where they are."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cr_einvoice.app.cli._common import add_group
from cr_einvoice.vouchers.schemas import default_cache_dir, fetch_schemas, find_schemas_dir


def register(sub: Any) -> None:
    verbs = add_group(sub, "schemas", "download or locate the official XSD schemas")
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
        "2019/v4.3/...) instead of the official URLs",
    )
    p_fetch.set_defaults(func=run_fetch)
    p_where = verbs.add_parser("where", help="print the folder the validator uses")
    p_where.set_defaults(func=run_where)


def run_fetch(args: argparse.Namespace) -> int:
    target = args.dir if args.dir is not None else default_cache_dir()
    results = fetch_schemas(target, base_url=args.base_url)
    new = [r for r in results if r.new_revision]
    for r in results:
        print(f"{'NEW REVISION' if r.new_revision else 'ok':12} {r.path}")
    for r in new:
        print(
            f"WARNING: {r.path.name} differs from the tested revision (sha256 {r.sha256}, expected "
            f"{r.expected_sha256}); Hacienda may have published a new revision. It was saved; check the "
            "changes.",
            file=sys.stderr,
        )
    print(f"{len(results)} file(s) saved in {target}", file=sys.stderr)
    if args.dir is not None:
        print(f"use them with: export CR_EINVOICE_SCHEMAS={target}", file=sys.stderr)
    return 0


def run_where(args: argparse.Namespace) -> int:
    print(find_schemas_dir())
    return 0
