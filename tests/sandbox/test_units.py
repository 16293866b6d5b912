"""The simulator's pure parts: DetalleMensaje layouts, MensajeHacienda serialization, Xerces wording and
positions, rate-limit windows, party filters."""

from __future__ import annotations

import pytest
from lxml import etree

from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.sandbox import Finding, MensajeHaciendaData, detalle_mensaje, render_mensaje_hacienda
from cr_einvoice.sandbox.mensaje import format_tax, format_total
from cr_einvoice.sandbox.ratelimit import WindowRateLimiter
from cr_einvoice.sandbox.xerces import positions, xerces_errors
from cr_einvoice.vouchers.schemas import find_schemas_dir, validate_xsd

P = (
    "Este comprobante fue recibido en el ambiente de pruebas, "
    "por lo cual no tiene validez para fines tributarios."
)
MH_NS = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda"


def test_detalle_accepted_without_findings():
    assert detalle_mensaje(P, [], accepted=True) == P + "\n\n"


def test_detalle_accepted_with_warnings():
    rows = [Finding(-37, "uno", warning=True), Finding(-407, "dos", warning=True)]
    assert detalle_mensaje(P, rows, accepted=True) == (
        P + '\n\ncodigo, mensaje, fila, columna\r\n-37, ""uno"", 0, 0\r\n-407, ""dos"", 0, 0\r\n'
    )


def test_detalle_rejected_with_coded_rows():
    rows = [Finding(-37, "uno", warning=True), Finding(-1, "cvc-x", 90, 26), Finding(-52, "tres")]
    assert detalle_mensaje(P, rows, accepted=False) == (
        P + "\n\nEl comprobante electrónico tiene los siguientes errores: \r\n[\r\n"
        'codigo, mensaje, fila, columna\r\n-37, ""uno"", 0, 0\r\n'
        '-1, ""cvc-x"", 90, 26\r\n-52, ""tres"", 0, 0\r\n'
        "\r\n]"
    )


def test_detalle_rejected_by_a_bare_signature_line():
    rows = [Finding(None, "La firma del documento no es XAdES, se obtuvo [ERROR]")]
    assert detalle_mensaje(P, rows, accepted=False) == (
        P + "\n\nEl comprobante electrónico tiene los siguientes errores: \r\n[\r\n"
        "La firma del documento no es XAdES, se obtuvo [ERROR]\r\n]"
    )


def test_detalle_without_prefix_for_a_production_like_simulator():
    assert detalle_mensaje("", [], accepted=True) == ""


def test_unsigned_mensaje_hacienda_serialization():
    data = MensajeHaciendaData(
        clave="5" * 50,
        nombre_emisor="A & B <S.A.>",
        tipo_identificacion_emisor="02",
        numero_cedula_emisor="3101123456",
        mensaje=3,
        detalle="x\r\ny",
        total_factura="0",
        tipo_identificacion_receptor="01",
        numero_cedula_receptor="112345678",
    )
    assert render_mensaje_hacienda(data).decode() == (
        f'<?xml version="1.0" encoding="UTF-8"?><MensajeHacienda xmlns="{MH_NS}">\n'
        f"    <Clave>{'5' * 50}</Clave>\n"
        "    <NombreEmisor>A &amp; B &lt;S.A.&gt;</NombreEmisor>\n"
        "    <TipoIdentificacionEmisor>02</TipoIdentificacionEmisor>\n"
        "    <NumeroCedulaEmisor>3101123456</NumeroCedulaEmisor>\n"
        "    <TipoIdentificacionReceptor>01</TipoIdentificacionReceptor>\n"
        "    <NumeroCedulaReceptor>112345678</NumeroCedulaReceptor>\n"
        "    <Mensaje>3</Mensaje>\n"
        "    <EstadoMensaje>Rechazado</EstadoMensaje>\n"
        "    <DetalleMensaje>x&#13;\ny</DetalleMensaje>\n"
        "    <TotalFactura>0</TotalFactura>\n"
        "</MensajeHacienda>"
    )
    assert etree.fromstring(render_mensaje_hacienda(data)).findtext(f"{{{MH_NS}}}DetalleMensaje") == "x\r\ny"


@pytest.mark.parametrize(
    ("value", "total", "tax"),
    [
        ("1000", "1000.00000", "1000.00000"),
        ("0.00000", "0.00000", "0"),
        ("abc", "0", None),
        (None, "0", None),
    ],
)
def test_amount_formats(value, total, tax):
    assert format_total(value) == total
    assert format_tax(value) == tax


