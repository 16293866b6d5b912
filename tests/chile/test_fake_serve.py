"""`cr-einvoice cl fake serve` (the fakes with sample data, and the variables that point the cl verbs at them)
and `cl khipu enel-bill` saving the PDF by default (issue #11 item 5)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cr_einvoice.app.cli import main
from cr_einvoice.app.cli.chile import FAKE_PROVIDERS, serve_fake


@pytest.mark.parametrize("provider", FAKE_PROVIDERS)
def test_served_fake_answers_its_try_command(
    provider: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served = serve_fake(provider)
    try:
        for name, value in served.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        argv = served.try_command.split()
        assert argv[0] == "cr-einvoice"
        assert main(argv[1:]) == 0
        out, err = capsys.readouterr()
        result = json.loads(out)
        if provider == "khipu":
            saved = Path(result["saved_to"])
            assert saved.name.startswith("enel-1234567-8-") and saved.suffix == ".pdf"
            assert (tmp_path / saved).read_bytes().startswith(b"%PDF")
            assert f"saved the bill to {saved}" in err
            assert main(argv[1:]) == 0  # a second bill never replaces the first
            again = Path(json.loads(capsys.readouterr().out)["saved_to"])
            assert again != saved and (tmp_path / again).is_file()
        elif provider == "belvo":
            assert len(result) == 5
        else:
            assert result["id"] == 1034
    finally:
        served.fake.stop()


def test_fake_serve_prints_the_exports_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cr_einvoice", "cl", "fake", "serve", "flow"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(4)]
        assert lines[0].startswith("fake flow on http://127.0.0.1:")
        assert "export FLOW_BASE_URL=http://127.0.0.1:" in lines[2] and "FLOW_SECRET_KEY=" in lines[2]
        assert lines[3].strip() == "cr-einvoice cl flow invoice 1034"
    finally:
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
