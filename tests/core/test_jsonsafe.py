"""Issue #10 item 4: the one hardened JSON reader (size, depth, UTF-8, no NaN/Infinity)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cr_einvoice.core.errors import CrEinvoiceError, ValidationError
from cr_einvoice.core.jsonsafe import DEFAULT_MAX_DEPTH, JSONInputError, _depth, loads


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


def _nesting(value: object) -> int:
    """How deep a parsed JSON value nests (the reference the byte-level count must agree with)."""
    if isinstance(value, dict):
        return 1 + max((_nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_nesting(v) for v in value), default=0)
    return 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ a\n\u00e9'),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\ k'), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_the_depth_counted_on_the_bytes_is_the_parsed_value_s(value: object) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode()
    depth = _nesting(value)
    assert _depth(raw) == depth
    assert loads(raw, what="x", max_depth=max(depth, 1)) == value
    if depth > 1:
        with pytest.raises(JSONInputError, match=f"nests {depth} levels deep"):
            loads(raw, what="x", max_depth=depth - 1)


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


def test_few_brackets_are_not_counted_and_many_are() -> None:
    # as many opening brackets as the limit (inside strings or not): read without counting them
    assert loads(b'[{"a": "[["}]', what="x", max_depth=4) == [{"a": "[["}]
    # more than the limit, but not nested deeper: counted, and read
    assert loads(b'[{"a": "[[[["}, {}]', what="x", max_depth=2) == [{"a": "[[[["}, {}]
    with pytest.raises(JSONInputError, match="nests 3 levels deep, over the limit of 2"):
        loads(b"[[[1]]]", what="x", max_depth=2)


def test_a_second_byte_order_mark_is_refused_as_json_refuses_it() -> None:
    with pytest.raises(JSONInputError) as info:
        loads(b"\xef\xbb\xbf\xef\xbb\xbf{}", what="x")
    with pytest.raises(json.JSONDecodeError) as plain:
        json.loads("\ufeff{}")
    assert info.value.reason == f"is not valid JSON: {plain.value}"
