"""``cr-einvoice serve``'s worker as a child process (the default; ``serve --worker inline`` keeps it in the
service's own process).

A worker sharing the service's interpreter takes turns with the requests for Python's interpreter lock:
while it drains a backlog, every ``POST /v1/vouchers`` waits for it (measured: the ``issue()`` p50 of a
3-line ticket 2.1-2.3 ms beside a worker process, 5.4-5.8 ms beside a worker thread). As its own process it
runs on another core, on the same store; on SQLite it hears the service's commits within 50 ms
(:meth:`~cr_einvoice.outbox.store.sqlite.SQLiteStore.wait_for_work`), on PostgreSQL at once (NOTIFY).

:class:`WorkerProcess` runs ``cr-einvoice worker`` with the service's configuration and supervises it:

- started in its own session (Ctrl-C at the terminal reaches the service, which then stops the worker);
- on Linux it is sent SIGTERM when the service dies, even by SIGKILL (``PR_SET_PDEATHSIG``);
- an unexpected exit is logged and the worker started again after 1 s, doubling up to 30 s while it keeps
  failing (back to 1 s once it has run a minute);
- :meth:`WorkerProcess.stop` sends SIGTERM (the worker hands its vouchers over within a second) and SIGKILL
  after ``stop_within`` seconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

__all__ = ["WorkerProcess", "worker_command"]

log = logging.getLogger("cr_einvoice.service")

#: The first wait before starting a worker that exited unexpectedly, and the longest (seconds).
FIRST_RESTART = 1.0
LONGEST_RESTART = 30.0
#: A worker that ran this long before exiting is started again after :data:`FIRST_RESTART` (seconds).
SETTLED = 60.0
_PR_SET_PDEATHSIG = 1


def worker_command(
    *, config: str | None, callback_url: str | None, callback_secret_env: str | None
) -> list[str]:
    """The ``cr-einvoice worker`` command line of a service's worker process (this interpreter)."""
    argv = [sys.executable, "-m", "cr_einvoice", "worker"]
    if config:
        argv += ["--config", config]
    if callback_url:
        argv += ["--callback-url", callback_url]
        if callback_secret_env:
            argv += ["--callback-secret-env", callback_secret_env]
    return argv


def _die_with_parent() -> None:  # pragma: no cover (runs in the child, between fork and exec)
    """Ask Linux to send this process SIGTERM when its parent dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class WorkerProcess:
    """A supervised ``cr-einvoice worker`` child process (see the module's text)."""

    def __init__(self, argv: Sequence[str], *, stop_within: float = 20.0) -> None:
        self.argv = list(argv)
        self.stop_within = stop_within
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        self._failed: OSError | None = None
        #: How many times the worker was started (1 once :meth:`start` returned).
        self.starts = 0

    def start(self) -> None:
        """Start the worker and its supervision; returns once the first worker process runs."""
        if self._monitor is not None:
            raise RuntimeError("the worker process was started already")
        # The child is spawned by the supervising thread, which lives until stop(): Linux's parent-death
        # signal follows the thread that forked.
        self._monitor = threading.Thread(
            target=self._supervise, name="cr-einvoice-worker-process", daemon=True
        )
        self._monitor.start()
        self._started.wait()
        if self._failed is not None:
            raise self._failed

    def describe(self) -> str | None:
        """``"process PID"`` while the worker runs, None while it does not (exited, restarting, stopped)."""
        with self._lock:
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return None
        return f"process {proc.pid}"

    @property
    def pid(self) -> int | None:
        with self._lock:
            return None if self._proc is None else self._proc.pid

    def stop(self) -> int | None:
        """Stop the worker (SIGTERM, then SIGKILL after ``stop_within`` s) and its supervision; its exit code
        (None when none was running)."""
        with self._lock:  # no worker is started after this
            self._stopping.set()
            proc = self._proc
        code: int | None = None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(self.stop_within)
                except subprocess.TimeoutExpired:
                    log.warning(
                        "the worker process %d did not stop within %.0f s: killed", proc.pid, self.stop_within
                    )
                    proc.kill()
                    proc.wait()
            code = proc.returncode
        if self._monitor is not None:
            self._monitor.join(self.stop_within)
        return code

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        """A new worker process; None once :meth:`stop` was called."""
        with self._lock:
            if self._stopping.is_set():
                return None
            proc = self._proc = subprocess.Popen(
                self.argv,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
        self.starts += 1
        log.warning("worker process %d started", proc.pid, extra={"event": "worker_process"})
        return proc

    def _supervise(self) -> None:
        wait = FIRST_RESTART
        try:
            first = self._spawn()
        except OSError as exc:
            self._failed = exc
            return
        finally:
            self._started.set()
        proc = first
        while proc is not None:
            began = time.monotonic()
            code = proc.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - began >= SETTLED:
                wait = FIRST_RESTART
            log.error(
                "the worker process %d exited with code %d; starting it again in %.0f s",
                proc.pid,
                code,
                wait,
                extra={"event": "worker_process_exited"},
            )
            if self._stopping.wait(wait):
                return
            wait = min(wait * 2, LONGEST_RESTART)
            try:
                proc = self._spawn()
            except OSError as exc:
                log.error("the worker process could not be started again: %s", exc)
                return