def test_positions_skip_comments_cdata_and_handle_empty_elements():
    text = '<a x=">">\n<!-- <b> -->\n  <b/><c><![CDATA[<d>]]></c>\n</a>'
    spots = positions(text)
    assert len(spots) == 3
    assert text[: spots[0][0]].endswith('<a x=">">')
    assert text[: spots[1][0]].endswith("<b/>") and spots[1][0] == spots[1][1]
    assert text[: spots[2][1]].endswith("</c>")
    assert spots[0][1] == len(text)


def _mh(body: str) -> str:
    return f'<MensajeHacienda xmlns="{MH_NS}">{body}</MensajeHacienda>'


def _xerces(text: str) -> list[tuple[str, int, int]]:
    root = etree.fromstring(text.encode())
    problems = validate_xsd(root, signed=True)
    xsd = find_schemas_dir() / "2024" / "v4.4" / "MensajeHacienda_V4.4.xsd"
    return [(e.message, e.line, e.column) for e in xerces_errors(root, problems, text, xsd_path=xsd)]


GOOD_HEAD = (
    "<Clave>" + "5" * 50 + "</Clave>\n<NombreEmisor>x</NombreEmisor>\n"
    "<TipoIdentificacionEmisor>02</TipoIdentificacionEmisor>\n<NumeroCedulaEmisor>1</NumeroCedulaEmisor>\n"
)


def test_xerces_wording_for_values(schemas_dir, monkeypatch):
    monkeypatch.setenv("CR_EINVOICE_SCHEMAS", str(schemas_dir))
    text = _mh(
        "<Clave>123</Clave>\n<NombreEmisor>x</NombreEmisor>\n"
        "<TipoIdentificacionEmisor>False</TipoIdentificacionEmisor>\n<NumeroCedulaEmisor>1</NumeroCedulaEmisor>\n"
        "<Mensaje>1</Mensaje>\n<EstadoMensaje>Aceptado123</EstadoMensaje>\n<DetalleMensaje/>\n"
        "<MontoTotalImpuesto>1.1234567</MontoTotalImpuesto>\n<TotalFactura></TotalFactura>\n"
    )
    found = _xerces(text)
    messages = [m for m, _, _ in found]
    assert (
        "cvc-pattern-valid: Value '123' is not facet-valid with respect to pattern '\\d{50,50}' for type "
        "'#AnonType_ClaveMensajeHacienda'." in messages
    )
    assert (
        "cvc-enumeration-valid: Value 'False' is not facet-valid with respect to enumeration "
        "'[01, 02, 03, 04, 05, 06]'. It must be a value from the enumeration." in messages
    )
    assert (
        "cvc-maxLength-valid: Value 'Aceptado123' with length = '11' is not facet-valid with respect to "
        "maxLength '9' for type '#AnonType_EstadoMensajeMensajeHacienda'." in messages
    )
    assert (
        "cvc-fractionDigits-valid: Value '1.1234567' has 7 fraction digits, "
        "but the number of fraction digits has been limited to 5." in messages
    )
    assert "cvc-datatype-valid.1.2.1: '' is not a valid value for 'decimal'." in messages
    # Positions: after the end tag of the offending value (line, 1-based column), as Xerces reports them.
    assert ("cvc-datatype-valid.1.2.1: '' is not a valid value for 'decimal'.", 9, 30) in found
    pattern = next(f for f in found if f[0].startswith("cvc-pattern-valid"))
    assert pattern[1:] == (1, len(_mh("")) - len("</MensajeHacienda>") + len("<Clave>123</Clave>") + 1)


def test_xerces_wording_for_structure(schemas_dir, monkeypatch):
    monkeypatch.setenv("CR_EINVOICE_SCHEMAS", str(schemas_dir))
    found = _xerces(_mh(GOOD_HEAD + "<Otro/>"))
    assert found[0][0] == (
        f"cvc-complex-type.2.4.a: Invalid content was found starting with element '{{\"{MH_NS}\":Otro}}'. "
        f'One of \'{{"{MH_NS}":NombreReceptor, "{MH_NS}":TipoIdentificacionReceptor, '
        f'"{MH_NS}":NumeroCedulaReceptor, "{MH_NS}":Mensaje}}\' is expected.'
    )
    assert found[0][1:] == (5, 8)
    found = _xerces(_mh(GOOD_HEAD))
    assert found[0][0] == (
        "cvc-complex-type.2.4.b: The content of element 'MensajeHacienda' is not complete. "
        f'One of \'{{"{MH_NS}":NombreReceptor, "{MH_NS}":TipoIdentificacionReceptor, '
        f'"{MH_NS}":NumeroCedulaReceptor, "{MH_NS}":Mensaje}}\' is expected.'
    )
    found = _xerces(
        _mh(GOOD_HEAD.replace("<NombreEmisor>x</NombreEmisor>", "<NombreEmisor>x<b/></NombreEmisor>"))
    )
    assert found[0][0] == (
        "cvc-type.3.1.2: Element 'NombreEmisor' is a simple type, so it must have no element information "
        "item [children]."
    )
    text = (
        _mh(GOOD_HEAD)
        .replace("<MensajeHacienda ", '<MensajeHacienda a="1" ')
        .replace("<Clave>", "texto<Clave>")
    )
    messages = [m for m, _, _ in _xerces(text)]
    assert (
        "cvc-complex-type.3.2.2: Attribute 'a' is not allowed to appear in element 'MensajeHacienda'."
        in messages
    )
    assert (
        "cvc-complex-type.2.3: Element 'MensajeHacienda' cannot have character [children], "
        "because the type's content type is element-only." in messages
    )


