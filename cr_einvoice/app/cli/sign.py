"""``cr-einvoice sign`` and ``cr-einvoice verify``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cr_einvoice.app.cli._common import (
    add_config_argument,
    add_issuer_argument,
    add_trust_argument,
    dump_json,
    read_bytes,
    write_output,
)
from cr_einvoice.app.cli.certs import pin_from_args
from cr_einvoice.app.config import load_config
from cr_einvoice.core.errors import ConfigError, VerificationError
from cr_einvoice.signing.certs import CertificateExpiredError, load_p12
from cr_einvoice.signing.xades import SignatureProfile, Signer, SignerConfig, TrustStore, verify

__all__ = ["register"]


def register(subparsers: Any) -> None:
    sign = subparsers.add_parser("sign", help="sign a voucher (XAdES-EPES, Hacienda v4.4 profile)")
    sign.add_argument("xml", help="the voucher XML ('-' for stdin)")
    sign.add_argument(
        "--p12", help="the taxpayer's .p12 (ATV llave criptográfica); default: the configured taxpayer's"
    )
    add_config_argument(sign)
    add_issuer_argument(sign, help="without --p12: sign with this configured taxpayer's key and PIN")
    pin = sign.add_mutually_exclusive_group()
    pin.add_argument("--pin-env", metavar="VAR", help="environment variable holding the PIN")
    pin.add_argument("--pin-stdin", action="store_true", help="read the PIN from the first line of stdin")
    sign.add_argument("-o", "--output", help="signed file (default: stdout)")
    sign.add_argument(
        "--profile",
        choices=[p.value for p in SignatureProfile],
        default=SignatureProfile.EMISOR_V44.value,
        help="signature layout (hacienda-response: MensajeHacienda style, for simulators)",
    )
    sign.add_argument("--role", help="optional ClaimedRole (Emisor, Receptor)")
    sign.add_argument("--allow-expired", action="store_true", help="sign even with an expired certificate")
    sign.set_defaults(func=_sign)

    ver = subparsers.add_parser("verify", help="verify the XAdES signature of a voucher or Hacienda response")
    ver.add_argument("xml", help="the signed XML ('-' for stdin)")
    add_trust_argument(ver, "CA certificate(s) the signer must chain to (repeatable)")
    ver.add_argument("--expect-cedula", help="the signer's identification digits must be these")
    policy = ver.add_mutually_exclusive_group()
    policy.add_argument(
        "--require-policy", dest="require_policy", action="store_true", default=None, help="require EPES"
    )
    policy.add_argument("--allow-bes", dest="require_policy", action="store_false", help="accept XAdES-BES")
    ver.add_argument(
        "--allow-sha1", action="store_true", help="accept RSA-SHA1 signatures and SHA-1 reference digests"
    )
    ver.add_argument("--json", action="store_true", help="JSON output")
    ver.set_defaults(func=_verify)


def _sign(args: argparse.Namespace) -> int:
    data = read_bytes(args.xml)
    if args.p12:
        cred = load_p12(args.p12, pin_from_args(args))
    else:
        taxpayer = load_config(args.config).taxpayer(args.issuer)
        if not taxpayer.p12_path.is_file():
            raise ConfigError(f"{taxpayer.prefix}signing.p12_path: {taxpayer.p12_path} does not exist")
        cred = load_p12(str(taxpayer.p12_path), taxpayer.pin())
    config = SignerConfig(
        profile=SignatureProfile(args.profile), claimed_role=args.role, allow_expired=args.allow_expired
    )
    try:
        signed = Signer(cred, config).sign(data)
    except CertificateExpiredError:
        raise CertificateExpiredError(
            f"the certificate of {cred.subject} expired on {cred.not_after.isoformat()}; get a new key "
            "from ATV (or pass --allow-expired to sign anyway)"
        ) from None
    write_output(signed, args.output)
    if args.output and args.output != "-":
        print(f"signed by {cred.subject} -> {args.output}", file=sys.stderr)
    return 0


def _verify(args: argparse.Namespace) -> int:
    data = read_bytes(args.xml)
    trust = TrustStore.from_pem_files(*args.trust) if args.trust else None
    try:
        result = verify(
            data,
            trust,
            expected_cedula=args.expect_cedula,
            require_policy=args.require_policy,
            allow_sha1=args.allow_sha1,
        )
    except VerificationError as exc:
        if args.json:
            dump_json({"valid": False, "error": type(exc).__name__, "reason": str(exc)})
        else:
            print(f"INVALID: {exc}")
        return 1
    if args.json:
        dump_json(result.to_dict())
        return 0
    print("VALID signature")
    print(f"  signer       {result.signer_subject}")
    print(f"  cedula       {result.signer_cedula or '-'}")
    print(f"  signing time {result.signing_time.isoformat() if result.signing_time else '-'}")
    known = f"known: {result.policy_era}" if result.policy_known else "not a known Hacienda policy"
    print(f"  policy       {result.policy_identifier or '(none: XAdES-BES)'} ({known})")
    print(f"  level/style  {result.level} / {result.style.value}")
    print(f"  trusted      {'yes, chain of ' + str(len(result.chain)) if result.trusted else 'not checked'}")
    return 0
