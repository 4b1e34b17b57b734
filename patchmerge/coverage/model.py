"""What a log-format plugin yields: one `ProbeHit` per probe payload read, one `Damaged` per payload that could
not be read (defined with the other plugin-facing types in `patchmerge.plugin_types`)."""

from patchmerge.plugin_types import ORIGINAL, Damaged, ProbeHit

__all__ = ["ORIGINAL", "Damaged", "ProbeHit"]
