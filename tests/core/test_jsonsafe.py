"""Issue #10 item 4: the one hardened JSON reader (size, depth, UTF-8, no NaN/Infinity)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from cr_einvoice.core.errors import CrEinvoiceError, ValidationError
from cr_einvoice.core.jsonsafe import DEFAULT_MAX_DEPTH, JSONInputError, loads


def test_ordinary_documents_read_as_json_does() -> None:
    doc = {"clave": "5" * 50, "ind-estado": "aceptado", "list": [1, 2.5, None, True, {"a": '[{"}]'}]}
    assert loads(json.dumps(doc).encode(), what="status") == doc
    assert loads("\ufeff" + json.dumps(doc), what="status") == doc
    assert loads(b'{"amount": 1.10}', what="voucher", decimal=True) == {"amount": Decimal("1.10")}


@pytest.mark.parametrize("payload", [b"[" * 100_000, b'{"a":' * 100_000, b"[" * 100_000 + b"]" * 100_000])
def test_deep_nesting_is_refused_before_the_parser_recurses(payload: bytes) -> None:
    with pytest.raises(JSONInputError, match=f"over the limit of {DEFAULT_MAX_DEPTH}") as info:
        loads(payload, what="callback body", max_bytes=10**6)
    assert isinstance(info.value, ValidationError) and isinstance(info.value, CrEinvoiceError)
    assert info.value.what == "callback body"
    assert str(info.value).startswith("callback body: nests 100000 levels deep")


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"s": "[" * 1000 + '\\"{{{'})
    assert loads(text, what="x", max_depth=1) == json.loads(text)
    with pytest.raises(JSONInputError):
        loads(b"[[1]]", what="x", max_depth=1)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"x" * 101, "101 bytes, over the 100-byte limit"),
        (b'{"a": NaN}', "NaN is not JSON"),
        (b'{"a": -Infinity}', "-Infinity is not JSON"),
        (b'{"a": "\xff"}', "is not UTF-8"),
        (b"{not json", "is not valid JSON"),
    ],
)
def test_refusals_name_the_input_and_the_reason(payload: bytes, message: str) -> None:
    with pytest.raises(JSONInputError, match=message) as info:
        loads(payload, what="the fault description", max_bytes=100)
    assert "the fault description" in str(info.value)
