"""Issue #10 items 6 and 8 on the command line, against the real simulator (``LocalSandbox``) and real SQLite
files: the exit code of ``submit``, ``poll``, ``worker --once`` and ``issue --submit`` says how the vouchers
ended (4 rejected or in error, 5 Hacienda unreachable, 7 no final answer within ``--within``); a voucher that
ended in ``error`` shows why; ``reissue`` issues a rejected voucher again as a new voucher."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cr_einvoice.app.cli import main
from cr_einvoice.app.config import Config, StoreSettings, WorkerSettings, write_config
from cr_einvoice.app.demo import DEMO_USER, LocalSandbox
from cr_einvoice.core.errors import ExitCode
from cr_einvoice.outbox.issuing import Issuer
from cr_einvoice.outbox.store import VoucherState, open_store
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import TrustStore
from cr_einvoice.testing.examples import example_json

FAST_WORKER = WorkerSettings(poll_initial=0.05, poll_max=0.2)


@pytest.fixture(scope="module")
def box(schemas_dir: Path) -> Iterator[LocalSandbox]:
    with LocalSandbox(processing_delay=0.05) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _no_faults_left(box: LocalSandbox) -> Iterator[None]:
    yield
    box.sim.faults.reset()


def _config(box: LocalSandbox, name: str, **changes: Any) -> str:
    """A configuration file beside the sandbox's (same outbox unless ``store`` is given), polling fast."""
    assert box.config is not None
    config: Config = replace(box.config, worker=FAST_WORKER, **changes)
    return str(write_config(config, box.workdir / name, overwrite=True))


def _new_store(box: LocalSandbox, name: str) -> StoreSettings:
    """An outbox of its own (what 'cr-einvoice init' creates), so a test's connectivity stays its own."""
    open_store(box.workdir / name, create=True).close()
    return StoreSettings(path=name)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def wrong_issuer(box: LocalSandbox) -> Issuer:
    """The company's issuer signing with the supplier's certificate: Hacienda rejects what it issues."""
    settings = box.runtime.config.issuer_settings()
    return Issuer(box.runtime.store, box.supplier_signer(), replace(settings, validate_xsd=box.xsd))


def te_data() -> dict[str, Any]:
    """The TE example issued by the sandbox's company (the FE example's emisor)."""
    return example_json("te") | {"emisor": example_json("fe")["emisor"]}


