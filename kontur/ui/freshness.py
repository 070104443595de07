"""The freshness line in the sidebar of every page: when the data was last known up to date, and a
warning when that is longer ago than `stale_after` or the last sync failed, with the reason in plain
words. While a sync someone waits for runs (the first fill of an empty cache, a press of
«Синхронизировать») it shows that sync's progress instead, and reruns the app when it ends.

It reads the cache through `kontur.queries.sync_health.freshness` (cached until the data version
changes: every sync and Kafka batch bumps it) and the process's live schedule (`Runtime.sync.status()`,
the consumer's `status()`). Text from errors is shown through `kontur.ui.safe.md`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from kontur import ui
from kontur.queries import sync_health
from kontur.runtime import Runtime
from kontur.ui.safe import md

# Seconds between refreshes of the line (its age ticks; nothing is fetched but a cached read), and
# while a sync someone waits for runs.
TICK = 60.0
TICK_RUNNING = 1.0
_RAN_KEY = "_freshness_sync_was_shown"

# An error's class (as `kontur.sync` and the Kafka consumer record it: "Class: message") -> what it
# means for the manager. Anything else is shown as recorded, escaped.
REASONS: dict[str, str] = {
    "UnavailableError": "Брусника не отвечает (ошибка сервера или сети)",
    "AuthError": "Брусника не приняла ключ доступа",
    "RateLimitedError": "Брусника просит реже обращаться к ней",
    "RejectedShareExceeded": "слишком много записей с ошибками — данные не применены",
    "KafkaFedCacheError": "полная синхронизация не разрешена: кэш наполняется из Kafka",
    "KafkaException": "брокер Kafka недоступен",
    "CacheLockedError": "файл кэша занят другим процессом",
    "LoadError": "Брусника прислала данные, которые нельзя прочитать",
}


def reason_in_words(error: str | None) -> str:
    if not error:
        return "причина не записана"
    name, _, rest = error.partition(":")
    words = REASONS.get(name.strip())
    if words is not None:
        return words
    if "interrupted" in error:
        return "процесс синхронизации был прерван"
    return error if not rest else f"{name.strip()}: {rest.strip()}"


def age_words(seconds: float | None) -> str:
    if seconds is None:
        return "никогда"
    if seconds < 60:
        return "только что"
    return f"{ui.fmt_age(seconds)} назад"


def sidebar(rt: Runtime) -> None:
    """Draw the line in the sidebar (call it inside `with st.sidebar:`)."""
    shown = rt.sync.running and rt.sync.progress.shown
    st.fragment(_line, run_every=TICK_RUNNING if shown or st.session_state.get(_RAN_KEY) else TICK)(rt)


def _line(rt: Runtime) -> None:
    progress = rt.sync.progress
    if rt.sync.running and progress.shown:
        st.progress(progress.fraction, text=md(f"Синхронизация: {progress.message}"))
        st.session_state[_RAN_KEY] = True
        return
    if st.session_state.pop(_RAN_KEY, False):
        # The sync someone waited for has ended: rerun the whole app so the page shows the new data.
        st.rerun(scope="app")
    level, text = describe(rt)
    if level == "ok":
        st.caption(text)
    else:
        st.warning(text, icon=":material/schedule:" if level == "stale" else ":material/sync_problem:")


def describe(rt: Runtime) -> tuple[str, str]:
    """(level, markdown-safe text): level ok | stale | failed."""
    f = ui.read(sync_health.freshness)
    now = datetime.now(UTC)
    age = f.age_seconds(now)
    via = " (Kafka)" if f.via == "kafka" else ""
    schedule = rt.sync.status()
    error = f.error if f.failed_at is not None and (f.fresh_at is None or f.failed_at > f.fresh_at) else None
    consumer = rt.kafka.status() if rt.kafka is not None else None
    if consumer is not None and consumer.state == "restarting":
        error = consumer.error or error
    if error is not None:
        retry = ""
        if consumer is not None and consumer.restart_at is not None:
            retry = f" Перезапуск через {ui.fmt_age(max(0.0, consumer.restart_at - now.timestamp()))}."
        elif schedule.next_trigger == "retry" and schedule.next_at is not None:
            retry = f" Повтор через {ui.fmt_age(max(0.0, schedule.next_at - now.timestamp()))}."
        return "failed", (
            f"**Данные обновлены {md(age_words(age))}{md(via)}.** Последняя синхронизация не удалась: "
            f"{md(reason_in_words(error))}.{md(retry)}"
        )
    if f.stale(now, rt.settings.stale_after):
        if age is None:
            return "stale", "**Данных ещё нет:** синхронизация с Брусникой ещё не прошла."
        return "stale", f"**Данные устарели:** обновлены {md(age_words(age))}{md(via)}."
    return "ok", f"Данные обновлены {md(age_words(age))}{md(via)}"
