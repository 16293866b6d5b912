"""Constants and document builders shared by the Hacienda-client tests.

A module of its own (not ``conftest``) so test modules import it by a name no other test folder uses.
"""

from __future__ import annotations

from hacienda_fakes import CLIENT_ID

from cr_einvoice.hacienda import Environment
from cr_einvoice.transport.http import RetryPolicy

USERNAME = "cpj-3-101-123456@stag.test"
PASSWORD = "s3cret-pass"
CLAVE = "50601032600310112345600100001010000000001100000001"
CLAVE2 = "50601032600310112345600100001010000000002100000002"
CONSECUTIVO_MR = "00100001050000000007"

FE_NS = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica"
MR_NS = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeReceptor"
SIGNATURE = (
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="Signature-1"><ds:SignedInfo/>'
    "<ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"
)


def voucher_xml(
    clave: str = CLAVE,
    *,
    fecha: str = "2026-03-01T10:00:00-06:00",
    receptor: bool = True,
    signed: bool = True,
) -> bytes:
    """A (syntactically) signed FacturaElectronica: only what the client reads, plus a stand-in signature."""
    rec = (
        "<Receptor><Nombre>Cliente</Nombre><Identificacion><Tipo>01</Tipo><Numero>112345678</Numero>"
        "</Identificacion></Receptor>"
        if receptor
        else ""
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<FacturaElectronica xmlns="{FE_NS}">\n'
        f"  <Clave>{clave}</Clave>\n  <NumeroConsecutivo>00100001010000000001</NumeroConsecutivo>\n"
        f"  <FechaEmision>{fecha}</FechaEmision>\n"
        "  <Emisor><Nombre>Emisor S.A.</Nombre><Identificacion><Tipo>02</Tipo><Numero>3101123456</Numero>"
        f"</Identificacion></Emisor>\n  {rec}\n"
        f"{SIGNATURE if signed else ''}</FacturaElectronica>"
    ).encode()


def mensaje_receptor_xml(clave: str = CLAVE, consecutivo: str = CONSECUTIVO_MR) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><MensajeReceptor xmlns="{MR_NS}"><Clave>{clave}</Clave>'
        "<NumeroCedulaEmisor>3101123456</NumeroCedulaEmisor>"
        "<FechaEmisionDoc>2026-03-02T09:30:00-06:00</FechaEmisionDoc><Mensaje>1</Mensaje>"
        "<TotalFactura>1130.00000</TotalFactura><NumeroCedulaReceptor>112345678</NumeroCedulaReceptor>"
        f"<NumeroConsecutivoReceptor>{consecutivo}</NumeroConsecutivoReceptor>{SIGNATURE}</MensajeReceptor>"
    ).encode()


def environment_for(base: str) -> Environment:
    return Environment.custom(
        token_url=f"{base}/auth/realms/test/protocol/openid-connect/token",
        logout_url=f"{base}/auth/realms/test/protocol/openid-connect/logout",
        recepcion_url=f"{base}/recepcion/v1/",
        client_id=CLIENT_ID,
        name="test",
    )


#: Fast retries for tests: 4 attempts, sub-millisecond backoff.
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.0005, backoff_max=0.002)


MH44_NS = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda"
PREFIX_2026 = (
    "Este comprobante fue recibido en el ambiente de pruebas, por lo cual no tiene validez para fines "
    "tributarios."
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def mensaje_hacienda_xml(
    clave: str = CLAVE,
    *,
    mensaje: int = 1,
    estado: str | None = "Aceptado",
    detalle: str = PREFIX_2026 + "\n\n",
    monto_impuesto: str | None = "130.00000",
    total: str = "1130.00000",
    receptor: bool = True,
    signature: str = "",
) -> bytes:
    """A v4.4 MensajeHacienda serialised the way Hacienda does (unsigned unless ``signature`` is given)."""
    rec = (
        "    <NombreReceptor>Cliente</NombreReceptor>\n"
        "    <TipoIdentificacionReceptor>01</TipoIdentificacionReceptor>\n"
        "    <NumeroCedulaReceptor>112345678</NumeroCedulaReceptor>\n"
        if receptor
        else ""
    )
    est = f"    <EstadoMensaje>{estado}</EstadoMensaje>\n" if estado is not None else ""
    monto = (
        f"    <MontoTotalImpuesto>{monto_impuesto}</MontoTotalImpuesto>\n"
        if monto_impuesto is not None
        else ""
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><MensajeHacienda xmlns="{MH44_NS}">\n'
        f"    <Clave>{clave}</Clave>\n    <NombreEmisor>Emisor S.A.</NombreEmisor>\n"
        "    <TipoIdentificacionEmisor>02</TipoIdentificacionEmisor>\n"
        f"    <NumeroCedulaEmisor>3101123456</NumeroCedulaEmisor>\n{rec}"
        f"    <Mensaje>{mensaje}</Mensaje>\n{est}"
        f"    <DetalleMensaje>{_escape(detalle)}</DetalleMensaje>\n{monto}"
        f"    <TotalFactura>{total}</TotalFactura>\n{signature}</MensajeHacienda>"
    ).encode()
