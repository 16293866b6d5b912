"""The README's command-line reference lists every verb the CLI has, and nothing it lacks."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from cr_einvoice.app.cli import build_parser

REPO = Path(__file__).resolve().parents[2]


def _verbs(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def test_every_top_level_verb_is_in_the_readme_reference() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command-line reference", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    listed = {verb for cell in first_cells for verb in re.findall(r"`([a-z][a-z-]*)[ `]", cell)}
    verbs = _verbs(build_parser())
    assert verbs, "the CLI registered no verbs"
    assert verbs - listed == set(), f"verbs missing from the README reference: {sorted(verbs - listed)}"
    assert listed - verbs == set(), f"README lists verbs the CLI lacks: {sorted(listed - verbs)}"
