"""The streaming scanner the built-in log formats share: fast over gigabytes of logs, with bounded memory.

The file is read in binary, in large chunks; `bytes.find` jumps straight to each probe prefix, so lines without
one are never split, decoded or looked at in Python. Only the text after a prefix is decoded (errors="replace").
Every prefix occurrence on a line is read, not just the first: several processes writing to one file put two
probes on a line or cut one probe with another's output. A payload that cannot be read is yielded as `Damaged`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from patchmerge.coverage.model import Damaged, ProbeHit

CHUNK = 8 << 20
# A line longer than this (a progress bar redrawn with \r for hours) is scanned in pieces, keeping memory bounded.
MAX_LINE = 16 << 20
# The most text decoded after one prefix: a probe payload is a few hundred bytes.
PAYLOAD_WINDOW = 64 << 10
HINT_WINDOW = 256  # bytes before a prefix that a rank hint looks at (a `[rank3]: ` tag, a timestamp)
EXCERPT = 80
_DECODER = json.JSONDecoder()

# Given the bytes just before a prefix on its line, the rank they name, or None.
RankHint = Callable[[bytes], str | None]
Item = ProbeHit | Damaged


@dataclass(frozen=True)
class LogScan:
    """The hits and damaged payloads of one log file; iterable (again), and names the format that read it."""

    path: Path
    prefix: str
    format: str
    default_rank: str | None = None  # when neither the payload nor the line names a rank
    rank_hint: RankHint | None = None

    def __iter__(self) -> Iterator[Item]:
        return scan(self.path, self.prefix, default_rank=self.default_rank, rank_hint=self.rank_hint)


def scan(
    path: Path, prefix: str, *, default_rank: str | None = None, rank_hint: RankHint | None = None
) -> Iterator[Item]:
    marker = prefix.encode("utf-8")
    if not marker:
        raise ValueError("the probe prefix is empty")
    # one buffer for the whole file, refilled in place: fresh 8 MiB objects per chunk cost page faults
    buf = bytearray(MAX_LINE + CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as stream:  # unbuffered: we read our own large chunks
        kept = 0  # bytes of an incomplete last line at the front of buf, finished by the next chunk
        line = 1  # line number of buf's first byte
        while read := stream.readinto(view[kept : kept + CHUNK]):
            size = kept + read
            end = buf.rfind(b"\n", 0, size) + 1  # lines before `end` are complete
            if end == 0:
                if size < MAX_LINE:
                    kept = size
                    continue
                end = size - PAYLOAD_WINDOW  # scan the start of a giant line now, keep its tail
            line += yield from _scan_buffer(buf, end, size, marker, line, default_rank, rank_hint)
            kept = size - end
            buf[:kept] = buf[end:size]  # a copy first: the two ranges may overlap
        if kept:  # the last line has no newline: a worker killed mid-write
            yield from _scan_buffer(buf, kept, kept, marker, line, default_rank, rank_hint)


def _scan_buffer(
    buf: bytearray,
    end: int,
    size: int,
    marker: bytes,
    line: int,
    default_rank: str | None,
    rank_hint: RankHint | None,
) -> Iterator[Item]:
    """Yield the probes whose prefix starts before `end` (buf holds `size` bytes of the file); return the number
    of newlines in buf[:end]."""
    counted = 0  # newlines are counted only up to probe lines, and once
    first_line = line
    found = buf.find(marker, 0, end)
    while found != -1:
        start = buf.rfind(b"\n", 0, found) + 1
        stop = buf.find(b"\n", found, size)
        stop = size if stop == -1 else stop
        line += buf.count(b"\n", counted, start)
        counted = start
        yield from _scan_line(buf, start, stop, found, min(stop, end), marker, line, default_rank, rank_hint)
        found = buf.find(marker, stop, end)
    return line - first_line + buf.count(b"\n", counted, end)


def _scan_line(
    buf: bytearray,
    start: int,
    stop: int,
    found: int,
    limit: int,
    marker: bytes,
    line: int,
    default_rank: str | None,
    rank_hint: RankHint | None,
) -> Iterator[Item]:
    """Every prefix occurrence in buf[found:limit] (one line that ends at `stop`)."""
    before = start  # where the text that may name this probe's rank begins
    while found != -1:
        payload_start = found + len(marker)
        text = buf[payload_start : min(stop, payload_start + PAYLOAD_WINDOW)].decode("utf-8", "replace")
        at = len(text) - len(text.lstrip(" \t"))
        hit, used = _read_payload(text, at)
        if hit is None:
            yield Damaged(line=line, excerpt=_excerpt(text))
            resume = payload_start
        else:
            if hit.rank is None:
                hinted = rank_hint(bytes(buf[max(before, found - HINT_WINDOW) : found])) if rank_hint else None
                rank = hinted or default_rank
                if rank is not None:
                    hit = replace(hit, rank=rank)
            yield hit
            consumed = text[:used]
            # bytes replaced on decoding have another length: then search again from the payload's start
            resume = payload_start + (0 if "\ufffd" in consumed else len(consumed.encode("utf-8")))
            before = resume
        found = buf.find(marker, resume, limit)


def _read_payload(text: str, at: int) -> tuple[ProbeHit | None, int]:
    if not text.startswith("{", at):
        return None, 0
    try:
        payload, used = _DECODER.raw_decode(text, at)
    except (ValueError, RecursionError):  # cut, garbled, or absurdly nested
        return None, 0
    return ProbeHit.from_payload(payload), used


def _excerpt(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text[:EXCERPT]).strip()


def read_head(path: Path, size: int = 1 << 20) -> bytes:
    """The first `size` bytes of a file, for a plugin that recognises a format by its content."""
    with open(path, "rb") as stream:
        return stream.read(size)
