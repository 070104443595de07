"""The text, URL and CSV rules pages use for partner and agent data."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from kontur.ui.safe import csv_cell, csv_safe, md, plain, safe_url

API = "http://127.0.0.1:8765/api/v1"

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
    # and unescaping gives back exactly what was typed
    assert re.sub(r"\\(.)", r"\1", escaped) == text


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
        ("https://brusnika.ru/p/1.jpg", "https://brusnika.ru/p/1.jpg"),
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
    assert safe_url(url, API) == expected


def test_safe_url_without_api_accepts_only_https() -> None:
    assert safe_url("/media/x.svg", None) is None
    assert safe_url("http://brusnika.ru/x", None) is None
    assert safe_url("https://brusnika.ru/x", None) == "https://brusnika.ru/x"


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
