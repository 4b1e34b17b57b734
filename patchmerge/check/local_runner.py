"""The built-in model runner: a local subprocess in its own process group, its output streamed to the log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from patchmerge.check.model import ModelRun, RunOutcome
from patchmerge.hookspecs import hookimpl

GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL when a script must stop


@hookimpl(trylast=True)
def run_model(run: ModelRun) -> RunOutcome:
    started = time.monotonic()
    with open(run.log, "wb") as log:
        process = subprocess.Popen(
            list(run.command),
            cwd=run.cwd,
            env=run.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a timeout or Ctrl-C stops the whole job
        )
        copier = threading.Thread(target=_copy, args=(process, log, run.echo), daemon=True)
        copier.start()
        try:
            process.wait(timeout=run.timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            stop(process)
            timed_out = True
        except BaseException:  # Ctrl-C: the script goes down with us, then the interruption goes on
            stop(process)
            copier.join(GRACE_SECONDS)
            raise
        copier.join(GRACE_SECONDS)  # a background child may hold the pipe open; do not wait for it forever
        if copier.is_alive():
            stop(process)
            copier.join(GRACE_SECONDS)
    status = None if timed_out else process.returncode
    return RunOutcome(exit_status=status, seconds=time.monotonic() - started, timed_out=timed_out)


def _copy(process: subprocess.Popen[bytes], log: object, echo: bool) -> None:
    assert process.stdout is not None
    out = sys.stdout.buffer if echo else None
    for line in iter(process.stdout.readline, b""):
        try:
            log.write(line)  # type: ignore[attr-defined]
        except ValueError:  # the log was closed after a stop: what is left is lost with the job
            return
        if out is not None:
            try:
                out.write(line)
                out.flush()
            except (OSError, ValueError):  # our own stdout went away: keep logging
                out = None
    try:
        log.flush()  # type: ignore[attr-defined]
    except ValueError:
        pass


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after a grace period."""
    for sig, wait in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
