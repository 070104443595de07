"""История действий: the outbound actions taken here that the acting user may see (their agency's for
agents and heads of agency, everything for managers and administrators), who did them and how they
ended."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kontur import actions
from kontur.forms import history
from kontur.forms import page as fp

st.header("История действий")
actor = fp.actor_picker()
shown, rows = history.rows(fp.connection(), actor, limit=500)
st.caption(shown.caption)
if not rows:
    st.info("Действий пока не было.")
    st.stop()
table = pd.DataFrame(
    [
        {
            "Когда": row["at"],
            "Кто": row["actor"] or "—",
            "Действие": actions.ACTION_LABELS.get(row["action"], row["action"]),
            "Итог": actions.OUTCOME_LABELS.get(row["outcome"], row["outcome"]),
            "№ в Брусника": row["brusnika_id"],
            "Причина": row["error"] or "",
            "Запрос": row["request"],
        }
        for row in rows
    ]
)
st.dataframe(table, hide_index=True, use_container_width=True)
