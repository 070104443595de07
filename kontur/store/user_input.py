"""Users as an operator types them (`kontur users add` options, `kontur users import` CSV rows): the
rules each field must meet, and the wire `User` they make, or every problem with the row at once.

Fields absent from the input keep the stored user's values (or the defaults for a new user), so
`kontur users add --id 5 … --status blocked` blocks user 5 without clearing their phone; a column that
is present with an empty cell clears an optional field, except `status` and the limit, which an empty
cell leaves as they are (a blank must never unblock anyone).

The phone and e-mail rules are `kontur.input_rules`, the same the form pages apply; only the wording
(English, for an operator) is this module's.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kontur.input_rules import InvalidInput, check_email, normalize_phone
from kontur.models import User, UserRole, UserStatus

# The fields an operator sets, by their snake_case name (the store's column names).
FIELDS: tuple[str, ...] = (
    "id",
    "email",
    "last_name",
    "first_name",
    "role",
    "phone",
    "status",
    "temporary_role",
    "city_id",
    "agency_id",
    "birth_date",
    "work_start_date",
    "avatar",
    "remaining_user_creation_limit",
)
REQUIRED: tuple[str, ...] = ("id", "email", "last_name", "first_name", "role")
# Other spellings a CSV header may use -> the field (wire names and a short one for the limit).
ALIASES: dict[str, str] = {
    "lastname": "last_name",
    "firstname": "first_name",
    "birthdate": "birth_date",
    "workstartdate": "work_start_date",
    "limit": "remaining_user_creation_limit",
    "cityid": "city_id",
    "agencyid": "agency_id",
    "temporaryrole": "temporary_role",
}
DEFAULTS: dict[str, Any] = {"phone": "", "status": "active", "remaining_user_creation_limit": 0}
KEEP_WHEN_BLANK = frozenset({"status", "remaining_user_creation_limit"})

_ROLES = ", ".join(r.value for r in UserRole)


class BadInput(ValueError):
    """A value breaks a rule; the message says which and how."""


def field_name(header: str) -> str | None:
    """The field a CSV column header names (`lastName`, `last_name`, `Last-Name` alike), or None."""
    key = re.sub(r"[\s\-]", "_", header.strip().lstrip("\ufeff")).lower()
    if key in FIELDS:
        return key
    return ALIASES.get(key.replace("_", ""))


def _email(text: str) -> str:
    try:
        return check_email(text)
    except InvalidInput:
        raise BadInput(f"bad email {text!r}: it must look like name@example.ru") from None


def _phone(text: str) -> str:
    """`+7XXXXXXXXXX` from 8…, 7…, +7… or ten digits, separators allowed (`kontur.input_rules`);
    empty stays empty (the phone is optional here)."""
    if not text.strip():
        return ""
    try:
        return normalize_phone(text)
    except InvalidInput:
        raise BadInput(f"invalid phone {text!r}: a Russian number, +7 and ten digits") from None


def _role(text: str, what: str = "role") -> str:
    role = text.strip().upper()
    if role not in {r.value for r in UserRole}:
        raise BadInput(f"unknown {what} {text!r} (one of {_ROLES})")
    return role


def _status(text: str) -> str:
    status = text.strip().lower()
    if status not in {s.value for s in UserStatus}:
        raise BadInput(f"unknown status {text!r} (active or blocked)")
    return status


def _positive(text: str, what: str) -> int:
    value = text.strip()
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise BadInput(f"{what} must be a positive whole number, not {text!r}")
    return int(value)


def _count(text: str) -> int:
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        raise BadInput(f"limit must be a whole number 0 or more, not {text!r}")
    return int(value)


def _date(text: str, what: str) -> dt.date:
    value = text.strip()
    for form in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, form).date()
        except ValueError:
            continue
    raise BadInput(f"{what} must be a date, YYYY-MM-DD or DD.MM.YYYY, not {text!r}")


def _url(text: str) -> str:
    value = text.strip()
    if not re.match(r"^https?://[^\s/]+", value):
        raise BadInput(f"avatar must be an http(s) URL, not {text!r}")
    return value


def _text(text: str, what: str) -> str:
    value = " ".join(text.split())
    if not value:
        raise BadInput(f"{what} is empty")
    return value


def parse_value(name: str, text: str) -> Any:
    """One field's value from what was typed; empty optional fields become None ('' for the phone)."""
    blank = not text.strip()
    if name in REQUIRED and blank:
        raise BadInput(f"missing {name.replace('_', ' ')}")
    if blank:
        return "" if name == "phone" else None
    rules = {
        "id": lambda t: _positive(t, "id"),
        "email": _email,
        "last_name": lambda t: _text(t, "last name"),
        "first_name": lambda t: _text(t, "first name"),
        "role": _role,
        "temporary_role": lambda t: _role(t, "temporary role"),
        "phone": _phone,
        "status": _status,
        "city_id": lambda t: _positive(t, "city id"),
        "agency_id": lambda t: _positive(t, "agency id"),
        "birth_date": lambda t: _date(t, "birth date"),
        "work_start_date": lambda t: _date(t, "work start date"),
        "avatar": _url,
        "remaining_user_creation_limit": _count,
    }
    return rules[name](text)


def build_user(given: Mapping[str, str], stored: User | None) -> tuple[User | None, list[str]]:
    """The user these typed fields make on top of `stored` (None: a new user), or every problem."""
    problems: list[str] = []
    values: dict[str, Any] = dict(DEFAULTS) if stored is None else stored.model_dump(by_alias=False)
    for name in FIELDS:
        if name not in given or (name in KEEP_WHEN_BLANK and not (given[name] or "").strip()):
            if name in REQUIRED and stored is None:
                problems.append(f"missing {name.replace('_', ' ')}")
            continue
        try:
            values[name] = parse_value(name, given[name] or "")
        except BadInput as problem:
            problems.append(str(problem))
    if problems:
        return None, problems
    try:
        return User.model_validate(values), []
    except ValidationError as exc:  # a rule above should have caught it; say what the model says
        return None, [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]


@dataclass
class FileRow:
    line: int  # line number in the file (the header is line 1)
    given: dict[str, str]  # field -> the cell's text


@dataclass
class UserFile:
    rows: list[FileRow] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # fields present in the header


class BadFile(ValueError):
    """The file as a whole cannot be read (encoding, header): no row of it is written."""


def read_user_file(path: Path) -> UserFile:
    """Rows of a users CSV (UTF-8, with or without BOM; `,` `;` or tab between cells)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadFile(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BadFile(f"{path} is not UTF-8 text: save it as CSV UTF-8") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise BadFile(f"{path} is empty: the first line must name the columns")
    delimiter = max(",;\t", key=lines[0].count)
    reader = csv.reader(lines, delimiter=delimiter)
    header = next(reader)
    columns: list[str] = []
    for cell in header:
        name = field_name(cell)
        if name is None:
            raise BadFile(f"unknown column {cell!r} (columns: {', '.join(FIELDS)}; also lastName, limit, …)")
        if name in columns:
            raise BadFile(f"column {cell!r} appears twice")
        columns.append(name)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise BadFile(f"required column(s) missing: {', '.join(missing)}")
    result = UserFile(columns=columns)
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        line = reader.line_num
        if len(cells) > len(columns):
            result.rows.append(FileRow(line, {"__error__": f"{len(cells)} cells for {len(columns)} columns"}))
            continue
        cells = cells + [""] * (len(columns) - len(cells))
        result.rows.append(FileRow(line, dict(zip(columns, cells, strict=True))))
    return result
