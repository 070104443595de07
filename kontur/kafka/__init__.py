"""Kafka ingestion: Brusnika's seven topics (contract section 6) feeding the same cache load path as
the REST sync (`kontur.load`), at least once, nothing lost.

- `topics`: topic names and the entity each one carries.
- `messages`: one Kafka message -> one list item (or a reason to keep it aside).
- `options`: `ConsumeOptions`, `ConsumeStats`, `BatchResult`, the librdkafka configuration.
- `ingest`: `KafkaIngest`, one consumer session: the applying thread, one transaction per batch.
- `fetcher`: the fetch thread (librdkafka: assign, consume, pause at the end, group commits).
- `stager`: the stage thread (parses the next batch while the current one is applied).
- `progress`: the `kafka_offsets` table (what the cache has applied, per partition).
- `cli`: `kontur consume`, clean shutdown on SIGTERM/SIGINT.
- `background`: the loop in a daemon thread of the dashboard process (the cache's one writer),
  restarted with backoff after an error.
- `lag`: live consumer lag per topic asked from the broker (high watermark - committed).
"""
