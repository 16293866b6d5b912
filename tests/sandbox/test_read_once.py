"""The simulator reads a submitted voucher once: the recepción's tree is handed to the processing, which
verifies, validates and checks that very tree; processing at once shows no "procesando" in between."""

from __future__ import annotations

from typing import Any

import pytest

from cr_einvoice.core import xmlsafe
from cr_einvoice.sandbox import checks, server


def test_a_submitted_voucher_is_read_once(
    make_sim: Any, api_for: Any, vouchers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_sim(processing_delay=0.0)
    api = api_for(sim)
    token = api.token()
    v = vouchers.fe()
    reads: list[str] = []

    def counting(data: Any, **kwargs: Any) -> Any:
        reads.append(str(kwargs.get("what")))
        return xmlsafe.parse_untrusted(data, **kwargs)

    monkeypatch.setattr(server, "parse_untrusted", counting)
    monkeypatch.setattr(checks, "parse_untrusted", counting)
    assert api.submit(v, token).status_code == 202
    final = api.wait_final(v.clave, token)
    assert final["ind-estado"] == "aceptado"
    assert reads == ["comprobante"]  # the recepción's read; the processing took its tree
