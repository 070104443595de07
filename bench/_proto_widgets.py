"""The widget side of bench/_proto_session.py: what state a browser keeps for each widget it shows.

Streamlit's frontend keeps one `WidgetState` per mounted widget (its `WidgetStateManager`) and sends
all of them with every rerun request. A widget seeds its state when it mounts: the value the server
set (`set_value`) or else its default, in the widget's wire type (the `value_type` each
`streamlit/elements/widgets/*.py` registers: a selectbox sends its option's label as `string_value`,
a multiselect the labels as `string_array_value`, a slider its numbers as `double_array_value`, …).
Buttons, downloads, tables and charts keep no state until someone acts on them. This module turns an
element's protobuf into that seed state and builds the states a person's input produces.
"""

from __future__ import annotations

import json
from typing import Any

from streamlit.proto.WidgetStates_pb2 import WidgetState

# Element types whose id is a widget id but which keep no state until acted on (a trigger, a
# selection), as the frontend's components do.
STATELESS = frozenset(
    {"button", "download_button", "dataframe", "plotly_chart", "vega_lite_chart", "deck_gl_json_chart"}
)


def _has(proto: Any, name: str) -> bool:
    """Whether an `optional` field is set (fields without presence count as set)."""
    try:
        return bool(proto.HasField(name))
    except ValueError:
        return True


def seed(kind: str, proto: Any) -> WidgetState | None:
    """The state the frontend stores when the widget `proto` (an element of type `kind`) mounts, or
    None when it stores none. A state with no value set is a cleared value (`index=None`)."""
    state = WidgetState(id=proto.id)
    server_set = bool(getattr(proto, "set_value", False))
    if kind in ("selectbox", "radio"):
        if server_set:
            if _has(proto, "raw_value"):
                state.string_value = proto.raw_value
        elif _has(proto, "default") and 0 <= proto.default < len(proto.options):
            state.string_value = proto.options[proto.default]
    elif kind == "multiselect":
        values = list(proto.raw_values) if server_set else [proto.options[i] for i in proto.default]
        state.string_array_value.data.extend(values)
    elif kind == "slider":
        if proto.options:  # st.select_slider: the option labels
            labels = list(proto.raw_value) if server_set else [proto.options[int(i)] for i in proto.default]
            state.string_array_value.data.extend(labels)
        else:
            state.double_array_value.data.extend(proto.value if server_set else proto.default)
    elif kind in ("text_input", "text_area"):
        field = "value" if server_set else "default"
        if _has(proto, field):
            state.string_value = getattr(proto, field)
    elif kind == "number_input":
        field = "value" if server_set else "default"
        if _has(proto, field):
            state.double_value = getattr(proto, field)
    elif kind == "checkbox":
        state.bool_value = proto.value if server_set else proto.default
    elif kind == "date_input":
        state.string_array_value.data.extend(proto.value if server_set else proto.default)
    else:
        return None
    return state


def options(kind: str, proto: Any) -> list[str]:
    """The choices a person sees (formatted labels), for the widgets that offer a list."""
    return list(getattr(proto, "options", [])) if kind in ("selectbox", "multiselect", "radio") else []


def value(state: WidgetState | None) -> Any:
    """A state's value as Python: a label, a list of labels or numbers, None when cleared."""
    if state is None:
        return None
    field = state.WhichOneof("value")
    if field is None:
        return None
    got = getattr(state, field)
    return list(got.data) if hasattr(got, "data") else got


def string(widget_id: str, text: str | None) -> WidgetState:
    state = WidgetState(id=widget_id)
    if text is not None:
        state.string_value = text
    return state


def strings(widget_id: str, texts: list[str]) -> WidgetState:
    state = WidgetState(id=widget_id)
    state.string_array_value.data.extend(texts)
    return state


def integer(widget_id: str, number: int) -> WidgetState:
    state = WidgetState(id=widget_id)
    state.int_value = number
    return state


def doubles(widget_id: str, numbers: list[float]) -> WidgetState:
    state = WidgetState(id=widget_id)
    state.double_array_value.data.extend(numbers)
    return state


def trigger(widget_id: str) -> WidgetState:
    return WidgetState(id=widget_id, trigger_value=True)


def row_selection(widget_id: str, rows: list[int]) -> WidgetState:
    """A dataframe's selection as the grid reports it (`useWidgetState.createSyncSelectionState`):
    JSON with sorted row positions, no columns, no cells, written without spaces (JSON.stringify)."""
    payload = {"selection": {"rows": sorted(rows), "columns": [], "cells": []}}
    return string(widget_id, json.dumps(payload, separators=(",", ":"), ensure_ascii=False))
