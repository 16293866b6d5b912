"""``cr-einvoice token``: log in to Hacienda's identity provider and show the token's expiry."""

from __future__ import annotations

import argparse
import base64
import json
from datetime import UTC, datetime
from typing import Any

from cr_einvoice.app.cli._common import add_issuer_argument, add_outbox_arguments, dump_json, open_runtime

__all__ = ["register"]


def _expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT access token (read for display only; the token is not verified here)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return datetime.fromtimestamp(float(payload["exp"]), UTC)
    except (ValueError, KeyError, TypeError):
        return None


def cmd_token(args: argparse.Namespace) -> int:
    with open_runtime(args) as runtime, runtime.client(args.issuer) as client:
        taxpayer = runtime.config.taxpayer(args.issuer)
        secret, _ = client.tokens.access_token()
        token = secret.reveal()
        expires = _expiry(token)
        info: dict[str, Any] = {
            "environment": taxpayer.environment().name,
            "username": taxpayer.username(),
            "expires_at": expires.isoformat() if expires else None,
            "expires_in": round((expires - datetime.now(UTC)).total_seconds()) if expires else None,
        }
        if args.show:
            info["access_token"] = token
    if args.json:
        dump_json(info)
    else:
        when = f"expires {info['expires_at']} (in {info['expires_in']} s)" if expires else "expiry unknown"
        print(f"token for {info['username']} on {info['environment']}: {when}")
        if args.show:
            print(token)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("token", help="log in to Hacienda's IdP and show when the token expires")
    add_outbox_arguments(p)
    add_issuer_argument(p)
    p.add_argument("--show", action="store_true", help="also print the access token itself")
    p.set_defaults(func=cmd_token)
