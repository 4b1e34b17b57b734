"""How a source file's bytes carry its text: encoding (UTF-8 BOM, coding declaration) and line endings.

The merge edits every file as text with "\\n" line endings and no BOM; each file is written back in its own form,
so a CRLF file stays CRLF only, a BOM stays, and a file in the encoding its coding declaration names stays in it.
"""

from __future__ import annotations

import difflib
import io
import re
import tokenize
from collections import Counter

BOM = b"\xef\xbb\xbf"
_NEWLINE = re.compile(r"\r\n|\r|\n")  # what Python's tokenizer takes for a line end


class SourceFormError(Exception):
    """A file whose bytes cannot be read as source, or new text its encoding cannot hold; says which and why."""


def decode(data: bytes) -> str:
    """The text of a source file, without BOM, every line end made "\\n"."""
    return normalise(_decode(data)[0])


def encode_like(text: str, original: bytes | None) -> bytes:
    """`text` (any line ends) as bytes in the form of `original`: its encoding and BOM, and its line ends; a file
    that mixes them keeps each unchanged line's own end and new lines get the most common one."""
    text = normalise(text)
    if original is None:
        return text.encode("utf-8")
    raw, codec, bom = _decode(original)
    endings = _NEWLINE.findall(raw)
    counts = Counter(endings)
    dominant = max(counts, key=lambda e: (counts[e], -endings.index(e))) if counts else "\n"
    if len(counts) > 1:
        laid_out = _keep_each_line_end(raw, text, dominant)
    else:
        laid_out = text if dominant == "\n" else text.replace("\n", dominant)
    try:
        data = laid_out.encode(codec)
    except UnicodeEncodeError as exc:
        raise SourceFormError(
            f"the merged code holds {exc.object[exc.start:exc.end]!r}, which {codec}, the encoding its coding "
            "declaration names, cannot hold"
        ) from None
    return BOM + data if bom else data


def normalise(text: str) -> str:
    """Line ends made "\\n" and a leading BOM character dropped (a plugin may read a file with either)."""
    return _NEWLINE.sub("\n", text.removeprefix("\ufeff"))


def _decode(data: bytes) -> tuple[str, str, bool]:
    """(text with its own line ends, codec, whether it starts with a BOM), by Python's own rules (PEP 263)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if exc.msg.startswith("encoding problem"):
            mismatch = "it starts with a UTF-8 BOM but its coding declaration names another encoding"
            raise SourceFormError(mismatch) from None
        if exc.msg.startswith("unknown encoding"):
            raise SourceFormError(f"its coding declaration names an {exc.msg}") from None
        raise SourceFormError("not UTF-8, so it cannot be rewritten") from None  # in its first two lines
    bom = encoding == "utf-8-sig"
    codec = "utf-8" if bom else encoding
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        named = "UTF-8" if codec == "utf-8" else f"{codec} (its coding declaration)"
        raise SourceFormError(f"not {named}, so it cannot be rewritten") from None
    return text, codec, bom


def _lines(text: str) -> list[tuple[str, str]]:
    """(content, line end) per line; the last line's end is "" when the text does not end with one."""
    pieces = _NEWLINE.split(text)
    ends = _NEWLINE.findall(text)
    lines = list(zip(pieces, [*ends, ""], strict=True))
    return lines[:-1] if lines and lines[-1] == ("", "") else lines


def _keep_each_line_end(raw: str, text: str, dominant: str) -> str:
    """The new text with the original's own end on every line it kept, and `dominant` on the others."""
    old, new = _lines(raw), _lines(text)
    matcher = difflib.SequenceMatcher(None, [c for c, _ in old], [c for c, _ in new], autojunk=False)
    out: list[str] = []
    for tag, i1, _, j1, j2 in matcher.get_opcodes():
        for offset, (content, end) in enumerate(new[j1:j2]):
            kept = old[i1 + offset][1] if tag == "equal" else ""
            out.append(content + ((kept or dominant) if end else ""))
    return "".join(out)
