"""`kontur users add | import | list` as a subprocess (`python -m kontur users …`) against a real store
of each backend, and `--push` against the real sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from kontur.models import UserRole, UserStatus
from kontur.sandbox.server import RunningSandbox
from kontur.store import audit, users
from kontur.store.db import Store
from kontur.store.schema import actions
from tests.support.postgres import free_port

REPO = Path(__file__).resolve().parents[2]
# Far above the sandbox's generated directory, and not agents: other folders' tests pick agents from
# the shared sandbox's directory.
PUSH_IDS = range(990_001, 990_010)


def run(
    args: list[str], url: str, cwd: Path, *, api: RunningSandbox | None = None, token: str | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRUSNIKA_", "KONTUR_"))}
    env.update(KONTUR_DATABASE_URL=url, PYTHONPATH=str(REPO))
    if api is not None:
        env.update(BRUSNIKA_API_URL=api.api_url, BRUSNIKA_API_TOKEN=token or api.token)
    return subprocess.run(
        [sys.executable, "-m", "kontur", "users", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def stored(url: str) -> dict[int, users.StoredUser]:
    with Store.open(url) as store, store.read() as tx:
        return {s.user.id: s for s in users.list_users(tx)}


def audit_rows(url: str) -> list[audit.ActionRow]:
    with Store.open(url) as store, store.read() as tx:
        return list(reversed(audit.list_actions(tx, involving=None, limit=1000).rows))


ADMIN = [
    "--id",
    "1",
    "--email",
    " Admin@Kontur.example ",
    "--last-name",
    "Иванов",
    "--first-name",
    "Иван",
    "--role",
    "admin",
]


def test_add_bootstraps_an_admin_and_is_idempotent(store_url: str, tmp_path: Path) -> None:
    first = run(
        [
            "add",
            *ADMIN,
            "--phone",
            "8 (912) 345-67-89",
            "--agency-id",
            "10",
            "--limit",
            "3",
            "--birth-date",
            "17.05.1990",
            "--avatar",
            "https://cdn.example/i.png",
        ],
        store_url,
        tmp_path,
    )
    assert first.returncode == 0, first.stderr
    assert "created   #1 Иванов Иван <Admin@Kontur.example> ADMIN active" in first.stdout
    admin = stored(store_url)[1]
    assert admin.user.role is UserRole.ADMIN
    assert admin.user.status is UserStatus.ACTIVE
    assert (admin.user.email, admin.user.phone, admin.user.agency_id) == (
        "Admin@Kontur.example",
        "+79123456789",
        10,
    )
    assert admin.user.remaining_user_creation_limit == 3
    assert admin.user.birth_date is not None
    assert admin.user.birth_date.isoformat() == "1990-05-17"
    assert admin.updated_by is not None
    assert admin.updated_by.startswith("cli: ")
    assert admin.pushed_at is None

    again = run(["add", *ADMIN], store_url, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "unchanged #1" in again.stdout

    blocked = run(["add", *ADMIN, "--status", "blocked"], store_url, tmp_path)
    assert blocked.returncode == 0, blocked.stderr
    assert "changed   #1" in blocked.stdout
    after = stored(store_url)[1]
    assert after.user.status is UserStatus.BLOCKED
    assert after.user.phone == "+79123456789"  # not given: kept
    assert after.user.remaining_user_creation_limit == 3
    assert [(r.action, r.message) for r in audit_rows(store_url)] == [
        ("save_user", "создан"),
        ("save_user", "изменён"),
    ]


def test_add_refuses_bad_values_with_every_reason_and_writes_nothing(store_url: str, tmp_path: Path) -> None:
    result = run(
        [
            "add",
            "--id",
            "0",
            "--email",
            "no-at-sign",
            "--last-name",
            " ",
            "--first-name",
            "Иван",
            "--role",
            "GOD",
            "--phone",
            "12345",
            "--status",
            "frozen",
            "--limit",
            "-1",
        ],
        store_url,
        tmp_path,
    )
    assert result.returncode == 1
    for reason in (
        "id must be a positive whole number, not '0'",
        "bad email 'no-at-sign'",
        "missing last name",
        "unknown role 'GOD'",
        "invalid phone '12345'",
        "unknown status 'frozen'",
        "limit must be a whole number 0 or more, not '-1'",
    ):
        assert reason in result.stdout
    assert "0 created, 0 changed, 0 unchanged, 1 refused" in result.stdout
    assert stored(store_url) == {}
    assert audit_rows(store_url) == []


def test_add_refuses_an_email_another_user_holds(store_url: str, tmp_path: Path) -> None:
    assert run(["add", *ADMIN], store_url, tmp_path).returncode == 0
    clash = run(
        [
            "add",
            "--id",
            "2",
            "--email",
            "admin@kontur.example",
            "--last-name",
            "Петров",
            "--first-name",
            "Пётр",
            "--role",
            "MANAGER",
        ],
        store_url,
        tmp_path,
    )
    assert clash.returncode == 1
    assert "email admin@kontur.example already belongs to user #1" in clash.stdout
    assert set(stored(store_url)) == {1}


GOOD_AND_BAD = """\ufeffid;email;lastName;firstName;role;phone;agency_id;limit;status;birthDate
3;a3@kontur.example;Петров;Пётр;AGENT;+7 912 000-00-03;10;5;active;1991-01-02
4;a4@kontur.example;Сидоров;Сидор;HEAD_OF_AGENCY;;10;;;
5;a5@kontur.example;Дубль;Один;AGENT;;;;;
5;a5b@kontur.example;Дубль;Два;AGENT;;;;;
6;admin@kontur.example;Чужая;Почта;AGENT;;;;;
7;a7@kontur.example;;Без фамилии;AGENT;;;;;
x;a8@kontur.example;Плохой;Ид;AGENT;;;;;
9;a9@kontur.example;Плохой;Статус;AGENT;;;;frozen;
11;a11;Плохая;Почта;AGENT;;;;;
12;a12@kontur.example;Плохая;Роль;BOSS;;;;;
13;a13@kontur.example;Плохой;Телефон;AGENT;+1 555 0100;;;;
14;A14@kontur.example;Дубль;Почты1;AGENT;;;;;
15;a14@KONTUR.example;Дубль;Почты2;AGENT;;;;;
16;a16@kontur.example;Плохая;Дата;AGENT;;;;;31.02.1990
17;a17@kontur.example;Лишняя;Ячейка;AGENT;;;;;;extra

