"""The preflight's corpus: one wrong voucher per reason, each predicted with Hacienda's exact code (or bare
line), every valid voucher predicted accepted -- and the simulator's verdict agreeing with the prediction."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from preflight_helpers import EMISOR, OTHER, Built, Factory, Hacienda

from cr_einvoice.core.clave import CR_TZ, cr_now
from cr_einvoice.core.errors import ExitCode
from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.numbering import IssuedVoucher
from cr_einvoice.outbox.store import SQLiteStore, open_store
from cr_einvoice.preflight import PreflightRejected, PreflightReport, Severity, preflight
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import Signer, SignerConfig
from cr_einvoice.signing.xades.errors import INVALID_SIGNATURE, DigestMismatchError, NotXadesError
from cr_einvoice.testing.examples import EXAMPLE_KINDS, example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.rules import MESSAGES
from cr_einvoice.vouchers.rules.messages import HORA_NO_OFICIAL


def _coded(report: PreflightReport) -> list[int]:
    return [c for c in report.codes if c is not None]


def _plain_xmldsig(factory: Factory) -> Callable[[bytes], bytes]:
    """Enveloped XML-DSig (exclusive C14N, RSA-SHA256) without XAdES properties, by signxml."""
    from signxml import XMLSigner  # type: ignore[attr-defined]

    def sign(xml: bytes) -> bytes:
        cred = factory.credential
        signed = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#").sign(
            etree.fromstring(xml),
            key=cred.private_key,
            cert=cred.certificate.public_bytes(serialization.Encoding.PEM).decode(),
        )
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(signed)

    return sign


def _expired_certificate(factory: Factory) -> Callable[[bytes], bytes]:
    """Signed (allow_expired) with the TEST PKI's certificate that expired yesterday."""
    pki = factory.pki
    assert pki is not None
    signer = Signer(load_p12(pki.expired_p12, pki.pin), SignerConfig(allow_expired=True))
    return signer.sign


def _modified_after_signing(factory: Factory) -> Callable[[bytes], bytes]:
    def sign(xml: bytes) -> bytes:
        return factory.signer.sign(xml).replace(b"Computadora port", b"Computadora Port", 1)

    return sign


def _wrong_tax_total(xml: bytes) -> bytes:
    return re.sub(rb"<TotalImpuesto>[^<]*</TotalImpuesto>", b"<TotalImpuesto>1.00000</TotalImpuesto>", xml)


def _unknown_element(xml: bytes) -> bytes:
    return xml.replace(b"<ProveedorSistemas>", b"<Extra>1</Extra><ProveedorSistemas>", 1)


#: name -> (how to build it, the codes (or bare lines) the prediction must be exactly).
CASES: dict[str, tuple[Callable[[Factory], Built], list[int | str | None]]] = {
    "xsd": (lambda f: f.voucher("fe", edit=_unknown_element), [-1]),
    "business rule (-54)": (lambda f: f.voucher("fe", edit=_wrong_tax_total), [-54]),
    "unsigned": (lambda f: f.voucher("fe", sign=lambda xml: xml), [INVALID_SIGNATURE]),
    "not XAdES": (lambda f: f.voucher("fe", sign=_plain_xmldsig(f)), [NotXadesError.HACIENDA_TEXT]),
    "modified after signing": (
        lambda f: f.voucher("fe", sign=_modified_after_signing(f)),
        [DigestMismatchError.HACIENDA_TEXT],
    ),
    "expired certificate": (lambda f: f.voucher("fe", sign=_expired_certificate(f)), [INVALID_SIGNATURE]),
    "signer is not the emisor (-60)": (lambda f: f.voucher("fe", issuer=OTHER), [-60]),
    "MR signer is not the receptor (-60)": (lambda f: f.mr(f.voucher("fe"), receptor=OTHER), [-60]),
    "FechaEmision tomorrow (-53)": (
        lambda f: f.voucher("te", fecha=cr_now() + timedelta(days=1, minutes=10)),
        [-53],
    ),
    "MR older than 10 years": (
        lambda f: f.mr(f.voucher("fe"), fecha=cr_now() - timedelta(days=3660 + 30)),
        [None],
    ),
}


def _corpus_case(factory: Factory, name: str) -> tuple[Built, list[int | str | None]]:
    build, expected = CASES[name]
    return build(factory), expected


