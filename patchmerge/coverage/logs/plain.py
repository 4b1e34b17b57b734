"""Plain text logs: any file; the prefix anywhere in a line, the JSON payload after it."""

from __future__ import annotations

from pathlib import Path

from patchmerge.coverage.scan import LogScan
from patchmerge.hookspecs import hookimpl

FORMAT = "plain"


@hookimpl(trylast=True)
def open_log(path: Path, prefix: str) -> LogScan:
    return LogScan(path, prefix, FORMAT)
