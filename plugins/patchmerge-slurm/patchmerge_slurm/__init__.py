"""patchmerge plugin: check and bisect runs as Slurm jobs.

A profile with a `[slurm]` table sends every model run of `check` and `bisect` to Slurm (`sbatch`, the step's
workspace as the job's working folder); without one, runs stay local.
"""

from __future__ import annotations

from patchmerge.hookspecs import hookimpl
from patchmerge.plugin_types import ModelRun, RunOutcome
from patchmerge_slurm.runner import SlurmRun
from patchmerge_slurm.settings import SECTION, SlurmSettings, settings_of


@hookimpl
def profile_sections() -> dict[str, type]:
    return {SECTION: SlurmSettings}


@hookimpl
def run_model(run: ModelRun) -> RunOutcome | None:
    settings = settings_of(run.profile)
    if settings is None:
        return None  # no [slurm] table: the next runner (the local one) takes the run
    return SlurmRun(run, settings).outcome()
