"""The one hardened path for e-mail addresses: plain local@domain only, no header or command injection."""

from __future__ import annotations

import pytest

from cr_einvoice.core.errors import ValidationError
from cr_einvoice.core.mailaddr import mail_address, mail_addresses


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("compras@example.com", "compras@example.com"),
        ("  Compras.Nacionales+cr@Example.CO.cr ", "Compras.Nacionales+cr@example.co.cr"),
        ("o'neil@sub-domain.example.org", "o'neil@sub-domain.example.org"),
        ("ventas@cafe\u0301.cr", "ventas@xn--caf-dma.cr"),
        ("info@ñandú.cr", "info@xn--and-6ma2c.cr"),
    ],
)
def test_plain_addresses_are_normalised(given: str, expected: str) -> None:
    assert mail_address(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("a@example.com\r\nBcc: victim@example.org", "control characters"),
        ("a@example.com\nRCPT TO:<x@example.org>", "control characters"),
        ("a@example.com\x00", "control characters"),
        ("a@example.com\rX", "control characters"),
        ("Cliente <a@example.com>", "local part"),
        ('"quoted"@example.com', "local part"),
        ("a@b@example.com", "single e-mail address"),
        ("a@example.com, b@example.com", "single e-mail address"),
        ("a(comment)@example.com", "local part"),
        ("a..b@example.com", "local part"),
        (".a@example.com", "local part"),
        ("a@localhost", "not a valid mail domain"),
        ("a@-bad.example.com", "not a valid mail domain"),
        ("a@example.123", "not a valid mail domain"),
        ("a@[127.0.0.1]", "not a valid mail domain"),
        ("", "single e-mail address"),
        ("x" * 65 + "@example.com", "local part"),
        ("a@" + "b" * 64 + ".com", "not a valid mail domain"),
        ("a@" + ".".join(["abcdefghij"] * 25) + ".com", "longer than 254"),
    ],
)
def test_anything_else_is_refused_naming_the_field(given: str, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        mail_address(given, field="delivery.copies[0]")
    (problem,) = info.value.problems
    assert problem.path == "delivery.copies[0]"
    assert reason in problem.message


def test_not_text_is_refused() -> None:
    with pytest.raises(ValidationError, match="must be text"):
        mail_address(b"a@example.com")


def test_lists_split_dedupe_and_report_every_bad_item() -> None:
    assert mail_addresses("a@example.com; B@Example.com,a@EXAMPLE.com") == ("a@example.com", "B@example.com")
    assert mail_addresses(["x@example.com"]) == ("x@example.com",)
    with pytest.raises(ValidationError) as info:
        mail_addresses(["ok@example.com", "bad", "x@y.cr\nBcc: z@w.cr"], field="copies")
    assert [p.path for p in info.value.problems] == ["copies[1]", "copies[2]"]
    with pytest.raises(ValidationError, match="expected a list"):
        mail_addresses(3)
