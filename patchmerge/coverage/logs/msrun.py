"""msrun worker logs, one per rank (`msrun_log/worker_3.log`): the rank comes from the file name when the
payload's is null (a worker started without RANK / LOCAL_RANK in its environment)."""

from __future__ import annotations

import re
from pathlib import Path

from patchmerge.coverage.scan import LogScan
from patchmerge.hookspecs import hookimpl

FORMAT = "msrun"
WORKER_LOG = re.compile(r"worker_(\d+)\.log")


def rank_from_name(path: Path) -> str | None:
    match = WORKER_LOG.fullmatch(path.name)
    return str(int(match.group(1))) if match else None


@hookimpl
def open_log(path: Path, prefix: str) -> LogScan | None:
    rank = rank_from_name(path)
    return None if rank is None else LogScan(path, prefix, FORMAT, default_rank=rank)
