"""Record text inside markdown, one step beyond `safe.md`.

`safe.md` escapes every character markdown or Streamlit's directives act on, but GitHub-flavoured
markdown also turns bare `https://…`, `www.…` and `name@host` in plain text into links, escaped or
not (seen in Chromium: a premise number holding a URL became a link in the card's header). A word
joiner (U+2060, invisible and zero-width) inside `://`, after `www` and after `@` keeps the text as
typed on screen and leaves the autolinker nothing to match.
"""

from __future__ import annotations

import re
from typing import Any

from .safe import md, plain

WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(:(?=//)|(?i:www)(?=\.)|@)")


def md_text(value: Any, *, limit: int | None = 300) -> str:
    """`value` for `st.markdown`/`st.caption`/labels: shown as typed, never markup, never a link."""
    return md(_AUTOLINK.sub(lambda m: m.group(0) + WORD_JOINER, plain(value, limit=limit)), limit=None)
