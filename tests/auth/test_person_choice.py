"""The person choice (search box over a short list): what it offers and that a pick sticks, in real
Streamlit (AppTest) with a directory far over the list's size."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from kontur.auth.person_choice import SHOWN, count_matches, matches

PEOPLE = {i: f"Фамилия{i:04d} Имя{i % 7} (AGENT)" for i in range(1, 1201)}


def test_matches_every_word_in_any_case_in_directory_order() -> None:
    labels = {1: "Иванов Пётр (AGENT)", 2: "Петрова Анна (MANAGER)", 3: "Иванова Анна (AGENT)"}
    assert matches(labels, "иван") == [1, 3]
    assert matches(labels, "анна ИВАН") == [3]
    assert matches(labels, "  ") == [1, 2, 3]
    assert matches(labels, "сидоров") == []
    assert count_matches(labels, "анна") == 2
    assert count_matches(labels, "") == 3


def test_the_current_choice_leads_once_and_the_list_is_capped() -> None:
    found = matches(PEOPLE, "", first=[900, 900, 99_999])
    assert found[0] == 900
    assert found.count(900) == 1
    assert 99_999 not in found  # not in the directory: never offered
    assert len(found) == 1 + SHOWN
    assert found[1:] == [i for i in PEOPLE if i != 900][:SHOWN]
    # kept ahead even when the search does not match it: the box must still show who is chosen
    assert matches(PEOPLE, "Фамилия0777", first=[900]) == [900, 777]


def _app() -> None:
    import streamlit as st

    from kontur.auth.person_choice import person_choice

    people = {i: f"Фамилия{i:04d} Имя{i % 7} (AGENT)" for i in range(1, 1201)}
    st.session_state.setdefault("who", 1)

    def remember() -> None:
        st.session_state["chosen"] = st.session_state["who"]

    person_choice(
        "Кто", people, key="who", first=[st.session_state["who"]], on_change=remember, search_label="Найти"
    )
    st.write(f"выбран {st.session_state['who']}")


def test_a_person_far_down_the_directory_is_found_and_picked() -> None:
    at = AppTest.from_function(_app, default_timeout=30)
    at.run()
    box = at.selectbox(key="who")
    assert len(box.options) == 1 + SHOWN  # not 1,200 labels on every run
    assert "Фамилия1150 Имя2 (AGENT)" not in box.options
    assert any("уточните поиск" in c.value for c in at.caption)

    at.text_input(key="who_search").input("фамилия1150").run()
    box = at.selectbox(key="who")
    assert box.options == ["Фамилия0001 Имя1 (AGENT)", "Фамилия1150 Имя2 (AGENT)"]
    box.select(1150).run()
    assert at.session_state["chosen"] == 1150
    assert at.markdown[-1].value == "выбран 1150"

    at.text_input(key="who_search").input("никого такого").run()
    assert at.selectbox(key="who").options == ["Фамилия1150 Имя2 (AGENT)"]  # the choice stays shown
    assert any("Никого не нашлось" in c.value for c in at.caption)
