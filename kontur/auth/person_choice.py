"""A choice of one person among thousands: a search box and a short list under it.

A selectbox of the whole directory (31,504 people at scale 10) sent every label to the browser on every
run of every page, and Streamlit hashed the whole option list into the widget's id: about 1.5 MB and
half a second of browser time per click on any page. The list here holds the current choice and at
most `SHOWN` people matching the search box, so a run costs the same with 30 or 30,000 people.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import streamlit as st

SHOWN = 50  # people listed under the search box besides the current choice


def _holds(words: list[str], text: str) -> bool:
    folded = text.casefold()
    return all(word in folded for word in words)


def _leading(labels: Mapping[int, str], first: Iterable[int]) -> list[int]:
    """`first` as the list leads with it: ids of `labels` only, once each."""
    return list(dict.fromkeys(i for i in first if i in labels))


def matches(
    labels: Mapping[int, str], query: str, *, first: Iterable[int] = (), limit: int = SHOWN
) -> list[int]:
    """The ids whose label holds every word of `query` (any case), in `labels`' order, at most `limit`;
    `first` (the current choice, «я») ahead of them whether or not they match, once each."""
    head = _leading(labels, first)
    words = query.casefold().split()
    found: list[int] = []
    for person_id, text in labels.items():
        if len(found) == limit:
            break
        if person_id not in head and _holds(words, text):
            found.append(person_id)
    return head + found


def count_matches(labels: Mapping[int, str], query: str) -> int:
    words = query.casefold().split()
    if not words:  # every run of the picker with an empty box: no pass over 30,000 labels
        return len(labels)
    return sum(1 for text in labels.values() if _holds(words, text))


def person_choice(
    label: str,
    labels: Mapping[int, str],
    *,
    key: str,
    first: Iterable[int],
    on_change: Callable[[], None],
    search_label: str,
    container: Any = None,
    help: str | None = None,
) -> None:
    """The search box (`key` + "_search") and the selectbox `label` (`key`) of `labels` matching it.
    The caller seeds `st.session_state[key]` with the current choice, which is in `first`."""
    where = container if container is not None else st
    query = where.text_input(
        search_label, key=f"{key}_search", placeholder="фамилия, имя, № или роль", max_chars=100
    )
    options = matches(labels, query, first=first)
    where.selectbox(label, options, format_func=labels.get, key=key, on_change=on_change, help=help)
    head = len(_leading(labels, first))
    if len(options) - head == SHOWN:
        total = count_matches(labels, query)
        where.caption(f"В списке {SHOWN} из {total:,}".replace(",", "\u202f") + ": уточните поиск.")
    elif query.strip() and len(options) == head:
        where.caption("Никого не нашлось: измените поиск.")
