"""With ``--json`` every verb reports a failure as one JSON object on stdout (issue 11, item 3)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cr_einvoice.app.cli import build_parser, main
from cr_einvoice.app.demo import LocalSandbox
from cr_einvoice.core.errors import ExitCode
from cr_einvoice.testing.examples import example_json


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path
    for group in groups:
        for name, verb in group.choices.items():
            yield from _leaves(verb, (*path, name))


def _leaf_parser(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> argparse.ArgumentParser:
    for name in path:
        group = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = group.choices[name]
    return parser


def json_error(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "cr-einvoice: error" not in captured.err  # the error went to stdout, as JSON
    document = json.loads(captured.out)
    assert set(document) == {"error"}
    assert {"type", "message", "exit_code", "problems"} <= set(document["error"])
    assert document["error"]["exit_code"] == code
    return code, document["error"]


def test_every_verb_takes_json() -> None:
    parser = build_parser()
    verbs = list(_leaves(parser))
    assert len(verbs) > 20
    missing = [" ".join(v) for v in verbs if "--json" not in _leaf_parser(parser, v)._option_string_actions]
    assert missing == []


def test_invalid_input_names_each_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = example_json("fe")
    data["lineas"][1]["cantidad"] = "-2"
    data["lineas"][0]["precio_unitario"] = "abc"
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(data), encoding="utf-8")
    code, error = json_error(capsys, "build", str(src), "--json")
    assert code == ExitCode.INVALID and error["type"] == "ValidationError"
    paths = {p["path"] for p in error["problems"]}
    assert {"lineas[1].cantidad", "lineas[0].precio_unitario"} <= paths
    assert all(set(p) == {"path", "message", "code"} for p in error["problems"])


def test_usage_and_configuration_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, error = json_error(capsys, "issue", "--json")  # the FILE argument is missing
    assert code == ExitCode.USAGE and error["type"] == "UsageError" and "FILE.json" in error["message"]
    code, error = json_error(capsys, "--json", "no-such-verb")
    assert code == ExitCode.USAGE and "no-such-verb" in error["message"]
    code, error = json_error(capsys, "list", "--json", "--config", str(tmp_path / "missing.toml"))
    assert code == ExitCode.USAGE and error["type"] == "ConfigError"
    assert str(tmp_path / "missing.toml") in error["message"]


def test_unreadable_xml_and_bad_clave(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"<a>")
    code, error = json_error(capsys, "validate", "--json", str(junk))
    assert code == ExitCode.INVALID and error["type"] == "XMLParseError"
    code, error = json_error(capsys, "clave", "parse", "123", "--json")
    assert code == ExitCode.INVALID and error["problems"][0]["path"] == "clave"


def test_without_json_the_error_is_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clave", "parse", "123"]) == ExitCode.INVALID
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("cr-einvoice: error: clave: must be exactly 50 digits")


def test_hacienda_refusal_carries_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CR_EINVOICE_DEMO_USERNAME", "CR_EINVOICE_DEMO_PASSWORD", "CR_EINVOICE_DEMO_PIN"):
        monkeypatch.setenv(name, "")  # LocalSandbox sets them; monkeypatch restores them afterwards
    with LocalSandbox(tmp_path / "box") as box:
        assert box.config_path is not None
        monkeypatch.setenv("CR_EINVOICE_DEMO_PASSWORD", "not-the-password")
        code, error = json_error(capsys, "token", "--json", "--config", str(box.config_path))
    assert code == ExitCode.USAGE and error["type"] == "AuthenticationError"
    assert error["status"] == 401 and "not-the-password" not in json.dumps(error)


@pytest.mark.parametrize("verb", ["build", "issue"])
def test_deeply_nested_json_is_refused_by_the_one_hardened_reader(
    verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "deep.json"
    src.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    config = ["--config", str(tmp_path / "none.toml")] if verb == "issue" else []
    code, error = json_error(capsys, verb, str(src), "--json", *config)
    assert code == ExitCode.INVALID and error["type"] == "ValidationError"
    assert "levels deep" in error["message"] and str(src) in error["message"]