def test_rate_limit_windows_with_a_fake_clock():
    now = [1000.0]
    limiter = WindowRateLimiter(60.0, clock=lambda: now[0])
    first = limiter.hit("a", 2)
    assert (first.allowed, first.remaining, first.reset) == (True, 1, 1060)
    assert limiter.hit("a", 2).remaining == 0
    assert not limiter.hit("a", 2).allowed
    assert limiter.hit("b", 2).allowed  # keys are independent
    assert limiter.peek("a", 2).remaining == 0
    now[0] = 1060.5
    again = limiter.hit("a", 2)
    assert (again.allowed, again.remaining, again.reset) == (True, 1, 1121)
    assert again.headers() == {
        "X-Ratelimit-Limit": "2",
        "X-Ratelimit-Remaining": "1",
        "X-Ratelimit-Reset": "1121",
    }


def test_party_filters():
    party = Identificacion.of("02", "3101123456")
    assert party.matches_filter("02003101123456")
    assert party.matches_filter("023101123456")
    assert not party.matches_filter("01003101123456")
    assert not party.matches_filter("02")


def test_store_transition_is_compare_and_set():
    from cr_einvoice.sandbox.state import DuplicateSubmission, Submission, SubmissionStore

    store = SubmissionStore()
    sub = Submission(
        "k",
        "k",
        None,
        "2026-01-01T00:00:00-06:00",
        Identificacion.of("02", "3101123456"),
        None,
        None,
        b"",
        "u",
        0.0,
    )
    store.add(sub)
    with pytest.raises(DuplicateSubmission):
        store.add(sub)
    assert store.transition("k", "recibido", "procesando")
    store.update("k", estado="aceptado")
    assert not store.transition("k", "recibido", "procesando")  # a late step never undoes a final state
    assert store.get("k").estado == "aceptado"
    assert not store.transition("missing", "recibido", "procesando")


def test_idp_with_a_fake_clock_expiry_refresh_and_session_pruning(monkeypatch):
    from cr_einvoice.sandbox import idp as idp_module
    from cr_einvoice.sandbox.idp import IdentityProvider, IdPError

    now = [1_000_000.0]
    idp = IdentityProvider(
        issuer="http://127.0.0.1/auth/realms/rut-stag",
        client_id="api-stag",
        users={"u": "p"},
        access_lifetime=300,
        refresh_lifetime=1800,
        clock=lambda: now[0],
    )
    form = {"grant_type": "password", "client_id": "api-stag", "username": "u", "password": "p"}
    tokens = idp.token(form)
    assert idp.verify_access(str(tokens["access_token"])).username == "u"
    now[0] += 301
    assert idp.verify_access(str(tokens["access_token"])) is None
    refreshed = idp.token(
        {"grant_type": "refresh_token", "client_id": "api-stag", "refresh_token": tokens["refresh_token"]}
    )
    assert idp.verify_access(str(refreshed["access_token"])) is not None
    now[0] += 1801
    with pytest.raises(IdPError) as info:
        idp.token(
            {
                "grant_type": "refresh_token",
                "client_id": "api-stag",
                "refresh_token": refreshed["refresh_token"],
            }
        )
    assert info.value.description == "Token is not active"
    # Old sessions are forgotten once the store is full.
    monkeypatch.setattr(idp_module, "_MAX_SESSIONS", 3)
    for _ in range(3):
        idp.token(form)
    assert len(idp._sessions) == 3
    now[0] += 1801
    idp.token(form)
    assert len(idp._sessions) == 1


def test_store_forgets_the_oldest_answered_submissions_past_its_bound():
    from cr_einvoice.sandbox.state import Submission, SubmissionStore

    store = SubmissionStore(max_items=2)

    def make(key: str) -> Submission:
        return Submission(
            key, key, None, "f", Identificacion.of("02", "3101123456"), None, None, b"", "u", 0.0
        )

    store.add(make("a"))
    store.add(make("b"))
    store.update("b", estado="aceptado")
    store.add(make("c"))  # "a" is still pending: the oldest answered one ("b") goes
    assert [s.key for s in store.all()] == ["a", "c"]
