"""`md()` for the pages of issue 14, hardened against one more thing: GitHub-flavoured markdown turns
bare URLs and emails in *text* into links (`http://…`, `www.…`, `a@b.c`), even when every character
around them is backslash-escaped, so `kontur.ui.safe.md` alone still lets a partner's name become a
clickable link (seen in Chromium on a hostile world). An invisible word joiner (U+2060) after the first
letter of a scheme or `www` and after `@` keeps the text as typed on screen and leaves nothing for the
autolinker to match. (Reported for `kontur.ui.safe.md` itself; until then these pages use this.)
"""

from __future__ import annotations

import re
from typing import Any

from kontur.ui.safe import md as _md
from kontur.ui.safe import plain

JOINER = "\u2060"
_AUTOLINK_START = re.compile(r"(?i)\b(h)(ttps?)|\b(f)(tp)|\b(w)(ww)|\b(m)(ailto)|(@)")


def _break(match: re.Match[str]) -> str:
    parts = [p for p in match.groups() if p is not None]
    return parts[0] + JOINER + "".join(parts[1:])


def md(value: Any, *, limit: int | None = 300) -> str:
    """`kontur.ui.safe.md(value)` with autolink literals broken: shows exactly as typed, links nothing."""
    return _md(_AUTOLINK_START.sub(_break, plain(value, limit=limit)), limit=None)
