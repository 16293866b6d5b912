"""``cr-einvoice worker``: the long-running sender (``--once``: one round), with the callback receiver.

SIGINT and SIGTERM stop it within a second (the round in progress is abandoned; a voucher caught in
``sending`` is asked about before it is sent again), saying so. Each voucher's progress is logged at INFO
(``--log-json``: one JSON object per line, for a supervisor).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from dataclasses import fields, replace
from typing import Any

from cr_einvoice.app.cli._common import (
    add_callback_arguments,
    add_config_argument,
    add_issuer_argument,
    callback_secret,
    dump_json,
    issuers_of,
    open_runtime,
)
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.core.errors import ConfigError, ExitCode
from cr_einvoice.core.secret import Secret
from cr_einvoice.outbox.worker import CallbackServer, RoundReport, WorkerSettings

__all__ = ["register"]

log = logging.getLogger("cr_einvoice.worker")


def _fields(settings: WorkerSettings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in fields(settings)}


async def _run(runtime: Runtime, args: argparse.Namespace) -> tuple[RoundReport, signal.Signals | None]:
    """One round (``--once``), or work until SIGINT/SIGTERM; returns the round's report and the signal that
    stopped the worker, if any."""
    tuning = runtime.worker_settings()
    server: CallbackServer | None = None
    if args.listen is not None and args.callback_url:
        raise ConfigError("--callback-url is for a receiver that runs elsewhere; --listen serves one here")
    if args.callback_url:  # the receiver runs elsewhere (cr-einvoice serve)
        tuning = replace(tuning, callback_url=args.callback_url, callback_secret=callback_secret(args))
    if args.listen is not None:
        host, _, port = args.listen.rpartition(":")
        server = CallbackServer(host=host or "127.0.0.1", port=int(port or 0), public_url=args.public_url)
        secret = Secret.from_env(args.callback_secret_env)
        tuning = replace(tuning, callback_url=server.url, callback_secret=secret)
    async with runtime.worker(issuers_of(args), **_fields(tuning)) as worker:
        if args.once:
            return await worker.run_once(), None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        received: list[signal.Signals] = []

        def stopping(sig: signal.Signals) -> None:
            log.warning("%s received: stopping", sig.name, extra={"event": "stopping"})
            received.append(sig)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stopping, sig)
        log.warning(
            "worker %s running (Ctrl-C or SIGTERM to stop)", worker.worker_id, extra={"event": "started"}
        )
        if server is not None:
            async with server.serving(worker.callback_app()):
                log.warning("receiving callbacks on %s", server.url, extra={"event": "callbacks"})
                await worker.run_forever(stop)
        else:
            await worker.run_forever(stop)
        log.warning("worker %s stopped", worker.worker_id, extra={"event": "stopped"})
        return RoundReport(), received[0] if received else None


def cmd_worker(args: argparse.Namespace) -> int:
    """Exit codes: SIGINT (Ctrl-C) ``INTERRUPTED``, SIGTERM (a supervisor's stop) ``OK``; ``--once``:
    ``REJECTED`` when a voucher ended rejected or in error in the round, ``UNREACHABLE`` when Hacienda could
    not be reached."""
    with open_runtime(args) as runtime:
        report, stopped_by = asyncio.run(_run(runtime, args))
        online, _ = runtime.store.connectivity()
    if stopped_by is signal.SIGINT:
        return int(ExitCode.INTERRUPTED)
    if args.once:
        info = {
            "sent": report.sent,
            "status_checks": report.status_checks,
            "polls": report.polls,
            "accepted": report.accepted,
            "rejected": report.rejected,
            "errors": report.errors,
            "deferred": report.deferred,
        }
        if args.json:
            dump_json(info)
        else:
            print(", ".join(f"{k} {v}" for k, v in info.items()))
    if report.rejected or report.errors:
        return int(ExitCode.REJECTED)
    return int(ExitCode.OK if online else ExitCode.UNREACHABLE)


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="run the sender: submit, poll, receive callbacks, drain contingency")
    add_config_argument(p)
    p.add_argument("--once", action="store_true", help="one round over what is due, then exit")
    add_issuer_argument(
        p, many=True, help="send only this taxpayer's vouchers, with its account (repeatable; default: all)"
    )
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="serve the callback receiver here (needs uvicorn) and send a callback URL with each voucher",
    )
    p.add_argument(
        "--callback-url",
        metavar="URL",
        help="send this callback URL with each voucher, the receiver running elsewhere (cr-einvoice serve "
        "runs its worker process with it); its tokens use the secret in --callback-secret-env",
    )
    add_callback_arguments(p, public_url="the receiver's URL as Hacienda reaches it (behind a proxy)")
    p.add_argument("--json", action="store_true", help="JSON output (with --once)")
    p.add_argument(
        "--log-json", action="store_true", help="log lines as JSON objects, one per line (for supervisors)"
    )
    p.set_defaults(func=cmd_worker)
