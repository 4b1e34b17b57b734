"""The built-in log formats, each a plugin implementing `open_log` (listed in `patchmerge.host.BUILTIN_PLUGINS`).

They share the recovering scanner (`patchmerge.coverage.scan`), since any file several processes write to can
hold two probes on a line or a probe cut by other output; they differ in which files they take and where a
probe's rank comes from when its payload has none. Asked in this order (firstresult):

- `multirank`: a file holding the output of several ranks, each line tagged `[rankN]` (torchrun / msrun
  combined output): the rank of the tag just before the probe.
- `msrun`: an msrun worker log `worker_N.log`: rank N.
- `plain`: any other file (asked last): the payload's rank only.
"""
