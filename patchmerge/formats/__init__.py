"""Patch-file formats. JSON is built in; others come from plugins through `load_patches`/`write_patches`."""

from patchmerge.formats.records import patch_set_from_mapping, patch_to_record, strip_quotes

__all__ = ["patch_set_from_mapping", "patch_to_record", "strip_quotes"]
