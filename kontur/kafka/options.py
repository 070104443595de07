"""What a consumer session is told (`ConsumeOptions`), what it reports (`ConsumeStats`, `BatchResult`),
the librdkafka configuration, and the two helpers its threads share to hand work over."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from kontur.load import EntityCounts

if TYPE_CHECKING:
    from kontur.config import Settings

Partition = tuple[str, int]
_T = TypeVar("_T")


@dataclass(frozen=True)
class ConsumeOptions:
    # Messages applied in one transaction at most, and the bytes of their values: big batches pay
    # the per-statement and per-commit costs less often (the checks' SQL alone costs ~8 ms per
    # statement), while the byte bound keeps memory flat whatever the record size (up to three
    # batches are alive: one being fetched, one queued, one being applied).
    batch_max: int = 150_000
    batch_bytes: int = 64 * 1024 * 1024
    linger: float = 0.5  # seconds a batch waits for more messages before it is applied
    metadata_every: float = 30.0  # seconds between looks for new topics / partitions
    # Seconds between offset commits to the consumer group once caught up, and while catching up on
    # a backlog; always at the end of the session. The cache's own `kafka_offsets`, written in each
    # batch's transaction, is where a restart resumes: the group's offsets serve lag tooling, so they
    # need not follow every batch, and a catch-up is not slowed by commits. A commit is cheap on Kafka
    # but not on every broker: noida-db (the test broker) rewrites its whole data file, a core for
    # ~6 s at scale 1.
    commit_every: float = 5.0
    commit_every_backlog: float = 60.0
    watermarks_every: float = 5.0  # seconds between lag refreshes while idle
    # How long one metadata request may wait for a broker before the session fails (the dashboard's
    # supervisor then restarts it with backoff, kontur.kafka.background).
    metadata_timeout: float = 30.0
    until_caught_up: bool = False  # stop once every partition is read to its end
    max_messages: int | None = None  # stop after about this many messages (tests, benchmarks)


@dataclass
class BatchResult:
    messages: int
    rejected_by_transport: int
    counts: dict[str, EntityCounts]
    offsets: dict[Partition, int]


@dataclass
class ConsumeStats:
    run_id: int = 0
    batches: int = 0
    messages: int = 0
    loaded: int = 0
    deleted: int = 0
    rejected: int = 0
    ignored_older: int = 0
    seconds: float = 0.0
    stopped_by: str = ""  # signal | caught up | max messages | stop requested | error
    error: str | None = None
    # Every assigned partition was read to its end as of the last batch applied (or idle fetch).
    caught_up: bool = False
    last_batch_at: float | None = None  # time.time() of the last batch committed
    partitions: int = 0  # partitions assigned
    # Partitions paused at their end at least once (see fetcher.Fetcher.pause_ended).
    paused_partitions: int = 0

    def add(self, batch: BatchResult) -> None:
        self.batches += 1
        self.messages += batch.messages
        for c in batch.counts.values():
            self.loaded += c.loaded
            self.deleted += c.deleted
            self.rejected += c.rejected
            self.ignored_older += c.ignored_older


BatchCallback = Callable[[BatchResult], None]


def consumer_config(settings: Settings, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """librdkafka settings: the connection (bootstrap, group, SASL/TLS) from Settings, then ours.
    Holds the SASL password in clear: never log it."""
    config: dict[str, Any] = dict(settings.kafka_client_config())
    config.update(
        {
            # Offsets are committed by hand, after the cache transaction: never by the client.
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            # Tells us when a partition is read to its end (--until-caught-up, lag display).
            "enable.partition.eof": True,
            "client.id": "kontur-consume",
            # Big fetches: the loop applies tens of thousands of small records per transaction.
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "queued.max.messages.kbytes": 256 * 1024,
            # Some Kafka-protocol brokers (noida-db, our test broker) ignore the fetch size limits and
            # answer with a whole partition (~180 MB of leads at scale 1), which librdkafka refuses
            # above this cap (default 100 MB) and then retries forever. A cap, not an allocation.
            "receive.message.max.bytes": 1_000_000_000,
        }
    )
    config.update(overrides or {})
    return config


# --- between threads ---------------------------------------------------------------------------
def take(thread: threading.Thread, out: queue.Queue[_T | BaseException], timeout: float) -> _T | None:
    """The next item `thread` handed over on `out` (None if none came within `timeout`); an exception
    it handed over is raised here, in the taking thread; an error if it stopped without one."""
    try:
        item = out.get(timeout=timeout)
    except queue.Empty:
        if not thread.is_alive() and out.empty():
            raise RuntimeError(f"the Kafka thread {thread.name} stopped") from None
        return None
    if isinstance(item, BaseException):
        raise item
    return item


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
