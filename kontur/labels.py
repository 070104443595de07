"""Display labels in Russian, as managers read them. The only place UI wording for wire values
lives; the wire enums themselves are in `kontur.models.enums`."""

from __future__ import annotations

from enum import Enum

from .models.enums import (
    Feature,
    FixingType,
    LeadStage,
    LeadState,
    PremiseType,
    PurchaseOption,
    RequestStatus,
    UserRole,
    UserStatus,
)

ENTITY: dict[str, str] = {
    "cities": "Города",
    "projects": "Проекты",
    "buildings": "Здания",
    "sections": "Секции",
    "premises": "Помещения",
    "leads": "Сделки",
    "time-slots": "Слоты показов",
}

PREMISE_TYPE: dict[PremiseType, str] = {
    PremiseType.APARTMENT: "Квартира",
    PremiseType.STOREROOM: "Кладовая",
    PremiseType.PARKING: "Машино-место",
    PremiseType.COMMERCIAL: "Коммерческое помещение",
}

PREMISE_TYPE_PLURAL: dict[PremiseType, str] = {
    PremiseType.APARTMENT: "Квартиры",
    PremiseType.STOREROOM: "Кладовые",
    PremiseType.PARKING: "Машино-места",
    PremiseType.COMMERCIAL: "Коммерция",
}

PURCHASE_OPTION: dict[PurchaseOption, str] = {
    PurchaseOption.MORTGAGE: "Ипотека",
    PurchaseOption.INSTALLMENT: "Рассрочка",
    PurchaseOption.BILL: "Вексель",
    PurchaseOption.FULL_PAYMENT: "100% оплата",
}

FEATURE: dict[Feature, str] = {
    Feature.EXCHANGE_RF: "Обмен РФ",
    Feature.FLOOR_TO_CEILING: "Окна в пол",
    Feature.WINDOW_IN_THE_CORRIDOR: "Окно в коридоре",
    Feature.WINDOW_IN_THE_BATHROOM: "Окно в санузле",
    Feature.NO_FINISHING: "Без отделки",
    Feature.TWO_LEVEL: "Двухуровневая",
    Feature.SEPARATE_ENTRANCE: "Отдельный вход",
    Feature.OPEN_PLAN: "Свободная планировка",
    Feature.BALCONY: "Балкон",
    Feature.SUMMER_KITCHEN_ON_THE_ROOF: "Летняя кухня на крыше",
    Feature.LOGGIA: "Лоджия",
    Feature.TERRACE: "Терраса",
    Feature.ROOF_TERRACE: "Терраса на кровле",
    Feature.TERRACE_WITH_ACCESS_TO_THE_ROOF: "Терраса с выходом на крышу",
    Feature.SECOND_BATHROOM: "Второй санузел",
    Feature.DRESSING_ROOM_IN_THE_BEDROOM: "Гардероб в спальне",
    Feature.DRESSING_ROOM: "Гардеробная",
    Feature.STORAGE_ROOM: "Кладовая",
    Feature.LAUNDRY_ROOM: "Постирочная",
    Feature.MASTER_BEDROOM: "Мастер-спальня",
    Feature.SECONDARY_APARTMENT: "Вторичная квартира",
    # The seed's «наземный паркинг/подземный паркинг» is one flag telling the two kinds apart: set, the
    # parking space is above ground (the sandbox sets it on ground-floor spaces only); not set, underground.
    Feature.GROUND_PARKING: "Наземный паркинг",
}

LEAD_STATE: dict[LeadState, str] = {
    LeadState.ACTIVE: "Активные",
    LeadState.PAUSED: "На паузе",
    LeadState.LOST: "Проиграна",
    LeadState.WON: "Выиграна",
}

LEAD_STAGE: dict[LeadStage, str] = {
    LeadStage.LEAD_CHECK: "Проверка лида",
    LeadStage.OPENED: "Открыта",
    LeadStage.PURCHASE_INTEREST: "Интерес к покупке",
    LeadStage.PRESENTATION: "Презентация",
    LeadStage.BOOKING: "Бронь",
    LeadStage.CONTRACT_REQUEST: "Заявка на договор",
    LeadStage.CONTRACT_REGISTERED: "Договор зарегистрирован",
    LeadStage.WON: "Выиграна",
    LeadStage.BOOKING_CANCELLED: "Отменённая бронь",
    LeadStage.BOOKING_FELL_THROUGH: "Слетевшая бронь",
    LeadStage.PAUSED: "На паузе",
    LeadStage.LOST: "Проиграна",
}

FIXING_TYPE: dict[FixingType, str] = {
    FixingType.LEAD_CHECK: "Идёт проверка лида",
    FixingType.REFUSED: "В закреплении отказано",
    FixingType.WEAK: "Слабое закрепление",
    FixingType.STRONG: "Сильное закрепление",
}

# `fail` of a booking or a visit is not only a cancellation: Brusnika also ends bookings that lapsed and
# showings nobody came to. «Не состоялась» (of «бронь» / «заявка на показ») covers both.
REQUEST_STATUS: dict[RequestStatus, str] = {
    RequestStatus.OPEN: "Открыта",
    RequestStatus.SUCCESS: "Состоялась",
    RequestStatus.FAIL: "Не состоялась",
}

