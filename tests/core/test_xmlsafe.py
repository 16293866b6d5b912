"""The hardened parser against an XML-attack corpus."""

from __future__ import annotations

import pytest

from cr_einvoice.core.errors import XMLParseError
from cr_einvoice.core.xmlsafe import parse_untrusted

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<r>&x;</r>"""

XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">
<r>x</r>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>
<r/>"""


@pytest.mark.parametrize(
    "payload", [BILLION_LAUGHS, XXE_FILE, XXE_NETWORK, PARAMETER_ENTITY], ids=["laughs", "xxe", "dtd", "pe"]
)
def test_dtd_and_entities_are_refused(payload: bytes) -> None:
    with pytest.raises(XMLParseError, match=r"DOCTYPE|ENTITY"):
        parse_untrusted(payload, what="callback body")


def test_utf16_doctype_is_refused_after_parsing() -> None:
    payload = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'.encode(
        "utf-16"
    )
    with pytest.raises(XMLParseError):
        parse_untrusted(payload)


def test_size_limit() -> None:
    with pytest.raises(XMLParseError, match="over the 100-byte limit"):
        parse_untrusted(b"<r>" + b"a" * 200 + b"</r>", max_bytes=100)


@pytest.mark.parametrize("payload", [b"", b"   ", b"<r>", b"<a></b>", b"not xml"])
def test_malformed_input_names_what_it_was(payload: bytes) -> None:
    with pytest.raises(XMLParseError, match="Hacienda response"):
        parse_untrusted(payload, what="Hacienda response")


def test_deep_nesting_is_bounded() -> None:
    payload = b"<a>" * 5000 + b"</a>" * 5000
    with pytest.raises(XMLParseError):
        parse_untrusted(payload)


def test_whitespace_and_content_preserved_exactly() -> None:
    payload = b'<r xmlns="urn:x">\n    <a>1&#13;\n</a>\n</r>'
    root = parse_untrusted(payload)
    assert root[0].text == "1\r\n"
    assert root.text == "\n    "


def test_str_input_is_accepted() -> None:
    assert parse_untrusted("<r>ñ</r>").text == "ñ"


def test_wrong_type_is_refused() -> None:
    with pytest.raises(XMLParseError, match="expected bytes"):
        parse_untrusted(123)  # type: ignore[arg-type]


def test_find_child_follows_local_names_in_any_namespace() -> None:
    from cr_einvoice.core.xmlsafe import find_child

    root = parse_untrusted(
        b'<r xmlns="urn:a"><!-- c --><Emisor><x:Identificacion xmlns:x="urn:b"><Numero> 7 </Numero>'
        b"</x:Identificacion></Emisor><Emisor><Nombre>second</Nombre></Emisor></r>"
    )
    numero = find_child(root, "Emisor", "Identificacion", "Numero")
    assert numero is not None
    assert numero.text == " 7 "
    assert find_child(root, "Emisor", "Nombre") is None  # first match only, like the lookups it serves
    assert find_child(root, "Receptor", "Numero") is None
    assert find_child(None, "Emisor") is None
    assert find_child(root) is root
