"""Signing and verification speed, beside raw RSA-2048 and beside signxml doing the same job.

Run: ``.venv/bin/python benchmarks/bench_sign.py`` (``--quick`` for fewer rounds, ``--strict`` to exit 1
when a target is missed). Every figure is the best per-operation time of several rounds, measured in this
run, so the ratios hold on any machine:

- sign a 3-line voucher   <= 1.5 x raw RSA-2048 sign
- sign a 200-line voucher <= 6   x raw RSA-2048 sign
- verify a 3-line voucher <= 3   x (raw RSA-2048 sign + verify)   (200 lines: printed, no target)

The vouchers are built by the toolkit itself (model + ``xmlgen.to_xml``), as the issuing pipeline signs them.
signxml signs XAdES with inclusive C14N (its exclusive C14N output does not verify, see the notes) and a
fresh XAdESSigner per document (a reused one grows without bound), with the key object cached.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree
from signxml import DigestAlgorithm as SxDigest
from signxml.xades import XAdESDataObjectFormat, XAdESSignaturePolicy, XAdESSigner, XAdESVerifier

from cr_einvoice.core.catalogs import Situacion, TipoDocumento, TipoIdentificacion
from cr_einvoice.core.clave import CR_TZ, Clave, Consecutivo
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import V44_POLICY_DIGEST, V44_POLICY_URL, Signer, verify
from cr_einvoice.testing.pki import make_test_pki
from cr_einvoice.vouchers.model import (
    Emisor,
    FacturaElectronica,
    Identificacion,
    Impuesto,
    LineaDetalle,
    MedioPago,
    Receptor,
    Ubicacion,
)
from cr_einvoice.vouchers.xmlwrite import to_xml

INCLUSIVE_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"


def voucher(lines: int) -> bytes:
    """A FacturaElectronica with ``lines`` lines (goods and services, IVA 13 %), numbered, as XML bytes."""
    iva = Impuesto(codigo="01", codigo_tarifa_iva="08")
    detail = tuple(
        LineaDetalle(
            codigo_cabys="8314100000000" if i % 2 else "2399999999999",
            detalle=f"Artículo de prueba número {i + 1} & accesorios",
            cantidad=Decimal(1 + i % 7),
            unidad_medida="Sp" if i % 2 else "Unid",
            precio_unitario=Decimal("1234.56789") + i,
            impuestos=(iva,),
        )
        for i in range(lines)
    )
    doc = FacturaElectronica(
        proveedor_sistemas="3101123456",
        emisor=Emisor(
            nombre="EMPRESA DE PRUEBAS SOCIEDAD ANONIMA",
            identificacion=Identificacion(tipo="02", numero="3101123456"),
            correos_electronicos=("facturas@example.com",),
            ubicacion=Ubicacion(provincia=1, canton=1, distrito=8, otras_senas="200 m oeste del parque"),
        ),
        receptor=Receptor(
            nombre="Cliente de Pruebas Limitada",
            identificacion=Identificacion(tipo="02", numero="3102654321"),
        ),
        codigo_actividad_emisor="620100",
        lineas=detail,
        medios_pago=(MedioPago(tipo_medio_pago="04"),),
    )
    when = datetime(2026, 11, 22, 8, 15, 30, tzinfo=CR_TZ)
    cons = Consecutivo(sucursal=1, terminal=1, tipo=TipoDocumento.FACTURA_ELECTRONICA, numero=lines)
    clave = Clave.build(
        tipo_identificacion=TipoIdentificacion.CEDULA_JURIDICA,
        numero_identificacion="3101123456",
        consecutivo=cons,
        fecha=when,
        situacion=Situacion.NORMAL,
        codigo_seguridad="12345678",
    )
    return to_xml(doc.with_numbering(consecutivo=cons, clave=clave, fecha_emision=when))


def best(fn: Callable[[], object], *, rounds: int, seconds: float) -> float:
    """Best per-call time (seconds) over ``rounds`` rounds of about ``seconds`` each."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-6)
    loops = max(1, int(seconds / once))
    results = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        results.append((time.perf_counter() - t0) / loops)
    return min(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    rounds, seconds = (3, 0.1) if args.quick else (7, 0.25)

    with tempfile.TemporaryDirectory() as tmp:
        pki = make_test_pki(tmp, rc2=False)
        cred = load_p12(pki.taxpayer_p12, pki.pin)
    key = cred.private_key
    cert_pem = cred.certificate.public_bytes(serialization.Encoding.PEM).decode()
    signer = Signer(cred)
    docs = {3: voucher(3), 200: voucher(200)}

    # the reference: raw RSA-2048 PKCS#1 v1.5 SHA-256 over a SignedInfo-sized message
    message = b"x" * 1400
    raw_sig = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    pub = key.public_key()
    raw_sign = best(
        lambda: key.sign(message, padding.PKCS1v15(), hashes.SHA256()), rounds=rounds, seconds=seconds
    )
    raw_verify = best(
        lambda: pub.verify(raw_sig, message, padding.PKCS1v15(), hashes.SHA256()),
        rounds=rounds,
        seconds=seconds,
    )

    policy = XAdESSignaturePolicy(
        Identifier=V44_POLICY_URL, Description="", DigestMethod=SxDigest.SHA256, DigestValue=V44_POLICY_DIGEST
    )

    def signxml_sign(data: bytes) -> bytes:
        sx = XAdESSigner(
            signature_policy=policy,
            data_object_format=XAdESDataObjectFormat(Description="comprobante", MimeType="text/xml"),
            c14n_algorithm=INCLUSIVE_C14N,
        )
        return etree.tostring(sx.sign(etree.fromstring(data), key=key, cert=[cert_pem]))

    def signxml_verify(data: bytes) -> object:
        return XAdESVerifier().verify(data, x509_cert=cert_pem, expect_signature_policy=policy)

    rows: list[tuple[str, float, float, str]] = []
    print(f"RSA-2048 raw (cryptography): sign {raw_sign * 1e6:8.1f} us   verify {raw_verify * 1e6:8.1f} us")
    print(f"{'operation':34} {'cr_einvoice':>12} {'ratio':>7} {'signxml':>12} {'ratio':>7}  target")
    ok = True
    for lines, data in docs.items():
        signed = signer.sign(data)
        verify(signed)
        sx_signed = signxml_sign(data)
        signxml_verify(sx_signed)
        ours_sign = best(lambda d=data: signer.sign(d), rounds=rounds, seconds=seconds)
        ours_verify = best(lambda s=signed: verify(s), rounds=rounds, seconds=seconds)
        sx_sign = best(lambda d=data: signxml_sign(d), rounds=max(2, rounds // 2), seconds=seconds)
        sx_verify = best(lambda s=sx_signed: signxml_verify(s), rounds=max(2, rounds // 2), seconds=seconds)
        sign_limit = 1.5 if lines == 3 else 6.0
        sign_ratio = ours_sign / raw_sign
        met = sign_ratio <= sign_limit
        ok &= met
        rows.append(
            (
                f"sign   {lines:3}-line voucher ({len(data) // 1024} KiB)",
                ours_sign,
                sx_sign,
                f"<= {sign_limit}x raw sign: {'MET' if met else 'MISSED'}",
            )
        )
        ref = raw_sign + raw_verify
        verify_ratio = ours_verify / ref
        if lines == 3:
            vmet = verify_ratio <= 3.0
            ok &= vmet
            target = f"<= 3x raw sign+verify: {'MET' if vmet else 'MISSED'}"
        else:
            target = "(no target; ratio to raw sign+verify)"
        rows.append((f"verify {lines:3}-line voucher", ours_verify, sx_verify, target))
        for name, ours, theirs, tgt in rows[-2:]:
            reference = raw_sign if name.startswith("sign") else ref
            print(
                f"{name:34} {ours * 1e6:9.1f} us {ours / reference:6.2f}x {theirs * 1e6:9.1f} us "
                f"{theirs / reference:6.2f}x  {tgt}"
            )
    print("ratios: sign rows against raw RSA sign, verify rows against raw RSA sign + verify")
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
