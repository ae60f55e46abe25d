"""Only quoted lines are kept and redacted, and each comes out as redacting the whole file
would have made it: no secret that the whole-file redaction hid may show through."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kctl.config.parallel import MIN_FILES
from kctl.config.quoted import LINE_BREAK, quoted_source, redact_secret_lines
from kctl.config.validate import MAX_FILE_BYTES, validate_paths
from kctl.errors import UsageError
from kctl.render.findings import render_report
from kctl.secrets import MASK, Masker
from tests.support import REPO

SECRET = "s3cr3t-LITERAL-9a8b"

TOKENS = st.sampled_from(
    [
        "password",
        "api-key",
        "API_KEY",
        "apikey",
        '"',
        "'",
        ":",
        ": ",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "\u2028",
        "\x85",
        ",",
        "#",
        "}",
        "]",
        "{",
        "x",
        "${ref}",
        "****",
        "\\",
        SECRET,
    ]
)


def whole_file_lines(text: str, masker: Masker | None) -> list[str]:
    """What validate-config used to quote from: the whole text masked, then redacted."""
    masked = masker.mask_text(text) if masker else text
    return LINE_BREAK.split(redact_secret_lines(masked))


def assert_same_lines(text: str, masker: Masker | None = None) -> None:
    """Each quoted line is the whole file's redacted line, or hides more: never less.

    More only where the whole-file pass used a word up as one assignment's value that the
    line's window reads as the next one's key (``password`` / ``:password`` / ``:x``: the
    whole file hides line 2 and shows line 3, the window of line 3 hides it too).
    """
    expected = whole_file_lines(text, masker)
    original = LINE_BREAK.split(masker.mask_text(text) if masker else text)
    every = LINE_BREAK.split(quoted_source(text, range(1, len(expected) + 1), masker))
    assert len(every) == len(expected)
    for n in range(1, len(expected) + 1):
        alone = LINE_BREAK.split(quoted_source(text, [n], masker))[n - 1]
        assert alone == every[n - 1], (n, text)
        if alone != expected[n - 1]:
            # the whole file left this line as written; the window hides part of it
            assert expected[n - 1] == original[n - 1], (n, text)
            assert MASK in alone, (n, text)
            assert alone != original[n - 1], (n, text)


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKENS, max_size=40).map("".join))
def test_each_line_is_redacted_as_in_the_whole_file(text: str) -> None:
    assert_same_lines(text)
    assert_same_lines(text, Masker([SECRET]))


def test_a_value_read_as_the_next_key_hides_more_never_less() -> None:
    # found by the property above: the whole file shows line 3 (its 'password' was line 2's
    # value); quoted alone, line 3 is read with line 2 as an assignment and hidden
    text = "password\n:password\n:password"
    assert whole_file_lines(text, None) == ["password", ":****", ":password"]
    assert quoted_source(text, [1, 2, 3]).split("\n") == ["password", ":****", ":****"]
    assert_same_lines(text)


def test_a_key_lines_above_its_value_still_hides_it() -> None:
    text = f"auth:\n  ? password\n\n\n  : {SECRET}\n"
    line = quoted_source(text, [5]).split("\n")[4]
    assert SECRET not in line
    assert "****" in line


def test_every_case_file_line_by_line() -> None:
    for path in sorted((REPO / "tests" / "cases").rglob("*.yaml")):
        assert_same_lines(path.read_text(encoding="utf-8", errors="replace"))


def test_files_without_findings_keep_no_text(tmp_path: Path) -> None:
    clean = REPO / "configs" / "whatsapp.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text(clean.read_text().replace("https://", "http://", 1) + f"# api-key: {SECRET}\n")
    report = validate_paths([str(clean), str(bad)])
    assert report.findings
    assert set(report.sources) == {str(bad)}
    kept = report.sources[str(bad)].split("\n")
    quoted = {f.line for f in report.findings}
    assert all(line == "" for n, line in enumerate(kept, 1) if n not in quoted)
    assert SECRET not in render_report(report, "text")


def test_many_files_give_the_same_report_in_two_processes(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    from validate_many import generate

    generate(tmp_path, MIN_FILES + 2)
    serial = validate_paths([str(tmp_path)], jobs=1)
    forked = validate_paths([str(tmp_path)], jobs=2)
    assert serial.findings
    assert (forked.files, forked.findings, forked.sources) == (
        serial.files,
        serial.findings,
        serial.sources,
    )


def test_an_unreadable_file_in_a_child_s_slice_fails_as_in_one_process(tmp_path: Path) -> None:
    clean = (REPO / "configs" / "whatsapp.yaml").read_text()
    for i in range(MIN_FILES + 2):
        (tmp_path / f"f{i:04d}.yaml").write_text(clean)
    (tmp_path / f"f{MIN_FILES:04d}.yaml").write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    messages = []
    for jobs in (1, 2):
        with pytest.raises(UsageError) as caught:
            validate_paths([str(tmp_path)], jobs=jobs)
        messages.append(caught.value.message)
    assert messages[0] == messages[1]
    assert "larger than 10 MiB" in messages[0]
