"""A faithful local Hacienda: IdP, recepción API, asynchronous validation, signed answers, callbacks, faults.

::

    settings = SimulatorSettings(users={"cpj-3-101-123456@stag.comprobanteselectronicos.go.cr": "pw"})
    with Simulator(settings) as sim:            # 127.0.0.1, a free port, a background thread
        env = sim.environment()                 # for cr_einvoice.hacienda.Client
        sim.faults.fail_next(2)                 # the next two requests answer 503

See ``docs/design.md`` ("Area: local Hacienda simulator") and the README for the behaviour and the faults.
"""

from __future__ import annotations

from cr_einvoice.sandbox.checks import KNOWN_WARNINGS, Verdict, VoucherChecker
from cr_einvoice.sandbox.mensaje import Finding, MensajeHaciendaData, detalle_mensaje, render_mensaje_hacienda
from cr_einvoice.sandbox.server import ALREADY_RECEIVED, Simulator
from cr_einvoice.sandbox.settings import (
    SANDBOX_PREFIX_2026,
    SANDBOX_RATE_TABLE,
    Faults,
    FaultTarget,
    SimulatorSettings,
)
from cr_einvoice.sandbox.state import CallbackAttempt, Submission

__all__ = [
    "ALREADY_RECEIVED",
    "KNOWN_WARNINGS",
    "SANDBOX_PREFIX_2026",
    "SANDBOX_RATE_TABLE",
    "CallbackAttempt",
    "FaultTarget",
    "Faults",
    "Finding",
    "MensajeHaciendaData",
    "Simulator",
    "SimulatorSettings",
    "Submission",
    "Verdict",
    "VoucherChecker",
    "detalle_mensaje",
    "render_mensaje_hacienda",
]