def _expected_match(report: PreflightReport, expected: list[int | str | None]) -> None:
    got: list[int | str | None] = []
    for r in report.rejections:
        got.append(r.message if r.path == "Signature" else r.code)
    if expected == [-1]:  # schema errors: one row per XSD problem
        assert got and set(got) == {-1}, report
    elif -54 in expected:  # the rule's own code; the package's uncoded totals finding may come too
        assert [c for c in got if c is not None] == expected, report
    else:
        assert got == expected, report


@pytest.mark.parametrize("name", list(CASES))
def test_each_wrong_voucher_is_predicted_with_hacienda_code(factory: Factory, name: str) -> None:
    built, expected = _corpus_case(factory, name)
    report = preflight(built.xml)
    assert not report.accepted
    _expected_match(report, expected)
    for reason in report.rejections:
        assert reason.message  # Hacienda's text (or the finding's own text), never empty
    if expected == [-60]:
        assert report.rejections[0].message == MESSAGES[-60]
    if expected == [-53]:
        assert report.rejections[0].message == MESSAGES[-53]


def _agree(report: PreflightReport, verdict: Any) -> None:
    """The prediction and the simulator's answer: same outcome, same coded rows, every bare line of
    Hacienda's predicted with its exact text."""
    assert report.accepted == verdict.accepted, (report, verdict)
    assert set(_coded(report)) == {c for c in verdict.rejections if isinstance(c, int)}, (report, verdict)
    messages = {r.message for r in report.rejections}
    for line in verdict.rejections:
        if isinstance(line, str):
            assert line in messages, (report, verdict)


@pytest.mark.parametrize("name", list(CASES))
def test_the_simulator_agrees_with_the_prediction(factory: Factory, hacienda: Hacienda, name: str) -> None:
    built, _ = _corpus_case(factory, name)
    _agree(preflight(built.xml), hacienda.judge(built))


@pytest.mark.parametrize("kind", [k for k in EXAMPLE_KINDS if k != "mr"])
def test_every_example_voucher_is_predicted_accepted_and_is(
    factory: Factory, hacienda: Hacienda, kind: str
) -> None:
    built = factory.voucher(kind)
    report = preflight(built.xml)
    assert report.accepted, report
    assert report.reasons == ()
    assert report.signer_cedula == EMISOR
    _agree(report, hacienda.judge(built))


def test_receptor_message_is_predicted_accepted_and_is(factory: Factory, hacienda: Hacienda) -> None:
    fe = factory.voucher("fe")
    hacienda.judge(fe)
    mr = factory.mr(fe)
    report = preflight(mr.xml)
    assert report.accepted, report
    _agree(report, hacienda.judge(mr))


def test_a_late_voucher_is_accepted_with_the_extemporanea_warning(
    factory: Factory, hacienda: Hacienda
) -> None:
    built = factory.voucher("fe", fecha=cr_now() - timedelta(days=4))
    report = preflight(built.xml)
    assert report.accepted
    assert [(r.code, r.severity, r.message) for r in report.reasons] == [
        (-16, Severity.WARNING, MESSAGES[-16])
    ]
    _agree(report, hacienda.judge(built))


def test_a_time_ahead_of_the_clock_today_is_a_warning_not_a_rejection(factory: Factory) -> None:
    now = cr_now().replace(hour=8)
    built = factory.voucher("fe", fecha=now + timedelta(hours=2))
    report = preflight(built.xml, now=now)
    assert report.accepted
    assert [(r.code, r.message) for r in report.warnings] == [(-53, HORA_NO_OFICIAL)]
    # within the clock tolerance nothing is said; at 23:58 a voucher dated 00:01 tomorrow is forgiven
    assert preflight(built.xml, now=now + timedelta(hours=1, minutes=58)).reasons == ()
    midnight = factory.voucher("fe", fecha=now.replace(hour=0, minute=1) + timedelta(days=1))
    assert preflight(midnight.xml, now=now.replace(hour=23, minute=58)).reasons == ()
    assert not preflight(midnight.xml, now=now.replace(hour=20)).accepted


def test_reference_older_than_10_years_is_rejected(factory: Factory) -> None:
    old = (cr_now() - timedelta(days=3660 + 30)).isoformat().encode()

    def edit(xml: bytes) -> bytes:
        return re.sub(
            rb"<FechaEmisionIR>[^<]*</FechaEmisionIR>", b"<FechaEmisionIR>" + old + b"</FechaEmisionIR>", xml
        )

    report = preflight(factory.voucher("nc", edit=edit).xml)
    assert [r.path for r in report.rejections] == ["InformacionReferencia[1]/FechaEmisionIR"]
    assert "10 years" in report.rejections[0].message


