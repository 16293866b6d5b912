"""``cr-einvoice user create|list|disable|enable|password``: the people who sign in to the service's web
console (``cr-einvoice serve``, ``/console``).

A user belongs to one emisor (``--issuer``, default: the configuration's ``[emisor]``) and sees only its
vouchers. The password is never an argument (it would be in the shell's history and the process list): it is
asked twice on the terminal, or read from the first line of standard input (``--password-stdin``) or from an
environment variable (``--password-env VAR``). Only its scrypt hash is stored.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from cr_einvoice.app.cli._common import add_config_argument, add_group, dump_json, open_runtime
from cr_einvoice.app.cli.apikey import emisor_of
from cr_einvoice.core.errors import ConfigError, ExitCode
from cr_einvoice.core.secret import Secret

__all__ = ["register"]


def password_from_args(args: argparse.Namespace) -> Secret:
    """The new password: ``--password-env VAR``, ``--password-stdin`` or asked twice on the terminal."""
    if args.password_env:
        return Secret.from_env(args.password_env)
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise ConfigError("--password-stdin: no password on standard input")
        return Secret(line)
    if not sys.stdin.isatty():
        raise ConfigError("no terminal to ask the password on: use --password-stdin or --password-env VAR")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ConfigError("the two passwords differ; nothing was changed")
    return Secret(first)


def _user_json(record: Any) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "username": record.username,
        "emisor": record.emisor,
        "name": record.name,
        "created_at": when(record.created_at),
        "disabled_at": when(record.disabled_at),
        "last_login_at": when(record.last_login_at),
        "failed_logins": record.failed_logins,
        "locked_until": when(record.locked_until),
    }


def cmd_create(args: argparse.Namespace) -> int:
    from cr_einvoice.service.users import ConsoleUsers

    with open_runtime(args) as runtime:
        emisor = emisor_of(args, runtime)
        password = password_from_args(args)
        record = ConsoleUsers(runtime.store).create(args.username, emisor, password, args.name)
        if args.json:
            dump_json(_user_json(record))
        else:
            print(f"console user {record.username} created for emisor {record.emisor}")
    return int(ExitCode.OK)


def cmd_list(args: argparse.Namespace) -> int:
    with open_runtime(args) as runtime:
        rows = runtime.store.list_console_users(emisor_of(args, runtime) if args.issuer else None)
        out = [_user_json(r) for r in rows]
        if args.json:
            dump_json(out)
        else:
            for r in out:
                state = f"disabled {r['disabled_at']}" if r["disabled_at"] else "active"
                if r["locked_until"] and not r["disabled_at"]:
                    state += f", locked until {r['locked_until']}"
                print(f"{r['username']:<24}  {r['emisor']}  {state:<40}  {r['name']}")
    return int(ExitCode.OK)


def _change(args: argparse.Namespace, what: str) -> int:
    """Disable, enable or set the password of ``args.username``."""
    from cr_einvoice.service.users import ConsoleUsers

    with open_runtime(args) as runtime:
        users = ConsoleUsers(runtime.store)
        if what == "disable":
            record, done = users.disable(args.username), "disabled (its console sessions ended)"
        elif what == "enable":
            record, done = users.enable(args.username), "enabled"
        else:
            password = password_from_args(args)
            record = users.set_password(args.username, password)
            done = "has a new password (its lock lifted, its console sessions ended)"
        if args.json:
            dump_json(_user_json(record))
        else:
            print(f"{record.username} {done}")
    return int(ExitCode.OK)


def cmd_disable(args: argparse.Namespace) -> int:
    return _change(args, "disable")


def cmd_enable(args: argparse.Namespace) -> int:
    return _change(args, "enable")


def cmd_password(args: argparse.Namespace) -> int:
    return _change(args, "password")


def _add_password_options(parser: Any) -> None:
    password = parser.add_mutually_exclusive_group()
    password.add_argument("--password-env", metavar="VAR", help="environment variable holding the password")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )


def register(sub: Any) -> None:
    verbs = add_group(sub, "user", help="users of the service's web console (cr-einvoice serve, /console)")
    create = verbs.add_parser("create", help="create a console user for an emisor (the password is asked)")
    create.add_argument("username", help="3 to 64 characters: lower-case letters, digits, . _ @ -")
    create.add_argument(
        "--issuer", help="a configured taxpayer's name or an identification number (default: [emisor])"
    )
    create.add_argument("--name", default="", help="the person's name, as the console shows it")
    _add_password_options(create)
    listing = verbs.add_parser("list", help="the console users (never their passwords)")
    listing.add_argument("--issuer", help="only this emisor's users (a configured name or a number)")
    disable = verbs.add_parser("disable", help="disable a user at once (its sessions end)")
    enable = verbs.add_parser("enable", help="let a disabled user sign in again")
    password = verbs.add_parser(
        "password", help="set a user's password (asked; lifts a lock, ends the user's sessions)"
    )
    _add_password_options(password)
    for parser in (disable, enable, password):
        parser.add_argument("username", help="the user's name")
    commands = (
        (create, cmd_create),
        (listing, cmd_list),
        (disable, cmd_disable),
        (enable, cmd_enable),
        (password, cmd_password),
    )
    for parser, func in commands:
        add_config_argument(parser)
        parser.add_argument("--json", action="store_true", help="JSON output")
        parser.set_defaults(func=func)
