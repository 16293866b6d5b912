"""The built wheel, installed into a fresh venv without the dev extras, runs the README's POS quick start
against the simulator (started from the project's environment), and carries its LICENSE and examples.

Offline: the wheel and its dependencies' wheels are collected with the project environment's pip (its cache
and configured indexes), then installed with ``--no-index --find-links``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
QUICKSTART = re.compile(r"<!-- pos-quickstart.*?-->\n```sh\n(.*?)```\n<!-- END pos-quickstart -->", re.DOTALL)

pytestmark = pytest.mark.slow


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done  # type: ignore[no-any-return]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("wheelhouse")
    # cr-einvoice's wheel and those of its core dependencies (from the pip cache / configured index).
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", str(REPO), "-w", str(wheels)], env=_clean_env())
    built = list(wheels.glob("cr_einvoice-*.whl"))
    assert len(built) == 1
    with zipfile.ZipFile(built[0]) as wheel:
        names = wheel.namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "cr_einvoice/examples/pos_ticket.py" in names and "cr_einvoice/xsd/manifest.json" in names
    assert not any(n.startswith("tests/") for n in names)
    target = tmp_path_factory.mktemp("venv") / "fresh"
    venv.EnvBuilder(with_pip=True).create(target)
    _run(
        [
            str(target / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheels),
            "cr-einvoice",
        ],
        env=_clean_env(),
    )
    return target


def test_wheel_runs_the_readme_pos_quick_start(fresh_venv: Path, tmp_path: Path, schemas_dir: Path) -> None:
    fresh_bin = fresh_venv / "bin"
    # No dev extras: no pytest, no rich (the plain progress lines), and the package is the installed one.
    probe = _run(
        [
            str(fresh_bin / "python"),
            "-c",
            "import importlib.util as u, cr_einvoice; print(cr_einvoice.__file__); "
            "print(u.find_spec('pytest') is None, u.find_spec('rich') is None)",
        ],
        env=_clean_env(),
        cwd=tmp_path,
    ).stdout.split()
    assert probe[0].startswith(str(fresh_venv)) and probe[1:] == ["True", "True"]
    listed = _run([str(fresh_bin / "cr-einvoice"), "examples", "list"], env=_clean_env(), cwd=tmp_path)
    assert "pos_ticket" in listed.stdout

    block = QUICKSTART.search(README.read_text(encoding="utf-8"))
    assert block is not None, "the README's POS quick start block"
    lines = block.group(1).splitlines()
    serve = next(line for line in lines if line.startswith("cr-einvoice sandbox serve"))
    sale = lines[next(i for i, line in enumerate(lines) if line.startswith("# 3.")) :]
    env = _clean_env(CR_EINVOICE_SCHEMAS=str(schemas_dir))
    # 1. the simulator, from the project's environment, as the README starts it (on a free port).
    project_cli = Path(sys.executable).parent / "cr-einvoice"
    argv = [str(project_cli), *serve.split()[1:], "--port", "0", "--processing-delay", "0.2"]
    log = (tmp_path / "serve.log").open("w+")
    project_env = {**os.environ, "CR_EINVOICE_SCHEMAS": str(schemas_dir)}
    sim = subprocess.Popen(argv, stderr=log, stdout=subprocess.DEVNULL, cwd=tmp_path, env=project_env)
    try:
        deadline = time.monotonic() + 60
        printed = ""
        while "export CR_EINVOICE_USERNAME" not in printed:
            assert sim.poll() is None and time.monotonic() < deadline, printed
            time.sleep(0.1)
            printed = (tmp_path / "serve.log").read_text()
        step2 = printed[printed.index("  cr-einvoice init") :]
        step2 = step2[: step2.index("\n", step2.index("export CR_EINVOICE_USERNAME"))]
        # 2. what it printed, pasted; 3. the sale, as the README writes it; with the fresh venv first on PATH.
        script = "set -euo pipefail\n" + step2 + "\n" + "\n".join(sale) + "\n"
        done = _run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env={**env, "PATH": f"{fresh_bin}{os.pathsep}{env.get('PATH', '')}"},
        )
    finally:
        sim.terminate()
        sim.wait(timeout=30)
        log.close()
    row = done.stdout.strip().splitlines()[-1].split()
    assert len(row[0]) == 50 and row[1] == "00100001040000000001" and row[2] == "accepted", done.stdout
    assert "issuing: 1/1" in done.stderr
