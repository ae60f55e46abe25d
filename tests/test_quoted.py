"""Only quoted lines are kept and redacted, and each comes out as redacting the whole file
would have made it: no secret that the whole-file redaction hid may show through."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kctl.config.quoted import LINE_BREAK, quoted_source, redact_secret_lines
from kctl.config.validate import validate_paths
from kctl.render.findings import render_report
from kctl.secrets import Masker
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
    expected = whole_file_lines(text, masker)
    for n in range(1, len(expected) + 1):
        alone = LINE_BREAK.split(quoted_source(text, [n], masker))
        assert alone[n - 1] == expected[n - 1], (n, text)
    every = LINE_BREAK.split(quoted_source(text, range(1, len(expected) + 1), masker))
    assert every == expected


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKENS, max_size=40).map("".join))
def test_each_line_is_redacted_as_in_the_whole_file(text: str) -> None:
    assert_same_lines(text)
    assert_same_lines(text, Masker([SECRET]))


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
    bad.write_text(
        clean.read_text().replace("https://", "http://", 1) + f"# api-key: {SECRET}\n"
    )
    report = validate_paths([str(clean), str(bad)])
    assert report.findings
    assert set(report.sources) == {str(bad)}
    kept = report.sources[str(bad)].split("\n")
    quoted = {f.line for f in report.findings}
    assert all(line == "" for n, line in enumerate(kept, 1) if n not in quoted)
    assert SECRET not in render_report(report, "text")