# -- -99: a consecutivo the outbox already used -------------------------------------------------------------
@pytest.fixture
def outbox(factory: Factory, tmp_path: Path) -> Iterator[tuple[SQLiteStore, IssuedVoucher]]:
    """A real SQLite outbox holding one FE issued by the library's pipeline."""
    store = open_store(tmp_path / "outbox.db", create=True)
    try:
        issuer = Issuer(store, factory.signer, IssuerSettings("02", EMISOR, "Empresa de Pruebas S.A."))
        data = example_json("fe")
        data["emisor"]["identificacion"] = {"tipo": "02", "numero": EMISOR}
        yield store, issuer.issue(document_from_json(data))
    finally:
        store.close()


def test_consecutivo_used_by_another_clave_in_the_outbox_is_minus_99(
    factory: Factory, hacienda: Hacienda, outbox: tuple[SQLiteStore, IssuedVoucher]
) -> None:
    store, issued = outbox
    # The stored voucher is not a duplicate of itself.
    own = preflight(issued.signed_xml, store=store)
    assert own.accepted and own.reasons == (), own
    assert not any("consecutivo" in s for s in own.skipped)

    again = factory.voucher("fe", numero=issued.numero)
    assert again.consecutivo == issued.consecutivo and again.clave != issued.clave
    report = preflight(again.xml, store=store)
    assert report.codes == [-99]
    since = issued.created_at.astimezone(CR_TZ).strftime("%d-%m-%Y %H:%M:%S")
    assert report.rejections[0].message == MESSAGES[-99].format(
        consecutivo=issued.consecutivo, since=since, clave=issued.clave
    )
    # Without the outbox the check is skipped, and says so.
    alone = preflight(again.xml)
    assert alone.accepted and any("-99" in s for s in alone.skipped)

    # The simulator, having received the first, answers the second with -99 too.
    first = Built(issued.clave, issued.signed_xml, dict(again.body, clave=issued.clave), key=issued.clave)
    assert hacienda.judge(first).accepted
    _agree(report, hacienda.judge(again))


def test_same_clave_stored_with_other_bytes_is_a_warning(
    factory: Factory, outbox: tuple[SQLiteStore, IssuedVoucher]
) -> None:
    store, issued = outbox
    resigned = factory.signer.sign(
        re.sub(rb"<ds:Signature.*</ds:Signature>", b"", issued.signed_xml, flags=re.S)
    )
    assert resigned != issued.signed_xml
    report = preflight(resigned, store=store)
    assert report.accepted
    assert [(r.path, r.code, r.severity) for r in report.reasons] == [("Clave", None, Severity.WARNING)]


# -- the official samples ------------------------------------------------------------------------------------
def test_official_samples_are_not_v44_vouchers(samples_dir: Path) -> None:
    """The samples in /work/shared are v4.2/v4.3 (Hacienda answers -1 "El tipo de documento no corresponde.")
    or carry a broken signature (Hacienda's bare line); none is predicted accepted."""
    seen = 0
    for path in sorted(samples_dir.glob("*.xml")):
        if path.name.startswith("MensajeHacienda"):
            continue
        seen += 1
        report = preflight(path.read_bytes())
        assert not report.accepted, path.name
        if path.name.startswith("NEGATIVO"):
            assert report.rejections[0].path == "Signature", report
            assert report.rejections[0].message.startswith(INVALID_SIGNATURE)
        else:
            assert report.codes == [-1], (path.name, report)
            assert report.rejections[0].message == MESSAGES[-1]
    assert seen == 3


def test_raise_for_rejection_carries_the_reasons(factory: Factory) -> None:
    accepted = preflight(factory.voucher("te").xml)
    accepted.raise_for_rejection()  # nothing to raise
    report = preflight(factory.voucher("fe", issuer=OTHER).xml)
    with pytest.raises(PreflightRejected) as caught:
        report.raise_for_rejection()
    assert caught.value.exit_code == ExitCode.REJECTED
    assert [p.code for p in caught.value.problems] == [-60]
    assert report.to_dict()["reasons"][0]["severity"] == "rejection"
