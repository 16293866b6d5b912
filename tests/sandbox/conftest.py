"""Fixtures for the simulator tests: a test PKI, hand-built signed v4.4 vouchers, running simulators, and
small HTTP helpers (raw httpx, independent of the Hacienda client)."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.certs import Credential, load_p12
from cr_einvoice.signing.xades import SignatureProfile, Signer, SignerConfig
from cr_einvoice.testing.pki import TestPKI, make_test_pki

USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"
PASSWORD = "clave-de-pruebas"
EMISOR = "3101123456"
RECEPTOR = "112345678"
FE_NS = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica"
TE_NS = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/tiqueteElectronico"
MR_NS = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeReceptor"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(tmp_path_factory.mktemp("sandbox-pki"), pin="1234", taxpayer_id=EMISOR, rc2=False)


@pytest.fixture(scope="session")
def taxpayer(pki: TestPKI) -> Credential:
    return load_p12(pki.taxpayer_p12, pki.pin)


@pytest.fixture(scope="session")
def signer(taxpayer: Credential) -> Signer:
    return Signer(taxpayer)


@dataclass
class Voucher:
    clave: str
    consecutivo: str
    fecha: str
    xml: bytes


class VoucherFactory:
    """Builds FacturaElectronica v4.4 documents (one taxed service line) and MensajeReceptor documents."""

    def __init__(self, signer: Signer, taxpayer: Credential) -> None:
        self.signer = signer
        self.taxpayer = taxpayer
        self._numero = secrets.randbelow(10**6) * 1000

    def next_consecutivo(self, tipo: str = "01") -> str:
        self._numero += 1
        return f"00100001{tipo}{self._numero:010d}"

    def fe_xml(
        self,
        *,
        emisor: str = EMISOR,
        consecutivo: str | None = None,
        clave: str | None = None,
        total_descuentos: str | None = None,
        extra_after_clave: str = "",
        receptor: bool = True,
        tiquete: bool = False,
    ) -> Voucher:
        now = datetime.now(CR_TZ).replace(microsecond=0)
        fecha = now.isoformat()
        root = "TiqueteElectronico" if tiquete else "FacturaElectronica"
        ns = TE_NS if tiquete else FE_NS
        consecutivo = consecutivo or self.next_consecutivo("04" if tiquete else "01")
        if clave is None:
            clave = f"506{now:%d%m%y}{emisor.rjust(12, '0')}{consecutivo}1{secrets.randbelow(10**8):08d}"
        descuentos = (
            f"<TotalDescuentos>{total_descuentos}</TotalDescuentos>\n        " if total_descuentos else ""
        )
        receptor_xml = (
            f"""
    <Receptor>
        <Nombre>Cliente de Pruebas</Nombre>
        <Identificacion>
            <Tipo>01</Tipo>
            <Numero>{RECEPTOR}</Numero>
        </Identificacion>
    </Receptor>"""
            if receptor
            else ""
        )
        xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="{ns}">
    <Clave>{clave}</Clave>{extra_after_clave}
    <ProveedorSistemas>{EMISOR}</ProveedorSistemas>
    <CodigoActividadEmisor>620100</CodigoActividadEmisor>
    <NumeroConsecutivo>{consecutivo}</NumeroConsecutivo>
    <FechaEmision>{fecha}</FechaEmision>
    <Emisor>
        <Nombre>Empresa de Pruebas Sociedad Anonima</Nombre>
        <Identificacion>
            <Tipo>02</Tipo>
            <Numero>{emisor}</Numero>
        </Identificacion>
        <Ubicacion>
            <Provincia>1</Provincia>
            <Canton>01</Canton>
            <Distrito>08</Distrito>
            <OtrasSenas>Avenida central, calle primera</OtrasSenas>
        </Ubicacion>
        <CorreoElectronico>facturas@example.cr</CorreoElectronico>
    </Emisor>{receptor_xml}
    <CondicionVenta>01</CondicionVenta>
    <DetalleServicio>
        <LineaDetalle>
            <NumeroLinea>1</NumeroLinea>
            <CodigoCABYS>8314100000000</CodigoCABYS>
            <Cantidad>1.000</Cantidad>
            <UnidadMedida>Sp</UnidadMedida>
            <Detalle>Servicio de consultoria</Detalle>
            <PrecioUnitario>10000.00000</PrecioUnitario>
            <MontoTotal>10000.00000</MontoTotal>
            <SubTotal>10000.00000</SubTotal>
            <BaseImponible>10000.00000</BaseImponible>
            <Impuesto>
                <Codigo>01</Codigo>
                <CodigoTarifaIVA>08</CodigoTarifaIVA>
                <Tarifa>13.00</Tarifa>
                <Monto>1300.00000</Monto>
            </Impuesto>
            <ImpuestoAsumidoEmisorFabrica>0.00000</ImpuestoAsumidoEmisorFabrica>
            <ImpuestoNeto>1300.00000</ImpuestoNeto>
            <MontoTotalLinea>11300.00000</MontoTotalLinea>
        </LineaDetalle>
    </DetalleServicio>
    <ResumenFactura>
        <CodigoTipoMoneda>
            <CodigoMoneda>CRC</CodigoMoneda>
            <TipoCambio>1</TipoCambio>
        </CodigoTipoMoneda>
        <TotalServGravados>10000.00000</TotalServGravados>
        <TotalGravado>10000.00000</TotalGravado>
        <TotalVenta>10000.00000</TotalVenta>
        {descuentos}<TotalVentaNeta>10000.00000</TotalVentaNeta>
        <TotalDesgloseImpuesto>
            <Codigo>01</Codigo>
            <CodigoTarifaIVA>08</CodigoTarifaIVA>
            <TotalMontoImpuesto>1300.00000</TotalMontoImpuesto>
        </TotalDesgloseImpuesto>
        <TotalImpuesto>1300.00000</TotalImpuesto>
        <MedioPago>
            <TipoMedioPago>01</TipoMedioPago>
            <TotalMedioPago>11300.00000</TotalMedioPago>
        </MedioPago>
        <TotalComprobante>11300.00000</TotalComprobante>
    </ResumenFactura>
</{root}>"""
        return Voucher(clave, consecutivo, fecha, xml.encode("utf-8"))

    def fe(self, **kwargs: Any) -> Voucher:
        """A signed FE (default profile, the emisor's test certificate)."""
        v = self.fe_xml(**kwargs)
        v.xml = self.signer.sign(v.xml)
        return v

    def mr(self, clave: str, *, mensaje: int = 1) -> tuple[Voucher, str]:
        """A signed MensajeReceptor confirming ``clave``; returns it and its consecutivoReceptor."""
        tipo = {1: "05", 2: "06", 3: "07"}[mensaje]
        consecutivo = self.next_consecutivo(tipo)
        now = datetime.now(CR_TZ).replace(microsecond=0).isoformat()
        detalle = "" if mensaje == 1 else "\n    <DetalleMensaje>Mercaderia danada</DetalleMensaje>"
        xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<MensajeReceptor xmlns="{MR_NS}">
    <Clave>{clave}</Clave>
    <NumeroCedulaEmisor>{EMISOR}</NumeroCedulaEmisor>
    <FechaEmisionDoc>{now}</FechaEmisionDoc>
    <Mensaje>{mensaje}</Mensaje>{detalle}
    <MontoTotalImpuesto>1300.00000</MontoTotalImpuesto>
    <CodigoActividad>620100</CodigoActividad>
    <CondicionImpuesto>01</CondicionImpuesto>
    <MontoTotalImpuestoAcreditar>1300.00000</MontoTotalImpuestoAcreditar>
    <MontoTotalDeGastoAplicable>10000.00000</MontoTotalDeGastoAplicable>
    <TotalFactura>11300.00000</TotalFactura>
    <NumeroCedulaReceptor>{EMISOR}</NumeroCedulaReceptor>
    <NumeroConsecutivoReceptor>{consecutivo}</NumeroConsecutivoReceptor>
