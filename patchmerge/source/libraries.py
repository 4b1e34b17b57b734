"""The libraries a tree may count on being installed wherever it runs, by their top-level import names.

A merge may make a module import another one it never imported (a patch module taking a moved def back). Where
that import needs a library the module did not need before, the module would fail on a machine that lacks it,
as MindSpeed-LLM's high-availability modules need `mindio_ttp`, which only some machines have. The libraries
counted on are those the profile lists (`sources.installed`: the platform, such as torch and torch_npu) and
those the requirements files at the top of each source root name. A distribution's name is read as its import
name, but for a few well-known ones named otherwise (`PyYAML` gives `yaml`); any other such library then counts
as not installed, so a merge only refuses more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# distributions whose import name is not their own name, read as requirements lines read them
_IMPORTED_AS = {
    "pyyaml": "yaml",
    "scikit_learn": "sklearn",
    "pillow": "PIL",
    "beautifulsoup4": "bs4",
    "opencv_python": "cv2",
    "python_dateutil": "dateutil",
}


def installed_libraries(root: Path, source_roots: Sequence[str], listed: Sequence[str]) -> frozenset[str]:
    names = set(listed)
    for source_root in source_roots:
        for requirements in sorted((root / source_root).glob("requirements*.txt")):
            try:
                lines = requirements.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            names.update(name for line in lines if (name := requirement_name(line)))
    return frozenset(names)


def requirement_name(line: str) -> str | None:
    """The import name a requirements line stands for (`einops>=0.6` -> `einops`, `PyYAML` -> `yaml`), None for a
    comment, an option (`-r other.txt`), a blank line, a URL, or a requirement for some environments only (a
    `; python_version < "3.8"` marker): none of those says the library is there."""
    text = line.split("#", 1)[0].strip()
    if not text or text.startswith("-") or "://" in text or ";" in text:
        return None
    found = _NAME.match(text)
    if found is None:
        return None
    name = found.group(0).lower().replace("-", "_").replace(".", "_")
    return _IMPORTED_AS.get(name, name)
