"""The page a bench/_proto_session.py session shows: its elements by delta path, as the frontend's
`AppRoot` keeps them.

Every delta names its place (`ForwardMsgMetadata.delta_path`: root container, then the index in each
block down). A node remembers the run that last wrote it, the fragment that drew it and the script
(app.py or the page) it came from, which is what the frontend needs to drop stale nodes when a run
finishes (a fragment run only within its fragments) and a page's nodes when the page changes.
Widgets are found by type and label, tables by a column's label, as a person finds them on screen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.state.common import user_key_from_element_id

MAIN, SIDEBAR = 0, 1  # RootContainer: the first number of every delta path


@dataclass
class Node:
    """One element or block of the page, as the last run that wrote it left it."""

    path: tuple[int, ...]
    kind: str  # the element's type ("selectbox", "heading", …) or "block"
    proto: Any  # the element's own message (Selectbox, Heading, …) or the Block
    run: str  # the script run that wrote it: older than the last finished run means stale
    fragment: str  # the fragment that drew it ("" outside fragments): a rerun of it goes there
    script: str  # app.py's script hash (kept across pages) or the page's

    @property
    def key(self) -> str | None:
        """The author's `key=` of a keyed widget or container."""
        element_id = getattr(self.proto, "id", "")
        return user_key_from_element_id(element_id) if element_id else None


@dataclass
class Page:
    nodes: dict[tuple[int, ...], Node] = field(default_factory=dict)

    def apply(self, msg: ForwardMsg, run: str) -> tuple[str, Any] | None:
        """Put a delta in its place; returns (element type, its message) of a new element (the
        session seeds widget states from it), None for blocks and transient elements."""
        delta, path = msg.delta, tuple(msg.metadata.delta_path)
        kind = delta.WhichOneof("type")
        if kind == "new_element":
            element_kind = delta.new_element.WhichOneof("type") or ""
            proto: Any = getattr(delta.new_element, element_kind) if element_kind else None
            placed = (element_kind, proto)
        elif kind == "add_block":
            element_kind, proto, placed = "block", delta.add_block, None
        else:
            return None  # transient elements (spinners, toasts) have no place in the tree
        if path:
            script = msg.metadata.active_script_hash
            self.nodes[path] = Node(path, element_kind, proto, run, delta.fragment_id, script)
        return placed

    def keep_script(self, script: str) -> None:
        """Another page is shown: only the nodes app.py drew stay (`AppNavigation.clearPageElements`)."""
        self.nodes = {p: n for p, n in self.nodes.items() if n.script == script}

    def clear_stale(self, run: str, fragments: tuple[str, ...]) -> set[str]:
        """After run `run` finished: drop what it did not write (a fragment run: only within its
        fragments). Returns the ids of the elements left (widgets not shown lose their state)."""
        self.nodes = {
            p: n for p, n in self.nodes.items() if n.run == run or (fragments and n.fragment not in fragments)
        }
        return {getattr(n.proto, "id", "") for n in self.nodes.values()}

    def elements(self, kind: str, *, root: int | None = None) -> list[Node]:
        return [
            n
            for path, n in sorted(self.nodes.items())
            if n.kind == kind and (root is None or path[0] == root)
        ]

    def widget(self, kind: str, label: str, *, sidebar: bool = False) -> Node:
        for node in self.elements(kind, root=SIDEBAR if sidebar else MAIN):
            if getattr(node.proto, "label", None) == label:
                return node
        raise LookupError(f"no {kind} «{label}» in the {'sidebar' if sidebar else 'main area'}")

    def table(self, column: str) -> Node:
        """The dataframe showing a column labelled `column` (a grid has no label of its own; its
        column configuration, JSON, names the columns)."""
        for node in self.elements("dataframe"):
            if column in json.loads(node.proto.columns or "{}"):
                return node
        raise LookupError(f"no table with a column «{column}»")

    def headings(self) -> set[str]:
        return {n.proto.body for n in self.elements("heading", root=MAIN)}

    def exceptions(self) -> list[str]:
        return [
            f"exception on the page: {n.proto.type}: {n.proto.message}" for n in self.elements("exception")
        ]
