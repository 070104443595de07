"""The forward-message cache of bench/_proto_session.py, as the frontend keeps it
(`frontend/connection/src/ForwardMessageCache.ts`).

The server marks big `new_element` deltas cacheable; the browser keeps them by hash, sends the
hashes back with every rerun request, and the server then sends a short `ref_hash` message in place
of a message the browser already has. An entry ages by one with every finished script run that did
not use it (a fragment run ages only that fragment's entries) and goes once older than the server's
`max_cached_message_age`. Kept the same way here, so the server sends what it sends a browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


@dataclass
class Entry:
    data: bytes  # the message as received (decoded again on every hit, as the frontend does)
    used: int  # the run count when it last arrived or was referred to
    fragment: str  # the fragment that sent it ("" outside fragments)


@dataclass
class MessageCache:
    entries: dict[str, Entry] = field(default_factory=dict)
    runs: int = 0  # finished script runs so far

    def hashes(self) -> list[str]:
        return list(self.entries)

    def put(self, msg: ForwardMsg, data: bytes) -> None:
        """Keep a cacheable message (one already kept only counts as used)."""
        entry = self.entries.get(msg.hash)
        if entry is not None:
            entry.used = self.runs
        else:
            self.entries[msg.hash] = Entry(data, self.runs, msg.delta.fragment_id)

    def get(self, hash_: str) -> ForwardMsg | None:
        """The message a `ref_hash` refers to, or None when it is not kept (a miss is a bug)."""
        entry = self.entries.get(hash_)
        if entry is None:
            return None
        entry.used = self.runs
        return ForwardMsg.FromString(entry.data)

    def age(self, fragments: tuple[str, ...], max_age: int) -> None:
        """After a finished run: count it, and drop what has not been used for `max_age` runs."""
        self.runs += 1
        for hash_, entry in list(self.entries.items()):
            if fragments and entry.fragment not in fragments:
                continue  # a fragment run ages only that fragment's messages
            if self.runs - entry.used > max_age:
                del self.entries[hash_]
