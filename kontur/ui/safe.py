"""Partner and agent text stays text: the escaping, URL and CSV rules every page uses.

Everything from Brusnika, a Kafka topic, an agent's form or a URL is data. It reaches the browser only
through Streamlit's own elements (dataframes, metrics, captions) or, where it has to sit inside
markdown, through `md()`, which escapes everything markdown or Streamlit's directives could act on.
Nothing interpolated ever goes into `unsafe_allow_html`. A URL is shown only when `safe_url` accepts it.
CSV exports go through `csv_safe`, so a spreadsheet never runs a cell as a formula.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

import pandas as pd

# CommonMark lets any ASCII punctuation be backslash-escaped; escaping all of it is simplest and
# covers Streamlit's extensions too (`:red[...]`, `:material/icon:`, `$...$` maths, `~~`, `|` tables).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&\"'=^%@/])")
# Controls and the bidi overrides that can make a name read backwards (U+202A-202E, U+2066-2069).
_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]")
MAX_URL_LENGTH = 2048

# GitHub-flavoured markdown turns bare `http://…`, `www.…` and `name@host` in *text* into links, escaped
# or not (seen in Chromium on a hostile world). A word joiner (U+2060, invisible, zero-width) after the
# first letter of a scheme or `www` and after `@` keeps the text as typed and leaves nothing to match.
_AUTOLINK_START = re.compile(r"(?i)\b(h)(ttps?)|\b(f)(tp)|\b(w)(ww)|\b(m)(ailto)|(@)")
WORD_JOINER = "\u2060"

# Spreadsheet programs run a cell starting with these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain(value: Any, *, limit: int | None = None) -> str:
    """A value as one line of inert text: None/NaN as «—», controls and bidi overrides removed, cut
    to `limit` characters (with «…») so a 10 kB name cannot push a page apart."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    try:
        if pd.isna(value):
            return "—"
    except (TypeError, ValueError):  # lists and arrays: not a missing value
        pass
    text = _INVISIBLE.sub("", str(value)).replace("\n", " ")
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def md(value: Any, *, limit: int | None = 300) -> str:
    """`plain(value)` for `st.markdown`/`st.caption`/alerts/radio labels: every character markdown or
    Streamlit's directives act on is escaped, and no autolink is left: shows as typed, acts on nothing."""
    text = _AUTOLINK_START.sub(_break_autolink, plain(value, limit=limit))
    return _MD_SPECIAL.sub(r"\\\1", text)


def _break_autolink(match: re.Match[str]) -> str:
    parts = [p for p in match.groups() if p is not None]
    return parts[0] + WORD_JOINER + "".join(parts[1:])


def safe_url(url: Any, api_url: str | None, allowed_hosts: Iterable[str] = ()) -> str | None:
    """The URL to show, or None to show nothing.

    Accepted: the configured API's own host (`https`, or `http` as the sandbox serves its media on
    loopback), and `https://` on the hosts an operator allowed (`allowed_hosts`: exact names, or
    `*.example.ru` for its subdomains; `KONTUR_MEDIA_HOSTS`). A picture from any other host would be
    loaded by every manager's browser from someone else's server. A relative URL (the sandbox's
    `/media/...`) is resolved against the API's origin first. Refused: every other scheme
    (`javascript:`, `data:`, `file:` ...), credentials in the URL, controls or spaces, more than 2 kB.
    """
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or len(text) > MAX_URL_LENGTH or _INVISIBLE.search(text) or any(c.isspace() for c in text):
        return None
    absolute = urljoin(api_url, text) if api_url and not urlsplit(text).scheme else text
    try:
        parts = urlsplit(absolute)
        port = parts.port  # raises on a malformed port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    if api_url:
        api = urlsplit(api_url)
        default = {"http": 80, "https": 443}
        same_origin = api.hostname == parts.hostname and (api.port or default.get(api.scheme)) == (
            port or default.get(parts.scheme)
        )
        if same_origin and parts.scheme in ("http", "https"):
            return absolute
    if parts.scheme == "https" and host_allowed(parts.hostname, allowed_hosts):
        return absolute
    return None


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """`host` is one of `allowed_hosts` (case-insensitive), or a subdomain of a `*.name` entry."""
    host = host.lower().rstrip(".")
    for entry in allowed_hosts:
        entry = entry.strip().lower().rstrip(".")
        if not entry:
            continue
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == entry:
            return True
    return False


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet will show, never run: text starting with a formula character gets a
    leading apostrophe. Numbers stay numbers (a negative price is a number, not a formula)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` for export with every text cell (and column name) passed through `csv_cell`."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(csv_cell)
    out.columns = [csv_cell(str(c)) for c in out.columns]
    return out
