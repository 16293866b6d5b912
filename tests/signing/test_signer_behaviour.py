"""Signer mechanics: reuse across threads and processes, unusual document layouts, the canonical fast path."""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from lxml import etree

from cr_einvoice.core.errors import ConfigError, SignatureError, XMLParseError
from cr_einvoice.signing.certs import Credential
from cr_einvoice.signing.xades import DS_NS, Signer, SignerConfig, verify
from cr_einvoice.signing.xades import signer as signer_module

NS = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica"


def _sign_in_child(signer: Signer, data: bytes) -> bytes:
    return signer.sign(data)


def test_one_signer_many_threads(signer: Signer, invoice_with_lines: Callable[[int], bytes]) -> None:
    docs = [invoice_with_lines(n) for n in (1, 3, 7, 20)] * 10
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(signer.sign, docs))
    ids = set()
    for doc, signed in zip(docs, results, strict=True):
        root = etree.fromstring(signed)
        ids.add(root[-1].get("Id"))
        assert verify(signed).signer_cedula == "3101123456"
        assert signed.startswith(doc[: doc.rindex(b"</FacturaElectronica>")])
    assert len(ids) == len(docs)


def test_signer_pickles_and_signs_in_another_process(signer: Signer, invoice: bytes) -> None:
    clone = pickle.loads(pickle.dumps(signer))
    assert clone.config == signer.config
    verify(clone.sign(invoice))
    with ProcessPoolExecutor(max_workers=1) as pool:
        signed = pool.submit(_sign_in_child, signer, invoice).result(timeout=120)
    assert verify(signed).signer_cedula == "3101123456"


def test_repr_hides_secrets(signer: Signer) -> None:
    text = repr(signer)
    assert "Signer(Credential(" in text and "EMISOR_V44" in text
    assert str(signer.credential.private_key.private_numbers().d)[:20] not in text


ROOT = f'<FacturaElectronica xmlns="{NS}">'
END = "</FacturaElectronica>"
ODD = (
    f'<FacturaElectronica xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<a b='x' >&#233;&quot;&gt;<![CDATA[<&>]]></a><b/><!-- c -->" + END
)


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(f'<FacturaElectronica xmlns="{NS}"/>'.encode(), id="empty-root"),
        pytest.param(f"{ROOT}<a>1</a>{END}\n<!-- fin -->\n".encode(), id="trailing-comment"),
        pytest.param(
            f'<?xml version="1.0"?>\n<?xml-stylesheet href="x.xsl"?>\n{ROOT}<a>1</a>{END}'.encode(),
            id="pi-before-root",
        ),
        pytest.param(f"{ROOT}\r\n  <a>1</a>\r\n{END}\r\n".encode(), id="crlf"),
        pytest.param(
            f'<fe:FacturaElectronica xmlns:fe="{NS}"><fe:a>1</fe:a></fe:FacturaElectronica>'.encode(),
            id="prefixed-root",
        ),
        pytest.param(ODD.encode(), id="non-canonical-constructs"),
        pytest.param(
            f'<?xml version="1.0" encoding="ISO-8859-1"?>{ROOT}<a>Caf\xe9</a>{END}'.encode("latin-1"),
            id="latin-1",
        ),
        pytest.param(
            f'<?xml version="1.0" encoding="UTF-16"?>{ROOT}<a>Café</a>{END}'.encode("utf-16"), id="utf-16"
        ),
        pytest.param(f"\ufeff{ROOT}<a>Ñ</a>{END}".encode(), id="utf-8-bom"),
    ],
)
def test_unusual_layouts_sign_and_verify(signer: Signer, cred: Credential, doc: bytes) -> None:
    import xmlsec
    from cryptography.hazmat.primitives import serialization

    signed = signer.sign(doc)
    root = etree.fromstring(signed)
    assert root[-1].tag == f"{{{DS_NS}}}Signature"
    assert verify(signed).signer_cedula == "3101123456"
    xmlsec.tree.add_ids(root, ["Id"])
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(
        cred.certificate.public_bytes(serialization.Encoding.PEM), xmlsec.constants.KeyDataFormatCertPem
    )
    ctx.verify(root[-1])


