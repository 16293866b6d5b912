"""``cr-einvoice list`` shows every column whatever the console width (a clave is never cut or wrapped)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cr_einvoice.app.cli.listing import print_records
from cr_einvoice.outbox.store import VoucherKind, VoucherRecord, VoucherState

CLAVE = "50621112600310112345600100001010000000001109923690"
MR_KEY = "50621112600310165432100100001010000004501153702935-00100001050000000001"
REJECTION = "[-60] El contribuyente que firma la factura electrónica no es el emisor."


def _record(key: str, kind: VoucherKind, tipo: str, state: VoucherState, error: str | None) -> VoucherRecord:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    return VoucherRecord(
        key=key,
        clave=key[:50],
        consecutivo=key[21:41],
        kind=kind,
        tipo=tipo,
        situacion="1",
        fecha_emision=now,
        emisor_tipo="02",
        emisor_numero="3101123456",
        receptor_tipo="02",
        receptor_numero="3102654321",
        signed_xml=b"<x/>",
        state=state,
        attempts=1,
        polls=1,
        created_at=now,
        updated_at=now,
        submitted_at=now,
        finished_at=now,
        next_action_at=0.0,
        last_error=error,
        total_comprobante="100.00000",
        consecutivo_receptor=key[51:] or None,
        external_ref=None,
        sucursal=1,
        terminal=1,
        numero=1,
    )


RECORDS = [
    _record(CLAVE, VoucherKind.ISSUED, "04", VoucherState.REJECTED, REJECTION),
    _record(MR_KEY, VoucherKind.RECEPTOR_MESSAGE, "05", VoucherState.ACCEPTED, None),
]


@pytest.mark.parametrize("columns", [80, 200])
def test_every_cell_is_shown_and_claves_stay_whole(
    columns: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    print_records(RECORDS, as_json=False)
    out = capsys.readouterr().out
    lines = out.splitlines()
    if columns >= 200:
        assert all(len(line) <= columns for line in lines), out  # wide enough: a table that fits
    mr_line = next(line for line in lines if MR_KEY in line)  # the 71-character key, in one piece
    assert "MR-acepta" in mr_line and "accepted" in mr_line
    fe_line = next(line for line in lines if CLAVE in line)
    assert "TE" in fe_line and "rejected" in fe_line
    # the rejection reason may fold inside a wide table, but every word of it is there
    assert all(word in out for word in REJECTION.split()), out
