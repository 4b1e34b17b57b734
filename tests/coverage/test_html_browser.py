"""The HTML report in a real headless browser: it renders the table and its filters run (Debian's chromium;
CI installs it, elsewhere the test is skipped when no browser is there)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from patchmerge.cli import main
from tests.example_runs import PATCHES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true", reason="no chromium here (CI installs it)"
)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("html")
    log = base / "worker_0.log"
    hits = ["megatron.core.parallel_state.initialize_model_parallel#0", "megatron.training.utils.calc_params_l2_norm#0"]
    log.write_text(
        "".join(f'[patchmerge-probe] {{"id": "{pid}", "target": "{pid[:-2]}", "rank": "0"}}\n' for pid in hits)
    )
    assert main(["coverage", "--json-file", str(PATCHES), "--log-file", str(log), "--output-dir", str(base)]) == 0
    return base / "coverage.html"


def render(url: str, user_data: Path) -> str:
    assert CHROMIUM, "chromium is required in CI: .ci/run installs it"
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={user_data}", "--virtual-time-budget=3000", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_table_renders_and_filters_run(report, tmp_path):
    dom = render(report.as_uri(), tmp_path / "a")
    rows = re.findall(r"<tr class=\"(hit|miss|hit orig)\"", dom)
    assert len(rows) >= 39 and rows.count("miss") == 37
    total = len(rows)
    assert f"{total} of {total} rows" in dom  # the filter script ran and counted every row
    filtered = render(report.as_uri() + "#state=hit&q=parallel_state", tmp_path / "b")
    assert re.search(r"\b1 of \d+ rows", filtered)
    screenshot = tmp_path / "page.png"
    subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'c'}",
            "--window-size=1200,900",
            f"--screenshot={screenshot}",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert screenshot.stat().st_size > 10_000