</MensajeReceptor>"""
        return Voucher(clave, consecutivo, now, self.signer.sign(xml.encode("utf-8"))), consecutivo

    def sign_bes(self, xml: bytes) -> bytes:
        """XAdES-BES (no SignaturePolicyIdentifier), as Hacienda signs its own answers."""
        return Signer(self.taxpayer, SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE)).sign(xml)

    def sign_plain_xmldsig(self, xml: bytes) -> bytes:
        """Plain enveloped XMLDSig (exclusive C14N, RSA-SHA256, KeyInfo) without QualifyingProperties."""
        from cryptography.hazmat.primitives import serialization
        from lxml import etree
        from signxml import XMLSigner  # type: ignore[attr-defined]

        root = etree.fromstring(xml)
        signed = XMLSigner(
            c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
        ).sign(
            root,
            key=self.taxpayer.private_key,
            cert=self.taxpayer.certificate.public_bytes(serialization.Encoding.PEM).decode(),
        )
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(signed)


@pytest.fixture(scope="session")
def vouchers(signer: Signer, taxpayer: Credential) -> VoucherFactory:
    return VoucherFactory(signer, taxpayer)


@pytest.fixture(scope="session")
def sello(pki: TestPKI) -> Credential:
    return load_p12(pki.sello_p12, pki.pin)


@pytest.fixture
def make_sim(sello: Credential) -> Iterator[Callable[..., Simulator]]:
    """Start simulators with test-friendly settings (short delays); all are stopped at the end."""
    started: list[Simulator] = []

    def start(**overrides: Any) -> Simulator:
        values: dict[str, Any] = {
            "users": {USER: PASSWORD},
            "processing_delay": 0.1,
            "callback_retry_delay": 0.05,
            "callback_timeout": 2.0,
            "sello_credential": sello,
        }
        values.update(overrides)
        sim = Simulator(SimulatorSettings(**values))
        sim.__enter__()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim()


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(10.0)) as client:
        yield client


class Api:
    """Raw calls against one simulator."""

    def __init__(self, sim: Simulator, http: httpx.Client) -> None:
        self.sim = sim
        self.http = http

    def token_response(self, **form: str) -> httpx.Response:
        data = {"grant_type": "password", "client_id": "api-stag", "username": USER, "password": PASSWORD}
        data.update(form)
        return self.http.post(self.sim.token_url, data=data)

    def token(self) -> str:
        r = self.token_response()
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"bearer {token or self.token()}"}

    def body(self, v: Voucher, **extra: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "clave": v.clave,
            "fecha": v.fecha,
            "emisor": {"tipoIdentificacion": "02", "numeroIdentificacion": EMISOR},
            "receptor": {"tipoIdentificacion": "01", "numeroIdentificacion": RECEPTOR},
            "comprobanteXml": base64.b64encode(v.xml).decode("ascii"),
        }
        data.update(extra)
        return data

    def submit(self, v: Voucher, token: str | None = None, **extra: Any) -> httpx.Response:
        return self.http.post(
            self.sim.base_url + "recepcion", json=self.body(v, **extra), headers=self.auth(token)
        )

    def status(self, key: str, token: str | None = None) -> httpx.Response:
        return self.http.get(self.sim.base_url + "recepcion/" + key, headers=self.auth(token))

    def wait_final(self, key: str, token: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        token = token or self.token()
        deadline = time.monotonic() + timeout
        while True:
            r = self.status(key, token)
            if r.status_code == 200 and r.json()["ind-estado"] in {"aceptado", "rechazado", "error"}:
                return dict(r.json())
            assert time.monotonic() < deadline, f"{key} not final after {timeout} s: {r.status_code} {r.text}"
            time.sleep(0.03)

    def respuesta(self, key: str) -> bytes:
        return base64.b64decode(self.wait_final(key)["respuesta-xml"])


@pytest.fixture
def api(sim: Simulator, http: httpx.Client) -> Api:
    return Api(sim, http)


@pytest.fixture
def api_for(http: httpx.Client) -> Callable[[Simulator], Api]:
    return lambda sim: Api(sim, http)


@pytest.fixture(scope="session")
def mh_schema_path(schemas_dir: Path) -> Path:
    return schemas_dir / "2024" / "v4.4" / "MensajeHacienda_V4.4.xsd"
