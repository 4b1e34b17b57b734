"""Where a tree's merge state lives, and the history of merges `undo` walks back.

Layout under ROOT_DIR/.patchmerge/:
    manifests/<run-id>.json   one manifest per merge, oldest first (run ids start with a sequence number)
    manifest.json             a copy of the last run's manifest (what outside scripts read)
    backups/<run-id>/<path>   the original bytes of every file that run changed
    journal.json              only while files are being replaced: what a crash would leave half done
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from patchmerge.fusion.filewrite import atomic_write
from patchmerge.markers import STATE_DIR

MANIFEST_DIR = STATE_DIR
MANIFEST_NAME = "manifest.json"
HISTORY_DIR = "manifests"
BACKUP_DIR = "backups"
JOURNAL_NAME = "journal.json"


def runs(history: Path) -> list[Path]:
    """Recorded runs, oldest first (by the sequence number that starts each run id)."""
    if not history.is_dir():
        return []
    found = [p for p in history.glob("*.json") if p.name.split("-", 1)[0].isdigit()]
    return sorted(found, key=lambda p: int(p.name.split("-", 1)[0]))


def next_run_id(history: Path) -> str:
    recorded = runs(history)
    sequence = int(recorded[-1].name.split("-", 1)[0]) + 1 if recorded else 1
    return f"{sequence:04d}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"


def drop_run(state: Path, run_id: str) -> None:
    """Forget a run: its manifest and backups go, manifest.json describes the run before it (or goes away)."""
    (state / HISTORY_DIR / f"{run_id}.json").unlink(missing_ok=True)
    shutil.rmtree(state / BACKUP_DIR / run_id, ignore_errors=True)
    recorded = runs(state / HISTORY_DIR)
    if recorded:
        atomic_write(state / MANIFEST_NAME, recorded[-1].read_bytes(), None)
    else:
        (state / MANIFEST_NAME).unlink(missing_ok=True)
