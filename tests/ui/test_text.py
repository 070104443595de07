"""`md_text`: record text in markdown shows exactly as typed and makes no link, not even the bare-URL
and email links GitHub-flavoured markdown makes out of plain text (checked in Chromium by
tests/e2e/test_hostile_pages.py)."""

from __future__ import annotations

import re

import pytest

from kontur.ui.text import WORD_JOINER, md_text


def shown(markdown: str) -> str:
    """What a reader sees: backslash escapes resolved, the invisible joiner dropped."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")


@pytest.mark.parametrize(
    "text",
    [
        "https://evil.example/login",
        "see http://evil.example and WWW.evil.example",
        "write to boss@evil.example",
        "[нажми](javascript:alert(1)) <img src=x onerror=alert(1)>",
        "№ 124 · 2-комн. · −2 эт.",
    ],
)
def test_shows_as_typed(text: str) -> None:
    assert shown(md_text(text, limit=None)) == text


@pytest.mark.parametrize(
    ("text", "broken"),
    [
        ("https://evil.example", "://"),
        ("www.evil.example", "www."),
        ("WWW.evil.example", "WWW."),
        ("boss@evil.example", "@e"),
    ],
)
def test_no_autolink_pattern_is_left_whole(text: str, broken: str) -> None:
    resolved = re.sub(r"\\(.)", r"\1", md_text(text))
    assert broken not in resolved
    assert WORD_JOINER in resolved


def test_markup_is_escaped_and_long_text_cut() -> None:
    out = md_text("<script>alert(1)</script>" + "Ж" * 500)
    assert not re.search(r"(?<!\\)[<>\[\]()]", out)
    assert shown(out).endswith("…")
    assert len(shown(out)) == 300
