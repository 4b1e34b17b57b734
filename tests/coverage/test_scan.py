"""The built-in log formats: plain, msrun worker logs, combined multi-rank output; garbled and cut lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchmerge.coverage import Damaged, ProbeHit
from patchmerge.coverage import scan as scan_module
from patchmerge.coverage.logs import msrun, multirank, plain
from patchmerge.coverage.scan import LogScan, scan
from patchmerge.host import make_plugin_manager
from tests.coverage.conftest import PREFIX, probe, write_log


def read(path: Path, prefix: str = PREFIX) -> tuple[LogScan, list[ProbeHit], list[Damaged]]:
    reader = make_plugin_manager(None, load_entry_points=False).hook.open_log(path=path, prefix=prefix)
    items = list(reader)
    return reader, [i for i in items if isinstance(i, ProbeHit)], [i for i in items if isinstance(i, Damaged)]


def test_plain_log_prefix_anywhere_in_a_line(tmp_path):
    log = write_log(
        tmp_path / "train.log",
        "starting",
        probe("megatron.core.x.f#0", rank=2),
        "2025-01-01 12:00:00 INFO " + probe("megatron.core.x.g#original"),
        "loss 1.0",
    )
    reader, hits, damaged = read(log)
    assert reader.format == plain.FORMAT
    assert [(h.id, h.rank) for h in hits] == [("megatron.core.x.f#0", "2"), ("megatron.core.x.g#original", None)]
    assert hits[0].target == "megatron.core.x.f" and hits[0].module == "megatron.core.x" and hits[0].pid == 100
    assert hits[1].is_original and not hits[0].is_original
    assert damaged == []


def test_msrun_worker_log_takes_its_rank_from_the_file_name(tmp_path):
    log = write_log(
        tmp_path / "msrun_log" / "worker_7.log",
        "[rank7]: " + probe("megatron.core.x.f#0"),  # the payload's rank is null
        "2025-01-01 12:00:00 - " + probe("megatron.core.x.g#0", rank=3),  # the payload's own rank wins
    )
    reader, hits, _ = read(log)
    assert reader.format == msrun.FORMAT
    assert [(h.id, h.rank) for h in hits] == [("megatron.core.x.f#0", "7"), ("megatron.core.x.g#0", "3")]


def test_multirank_file_takes_the_rank_tag_before_each_probe(tmp_path):
    log = write_log(
        tmp_path / "all.log",
        "[rank0]: hello",
        "[rank1]: " + probe("megatron.core.x.f#0"),
        "[rank0]: " + probe("megatron.core.x.f#1") + "[rank1]: " + probe("megatron.core.x.g#0"),  # two on a line
    )
    reader, hits, damaged = read(log)
    assert reader.format == multirank.FORMAT
    assert [(h.id, h.rank) for h in hits] == [
        ("megatron.core.x.f#0", "1"),
        ("megatron.core.x.f#1", "0"),
        ("megatron.core.x.g#0", "1"),
    ]
    assert damaged == []


def test_probe_cut_by_another_rank_is_damaged_and_the_rest_recovered(tmp_path):
    whole = probe("megatron.core.x.g#0", rank=1)
    cut = probe("megatron.core.x.f#0", rank=0)
    log = write_log(
        tmp_path / "mixed.log",
        cut[:60] + whole,  # rank 0's probe cut by rank 1's complete one
        cut[60:],  # the rest of rank 0's line: no prefix, ignored
        whole + " trailing output " + probe("megatron.core.x.f#2", rank=1),
        f"{PREFIX} not json at all",
        f"{PREFIX} []",  # JSON, but not a probe payload
    )
    _, hits, damaged = read(log)
    assert [h.id for h in hits] == ["megatron.core.x.g#0", "megatron.core.x.g#0", "megatron.core.x.f#2"]
    assert [d.line for d in damaged] == [1, 4, 5]
    assert damaged[0].excerpt.startswith('{"id": "megatron.core.x.f#0"')


def test_truncated_last_line_is_damaged_not_fatal(tmp_path):
    last = probe("megatron.core.x.g#0", rank=1)
    log = write_log(tmp_path / "worker_1.log", probe("megatron.core.x.f#0"), last[:50], newline_at_end=False)
    _, hits, damaged = read(log)
    assert [h.id for h in hits] == ["megatron.core.x.f#0"] and [d.line for d in damaged] == [2]


def test_last_line_without_newline_but_whole_is_read(tmp_path):
    log = write_log(tmp_path / "a.log", "noise", probe("megatron.core.x.f#0"), newline_at_end=False)
    assert [h.id for h in read(log)[1]] == ["megatron.core.x.f#0"]


def test_invalid_utf8_and_custom_prefix(tmp_path):
    log = tmp_path / "bin.log"
    line = probe("megatron.core.x.f#0", prefix="@@probe@@").encode()
    log.write_bytes(b"\xff\xfe garbage \x00\n" + b"\xc3" + line + b"\n" + probe("megatron.core.x.g#0").encode() + b"\n")
    _, hits, damaged = read(log, prefix="@@probe@@")
    assert [h.id for h in hits] == ["megatron.core.x.f#0"] and damaged == []


def test_lines_across_chunk_boundaries_and_line_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(scan_module, "CHUNK", 64)  # every probe line crosses a chunk boundary
    lines = []
    for i in range(40):
        lines += [f"noise line {i} " + "x" * (i % 7), probe(f"megatron.core.x.f#{i}", rank=i % 4)]
    lines.append(f"{PREFIX} {{broken")
    log = write_log(tmp_path / "b.log", *lines)
    items = list(scan(log, PREFIX))
    assert [i.id for i in items if isinstance(i, ProbeHit)] == [f"megatron.core.x.f#{i}" for i in range(40)]
    assert [i.line for i in items if isinstance(i, Damaged)] == [81]


def test_giant_line_is_scanned_in_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(scan_module, "CHUNK", 1024)
    monkeypatch.setattr(scan_module, "MAX_LINE", 4096)
    monkeypatch.setattr(scan_module, "PAYLOAD_WINDOW", 512)
    pieces = ["\r progress 10%" * 100 + probe(f"megatron.core.x.f#{i}") for i in range(30)]
    log = write_log(tmp_path / "bar.log", "".join(pieces), probe("megatron.core.x.g#0"))
    items = list(scan(log, PREFIX))
    assert [i.id for i in items] == [f"megatron.core.x.f#{i}" for i in range(30)] + ["megatron.core.x.g#0"]


def test_scan_can_be_iterated_again(tmp_path):
    reader = LogScan(write_log(tmp_path / "a.log", probe("megatron.core.x.f#0")), PREFIX, "plain")
    assert list(reader) == list(reader) and len(list(reader)) == 1


@pytest.mark.parametrize("name", ["worker_0.log", "worker_12.log"])
def test_msrun_names(name):
    assert msrun.rank_from_name(Path(name)) == str(int(name[7:-4]))
    assert msrun.rank_from_name(Path("worker.log")) is None
