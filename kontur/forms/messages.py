"""Brusnika's refusals and failures in the words a sales manager would want to read.

`kontur.errors` carries codes; this module turns them into Russian sentences and never puts the
request's secrets (or any header) into what it returns.
"""

from __future__ import annotations

from kontur import errors

# 409 codes of the contract (section 5) -> what the person is told.
CONFLICTS: dict[str, str] = {
    "premise_unavailable": "Помещение уже забронировано или продано — выберите другое.",
    "slot_taken": "Это время показа уже занято — выберите другой слот.",
    "booking_limit_reached": ("У агента не осталось бронирований: лимит исчерпан. Бронь не создана."),
    "booking_not_open": "Эта бронь уже не открыта (отменена или завершена) — отменять нечего.",
    "visit_not_open": "Этот показ уже не открыт (отменён или завершён) — отменять нечего.",
    "agency_exists": "Агентство с таким ИНН уже зарегистрировано в Брусника.",
}

NO_ANSWER_UNKNOWN = (
    "Брусника не ответила вовремя: результат неизвестен. Повторите — повтор безопасен: "
    "он отправится с тем же ключом и дубля не создаст."
)
ACCEPTED_UNREADABLE = (
    "Брусника приняла запрос, но ответ не прочитан — проверьте результат в списках после ближайшей "
    "синхронизации. Повторная отправка этой же формы безопасна: она уйдёт с тем же ключом и дубля "
    "не создаст."
)

# Wire field names (contract section 4) -> how the form calls them, for Brusnika's 422 answers.
WIRE_FIELDS: dict[str, str] = {
    "premise_id": "Помещение",
    "client_id": "Клиент",
    "agent_id": "Агент",
    "project_id": "Проект",
    "date": "Дата",
    "time": "Время",
    "purchase_option": "Способ покупки",
    "time_slot_id": "Слот показа",
    "fullname": "ФИО",
    "phone_number": "Телефон",
    "comment": "Комментарий",
    "title": "Название",
    "city_id": "Город",
    "legalName": "Юридическое название",
    "inn": "ИНН",
    "phone": "Телефон",
    "email": "Почта",
    "ownerFullName": "ФИО владельца",
    "ownerPhone": "Телефон владельца",
}


def field_errors(error: errors.RequestValidationError) -> dict[str, str]:
    """Brusnika's per-field complaints keyed by wire field name (the forms map them to widgets)."""
    found: dict[str, str] = {}
    for item in getattr(error, "field_errors", None) or []:
        field = str(getattr(item, "field", "") or "")
        # Pydantic-style locations ("body.inn") name the field last.
        name = field.rsplit(".", 1)[-1] if field else "?"
        found[name] = str(getattr(item, "message", "") or "неверное значение")
    return found


def describe(error: errors.BrusnikaError) -> str:
    """One plain sentence for any error of the client's tree (unavailability is handled by the
    caller, which first checks by an idempotent retry whether something was created)."""
    if isinstance(error, errors.ConflictError):
        return CONFLICTS.get(error.code, f"Брусника отказала: конфликт ({error.code}).")
    if isinstance(error, errors.RequestValidationError):
        problems = field_errors(error)
        if not problems:
            return "Брусника не приняла данные формы. Проверьте поля."
        parts = [f"«{WIRE_FIELDS.get(name, name)}»: {msg}" for name, msg in problems.items()]
        return "Брусника не приняла поля: " + "; ".join(parts) + "."
    if isinstance(error, errors.IdempotencyKeyReusedError):
        return "Форма изменилась во время повторной отправки. Отправьте её ещё раз."
    if isinstance(error, errors.AuthError):
        return "Брусника не приняла ключ доступа — обратитесь к администратору. Ничего не создано."
    if isinstance(error, errors.NotFoundError):
        return "Брусника не нашла запись (возможно, она удалена). Обновите данные и попробуйте снова."
    if isinstance(error, errors.RateLimitedError):
        wait = getattr(error, "retry_after", None)
        after = f" через {int(wait)} с" if wait else " чуть позже"
        return f"Брусника просит подождать: слишком много запросов. Повторите{after}. Ничего не создано."
    if isinstance(error, errors.BadRequestError):
        return "Брусника отклонила запрос как некорректный. Ничего не создано."
    if isinstance(error, errors.UnavailableError):
        return NO_ANSWER_UNKNOWN
    return "Брусника ответила ошибкой. Ничего не создано."
