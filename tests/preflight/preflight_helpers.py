"""Helpers of the preflight tests: vouchers built by the library (example JSON -> model -> XML -> XAdES
signature) and raw calls to a running simulator returning its verdict as codes."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from cr_einvoice.core.clave import Clave, Consecutivo, cr_now
from cr_einvoice.hacienda.respuesta import decode_respuesta
from cr_einvoice.sandbox import Simulator
from cr_einvoice.signing.certs import Credential
from cr_einvoice.signing.xades import Signer
from cr_einvoice.testing.examples import example_json
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.xmlwrite import to_xml

EMISOR = "3101123456"  # the TEST certificate's cédula
OTHER = "3101999999"  # a taxpayer whose certificate the tests do not have
USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"
PASSWORD = "clave-de-pruebas"


@dataclass
class Built:
    """A signed document and what a POST /recepcion needs besides it."""

    clave: str
    xml: bytes
    body: dict[str, Any] = field(default_factory=dict)
    consecutivo: str = ""
    key: str = ""  # the status key (clave, or clave-consecutivoReceptor)


class Factory:
    """Builds signed vouchers through the library; ``patch`` changes the JSON input, ``edit`` the unsigned XML
    (to make it wrong)."""

    def __init__(self, credential: Credential, pki: TestPKI | None = None) -> None:
        self.signer = Signer(credential)
        self.credential = credential
        self.pki = pki

    def voucher(
        self,
        kind: str = "fe",
        *,
        issuer: str = EMISOR,
        fecha: datetime | None = None,
        numero: int | None = None,
        edit: Callable[[bytes], bytes] | None = None,
        sign: Callable[[bytes], bytes] | None = None,
        patch: Callable[[dict[str, Any]], None] | None = None,
    ) -> Built:
        data = example_json(kind)
        if patch is not None:
            patch(data)
        side = "receptor" if kind == "fec" else "emisor"  # the buyer issues a FEC
        data[side]["identificacion"] = {"tipo": "02", "numero": issuer}
        doc = document_from_json(data)
        consecutivo = Consecutivo(
            sucursal=1, terminal=1, tipo=doc.tipo, numero=numero or secrets.randbelow(10**9) + 1
        )
        fecha = fecha or cr_now()
        clave = Clave.build(
            tipo_identificacion="02", numero_identificacion=issuer, consecutivo=consecutivo, fecha=fecha
        )
        xml = to_xml(doc.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=fecha))
        if edit is not None:
            xml = edit(xml)
        body: dict[str, Any] = {
            "clave": str(clave),
            "fecha": fecha.isoformat(),
            "emisor": {"tipoIdentificacion": "02", "numeroIdentificacion": issuer},
        }
        party = data["emisor"] if kind == "fec" else data.get("receptor")
        if party is not None and party["identificacion"]["tipo"] in {"01", "02", "03", "04"}:
            ident = party["identificacion"]
            body["receptor"] = {"tipoIdentificacion": ident["tipo"], "numeroIdentificacion": ident["numero"]}
        signed = (sign or self.signer.sign)(xml)
        return Built(str(clave), signed, body, str(consecutivo), str(clave))

    def mr(self, confirmed: Built, *, receptor: str = EMISOR, fecha: datetime | None = None) -> Built:
        """A MensajeReceptor by ``receptor`` accepting ``confirmed`` (signed with the TEST certificate)."""
        data = example_json("mr")
        data["clave"] = confirmed.clave
        data["numero_cedula_emisor"] = confirmed.body["emisor"]["numeroIdentificacion"]
        data["numero_cedula_receptor"] = receptor
        mr = document_from_json(data)
        consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=mr.tipo, numero=secrets.randbelow(10**9) + 1)
        mr = mr.with_numbering(consecutivo=consecutivo, fecha_emision=fecha or cr_now())
        body = {
            "clave": confirmed.clave,
            "fecha": cr_now().isoformat(),
            "emisor": confirmed.body["emisor"],
            "receptor": {"tipoIdentificacion": "02", "numeroIdentificacion": receptor},
            "consecutivoReceptor": str(consecutivo),
        }
        signed = self.signer.sign(to_xml(mr))
        return Built(confirmed.clave, signed, body, str(consecutivo), f"{confirmed.clave}-{consecutivo}")


@dataclass
class Verdict:
    accepted: bool
    rejections: list[int | str]  # codes, or the bare line for the uncoded ones
    warnings: list[int | str]


class Hacienda:
    """A running simulator and raw calls to it."""

    def __init__(self, sim: Simulator, http: httpx.Client) -> None:
        self.sim = sim
        self.http = http
        r = http.post(
            sim.token_url,
            data={"grant_type": "password", "client_id": "api-stag", "username": USER, "password": PASSWORD},
        )
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": f"bearer {r.json()['access_token']}"}

    def submit(self, built: Built) -> None:
        body = {**built.body, "comprobanteXml": base64.b64encode(built.xml).decode("ascii")}
        r = self.http.post(self.sim.base_url + "recepcion", json=body, headers=self.headers)
        assert r.status_code == 202, r.text

    def verdict(self, built: Built, timeout: float = 10.0) -> Verdict:
        deadline = time.monotonic() + timeout
        while True:
            r = self.http.get(self.sim.base_url + "recepcion/" + built.key, headers=self.headers)
            if r.status_code == 200 and r.json()["ind-estado"] in {"aceptado", "rechazado"}:
                break
            assert time.monotonic() < deadline, f"{built.key}: no final answer ({r.status_code} {r.text})"
            time.sleep(0.03)
        answer = decode_respuesta(base64.b64decode(r.json()["respuesta-xml"]), verify=False)
        rows = [e.codigo if e.codigo is not None else e.mensaje for e in answer.errores]
        if answer.aceptado:
            return Verdict(True, [], rows)
        return Verdict(False, rows, [])

    def judge(self, built: Built) -> Verdict:
        self.submit(built)
        return self.verdict(built)
