"""The download buttons pages draw: none reruns the page when clicked (a rerun's start clears the
browser's message queue, dropping the deferred file's answer, or revokes the file the click asked for)."""

from __future__ import annotations

import ast
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "kontur").rglob("*.py"))]


def _csv_page() -> None:
    import pandas as pd

    from kontur.ui import tables

    tables.download_csv(pd.DataFrame({"№": [1, 2], "Кто": ["Петров", "Иванов"]}), "t.csv", key="t")


def test_a_csv_download_is_deferred_and_does_not_rerun() -> None:
    at = AppTest.from_function(_csv_page).run()
    assert not at.exception
    (button,) = at.get("download_button")
    assert button.proto.label == "Скачать CSV"
    assert button.proto.ignore_rerun
    assert button.proto.deferred_file_id  # the CSV is made on click, not on every run
    assert not button.proto.url


def test_every_download_button_in_the_product_ignores_its_click() -> None:
    calls = []
    for path in PRODUCT:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "download_button":
                on_click = next((k.value for k in node.keywords if k.arg == "on_click"), None)
                ignored = isinstance(on_click, ast.Constant) and on_click.value == "ignore"
                calls.append((path.relative_to(ROOT).as_posix(), node.lineno, ignored))
    assert calls, "no download button found: the check would pass vacuously"
    assert [c for c in calls if not c[2]] == [], calls
    # one place draws them (kontur.ui.tables.download), so the rule is kept by construction
    assert {c[0] for c in calls} == {"kontur/ui/tables.py"}, calls
