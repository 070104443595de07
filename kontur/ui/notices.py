"""What a page says instead of its content: an empty cache, no matching records, no access."""

from __future__ import annotations

import streamlit as st

from kontur.queries import scope

from .process import runtime
from .reads import read


def stop_if_cache_empty() -> None:
    """Every page starts here: an empty cache gets a clear message (and a way out), not a traceback."""
    if read(scope.premises_count) > 0 or read(scope.leads_count) > 0:
        return
    rt = runtime()
    if rt.sync.running:
        st.info(
            "Идёт первая синхронизация с Брусникой — данные появятся через несколько секунд.",
            icon=":material/sync:",
        )
    else:
        st.warning(
            "Кэш пуст: данных Брусники ещё нет. Запустите синхронизацию на странице «Синхронизация».",
            icon=":material/database:",
        )
    st.stop()


def no_results(what: str = "помещений") -> None:
    st.info(
        f"Нет {what}, подходящих под выбранные фильтры. Ослабьте фильтры или выберите другой объект.",
        icon=":material/filter_alt_off:",
    )


def no_access(what: str) -> None:
    """The reader's role reaches no record of this kind (or nobody is acting): say so and stop."""
    st.warning(f"Нет доступа: {what} вашей роли не видны.", icon=":material/lock:")
    st.stop()
