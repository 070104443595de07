"""The text, URL and CSV rules pages use for partner and agent data."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from kontur.ui.safe import WORD_JOINER, csv_cell, csv_safe, host_allowed, md, plain, safe_url

API = "http://127.0.0.1:8765/api/v1"
ALLOWED = ("brusnika.ru", "*.brusnika.ru")

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<iframe srcdoc="<script>alert(1)</script>">',
    "[жми](javascript:alert(1))",
    "![x](https://evil.example/p.png)",
    ":red[красный] :material/home:",
    "$x^2$",
    "**жирный** _курсив_ `код` # заголовок",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_md_leaves_no_unescaped_markup(text: str) -> None:
    escaped = md(text)
    # every markdown/HTML-significant character is preceded by a backslash
    unescaped = re.findall(r"(?<!\\)[<>\[\]()*_`#:$!]", escaped)
    assert unescaped == [], escaped
    # and what a reader sees (escapes resolved, the invisible joiner dropped) is exactly what was typed
    assert shown(escaped) == text


def shown(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ("https://evil.example/login", "https"),
        ("see http://evil.example", "http"),
        ("www.evil.example", "www"),
        ("WWW.evil.example", "WWW"),
        ("ftp://evil.example", "ftp"),
        ("mailto:boss@evil.example", "mailto"),
        ("boss@evil.example", "@e"),
    ],
)
def test_md_leaves_no_autolink_whole(text: str, whole: str) -> None:
    """GitHub-flavoured markdown links bare URLs and emails found in plain text; none is left whole."""
    resolved = re.sub(r"\\(.)", r"\1", md(text, limit=None))
    assert whole not in resolved
    assert shown(md(text, limit=None)) == text


def test_plain_drops_controls_and_bidi_overrides_and_cuts_long_text() -> None:
    assert plain("abc\u202edef\x07") == "abcdef"
    assert plain("a\nb") == "a b"
    assert plain(None) == "—"
    assert plain(float("nan")) == "—"
    long = plain("я" * 10_000, limit=50)
    assert len(long) == 50
    assert long.endswith("…")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://cdn.brusnika.ru/p/1.jpg", "https://cdn.brusnika.ru/p/1.jpg"),
        ("https://brusnika.ru/p/1.jpg", "https://brusnika.ru/p/1.jpg"),
        ("https://evil.example/p.png", None),
        ("https://brusnika.ru.evil.example/p.png", None),
        ("https://127.0.0.1:8765/x.svg", "https://127.0.0.1:8765/x.svg"),
        ("/media/premises/1.svg", "http://127.0.0.1:8765/media/premises/1.svg"),
        ("http://127.0.0.1:8765/media/x.svg", "http://127.0.0.1:8765/media/x.svg"),
        ("http://evil.example/x.svg", None),
        ("http://127.0.0.1:9999/x.svg", None),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        ("data:image/svg+xml;base64,PHN2Zz4=", None),
        ("file:///etc/passwd", None),
        ("https://user:pw@brusnika.ru/x", None),
        ("https://brusnika.ru/x y", None),
        ("https://brusnika.ru/\u202ex", None),
        ("https://" + "a" * 3000 + ".ru", None),
        ("", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_safe_url(url: object, expected: str | None) -> None:
    assert safe_url(url, API, ALLOWED) == expected


def test_safe_url_without_api_accepts_only_https_on_allowed_hosts() -> None:
    assert safe_url("/media/x.svg", None) is None
    assert safe_url("http://brusnika.ru/x", None, ALLOWED) is None
    assert safe_url("https://brusnika.ru/x", None) is None
    assert safe_url("https://brusnika.ru/x", None, ALLOWED) == "https://brusnika.ru/x"


def test_the_api_host_over_https_is_allowed_by_default() -> None:
    api = "https://api.brusnika.ru/api/v1"
    assert safe_url("/media/1.jpg", api) == "https://api.brusnika.ru/media/1.jpg"
    assert safe_url("https://api.brusnika.ru/m/1.jpg", api) == "https://api.brusnika.ru/m/1.jpg"
    assert safe_url("http://api.brusnika.ru/m/1.jpg", api) is None  # another port (80, not 443)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("cdn.brusnika.ru", True),
        ("CDN.Brusnika.RU", True),
        ("brusnika.ru", True),
        ("evilbrusnika.ru", False),
        ("brusnika.ru.evil.example", False),
    ],
)
def test_host_allowed(host: str, allowed: bool) -> None:
    assert host_allowed(host, ALLOWED) is allowed
    assert host_allowed(host, ()) is False


def test_csv_neutralises_formula_cells_but_keeps_numbers() -> None:
    frame = pd.DataFrame(
        {
            "Город": ['=HYPERLINK("http://evil")', "+7 999", "-cmd", "@SUM(A1)", "Тюмень"],
            "Цена": [-1, 2, 3, 4, 5],
        }
    )
    out = csv_safe(frame)
    assert out["Город"].tolist() == ['\'=HYPERLINK("http://evil")', "'+7 999", "'-cmd", "'@SUM(A1)", "Тюмень"]
    assert out["Цена"].tolist() == [-1, 2, 3, 4, 5]
    assert frame["Город"].iloc[0].startswith("=")  # the page's own frame is left as it was
    assert csv_cell(-5) == -5
    text = out.to_csv(index=False)
    assert not any(line.split(",")[0].startswith(("=", "+", "-", "@")) for line in text.splitlines())
