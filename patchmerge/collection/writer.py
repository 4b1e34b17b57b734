"""Writing what collect found: the patch JSON (SPEC section 2) and its provenance sidecar.

`write_collected(result, out)` writes the patch JSON to `out` and the sidecar to `sidecar_path(out)`
(`collected.json` -> `collected.provenance.json`): for each patch id its registration site, the chain of calls
from the entry and its collection; then the unreadable registrations, the dead ones, the registrations left out
because their target is outside the rewritable packages, and notes (direct monkey-patch assignments, patches
registered but never applied).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from patchmerge.collection.model import CollectResult
from patchmerge.formats.json_format import dumps


def sidecar_path(out: Path) -> Path:
    return out.with_name(out.stem + ".provenance.json")


def sidecar(result: CollectResult) -> dict[str, Any]:
    return {
        "summary": summary(result),
        # each entry also names its patch, so a reader can tell the JSON was edited since (ids shift)
        "patches": {
            p.id: {"patch_import": p.patch_import, **result.provenance[p.id].to_json()}
            for p in result.patch_set.patches
            if p.id in result.provenance
        },
        "unreadable": [u.to_json() for u in result.unreadable],
        "dead": [d.to_json() for d in result.dead],
        "outside": [
            {"target": r.target, "patch_import": r.patch_import, "file": r.provenance.site.file,
             "line": r.provenance.site.line}
            for r in result.outside
        ],
        "notes": [n.to_json() for n in result.notes],
    }


def summary(result: CollectResult) -> dict[str, Any]:
    return {
        "patches": len(result.patch_set),
        "targets": len(result.patch_set.targets),
        "phases": result.phases,
        "unreadable": len(result.unreadable),
        "dead": len(result.dead),
        "outside": len(result.outside),
        "files_read": result.files_read,
        "seconds": round(result.seconds, 3),
    }


def patch_json(result: CollectResult) -> str:
    return dumps(result.patch_set, result.patch_set.patches)


def write_collected(result: CollectResult, out: Path) -> Path:
    """Write the patch JSON to `out` and the sidecar beside it; returns the sidecar's path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _atomic(out, patch_json(result))
    side = sidecar_path(out)
    _atomic(side, json.dumps(sidecar(result), indent=2, ensure_ascii=False) + "\n")
    return side


def _atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