def ticket_file(tmp_path: Path) -> str:
    path = tmp_path / "te.json"
    path.write_text(json.dumps(te_data()))
    return str(path)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_rejected_voucher_exits_4_and_reissue_issues_it_again(
    box: LocalSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(box, "fast.toml")
    bad = wrong_issuer(box).issue(box.runtime.issuer().from_json(te_data()))
    code, out, err = run(capsys, "submit", "--config", cfg, "--json", "--within", "20")
    assert code == ExitCode.REJECTED, err
    assert {v["key"]: v["state"] for v in json.loads(out)["vouchers"]}[bad.key] == "rejected"

    # not a rejected voucher: refused, nothing issued
    before = box.runtime.store.count_by_state()
    code, _, err = run(capsys, "reissue", "5" * 50, "--config", cfg)
    assert code == ExitCode.STORE and "no voucher" in err
    code, out, err = run(capsys, "reissue", bad.key, "--config", cfg, "--json")
    assert code == ExitCode.OK, err
    new = json.loads(out)
    assert new["reissue_of"] == bad.key and new["new"] is True and new["state"] == "signed"
    assert new["clave"] != bad.clave and new["consecutivo"] != bad.consecutivo
    assert new["consecutivo"][:10] == bad.consecutivo[:10]  # same sucursal, terminal and type
    assert int(new["consecutivo"][10:]) > int(bad.consecutivo[10:])
    assert new["fecha_emision"] >= bad.fecha_emision.isoformat()  # dated now (FechaEmision has seconds)
    assert sum(box.runtime.store.count_by_state().values()) == sum(before.values()) + 1
    code, _, err = run(capsys, "reissue", new["key"], "--config", cfg)
    assert code == ExitCode.INVALID and "signed" in err and "rejected" in err  # only rejected / error ones

    # the link, in both vouchers' histories
    code, out, _ = run(capsys, "show", bad.key, "--config", cfg, "--json")
    shown = json.loads(out)
    assert shown["state"] == "rejected"
    assert any(e["kind"] == "reissued" and e["detail"]["as"] == new["key"] for e in shown["events"])
    code, out, _ = run(capsys, "show", new["key"], "--config", cfg, "--json")
    assert any(
        e["kind"] == "reissue_of" and e["detail"]["original"] == bad.key for e in json.loads(out)["events"]
    )

    # again, with --submit: the same new voucher (nothing issued twice), sent and accepted
    code, out, err = run(capsys, "reissue", bad.key, "--config", cfg, "--submit", "--within", "20", "--json")
    assert code == ExitCode.OK, err
    again = json.loads(out)
    assert again["key"] == new["key"] and again["new"] is False and again["state"] == "accepted"
    assert sum(box.runtime.store.count_by_state().values()) == sum(before.values()) + 1
    code, out, _ = run(capsys, "reissue", bad.key, "--config", cfg)
    assert code == ExitCode.OK and "reissued before" in out and new["clave"] in out


def test_poll_and_worker_once_exit_4_on_a_rejection(
    box: LocalSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(box, "fast.toml")
    document = box.runtime.issuer().from_json(te_data())
    first = wrong_issuer(box).issue(document)
    code, out, err = run(capsys, "worker", "--config", cfg, "--once", "--json")
    assert code == ExitCode.OK, err  # sent; no answer yet
    assert json.loads(out)["sent"] >= 1
    box.sim.wait_idle(10)
    code, out, err = run(capsys, "poll", "--config", cfg, "--json")
    assert code == ExitCode.REJECTED, (out, err)
    assert box.runtime.store.require(first.key).state is VoucherState.REJECTED

    second = wrong_issuer(box).issue(document)
    code, _, err = run(capsys, "worker", "--config", cfg, "--once")
    assert code == ExitCode.OK, err
    box.sim.wait_idle(10)
    box.runtime.store.reschedule(second.key, 0.0)  # its next poll is due now
    code, out, err = run(capsys, "worker", "--config", cfg, "--once", "--json")
    assert code == ExitCode.REJECTED, (out, err)
    assert json.loads(out)["rejected"] == 1


def test_issue_submit_exits_4_when_hacienda_rejects(
    box: LocalSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert box.config is not None
    wrong_key = replace(box.config.signing, p12_path=str(box.supplier_pki.taxpayer_p12))
    cfg = _config(box, "wrong-key.toml", signing=wrong_key)
    code, out, err = run(
        capsys, "issue", ticket_file(tmp_path), "--config", cfg, "--submit", "--within", "20"
    )
    assert code == ExitCode.REJECTED, (out, err)
    assert "rejected" in out


def test_ind_estado_error_exits_4_and_show_says_why(
    box: LocalSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(box, "fast.toml")
    box.sim.faults.error_next(1000)  # Hacienda keeps answering ind-estado error
    code, out, err = run(
        capsys, "issue", ticket_file(tmp_path), "--config", cfg, "--submit", "--within", "30", "--json"
    )
    assert code == ExitCode.REJECTED, (out, err)
    [(key, state)] = json.loads(out)["states"].items()
    assert state == "error"
    code, out, _ = run(capsys, "show", key, "--config", cfg)
    assert code == 0
    [line] = [ln for ln in out.splitlines() if ln.strip().startswith("last_error:")]
    assert "ind-estado 'error'" in line and "--retry-errors" in line

    # issued again as a new voucher, the one in error is no longer sent by 'submit --retry-errors'
    box.sim.faults.reset()
    code, out, err = run(capsys, "reissue", key, "--config", cfg, "--json")
    assert code == ExitCode.OK, err
    new = json.loads(out)["key"]
    code, out, err = run(capsys, "submit", "--config", cfg, "--retry-errors", "--within", "20", "--json")
    assert code == ExitCode.OK, (out, err)
    states = {v["key"]: v["state"] for v in json.loads(out)["vouchers"]}
    assert states.get(new) == "accepted" and key not in states
    assert box.runtime.store.require(key).state is VoucherState.ERROR


def test_unreachable_hacienda_exits_5(
    box: LocalSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert box.config is not None
    url = f"http://127.0.0.1:{closed_port()}/"
    nowhere = replace(box.config.hacienda, token_url=url + "token", recepcion_url=url + "recepcion/v1/")
    cfg = _config(box, "nowhere.toml", hacienda=nowhere, store=_new_store(box, "nowhere.db"))
    code, out, err = run(capsys, "issue", ticket_file(tmp_path), "--config", cfg, "--submit", "--within", "3")
    assert code == ExitCode.UNREACHABLE, (out, err)
    code, out, err = run(capsys, "submit", "--config", cfg, "--within", "2")
    assert code == ExitCode.UNREACHABLE, (out, err)
    code, out, err = run(capsys, "worker", "--config", cfg, "--once")
    assert code == ExitCode.UNREACHABLE, (out, err)
    with open_store(box.workdir / "nowhere.db") as store:
        [v] = store.list_vouchers()
        assert v.state is VoucherState.SIGNED or v.state is VoucherState.SENDING  # kept, to be sent later
        assert store.connectivity()[0] is False


def test_no_answer_within_the_time_given_exits_7(
    box: LocalSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert box.config is not None and box.pki is not None
    slow = SimulatorSettings(
        users={DEMO_USER: os.environ["CR_EINVOICE_DEMO_PASSWORD"]},
        processing_delay=60.0,  # Hacienda takes a minute to answer
        sello_p12=box.pki.sello_p12,
        sello_pin=box.pki.pin,
        trust=TrustStore.from_pem_files(box.pki.ca_cert_pem),
        check_schema=box.xsd,
    )
    with Simulator(slow) as sim:
        there = replace(box.config.hacienda, token_url=sim.token_url, recepcion_url=sim.base_url)
        cfg = _config(box, "slow.toml", hacienda=there, store=_new_store(box, "slow.db"))
        code, out, err = run(
            capsys, "issue", ticket_file(tmp_path), "--config", cfg, "--submit", "--within", "1"
        )
        assert code == ExitCode.PENDING, (out, err)
        code, out, err = run(capsys, "submit", "--config", cfg, "--within", "1", "--json")
        assert code == ExitCode.PENDING, (out, err)
        assert {v["state"] for v in json.loads(out)["vouchers"]} <= {"submitted", "processing"}
