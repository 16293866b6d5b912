"""The hardened parser against an XML-attack corpus."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from lxml import etree

from cr_einvoice.core.errors import XMLParseError
from cr_einvoice.core.xmlsafe import DOCTYPE_REFUSED, parse_untrusted

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


# -- issue #10 item 3: nothing is loaded, whatever the position or encoding; one fixed message -----------


def _opened_by_a_reader(fifo: Path) -> bool:
    """True when someone has the FIFO open for reading (or is blocked opening it): a writer can then open it
    without blocking; with no reader the non-blocking open fails (ENXIO)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    os.close(fd)  # unblocks a blocked reader with EOF
    return True


def _refusal_and_whether_it_opened(payload: bytes, fifo: Path) -> tuple[str, bool]:
    outcome: dict[str, str] = {}

    def parse() -> None:
        try:
            parse_untrusted(payload, what="callback body")
            outcome["r"] = "parsed"
        except XMLParseError as exc:
            outcome["r"] = str(exc)

    thread = threading.Thread(target=parse, daemon=True)
    thread.start()
    thread.join(1.0)
    opened = thread.is_alive() and _opened_by_a_reader(fifo)
    thread.join(5.0)
    return outcome.get("r", "blocked"), opened


def _docs(target: str) -> dict[str, bytes]:
    pad = "<!--" + "x" * 5 * 1024 + "-->"  # the DOCTYPE starts after 5 KiB
    return {
        "after-5KiB": f'<?xml version="1.0"?>{pad}<!DOCTYPE r SYSTEM "{target}"><r/>'.encode(),
        "after-5KiB-entity": (
            f'<?xml version="1.0"?>{pad}<!DOCTYPE r [<!ENTITY e SYSTEM "{target}">]><r>&e;</r>'.encode()
        ),
        "utf16-bom": f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r SYSTEM "{target}"><r/>'.encode(
            "utf-16"
        ),
        "utf16-parameter-entity": (
            f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY % p SYSTEM "{target}"> %p;]><r/>'
        ).encode("utf-16"),
        "utf16-external-entity": (
            f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY e SYSTEM "{target}">]><r>&e;</r>'
        ).encode("utf-16"),
    }


@pytest.mark.parametrize("kind", list(_docs("x")))
def test_doctype_anywhere_in_any_encoding_opens_nothing_and_says_the_same(kind: str, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    existing = tmp_path / "exists.txt"
    existing.write_text("root:x:0:0:secret\n")
    messages = set()
    for target in (str(fifo), str(existing), str(tmp_path / "missing.txt")):
        message, opened = _refusal_and_whether_it_opened(_docs(target)[kind], fifo)
        assert not opened, f"{kind}: the parser opened {target}"
        messages.add(message)
    # One fixed text: an existing file, a missing one and a FIFO are indistinguishable (no oracle).
    assert messages == {f"callback body {DOCTYPE_REFUSED}"}
    assert "secret" not in next(iter(messages))


def test_comments_are_dropped_and_the_text_around_them_read_whole() -> None:
    root = parse_untrusted(
        b"<r><T>1<!---->428565.00000</T><U>a<!-- x --><!-- y -->b<?pi z?>c</U><V><!---->9</V></r>"
    )
    assert [child.text for child in root] == ["1428565.00000", "abc", "9"]
    assert not list(root.iter(etree.Comment)) and not list(root.iter(etree.ProcessingInstruction))


@pytest.mark.parametrize("kind", ["after-5KiB", "after-5KiB-entity", "utf16-bom", "utf16-external-entity"])
def test_the_signer_loads_nothing_either(kind: str, tmp_path: Path) -> None:
    """The document to sign goes through the same parser (kept as written): no DOCTYPE, no load."""
    from cr_einvoice.signing.xades.signer import Signer

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome: dict[str, str] = {}

    def parse() -> None:
        try:
            Signer._parse(_docs(str(fifo))[kind])
            outcome["r"] = "parsed"
        except XMLParseError as exc:
            outcome["r"] = str(exc)

    thread = threading.Thread(target=parse, daemon=True)
    thread.start()
    thread.join(1.0)
    opened = thread.is_alive() and _opened_by_a_reader(fifo)
    thread.join(5.0)
    assert not opened
    assert outcome["r"] == f"the document to sign {DOCTYPE_REFUSED}"


def test_as_written_keeps_comments_and_processing_instructions() -> None:
    root = parse_untrusted(b"<r><T>1<!-- c -->2<?pi x?></T></r>", as_written=True)
    assert [type(n).__name__ for n in root[0]] == ["_Comment", "_ProcessingInstruction"]
