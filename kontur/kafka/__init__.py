"""Kafka ingestion: Brusnika's seven topics (contract section 6) feeding the same cache load path as
the REST sync (`kontur.load`), at least once, nothing lost.

- `topics`: topic names and the entity each one carries.
- `messages`: one Kafka message -> one list item (or a reason to keep it aside).
- `progress`: the `kafka_offsets` table (what the cache has applied, per partition) and recorded lag.
- `consumer`: the consume loop, `kontur consume`, clean shutdown on SIGTERM/SIGINT.
- `background`: the same loop in a daemon thread of the dashboard process (the cache's one writer).
- `lag`: live consumer lag per topic asked from the broker (high watermark - committed).
"""
