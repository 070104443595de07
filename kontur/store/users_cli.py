"""`kontur users add | import | list`: the users directory from the command line, against the store
`Settings` select (`KONTUR_DATABASE_URL`, else `data/kontur-ops.sqlite`), optionally pushed to Brusnika.

How it is meant to be used: on a fresh deployment, `kontur users add --id N --email E --last-name …
--first-name … --role ADMIN --push` makes the first administrator, who signs in and manages the rest in
the dashboard; `kontur users import people.csv --push` brings many at once.

Import is per row, all good rows in one transaction: a typo in one row must not keep the other people
of the file from signing in, and since the import is idempotent (a row equal to what is stored is
"unchanged"), fixing the refused rows and importing the same file again is safe. Each refused row is
reported with its line and every reason, and nothing of it is written. `--dry-run` checks and reports
without writing.

Exit codes: 0 everything written (and pushed, with `--push`); 1 some input refused (the good rows were
written); 2 unusable command line, file or settings (nothing written); 3 the store could not be opened;
4 written, but Brusnika did not accept every push (takes precedence over 1).
"""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
import tomllib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa

from kontur.config import Settings, SettingsError
from kontur.models import User

from . import audit, users
from .db import Store, open_store
from .engine import StoreConfigError, describe_url
from .schema import users as users_table
from .user_input import FIELDS, BadFile, FileRow, build_user, read_user_file

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_STORE, EXIT_PUSH = 0, 1, 2, 3, 4
_OPTIONAL = (
    "phone",
    "status",
    "temporary_role",
    "city_id",
    "agency_id",
    "birth_date",
    "work_start_date",
    "avatar",
)


class _DryRun(Exception):
    """Raised inside the write transaction of a dry run, so it rolls back."""


@dataclass
class Outcome:
    created: list[User] = field(default_factory=list)
    changed: list[User] = field(default_factory=list)
    unchanged: list[User] = field(default_factory=list)
    refused: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, reasons); 0: `add`
    to_push: list[User] = field(default_factory=list)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kontur users", description="Kontur's users directory.")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create a user, or update one by id (options not given are kept)")
    add.add_argument("--id", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--last-name", required=True)
    add.add_argument("--first-name", required=True)
    add.add_argument(
        "--role",
        required=True,
        help="ADMIN, AGENT, MANAGER, NEW_MEMBER, HEAD_OF_AGENCY, OZK_MANAGER, AFFILIATE_MANAGER",
    )
    for name in _OPTIONAL:
        add.add_argument("--" + name.replace("_", "-"))
    add.add_argument(
        "--limit",
        dest="remaining_user_creation_limit",
        metavar="N",
        help="bookings the user may still make (remaining_user_creation_limit)",
    )
    add.add_argument("--push", action="store_true", help="also send it to Brusnika (PUT /users/{id})")
    imp = sub.add_parser("import", help="create or update users from a CSV file (idempotent)")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--push", action="store_true", help="also send created, changed and never-pushed users to Brusnika"
    )
    imp.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    lst = sub.add_parser("list", help="list the directory")
    lst.add_argument("--agency-id", type=int)
    return parser


def _settings() -> Settings:
    """Environment over `.streamlit/secrets.toml` of the working directory, as the dashboard reads."""
    secrets_file = Path.cwd() / ".streamlit" / "secrets.toml"
    secrets = tomllib.loads(secrets_file.read_text(encoding="utf-8")) if secrets_file.exists() else None
    return Settings.from_env(secrets=secrets)


def _who() -> str:
    return f"cli: {getpass.getuser()}@{socket.gethostname()}"


def _label(user: User) -> str:
    return (
        f"#{user.id} {user.last_name} {user.first_name} <{user.email}> {user.role.value} {user.status.value}"
    )


