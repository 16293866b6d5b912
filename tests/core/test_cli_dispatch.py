from __future__ import annotations

import subprocess
import sys

import pytest

from cr_einvoice.app.cli import build_parser, main
from cr_einvoice.core.version import __version__


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_every_registered_verb_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    choices = getattr(sub, "choices", {}) or {}
    for name, subparser in choices.items():
        assert subparser.format_help(), name


def test_unknown_verb_exits_nonzero_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cr_einvoice", "no-such-verb"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
