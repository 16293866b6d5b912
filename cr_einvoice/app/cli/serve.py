"""``cr-einvoice serve``: the issuing service -- the HTTP API (``/v1``) and the web console (``/console``) --
over the configuration's store, with its worker: by default a ``cr-einvoice worker`` child process it
supervises (:mod:`cr_einvoice.app.workerproc`: the requests do not wait for the worker's turns at the
interpreter), ``--worker inline`` in the service's own event loop, ``--no-worker`` none (workers run as
separate ``cr-einvoice worker`` services). Stops on Ctrl-C or SIGTERM, then stops its worker."""

from __future__ import annotations

import argparse
import logging
import signal
from typing import Any

from cr_einvoice.app.cli._common import (
    add_callback_arguments,
    add_config_argument,
    callback_secret,
    open_runtime,
)
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.app.workerproc import WorkerProcess, worker_command
from cr_einvoice.core.errors import ExitCode

__all__ = ["register"]

log = logging.getLogger("cr_einvoice.service")


def worker_options(args: argparse.Namespace) -> dict[str, Any]:
    """The in-process worker's callback URL (``--public-url`` + the callback path, or the configuration's
    ``[hacienda] callback_url``) and its token secret (``--callback-secret-env``, when set)."""
    from cr_einvoice.service.app import CALLBACK_PATH

    options: dict[str, Any] = {}
    if args.public_url:
        options["callback_url"] = args.public_url.rstrip("/") + CALLBACK_PATH
    secret = callback_secret(args)
    if secret is not None:
        options["callback_secret"] = secret
    return options


def check_taxpayers(runtime: Runtime, *, worker: bool) -> None:
    """Refuse to start (a ConfigError naming the setting) when a configured taxpayer's certificate cannot be
    loaded or, with the worker in this process, its Hacienda credentials are missing -- before listening,
    rather than as a failed startup in the server's log."""
    for name in runtime.config.issuer_names():
        runtime.signer_of(name)
        if worker:
            runtime.credentials(name)
            runtime.config.taxpayer(name).environment()
            runtime.trust_of(name)


def cmd_serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from cr_einvoice.service.app import create_app
    from cr_einvoice.service.server import serve

    with open_runtime(args) as runtime:
        settings = runtime.config.service
        host = args.host or settings.host
        port = settings.port if args.port is None else args.port
        settings = replace(settings, host=host, port=port)
        runtime.store  # noqa: B018 (a missing or damaged outbox is refused before listening)
        check_taxpayers(runtime, worker=not args.no_worker)
        options = worker_options(args)
        child = None
        if not args.no_worker and args.worker == "process":
            child = WorkerProcess(
                worker_command(
                    config=args.config,
                    callback_url=options.get("callback_url"),
                    callback_secret_env=args.callback_secret_env,
                )
            )
        app = create_app(
            runtime,
            settings,
            run_worker=not args.no_worker and child is None,
            worker_options=options,
            worker_process=child.describe if child is not None else None,
        )
        where = {"process": " with its worker process", "inline": " with the worker in this process"}

        def announce(url: str) -> None:
            log.warning(
                "serving on %s (API /v1, console /console, OpenAPI /openapi.json)%s",
                url,
                "" if args.no_worker else where[args.worker],
            )
            if child is not None:  # once the socket is bound: a port in use starts no worker
                child.start()

        try:
            stopped_by = serve(app, host, port, announce=announce)
        finally:
            if child is not None:
                child.stop()
    log.warning("service stopped")
    # As the worker: Ctrl-C (SIGINT) is an interruption, SIGTERM a supervisor's normal stop.
    return int(ExitCode.INTERRUPTED if stopped_by == signal.SIGINT else ExitCode.OK)


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the issuing service: HTTP API, web console, worker")
    add_config_argument(p)
    p.add_argument("--host", help="address to listen on (default: [service] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: [service] port, 8080)")
    p.add_argument(
        "--worker",
        choices=("process", "inline"),
        default="process",
        help="where the worker runs: a 'cr-einvoice worker' child process the service supervises (default), "
        "or inline, in the service's own event loop",
    )
    p.add_argument(
        "--no-worker",
        action="store_true",
        help="run no worker (run 'cr-einvoice worker' services instead)",
    )
    add_callback_arguments(p, public_url="this service's URL as Hacienda reaches it (for callbacks)")
    p.set_defaults(func=cmd_serve)
