"""End to end with the package's own pipeline: example JSON → model → XML → XAdES signature → simulator.

Every voucher type built by ``cr_einvoice.vouchers.xmlwrite`` and signed by
``cr_einvoice.signing.xades.Signer`` must be
accepted, and a receptor message confirming an accepted FE too.
"""

from __future__ import annotations

import base64
import copy
import secrets

import pytest

from cr_einvoice.core.clave import Clave, Consecutivo, cr_now
from cr_einvoice.testing.examples import EXAMPLE_KINDS, example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.xmlwrite import to_xml

EMISOR = "3101123456"  # the test PKI's taxpayer


def _build(kind: str, signer):
    data = copy.deepcopy(example_json(kind))
    issuer = "receptor" if kind == "fec" else "emisor"  # the buyer issues a FEC
    data[issuer]["identificacion"] = {"tipo": "02", "numero": EMISOR}
    doc = document_from_json(data)
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=doc.tipo, numero=secrets.randbelow(10**9) + 1)
    fecha = cr_now()
    clave = Clave.build(
        tipo_identificacion="02", numero_identificacion=EMISOR, consecutivo=consecutivo, fecha=fecha
    )
    doc = doc.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=fecha)
    body = {
        "clave": str(clave),
        "fecha": fecha.isoformat(),
        "emisor": {"tipoIdentificacion": "02", "numeroIdentificacion": EMISOR},
    }
    party = data["emisor"] if kind == "fec" else data.get("receptor")
    if party is not None and party["identificacion"]["tipo"] in {"01", "02", "03", "04"}:
        ident = party["identificacion"]
        body["receptor"] = {"tipoIdentificacion": ident["tipo"], "numeroIdentificacion": ident["numero"]}
    return str(clave), signer.sign(to_xml(doc)), body


@pytest.mark.parametrize("kind", [k for k in EXAMPLE_KINDS if k != "mr"])
def test_every_voucher_type_from_the_pipeline_is_accepted(api, signer, kind):
    clave, signed, extra = _build(kind, signer)
    body = {**extra, "comprobanteXml": base64.b64encode(signed).decode()}
    r = api.http.post(api.sim.base_url + "recepcion", json=body, headers=api.auth())
    assert r.status_code == 202, r.text
    final = api.wait_final(clave)
    detalle = base64.b64decode(final["respuesta-xml"]).decode()
    assert final["ind-estado"] == "aceptado", detalle


def test_receptor_message_from_the_pipeline_is_accepted(api, signer):
    clave, signed, body = _build("fe", signer)
    token = api.token()
    body["comprobanteXml"] = base64.b64encode(signed).decode()
    assert (
        api.http.post(api.sim.base_url + "recepcion", json=body, headers=api.auth(token)).status_code == 202
    )
    assert api.wait_final(clave, token)["ind-estado"] == "aceptado"

    data = example_json("mr")
    data["clave"] = clave
    data["numero_cedula_emisor"] = EMISOR
    mr = document_from_json(data)
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=mr.tipo, numero=secrets.randbelow(10**9) + 1)
    mr = mr.with_numbering(consecutivo=consecutivo, fecha_emision=cr_now())
    mr_body = {
        "clave": clave,
        "fecha": cr_now().isoformat(),
        "emisor": {"tipoIdentificacion": "02", "numeroIdentificacion": EMISOR},
        "receptor": {"tipoIdentificacion": "02", "numeroIdentificacion": EMISOR},
        "consecutivoReceptor": str(consecutivo),
        "comprobanteXml": base64.b64encode(signer.sign(to_xml(mr))).decode(),
    }
    r = api.http.post(api.sim.base_url + "recepcion", json=mr_body, headers=api.auth(token))
    assert r.status_code == 202, r.text
    final = api.wait_final(f"{clave}-{consecutivo}", token)
    assert final["ind-estado"] == "aceptado", base64.b64decode(final["respuesta-xml"]).decode()