def _duplicates(rows: Sequence[FileRow]) -> dict[int, str]:
    """line -> why it is refused, for every row sharing an id or an email with another row."""
    by_id: dict[str, list[int]] = defaultdict(list)
    by_email: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.given.get("id", "").strip():
            by_id[row.given["id"].strip()].append(row.line)
        if row.given.get("email", "").strip():
            by_email[users.email_key(row.given["email"])].append(row.line)
    reasons: dict[int, str] = {}
    for what, groups in (("id", by_id), ("email", by_email)):
        for value, lines in groups.items():
            if len(lines) > 1:
                for line in lines:
                    reasons[line] = (
                        f"duplicate {what} {value} inside the file (lines {', '.join(map(str, lines))})"
                    )
    return reasons


def apply(store: Store, rows: Sequence[FileRow], *, by: str, dry_run: bool = False) -> Outcome:
    """Check every row against the rules and the store, write the good ones in one transaction."""
    outcome = Outcome()
    duplicates = _duplicates(rows)
    try:
        with store.write() as tx:
            ids = {int(r.given["id"]) for r in rows if r.given.get("id", "").strip().isdigit()}
            stored = users.get_users(tx, ids)
            good: list[tuple[FileRow, User]] = []
            for row in rows:
                if "__error__" in row.given:
                    outcome.refused.append((row.line, [row.given["__error__"]]))
                    continue
                old = row.given.get("id", "").strip()
                built, problems = build_user(
                    row.given, stored[int(old)].user if old.isdigit() and int(old) in stored else None
                )
                if row.line in duplicates:
                    problems = [duplicates[row.line], *problems]
                if built is None or problems:
                    outcome.refused.append((row.line, problems))
                else:
                    good.append((row, built))
            # An email may not belong to another user, unless that user's own row moves it elsewhere.
            taken = _email_owners(tx, [u for _, u in good])
            new_email = {u.id: users.email_key(u.email) for _, u in good}
            accepted: list[User] = []
            for row, user in good:
                key = users.email_key(user.email)
                holders = sorted(
                    i for i in taken.get(key, set()) if i != user.id and new_email.get(i, key) == key
                )
                if holders:
                    outcome.refused.append(
                        (row.line, [f"email {user.email} already belongs to user #{holders[0]}"])
                    )
                else:
                    accepted.append(user)
            report = users.upsert_users(tx, accepted, by=by)
            by_id = {u.id: u for u in accepted}
            outcome.created = [by_id[i] for i in report.created]
            outcome.changed = [by_id[i] for i in report.changed]
            outcome.unchanged = [by_id[i] for i in report.unchanged]
            never_pushed = {i for i, s in stored.items() if s.pushed_at is None}
            outcome.to_push = [
                *outcome.created,
                *outcome.changed,
                *(u for u in outcome.unchanged if u.id in never_pushed),
            ]
            audit.record_actions(
                tx,
                [
                    audit.ActionEntry(
                        "save_user",
                        "success",
                        actor=by,
                        request=u.to_wire(),
                        brusnika_id=u.id,
                        message="создан" if u in outcome.created else "изменён",
                    )
                    for u in (*outcome.created, *outcome.changed)
                ],
            )
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return outcome


def _email_owners(tx: sa.Connection, people: Sequence[User]) -> dict[str, set[int]]:
    keys = sorted({users.email_key(u.email) for u in people})
    owners: dict[str, set[int]] = defaultdict(set)
    if keys:
        query = sa.select(users_table.c.email_key, users_table.c.id).where(users_table.c.email_key.in_(keys))
        for key, user_id in tx.execute(query):
            owners[key].add(int(user_id))
    return owners


def push(store: Store, settings: Settings, people: Sequence[User], *, by: str) -> list[tuple[User, str]]:
    """`PUT /users/{id}` for each; every attempt audited. Returns the failures with their reason."""
    from kontur.client import BrusnikaClient
    from kontur.errors import BrusnikaError

    failures: list[tuple[User, str]] = []
    accepted: list[int] = []
    entries: list[audit.ActionEntry] = []
    with BrusnikaClient(settings) as client:
        for user in people:
            try:
                client.put_user(user)
            except BrusnikaError as error:
                failures.append((user, str(error)))
                entries.append(
                    audit.ActionEntry(
                        "put_user",
                        "failed",
                        actor=by,
                        request=user.to_wire(),
                        brusnika_id=user.id,
                        message=str(error),
                    )
                )
            else:
                accepted.append(user.id)
                entries.append(
                    audit.ActionEntry(
                        "put_user", "success", actor=by, request=user.to_wire(), brusnika_id=user.id
                    )
                )
    with store.write() as tx:
        users.mark_pushed(tx, accepted)
        audit.record_actions(tx, entries)
    return failures


