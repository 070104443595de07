"""Синхронизация: per entity rows and freshness, the schedule, run history, rejected records, the
Kafka consumer with its restarts, and «Синхронизировать» (`Runtime.sync.run_now()`)."""

from __future__ import annotations

import time

import streamlit as st

from kontur import labels, ui
from kontur.auth import session as auth_session
from kontur.queries import sync_health
from kontur.ui import freshness
from kontur.ui.safe import md

# Counts in the manager's browser locale («12 932» in a Russian one).
LOCALIZED = st.column_config.NumberColumn(format="localized")
auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.title("Синхронизация")
rt = ui.runtime()


@auth_session.gated  # a fragment rerun skips app.py: the gate runs here before the button acts
def progress_panel() -> None:
    """The button and, while a sync runs, its progress."""
    if (
        st.button(
            "Синхронизировать",
            type="primary",
            icon=":material/sync:",
            disabled=rt.sync.running,
            key="sh_sync_now",
        )
        and rt.sync.run_now()
    ):
        st.rerun(scope="app")  # so the panel below polls once a second while the sync runs
    progress = rt.sync.progress
    if rt.sync.running:
        st.session_state["_sh_running"] = True
        st.progress(progress.fraction, text=f"Синхронизация: {progress.message}")
    elif st.session_state.pop("_sh_running", False):
        # Finished while we watched: rerun the whole app so every table below is fresh.
        st.rerun(scope="app")
    elif progress.state == "failed":
        st.error(
            f"Последняя синхронизация не удалась: {md(freshness.reason_in_words(progress.message))}",
            icon=":material/error:",
        )
    elif progress.state == "done":
        st.success("Синхронизация завершена.", icon=":material/check_circle:")
    st.caption(schedule_line())


def schedule_line() -> str:
    status = rt.sync.status()
    if not status.automatic:
        return "Автоматическая синхронизация выключена (KONTUR\\_AUTO\\_SYNC=0): только по кнопке."
    parts = []
    if status.interval > 0:
        parts.append(f"каждые {ui.fmt_age(status.interval)}")
    if status.next_at is not None:
        wait = ui.fmt_age(max(0.0, status.next_at - time.time()))
        parts.append(f"следующая ({labels.TRIGGER.get(status.next_trigger or '', '')}) через {wait}")
    if status.failures:
        parts.append(f"ошибок подряд: {status.failures}")
    return md("Синхронизация по расписанию: " + (", ".join(parts) or "нет запланированных"))


# Polls once a second only while a sync runs; idle, a slow tick keeps the schedule line current
# without rerunning every open sync page each second.
st.fragment(progress_panel, run_every=1.0 if rt.sync.running else 15.0)()


@st.fragment(run_every=2.0)
def kafka_panel() -> None:
    """The background Kafka consumer (when KAFKA_BOOTSTRAP_SERVERS is set): its state, what it has
    applied since the dashboard started, and the lag it recorded. Polls every 2 s; the lag table is
    a cached read keyed by the data version, which every committed batch bumps."""
    consumer = rt.kafka
    assert consumer is not None
    status = consumer.status()
    lag = ui.read(sync_health.kafka_lag, consumer.group_id)
    st.subheader("Kafka")
    k = st.columns(4)
    k[0].metric("Потребитель", labels.KAFKA_STATE.get(status.state, status.state), border=True)
    k[1].metric("Отставание, сообщений", ui.fmt_int(int(lag["lag"].sum())) if not lag.empty else "—",
                border=True, help="Конец топиков минус применённое в кэш, по последнему пакету")  # fmt: skip
    k[2].metric("Сообщений с запуска", ui.fmt_int(status.messages), border=True)
    k[3].metric(
        "Последний пакет",
        ui.fmt_age(time.time() - status.last_batch_at) + " назад" if status.last_batch_at else "—",
        border=True,
    )
    if status.state == "restarting" and status.error:
        wait = ui.fmt_age(max(0.0, (status.restart_at or time.time()) - time.time()))
        st.error(
            f"Потребитель Kafka остановился: {md(freshness.reason_in_words(status.error))}. "
            f"Перезапуск через {md(wait)}.",
            icon=":material/error:",
        )
    if status.restarts:
        st.caption(md(f"Перезапусков после ошибок с запуска дашборда: {status.restarts}"))


if rt.kafka is not None:  # no 2-second reruns on a dashboard without Kafka
    kafka_panel()

table = ui.read(sync_health.entities)
runs = ui.read(sync_health.runs)
if table.empty or "last_success_at" not in table:
    st.warning("Кэш ещё не создан или не размечен: запустите синхронизацию.", icon=":material/database:")
    st.stop()

