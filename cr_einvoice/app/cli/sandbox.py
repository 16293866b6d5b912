"""``cr-einvoice sandbox``: run the local Hacienda simulator, or change the faults of a running one."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from cr_einvoice.app.cli._common import add_group, add_trust_argument
from cr_einvoice.core.errors import ConfigError
from cr_einvoice.core.secret import Secret
from cr_einvoice.transport import http as _http

__all__ = ["DEFAULT_PASSWORD", "DEFAULT_USER", "register"]

DEFAULT_USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"
#: The taxpayer of the simulator's TEST PKI (``cr_einvoice.testing.pki.make_test_pki``'s default).
TEST_TAXPAYER = "3101123456"
#: Test-only password of the default simulator user (the simulator is bound to the loopback interface).
DEFAULT_PASSWORD = "sandbox"  # noqa: S105


def register(subparsers: Any) -> None:
    sub = add_group(subparsers, "sandbox", "local Hacienda simulator (IdP + recepción API)")

    serve = sub.add_parser(
        "serve",
        help="run the simulator in the foreground (Ctrl-C stops it)",
        description="Serve a faithful local Hacienda on 127.0.0.1: Keycloak-like IdP, recepción API, "
        "asynchronous validation (signature, XSD, clave, totals) and MensajeHacienda answers signed with a "
        "TEST seal, callbacks and fault injection (POST JSON to /_simulator/faults).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="TCP port (0 picks a free one; default 8080)")
    serve.add_argument(
        "--certs",
        type=Path,
        default=None,
        help="folder with TEST-sello-hacienda.p12 (created there with a test PKI when missing)",
    )
    serve.add_argument("--sello-p12", type=Path, default=None, help="p12 that signs the answers")
    serve.add_argument("--sello-pin-env", default=None, help="environment variable holding the seal's PIN")
    serve.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="USER:PASSWORD",
        help=f"an IdP user (repeatable; default {DEFAULT_USER} with password '{DEFAULT_PASSWORD}')",
    )
    add_trust_argument(
        serve, "CA certificates the vouchers' signatures must chain to (repeatable; default: no check)"
    )
    serve.add_argument("--realm", default="rut-stag")
    serve.add_argument("--client-id", default="api-stag")
    serve.add_argument("--rate-limit", type=int, default=300, help="requests per window per taxpayer")
    serve.add_argument("--rate-window", type=float, default=60.0, help="rate-limit window in seconds")
    serve.add_argument(
        "--rate-table",
        action="store_true",
        help="also enforce the reported per-outcome sandbox limits (10 logins, 100 accepted POSTs …)",
    )
    serve.add_argument("--processing-delay", type=float, default=2.0, help="seconds from POST to the answer")
    serve.add_argument("--token-lifetime", type=float, default=300.0, help="access-token lifetime (s)")
    serve.add_argument("--refresh-lifetime", type=float, default=1800.0, help="refresh-token lifetime (s)")
    serve.add_argument("--not-found-for", type=float, default=0.0, help="404 this long after a POST (s)")
    serve.add_argument(
        "--warning", action="append", type=int, default=[], help="add this code as a warning (-37, -407 …)"
    )
    serve.add_argument(
        "--max-clock-skew", type=float, default=None, help="-53 when FechaEmision is this far from now (s)"
    )
    serve.add_argument("--callback-retry-delay", type=float, default=1.0)
    serve.add_argument("--no-signature-check", action="store_true", help="accept any signature")
    serve.add_argument("--no-schema-check", action="store_true")
    serve.add_argument("--no-rules-check", action="store_true")
    serve.add_argument(
        "--registry",
        type=Path,
        default=None,
        help="JSON registry (taxpayers, activities, CABYS, rates, exoneraciones) behind /fe/ae, /fe/cabys, "
        "/indicadores/tc and /fe/ex and the checks -37, -407, -408, -400 (default: the bundled one)",
    )
    serve.add_argument(
        "--no-registry-check", action="store_true", help="skip the registry checks at recepción"
    )
    serve.add_argument(
        "--fault", default=None, help='initial faults as JSON, e.g. \'{"fail_next": {"n": 2}}\''
    )
    serve.set_defaults(func=_serve)

    fault = sub.add_parser(
        "fault",
        help="change the faults of a running simulator",
        description="POST a fault description to a running simulator's /_simulator/faults and print the "
        'resulting state. Example: cr-einvoice sandbox fault \'{"drop_next": {"n": 1, "after_body": true}}\'',
    )
    fault.add_argument("spec", nargs="?", default="{}", help="JSON fault description ('{}' only shows them)")
    fault.add_argument("--url", default="http://127.0.0.1:8080", help="simulator root URL")
    fault.set_defaults(func=_fault)


def _users(values: list[str]) -> dict[str, str | Secret]:
    if not values:
        return {DEFAULT_USER: DEFAULT_PASSWORD}
    users: dict[str, str | Secret] = {}
    for value in values:
        name, sep, password = value.partition(":")
        if not sep or not name or not password:
            raise ConfigError(f"--user expects USER:PASSWORD, got {name or value!r} without a password")
        users[name] = Secret(password)
    return users


def _serve(args: argparse.Namespace) -> int:
    from cr_einvoice.sandbox import SANDBOX_RATE_TABLE, Simulator, SimulatorSettings
    from cr_einvoice.signing.xades import TrustStore

    pin: str | Secret = "1234"
    if args.sello_pin_env:
        pin = Secret.from_env(args.sello_pin_env)
    settings = SimulatorSettings(
        host=args.host,
        port=args.port,
        realm=args.realm,
        client_id=args.client_id,
        users=_users(args.user),
        access_token_lifetime=args.token_lifetime,
        refresh_token_lifetime=args.refresh_lifetime,
        rate_limit=args.rate_limit,
        rate_limit_window=args.rate_window,
        rate_limit_table=SANDBOX_RATE_TABLE if args.rate_table else None,
        processing_delay=args.processing_delay,
        not_found_for=args.not_found_for,
        sello_p12=args.sello_p12,
        sello_pin=pin,
        certs_dir=args.certs,
        warnings=tuple(args.warning),
        max_clock_skew=args.max_clock_skew,
        callback_retry_delay=args.callback_retry_delay,
        check_signature=not args.no_signature_check,
        check_schema=not args.no_schema_check,
        check_rules=not args.no_rules_check,
        registry=args.registry,
        registry_checks=not args.no_registry_check,
        trust=TrustStore.from_pem_files(*args.trust) if args.trust else None,
    )
    sim = Simulator(settings)
    if args.fault:
        try:
            sim.apply_faults(json.loads(args.fault))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"--fault: {exc}") from None
    sim.start()
    print(f"cr-einvoice sandbox on {sim.root_url}", file=sys.stderr)
    print(f"  token URL      {sim.token_url} (client_id {settings.client_id})", file=sys.stderr)
    print(f"  logout URL     {sim.logout_url}", file=sys.stderr)
    print(f"  recepción URL  {sim.base_url}", file=sys.stderr)
    print(f"  faults         {sim.admin_url}faults", file=sys.stderr)
    for user, password in settings.users.items():
        shown = password if isinstance(password, str) else "(as given with --user)"
        print(f"  user           {user}  password {shown}", file=sys.stderr)
    if sim.sello_cert_pem is not None:
        print(f"  seal cert      {sim.sello_cert_pem} (CA {sim.sello_ca_cert_pem})", file=sys.stderr)
    for line in setup_lines(sim, settings.users, temporary=args.certs is None):
        print(line, file=sys.stderr)
    sys.stderr.flush()

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM (a supervisor, a test harness) stops cleanly like Ctrl-C: the temporary test PKI is removed.
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def setup_lines(sim: Any, users: Mapping[str, str | Secret], *, temporary: bool) -> list[str]:
    """How to point ``cr-einvoice`` at this simulator: the ``init`` command (with the TEST taxpayer's
    ``.p12`` of the simulator's test PKI, when there is one) and the secrets to export."""
    q = shlex.quote
    user, password = next(iter(users.items()))
    folder = sim.sello_cert_pem.parent if sim.sello_cert_pem is not None else None
    p12 = folder / f"TEST-contribuyente-{TEST_TAXPAYER}.p12" if folder is not None else None
    parts = [
        "cr-einvoice init --environment custom",
        f"--token-url {q(sim.token_url)}",
        f"--recepcion-url {q(sim.base_url)}",
        f"--client-id {q(sim.settings.client_id)}",
    ]
    if sim.sello_ca_cert_pem is not None:
        parts.append(f"--trust-ca {q(str(sim.sello_ca_cert_pem))}")
    if p12 is not None and p12.is_file():
        parts.append(f"--p12 {q(str(p12))}")
    parts += [
        f"--numero-identificacion {TEST_TAXPAYER}",
        "--nombre 'Empresa de Pruebas S.A.'",
        "--correo caja@pruebas.example.cr",
        "--ubicacion '1,01,08,Frente al parque central'",
    ]
    secret = password if isinstance(password, str) else "<the password given with --user>"
    lines = [
        "to issue against it (TEST taxpayer 3-101-123456, PIN 1234):",
        "  " + " \\\n      ".join(parts),
        f"  export CR_EINVOICE_USERNAME={q(user)} CR_EINVOICE_PASSWORD={q(secret)} CR_EINVOICE_PIN=1234",
    ]
    if temporary:
        lines.append("  (the TEST certificates are removed when the simulator stops; --certs DIR keeps them)")
    return lines


def _fault(args: argparse.Namespace) -> int:
    try:
        spec = json.loads(args.spec)
    except ValueError as exc:
        raise ConfigError(f"the fault description is not JSON: {exc}") from None
    url = args.url.rstrip("/") + "/_simulator/faults"

    def refused(response: httpx.Response, request: _http.Request) -> Exception | None:
        if response.status_code == 200:
            return None
        return ConfigError(f"the simulator refused the faults: {response.text}")

    core = _http.HTTPCore(map_error=refused, retry=_http.RetryPolicy(max_attempts=1))
    request = (
        _http.Request("POST", url, json=spec, what="set simulator faults")
        if spec
        else _http.Request("GET", url, what="read simulator faults")
    )
    with httpx.Client(timeout=_http.DEFAULT_TIMEOUT) as client:
        response = core.send(client, request)
    print(json.dumps(_as_given(response.json()), indent=2))
    return 0


#: The simulator's state names (``Faults.snapshot``) → the names a fault description uses, so the answer
#: reads in the vocabulary the user typed (``fail_next``, not ``next_n_5xx``).
_GIVEN_AS = {
    "next_n_5xx": "fail_next",
    "drop_connections": "drop_next",
    "drop_after_body": "drop_next_after_body",
}


def _as_given(state: Any) -> Any:
    if not isinstance(state, dict):
        return state
    return {_GIVEN_AS.get(key, key): value for key, value in state.items()}