def _report(outcome: Outcome, out: TextIO, *, dry_run: bool) -> None:
    verb = "would be " if dry_run else ""
    for word, people in (
        ("created", outcome.created),
        ("changed", outcome.changed),
        ("unchanged", outcome.unchanged),
    ):
        for user in people:
            print(f"{verb + word:<9} {_label(user)}", file=out)
    for line, reasons in sorted(outcome.refused, key=lambda item: item[0]):
        print(f"refused   {f'line {line}: ' if line else ''}{'; '.join(reasons)}", file=out)


def _list(store: Store, agency_id: int | None, out: TextIO) -> int:
    with store.read() as tx:
        listed = users.list_users(tx, agency_id=agency_id)
    header = ("id", "last name", "first name", "email", "role", "status", "agency", "limit", "pushed")
    table = [header] + [
        (
            str(s.user.id),
            s.user.last_name,
            s.user.first_name,
            s.user.email,
            s.user.role.value,
            s.user.status.value,
            str(s.user.agency_id or ""),
            str(s.user.remaining_user_creation_limit),
            s.pushed_at.strftime("%Y-%m-%d %H:%M") if s.pushed_at else "never",
        )
        for s in listed
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out
        )
    print(f"{len(listed)} user(s)", file=out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = _parser().parse_args(argv)
    try:
        settings = _settings()
    except (SettingsError, tomllib.TOMLDecodeError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    if getattr(args, "push", False) and (settings.api_url is None or settings.api_token is None):
        print("error: --push needs BRUSNIKA_API_URL and BRUSNIKA_API_TOKEN (nothing was written)", file=err)
        return EXIT_USAGE
    rows: list[FileRow] = []
    if args.command == "import":
        try:
            rows = read_user_file(args.file).rows
        except BadFile as exc:
            print(f"error: {exc} (nothing was written)", file=err)
            return EXIT_USAGE
    elif args.command == "add":
        given = {name: value for name in FIELDS if (value := getattr(args, name, None)) is not None}
        rows = [FileRow(0, given)]
    url = settings.ops_database_url()
    try:
        store = open_store(settings)
    except (StoreConfigError, sa.exc.SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
        password = sa.make_url(url).password if "://" in url else None
        if password:
            reason = reason.replace(str(password), "***")
        print(
            f"error: cannot open the operational store {describe_url(url) if '://' in url else ''}: {reason}",
            file=err,
        )
        return EXIT_STORE
    try:
        if args.command == "list":
            return _list(store, args.agency_id, out)
        dry_run = getattr(args, "dry_run", False)
        by = _who()
        outcome = apply(store, rows, by=by, dry_run=dry_run)
        _report(outcome, out, dry_run=dry_run)
        failures = push(store, settings, outcome.to_push, by=by) if args.push and not dry_run else []
        for user, reason in failures:
            print(f"push failed #{user.id}: {reason}", file=out)
        pushed = len(outcome.to_push) - len(failures) if args.push and not dry_run else 0
        print(
            f"{len(outcome.created)} created, {len(outcome.changed)} changed, {len(outcome.unchanged)} "
            f"unchanged, {len(outcome.refused)} refused"
            + (f"; {pushed} pushed, {len(failures)} push failed" if args.push else "")
            + (" (dry run: nothing written)" if dry_run else ""),
            file=out,
        )
    finally:
        store.close()
    if failures:
        return EXIT_PUSH
    return EXIT_REFUSED if outcome.refused else EXIT_OK
