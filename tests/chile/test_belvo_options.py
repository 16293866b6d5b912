"""A retrieval refuses an option it does not know instead of dropping it (``**options`` is typed only)."""

from __future__ import annotations

from typing import Any

import pytest

from cr_einvoice.chile.belvo import AsyncBelvoClient, BelvoAuth, BelvoClient
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.testing.chile_fakes import FakeBelvo

from .conftest import LINK


def test_a_misspelt_retrieval_option_is_refused_before_any_request(
    fake_belvo: FakeBelvo, belvo_auth: BelvoAuth
) -> None:
    misspelt: dict[str, Any] = {"kind": "INFLOW", "save_date": False}
    with BelvoClient(belvo_auth, base_url=fake_belvo.base_url) as c:
        with pytest.raises(ValidationError) as err:
            c.retrieve_invoices(LINK, "2024-01-01", "2024-06-30", **misspelt)
        assert {p.path for p in err.value.problems} == {"kind", "save_date"}
        assert "type, save_data, omit, fields" in str(err.value)
        with pytest.raises(ValidationError):
            c.request_invoices(LINK, "2024-01-01", "2024-06-30", **misspelt)
        assert fake_belvo.requests == []
        assert c.retrieve_invoices(LINK, "2024-01-01", "2024-06-30", type="INFLOW", save_data=True)


async def test_the_async_client_refuses_it_too(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    async with AsyncBelvoClient(belvo_auth, base_url=fake_belvo.base_url) as c:
        with pytest.raises(ValidationError):
            await c.retrieve_invoices(LINK, "2024-01-01", "2024-06-30", typ="INFLOW")  # type: ignore[call-arg]
    assert fake_belvo.requests == []