last = runs.iloc[0] if not runs.empty else None
k = st.columns(4)
k[0].metric("Строк в кэше", ui.fmt_int(int(table["rows"].sum())), border=True)
k[1].metric(
    "Последний запуск",
    labels.RUN_STATUS.get(str(last["status"]), str(last["status"])) if last is not None else "—",
    border=True,
)
freshest = table["age_seconds"].dropna()
k[2].metric(
    "Свежесть",
    ui.fmt_age(float(freshest.max())) if not freshest.empty else "нет данных",
    border=True,
    help="Возраст самой старой из успешных синхронизаций по сущностям",
)
k[3].metric("Отклонённых записей", ui.fmt_int(ui.read(sync_health.rejected_count)), border=True)

st.subheader("По сущностям")
st.dataframe(
    {
        "Сущность": [labels.ENTITY.get(e, e) for e in table["entity"]],
        "Строк": table["rows"],
        "Последняя успешная": table["last_success_at"],
        "Свежесть": [ui.fmt_age(a) for a in table["age_seconds"]],
        "Последний запуск": [
            labels.RUN_STATUS.get(s, "—") if isinstance(s, str) else "—" for s in table["last_status"]
        ],
        "Загружено": table["last_loaded"],
        "Отклонено": table["last_rejected"],
    },
    hide_index=True,
    column_config={
        "Последняя успешная": st.column_config.DatetimeColumn(format="DD.MM.YYYY HH:mm:ss"),
        **{c: LOCALIZED for c in ("Строк", "Загружено", "Отклонено")},
    },
    key="sh_entities",
)

# Kafka transport: lag per topic as the consumer recorded it (high watermark - committed offset).
kafka_lag = ui.read(sync_health.kafka_lag)
if not kafka_lag.empty:
    st.subheader("Kafka: отставание по топикам")
    st.dataframe(
        {
            "Группа": kafka_lag["group_id"],
            "Топик": kafka_lag["topic"],
            "Сущность": [labels.ENTITY.get(e, e) for e in kafka_lag["entity"]],
            "Разделов": kafka_lag["partitions"],
            "Применено": kafka_lag["applied"],
            "Конец топика": kafka_lag["high_watermark"],
            "Отставание": kafka_lag["lag"],
            "Обновлено": kafka_lag["updated_at"],
        },
        hide_index=True,
        column_config={"Обновлено": st.column_config.DatetimeColumn(format="DD.MM.YYYY HH:mm:ss")},
        key="sh_kafka_lag",
    )

st.subheader("История запусков")
if runs.empty:
    st.info("Синхронизаций ещё не было.", icon=":material/history:")
else:
    st.dataframe(
        {
            "№": runs["id"],
            "Канал": runs["transport"].map({"rest": "REST", "kafka": "Kafka"}).fillna(runs["transport"]),
            "Режим": runs["mode"]
            .map({"full": "полная", "incremental": "инкрементальная"})
            .fillna(runs["mode"]),
            "Причина запуска": runs["trigger"].map(labels.TRIGGER).fillna("—"),
            "Статус": runs["status"].map(labels.RUN_STATUS).fillna(runs["status"]),
            "Начало": runs["started_at"],
            "Длительность, с": runs["seconds"],
            "Загружено": runs["loaded"],
            "Удалено": runs["deleted"],
            "Отклонено": runs["rejected"],
            "Ошибка": runs["error"].fillna("—"),
            "Примечание": runs["note"].fillna("—"),
        },
        hide_index=True,
        column_config={
            "Начало": st.column_config.DatetimeColumn(format="DD.MM.YYYY HH:mm:ss"),
            "Длительность, с": st.column_config.NumberColumn(format="localized"),
            **{c: LOCALIZED for c in ("Загружено", "Удалено", "Отклонено")},
        },
        key="sh_runs",
    )

restarts = ui.read(sync_health.consumer_restarts)
if not restarts.empty:
    st.subheader("Перезапуски потребителя Kafka")
    st.dataframe(
        {
            "Когда": restarts["at"],
            "Группа": restarts["group_id"],
            "Причина": [freshness.reason_in_words(e) for e in restarts["error"]],
            "Ошибка": restarts["error"],
            "Попытка": restarts["attempt"],
            "Пауза, с": restarts["delay_seconds"],
        },
        hide_index=True,
        column_config={
            "Когда": st.column_config.DatetimeColumn(format="DD.MM.YYYY HH:mm:ss"),
            "Пауза, с": st.column_config.NumberColumn(format="%.1f"),
        },
        key="sh_restarts",
    )

st.subheader("Отклонённые записи")
rejected = ui.read(sync_health.rejected)
if rejected.empty:
    st.success("Отклонённых записей нет.", icon=":material/verified:")
else:
    st.dataframe(
        {
            "Когда": rejected["at"],
            "Сущность": [labels.ENTITY.get(e, e) for e in rejected["entity"]],
            "ID записи": rejected["record_id"],
            "Причина": rejected["reason"],
            "Источник": rejected["source"],
            "Запись": rejected["raw"],
        },
        hide_index=True,
        column_config={"Когда": st.column_config.DatetimeColumn(format="DD.MM.YYYY HH:mm:ss")},
        key="sh_rejected",
    )