18;a18@kontur.example;Новикова;Ольга;MANAGER;89120000018;;;blocked;
"""

REFUSED = {
    4: "duplicate id 5 inside the file (lines 4, 5)",
    5: "duplicate id 5 inside the file (lines 4, 5)",
    6: "email admin@kontur.example already belongs to user #1",
    7: "missing last name",
    8: "id must be a positive whole number, not 'x'",
    9: "unknown status 'frozen'",
    10: "bad email 'a11'",
    11: "unknown role 'BOSS'",
    12: "invalid phone '+1 555 0100'",
    13: "duplicate email a14@kontur.example inside the file (lines 13, 14)",
    14: "duplicate email a14@kontur.example inside the file (lines 13, 14)",
    15: "birth date must be a date",
    16: "11 cells for 10 columns",
}


def test_import_writes_good_rows_and_reports_each_refused_row(store_url: str, tmp_path: Path) -> None:
    assert run(["add", *ADMIN], store_url, tmp_path).returncode == 0
    file = tmp_path / "people.csv"
    file.write_text(GOOD_AND_BAD, encoding="utf-8")

    result = run(["import", str(file)], store_url, tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    refused = {int(line.split()[2].rstrip(":")): line for line in lines if line.startswith("refused")}
    assert set(refused) == set(REFUSED)
    for line_no, reason in REFUSED.items():
        assert reason in refused[line_no], refused[line_no]
    assert "3 created, 0 changed, 0 unchanged, 13 refused" in result.stdout

    directory = stored(store_url)
    assert set(directory) == {1, 3, 4, 18}
    assert directory[3].user.phone == "+79120000003"
    assert directory[3].user.remaining_user_creation_limit == 5
    assert directory[4].user.status is UserStatus.ACTIVE  # empty status cell: the default
    assert directory[18].user.status is UserStatus.BLOCKED
    assert directory[18].user.phone == "+79120000018"
    saved = [r for r in audit_rows(store_url) if r.action == "save_user"]
    assert sorted(r.brusnika_id for r in saved) == [1, 3, 4, 18]

    again = run(["import", str(file)], store_url, tmp_path)
    assert again.returncode == 1
    assert "0 created, 0 changed, 3 unchanged, 13 refused" in again.stdout
    assert stored(store_url).keys() == directory.keys()
    assert len([r for r in audit_rows(store_url) if r.action == "save_user"]) == 4  # nothing new to audit


def test_an_empty_status_cell_never_unblocks(store_url: str, tmp_path: Path) -> None:
    file = tmp_path / "people.csv"
    file.write_text("id,email,last_name,first_name,role,status\n5,a5@kontur.example,А,Б,AGENT,blocked\n")
    assert run(["import", str(file)], store_url, tmp_path).returncode == 0
    file.write_text("id,email,last_name,first_name,role,status\n5,a5@kontur.example,А,Б,AGENT,\n")
    result = run(["import", str(file)], store_url, tmp_path)
    assert result.returncode == 0
    assert "unchanged #5" in result.stdout
    assert stored(store_url)[5].user.status is UserStatus.BLOCKED


def test_dry_run_reports_and_writes_nothing(store_url: str, tmp_path: Path) -> None:
    file = tmp_path / "people.csv"
    file.write_text(GOOD_AND_BAD, encoding="utf-8")
    result = run(["import", str(file), "--dry-run"], store_url, tmp_path)
    assert result.returncode == 1
    assert "would be created #3" in result.stdout
    assert "(dry run: nothing written)" in result.stdout
    assert stored(store_url) == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,email,last_name,first_name,role,nickname\n1,a@b.ru,А,Б,AGENT,x\n", "unknown column 'nickname'"),
        ("id,email,last_name,first_name\n1,a@b.ru,А,Б\n", "required column(s) missing: role"),
        ("id,email,email,last_name,first_name,role\n", "column 'email' appears twice"),
        ("", "is empty"),
    ],
)
def test_an_unusable_file_is_refused_whole(
    store_url: str, tmp_path: Path, content: str, message: str
) -> None:
    file = tmp_path / "people.csv"
    file.write_text(content, encoding="utf-8")
    result = run(["import", str(file)], store_url, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "nothing was written" in result.stderr
    assert stored(store_url) == {}


def test_a_file_that_is_not_utf8_or_missing(store_url: str, tmp_path: Path) -> None:
    file = tmp_path / "cp1251.csv"
    file.write_bytes("id,email,last_name,first_name,role\n1,a@b.ru,Иванов,Иван,AGENT\n".encode("cp1251"))
    result = run(["import", str(file)], store_url, tmp_path)
    assert result.returncode == 2
    assert "not UTF-8" in result.stderr
    missing = run(["import", str(tmp_path / "nope.csv")], store_url, tmp_path)
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr


def test_list_prints_the_directory(store_url: str, tmp_path: Path) -> None:
    assert run(["add", *ADMIN], store_url, tmp_path).returncode == 0
    assert (
        run(
            [
                "add",
                "--id",
                "2",
                "--email",
                "m@kontur.example",
                "--last-name",
                "Абрамова",
                "--first-name",
                "Мария",
                "--role",
                "MANAGER",
                "--agency-id",
                "7",
            ],
            store_url,
            tmp_path,
        ).returncode
        == 0
    )
    result = run(["list"], store_url, tmp_path)
    assert result.returncode == 0
    rows = result.stdout.splitlines()
    assert rows[0].split()[:3] == ["id", "last", "name"]
    assert rows[1].split()[:5] == ["2", "Абрамова", "Мария", "m@kontur.example", "MANAGER"]
    assert rows[2].split()[:5] == ["1", "Иванов", "Иван", "Admin@Kontur.example", "ADMIN"]
    assert rows[-1] == "2 user(s)"
    agency = run(["list", "--agency-id", "7"], store_url, tmp_path)
    assert agency.stdout.splitlines()[-1] == "1 user(s)"


def test_an_unreachable_store_exits_3_without_showing_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://kontur:hunter2@127.0.0.1:{free_port()}/kontur"
    result = run(["add", *ADMIN], url, tmp_path)
    assert result.returncode == 3
    assert "cannot open the operational store postgresql+psycopg://kontur:***@127.0.0.1" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


def test_push_without_an_api_writes_nothing(store_url: str, tmp_path: Path) -> None:
    result = run(["add", *ADMIN, "--push"], store_url, tmp_path)
    assert result.returncode == 2
    assert "--push needs BRUSNIKA_API_URL" in result.stderr
    assert stored(store_url) == {}


def test_push_sends_users_to_brusnika(store_url: str, tmp_path: Path, sandbox: RunningSandbox) -> None:
    admin_id, manager_id, ozk_id = PUSH_IDS[0], PUSH_IDS[1], PUSH_IDS[2]
    added = run(
        [
            "add",
            "--id",
            str(admin_id),
            "--email",
            f"boot{admin_id}@kontur.example",
            "--last-name",
            "Первый",
            "--first-name",
            "Админ",
            "--role",
            "ADMIN",
            "--phone",
            "+79120000001",
            "--push",
        ],
        store_url,
        tmp_path,
        api=sandbox,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    assert "1 pushed, 0 push failed" in added.stdout

    file = tmp_path / "people.csv"
    file.write_text(
        "id,email,last_name,first_name,role,agency_id,limit\n"
        f"{manager_id},m{manager_id}@kontur.example,Менеджер,Мария,MANAGER,,0\n"
        f"{ozk_id},o{ozk_id}@kontur.example,Озк,Олег,OZK_MANAGER,,2\n"
        "bad,x@kontur.example,Плохой,Ряд,MANAGER,,\n",
        encoding="utf-8",
    )
    imported = run(["import", str(file), "--push"], store_url, tmp_path, api=sandbox)
    assert imported.returncode == 1  # one row refused; the others written and pushed
    assert "2 created, 0 changed, 0 unchanged, 1 refused; 2 pushed, 0 push failed" in imported.stdout

    at_brusnika = {u["id"]: u for u in sandbox.admin().users()}
    mine = stored(store_url)
    for user_id in (admin_id, manager_id, ozk_id):
        assert at_brusnika[user_id] == mine[user_id].user.to_wire()
        assert mine[user_id].pushed_at is not None
    pushes = [r for r in audit_rows(store_url) if r.action == "put_user"]
    assert sorted((r.brusnika_id, r.outcome) for r in pushes) == [
        (admin_id, "success"),
        (manager_id, "success"),
        (ozk_id, "success"),
    ]

    again = run(["import", str(file), "--push"], store_url, tmp_path, api=sandbox)
    assert "0 created, 0 changed, 2 unchanged, 1 refused; 0 pushed, 0 push failed" in again.stdout


def test_a_refused_push_is_reported_and_the_user_stays_stored(
    store_url: str, tmp_path: Path, sandbox: RunningSandbox
) -> None:
    """A push Brusnika refuses (here: a bad token) exits 4; the user is in the store, not marked pushed."""
    result = run(
        [
            "add",
            "--id",
            str(PUSH_IDS[5]),
            "--email",
            "refused@kontur.example",
            "--last-name",
            "Отказ",
            "--first-name",
            "Пуш",
            "--role",
            "MANAGER",
            "--push",
        ],
        store_url,
        tmp_path,
        api=sandbox,
        token="wrong-token",
    )
    assert result.returncode == 4
    assert f"push failed #{PUSH_IDS[5]}" in result.stdout
    assert "wrong-token" not in result.stdout + result.stderr
    user = stored(store_url)[PUSH_IDS[5]]
    assert user.pushed_at is None
    with Store.open(store_url) as store, store.read() as tx:
        failed = (
            tx.execute(sa.select(actions.c.outcome).where(actions.c.action == "put_user")).scalars().all()
        )
    assert failed == ["failed"]
    assert PUSH_IDS[5] not in {u["id"] for u in sandbox.admin().users()}