USER_ROLE: dict[UserRole, str] = {
    UserRole.ADMIN: "Администратор",
    UserRole.AGENT: "Агент",
    UserRole.MANAGER: "Менеджер",
    UserRole.NEW_MEMBER: "Новый участник",
    UserRole.HEAD_OF_AGENCY: "Руководитель агентства",
    UserRole.OZK_MANAGER: "Менеджер ОЗК",
    UserRole.AFFILIATE_MANAGER: "Менеджер партнёров",
}

USER_STATUS: dict[UserStatus, str] = {
    UserStatus.ACTIVE: "Активен",
    UserStatus.BLOCKED: "Заблокирован",
}

# Chessboard cells are 46 px wide: the shortest readable names of the premise types.
PREMISE_TYPE_SHORT: dict[PremiseType, str] = {
    PremiseType.APARTMENT: "кв.",
    PremiseType.STOREROOM: "клад.",
    PremiseType.PARKING: "м/м",
    PremiseType.COMMERCIAL: "комм.",
}


def rooms_short(rooms: int) -> str:
    """«ст.» for a studio, «2к» for two rooms: an apartment's rooms in a chessboard cell."""
    return "ст." if rooms == 0 else f"{rooms}к"


PREMISE_STATUS: dict[str, str] = {
    "free": "Свободно",
    "booked": "Забронировано",
    "sold": "Продано",
}

_TABLES: dict[type[Enum], dict] = {
    PremiseType: PREMISE_TYPE,
    PurchaseOption: PURCHASE_OPTION,
    Feature: FEATURE,
    LeadState: LEAD_STATE,
    LeadStage: LEAD_STAGE,
    FixingType: FIXING_TYPE,
    RequestStatus: REQUEST_STATUS,
    UserRole: USER_ROLE,
    UserStatus: USER_STATUS,
}


def label(value: Enum) -> str:
    """The Russian label of any wire enum value."""
    return _TABLES[type(value)][value]


def label_of(enum: type[Enum], wire_value: str) -> str:
    """The label of a raw wire string (as read from the cache); unknown values shown as they are."""
    try:
        return _TABLES[enum][enum(wire_value)]
    except (ValueError, KeyError):
        return wire_value


def rooms_label(rooms: int) -> str:
    """0 rooms is a studio (the contract's convention for apartments)."""
    return "Студия" if rooms == 0 else f"{rooms}-комн."


# Dashboard wording for columns and metrics that are not wire values.
AVAILABILITY_COLUMNS: dict[str, str] = {
    "city": "Город",
    "project": "Проект",
    "building": "Здание",
    "section": "Секция",
    "number": "№",
    "type": "Тип",
    "rooms": "Комнат",
    "floor": "Этаж",
    "size": "Площадь, м²",
    "price": "Цена, ₽",
    "price_per_m2": "Цена за м², ₽",
    "status": "Статус",
    "feature": "Особенности",
    "purchase_option": "Способы покупки",
    "photo": "Фото",
    "link": "Ссылка",
    "free": "Свободно",
    "booked": "Забронировано",
    "sold": "Продано",
    "total": "Всего",
    "free_share": "Доля свободных",
}


# Agency fields as the seed names them: `ownerFullName`/`ownerPhone` are the agency's contact person
# («ФИО контактного лица от агентства недвижимости»), not its owner.
AGENCY_FIELD: dict[str, str] = {
    "title": "Название агентства",
    "city_id": "Основной город работы",
    "legalName": "Юридическое название",
    "inn": "ИНН",
    "phone": "Телефон агентства",
    "email": "Email агентства",
    "ownerFullName": "Контактное лицо",
    "ownerPhone": "Телефон контактного лица",
}

# The sync page: a run's status, the Kafka consumer's state, what started a run.
RUN_STATUS: dict[str, str] = {"succeeded": "Успешно", "failed": "Ошибка", "running": "Идёт"}
KAFKA_STATE: dict[str, str] = {
    "starting": "Запускается",
    "catching up": "Догоняет топики",
    "caught up": "Работает, догнал топики",
    "restarting": "Перезапуск после ошибки",
    "stopped": "Остановлен",
}
TRIGGER: dict[str, str] = {
    "first": "первое наполнение",
    "interval": "по расписанию",
    "full": "сверка по расписанию",
    "retry": "повтор после ошибки",
    "manual": "вручную",
    "cli": "kontur sync",
}

# Selection status of a premise since it was added (kontur.queries.selection_live).
SELECTION_CHANGE: dict[str, str] = {
    "same": "Без изменений",
    "booked": "Забронировано после добавления",
    "sold": "Продано после добавления",
    "freed": "Снова свободно",
    "gone": "Снято с продажи",
}

PROJECT_TOTALS: dict[str, str] = {
    "apartment": "Квартиры",
    "parking": "Машино-места",
    "storeroom": "Кладовые",
    "commercial": "Коммерция",
}
