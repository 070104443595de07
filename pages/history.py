"""История действий: every outbound action taken here, who did it and how it ended."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kontur import actions
from kontur.forms import page as fp

st.header("История действий")
rows = actions.recent(fp.connection(), limit=500)
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
