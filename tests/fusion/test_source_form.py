import pytest

from patchmerge.fusion.source_form import BOM, SourceFormError, decode, encode_like

APPENDED = "\n\n# fused\ndef f():\n    return 1\n"


def test_crlf_file_stays_crlf_only() -> None:
    original = b"import os\r\n\r\nX = 1\r\n"
    new = encode_like(decode(original) + APPENDED, original)
    assert new.startswith(original)
    assert new.count(b"\r\n") == new.count(b"\n") == 8


def test_bom_and_coding_declaration_are_kept() -> None:
    original = BOM + b"# -*- coding: utf-8 -*-\r\nX = '\xc3\xa9'\r\n"
    text = decode(original)
    assert text == "# -*- coding: utf-8 -*-\nX = '\u00e9'\n"  # the merge edits text without BOM, "\n" ends
    new = encode_like(text + APPENDED, original)
    assert new.startswith(original) and new.count(BOM) == 1
    assert b"\n" not in new.replace(b"\r\n", b"")


def test_text_a_plugin_read_with_its_bom_gets_one_bom() -> None:
    original = BOM + b"X = 1\n"
    assert encode_like("\ufeffX = 2\n", original) == BOM + b"X = 2\n"


def test_mixed_file_keeps_each_kept_line_end_and_new_lines_get_the_most_common() -> None:
    original = b"a = 1\r\nb = 2\nc = 3\r\nd = 4\r\n"
    text = decode(original).replace("b = 2\n", "b = 2\nb2 = 22\n") + "e = 5\n"
    assert encode_like(text, original) == b"a = 1\r\nb = 2\nb2 = 22\r\nc = 3\r\nd = 4\r\ne = 5\r\n"


def test_last_line_without_end_gets_the_file_end_when_code_follows() -> None:
    original = b"a = 1\r\nb = 2"
    assert encode_like(decode(original) + "\nc = 3\n", original) == b"a = 1\r\nb = 2\r\nc = 3\r\n"


def test_cr_only_file_stays_cr_only() -> None:
    original = b"a = 1\rb = 2\r"
    assert encode_like(decode(original) + "c = 3\n", original) == b"a = 1\rb = 2\rc = 3\r"


def test_new_code_with_crlf_in_an_lf_file_becomes_lf() -> None:
    assert encode_like("a = 1\nb = 2\r\n", b"a = 1\n") == b"a = 1\nb = 2\n"


def test_created_file_is_utf8_with_lf() -> None:
    assert encode_like("x = '\u00e9'\r\n", None) == "x = '\u00e9'\n".encode()


def test_declared_latin1_file_is_written_in_latin1() -> None:
    original = b"# -*- coding: latin-1 -*-\nX = '\xe9'\n"
    assert decode(original) == "# -*- coding: latin-1 -*-\nX = '\u00e9'\n"
    assert encode_like(decode(original) + "Y = '\u00e8'\n", original) == original + b"Y = '\xe8'\n"


def test_declared_latin1_file_cannot_take_code_it_cannot_hold() -> None:
    original = b"# -*- coding: latin-1 -*-\nX = 1\n"
    with pytest.raises(SourceFormError) as info:
        encode_like(decode(original) + "Y = '\u4e2d'\n", original)
    assert str(info.value) == (
        "the merged code holds '\u4e2d', which iso-8859-1, the encoding its coding declaration names, cannot hold"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"X = '\xff'\n", "not UTF-8, so it cannot be rewritten"),
        (b"X = 1\nY = 2\n# '\xff'\n", "not UTF-8, so it cannot be rewritten"),
        (BOM + b"X = '\xff'\n", "not UTF-8, so it cannot be rewritten"),
        (b"# coding: no-such-codec\n", "its coding declaration names an unknown encoding: no-such-codec"),
        (BOM + b"# coding: latin-1\n", "it starts with a UTF-8 BOM but its coding declaration names another encoding"),
        (b"# coding: ascii\nX = '\xc3\xa9'\n", "not ascii (its coding declaration), so it cannot be rewritten"),
    ],
)
def test_unreadable_bytes_say_why(data: bytes, message: str) -> None:
    with pytest.raises(SourceFormError) as info:
        decode(data)
    assert str(info.value) == message
