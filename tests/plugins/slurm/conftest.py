"""The one-node Slurm the plugin's tests run against, started once per test session."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins.slurm import cluster as slurm


@pytest.fixture(scope="session")
def cluster() -> Iterator[slurm.Cluster]:
    why = slurm.missing()
    if why is not None:
        pytest.skip(why)
    pytest.importorskip("patchmerge_slurm", reason="plugin not installed: pip install ./plugins/patchmerge-slurm")
    # munged wants every folder above its socket open to all: pytest's own temporary folders are private
    base = Path(tempfile.mkdtemp(prefix="patchmerge-slurm-"))
    base.chmod(0o755)
    try:
        started = slurm.start(base / "cluster")
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    before = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(started.conf)  # every client, patchmerge's own and a test's, finds this one
    try:
        yield started
    finally:
        started.stop()
        shutil.rmtree(base, ignore_errors=True)
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before
