"""The demo's documents (every voucher type, a supplier's invoice answered with a MensajeReceptor, and one
voucher signed with somebody else's certificate): the preflight predicts the simulator's final verdict on
each, reading the demo's own outbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cr_einvoice.app.demo import run_demo
from cr_einvoice.outbox.store import VoucherState, open_store
from cr_einvoice.preflight import preflight
from cr_einvoice.vouchers.rules import MESSAGES


def test_the_demo_vouchers_are_predicted_as_the_simulator_answered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = asyncio.run(run_demo(tmp_path / "demo"))
    capsys.readouterr()
    assert len(results) == 9
    store = open_store(tmp_path / "demo" / "outbox.db")
    try:
        for result in results:
            record = result.record
            report = preflight(record.signed_xml, store=store)
            if record.state is VoucherState.ACCEPTED:
                assert report.accepted and not report.rejections, (result.label, report)
            else:
                assert record.state is VoucherState.REJECTED, result.label
                assert [(r.code, r.message) for r in report.rejections] == [(-60, MESSAGES[-60])]
        assert sum(r.state is VoucherState.ACCEPTED for r in results) == 8
    finally:
        store.close()
