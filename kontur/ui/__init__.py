"""Shared dashboard helpers, one module per job; this file only names what pages and forms import
as `from kontur import ui` (`ui.runtime()`, `ui.read`, `ui.fmt_int`, ...).

- `process`: the settings and the process's one `Runtime`;
- `reads`: cached reads of `kontur.queries` functions, plain or scoped to the reader;
- `access`: who reads the page and their read scope (`kontur.auth.scopes`);
- `sidebar`: the city → project → building scope;
- `fmt`: Russian number and text formats; `safe`: inert text, URLs and CSV (frozen interface);
- `media`: photo and link URLs that pass `safe_url`;
- `charts`, `tables`, `premise_card`, `chessboard`: what the analytics pages draw;
- `notices`: empty cache, no results, no access.
Pages import from here and from `kontur.queries`; they never open connections or write SQL.
"""

from __future__ import annotations

from .charts import STATUS_COLORS
from .fmt import (
    NBSP,
    fmt_age,
    fmt_area,
    fmt_int,
    fmt_mln,
    fmt_num,
    fmt_pct,
    fmt_rub,
    number_text,
    premise_caption,
)
from .media import media_url, media_urls
from .notices import no_access, no_results, stop_if_cache_empty
from .premise_card import PRESELECTED_PREMISE_KEY
from .process import _runtime, runtime, settings
from .reads import read, read_scoped, view
from .sidebar import ALL, SCOPE_KEYS, current_scope, sidebar_scope

__all__ = [
    "ALL",
    "NBSP",
    "PRESELECTED_PREMISE_KEY",
    "SCOPE_KEYS",
    "STATUS_COLORS",
    "_runtime",
    "current_scope",
    "fmt_age",
    "fmt_area",
    "fmt_int",
    "fmt_mln",
    "fmt_num",
    "fmt_pct",
    "fmt_rub",
    "media_url",
    "media_urls",
    "no_access",
    "no_results",
    "number_text",
    "premise_caption",
    "read",
    "read_scoped",
    "runtime",
    "settings",
    "sidebar_scope",
    "stop_if_cache_empty",
    "view",
]