def test_refuses_bad_input(signer: Signer) -> None:
    with pytest.raises(XMLParseError):
        signer.sign(b"<a><b></a>")
    with pytest.raises(XMLParseError, match="DOCTYPE"):
        signer.sign(b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')
    with pytest.raises(TypeError):
        signer.sign("<a/>")  # type: ignore[arg-type]
    with pytest.raises(SignatureError, match="canonicalised"):
        signer.sign(b'<a xmlns="relative"><b/></a>')


def test_config_errors(cred: Credential, invoice: bytes) -> None:
    with pytest.raises(ConfigError, match="id_factory"):
        Signer(cred, SignerConfig(id_factory=lambda: "has space")).sign(invoice)
    naive = dt.datetime(2026, 5, 1, 12, 0, 0)
    with pytest.raises(ConfigError, match="aware"):
        Signer(cred, SignerConfig(clock=lambda: naive, allow_expired=True)).sign(invoice)
    with pytest.raises(ConfigError, match="policy_identifier"):
        Signer(cred, SignerConfig(policy_identifier=""))


def test_fast_path_used_for_generator_style_documents(invoice: bytes) -> None:
    parsed = etree.fromstring(invoice, etree.XMLParser(remove_blank_text=True))
    etree.cleanup_namespaces(parsed)  # drop the unused xsd/xsi declarations, as xmlgen writes it
    compact = etree.tostring(parsed, xml_declaration=True, encoding="UTF-8")
    assert compact.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<FacturaElectronica xmlns=")
    assert b"&amp;" in compact and b"&lt;" in compact and b"&gt;" in compact
    root = etree.fromstring(compact)
    fast = signer_module._already_canonical(compact, root)
    assert fast is not None
    assert bytes(fast) == etree.tostring(root.getroottree(), method="c14n", exclusive=True)
    # unused prefix declarations are dropped by exclusive C14N: no fast path then
    data = compact.replace(b"<FacturaElectronica ", b'<FacturaElectronica xmlns:x="urn:x" ')
    assert signer_module._already_canonical(data, etree.fromstring(data)) is None


_TEXT = st.text(
    alphabet=st.sampled_from([*"abcdef 0123Ñé&<>\"'\t\n\r]!?/=:;", "\u00a0", "\U0001f600"]), max_size=8
)


_SAFE_TEXT = st.text(alphabet=st.sampled_from([*"abc 019Ñé&<>]/=:;", "\u00a0"]), max_size=12)


@st.composite
def _documents(draw: st.DrawFn) -> bytes:
    """Random small documents written in many byte-level styles (escapes, attributes, empty tags...)."""

    plain = draw(st.booleans())  # half the documents in the generator's (canonical-looking) style

    def pick(canonical: str, *others: str) -> str:
        return canonical if plain and draw(st.integers(0, 9)) else draw(st.sampled_from([canonical, *others]))

    def esc(text: str, attr: bool = False) -> str:
        out = text.replace("&", pick("&amp;", "&#38;"))
        out = out.replace("<", pick("&lt;", "&#60;"))
        out = out.replace(">", pick("&gt;", ">") if not attr else "&gt;")
        out = out.replace("\r", "&#13;")
        return out.replace('"', "&quot;") if attr else out

    def element(depth: int) -> str:
        name = draw(
            st.sampled_from(["Linea", "Monto", "a", "fe:x"] if depth and not plain else ["Linea", "a"])
        )
        attrs = ""
        if not plain and draw(st.booleans()) and depth:
            attrs = f' b="{esc(draw(_TEXT), attr=True)}"'
        space = pick("", " ", "\n")
        children = "".join(element(depth + 1) for _ in range(draw(st.integers(0, 2 if depth < 3 else 0))))
        text = esc(draw(_SAFE_TEXT if plain and draw(st.booleans()) else _TEXT))
        if not children and not text and pick("", "/") == "/":
            return f"<{name}{attrs}{space}/>"
        extra = pick("", "<!-- c -->", "<?pi x?>", "<![CDATA[x]]>")
        return f"<{name}{attrs}{space}>{text}{children}{extra}</{name}{space}>"

    decl = draw(st.sampled_from(["", "<?xml version='1.0' encoding='UTF-8'?>\n", '<?xml version="1.0"?>']))
    ns = pick(f' xmlns="{NS}"', f' xmlns="{NS}" xmlns:fe="urn:fe"', "")
    body = "".join(element(1) for _ in range(draw(st.integers(0, 3))))
    if "fe:" in body and "xmlns:fe" not in ns:
        ns += ' xmlns:fe="urn:fe"'
    tail = pick("", "\n", "<!-- t -->")
    return f"{decl}<Root{ns}>{esc(draw(_TEXT))}{body}</Root>{tail}".encode()


@settings(max_examples=300, deadline=None)
@given(_documents())
def test_fast_path_never_disagrees_with_libxml2(doc: bytes) -> None:
    root = etree.fromstring(doc)
    fast = signer_module._already_canonical(doc, root)
    event("fast path" if fast is not None else "libxml2 C14N")
    if fast is not None:
        assert bytes(fast) == etree.tostring(root.getroottree(), method="c14n", exclusive=True)
