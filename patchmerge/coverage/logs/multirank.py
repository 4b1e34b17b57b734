"""Files that hold the output of several ranks, each line tagged `[rankN]` (torchrun's and msrun's combined
output): lines interleave and garble, so a probe with no rank of its own takes the tag just before it.

Recognised by content: two or more distinct rank tags in the first MiB.
"""

from __future__ import annotations

import re
from pathlib import Path

from patchmerge.coverage.logs.msrun import rank_from_name
from patchmerge.coverage.scan import LogScan, read_head
from patchmerge.hookspecs import hookimpl

FORMAT = "multirank"
RANK_TAG = re.compile(rb"\[rank(\d+)\]")
SNIFF_BYTES = 1 << 20


def rank_from_tag(before: bytes) -> str | None:
    """The last `[rankN]` tag in the text before a probe on its line."""
    tags = RANK_TAG.findall(before)
    return str(int(tags[-1])) if tags else None


@hookimpl
def open_log(path: Path, prefix: str) -> LogScan | None:
    if len(set(RANK_TAG.findall(read_head(path, SNIFF_BYTES)))) < 2:
        return None
    return LogScan(path, prefix, FORMAT, default_rank=rank_from_name(path), rank_hint=rank_from_tag)
