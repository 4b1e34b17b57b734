"""`patchmerge coverage`: which fused branches ran, read from the probe lines in worker logs (SPEC section 4).

Log files are read by log-format plugins (the `open_log` hook); the built-ins live in `patchmerge.coverage.logs`
and share one streaming scanner (`patchmerge.coverage.scan`).
"""

from patchmerge.coverage.model import Damaged, ProbeHit

__all__ = ["Damaged", "ProbeHit"]
