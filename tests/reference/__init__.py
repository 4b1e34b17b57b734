"""What proves a fusion faithful: a runtime patcher that does what MindSpeed's patch_utils does, the condition
values to try, and a runner of a script patched by it. Tests and benchmarks use it; the tool a user runs does
not. A subprocess that imports it needs the repository on its path: `with_reference(pythonpath)`."""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def with_reference(pythonpath: str) -> str:
    """`pythonpath` (the tree's source roots) with the repository after them, so `tests.reference` imports."""
    return os.pathsep.join([*([pythonpath] if pythonpath else []), str(REPOSITORY)])
