"""Wire enums: their values are exactly what travels on the wire (Russian values and the
contract's `mortage` spelling included). Display labels live in `kontur.labels`."""

from __future__ import annotations

from enum import StrEnum


class PremiseType(StrEnum):
    APARTMENT = "apartment"
    STOREROOM = "storeroom"
    PARKING = "parking"
    COMMERCIAL = "commercial"


class PurchaseOption(StrEnum):
    MORTGAGE = "mortage"  # sic: the contract spells it so
    INSTALLMENT = "installment"
    BILL = "bill"
    FULL_PAYMENT = "full_payment"


class Feature(StrEnum):
    EXCHANGE_RF = "sign_exchange_rf"
    FLOOR_TO_CEILING = "sign_floor_to_ceiling"
    WINDOW_IN_THE_CORRIDOR = "sign_window_in_the_corridor"
    WINDOW_IN_THE_BATHROOM = "sign_window_in_the_bathroom"
    NO_FINISHING = "sign_no_finishing"
    TWO_LEVEL = "sign_two_level"
    SEPARATE_ENTRANCE = "sign_separate_entrance"
    OPEN_PLAN = "sign_open_plan"
    BALCONY = "sign_balcony"
    SUMMER_KITCHEN_ON_THE_ROOF = "sign_summer_kitchen_on_the_roof"
    LOGGIA = "sign_loggia"
    TERRACE = "sign_terrace"
    ROOF_TERRACE = "sign_roof_terrace"
    TERRACE_WITH_ACCESS_TO_THE_ROOF = "sign_terrace_with_access_to_the_roof"
    SECOND_BATHROOM = "sign_second_bathroom"
    DRESSING_ROOM_IN_THE_BEDROOM = "sign_dressing_room_in_the_bedroom"
    DRESSING_ROOM = "sign_dressing_room"
    STORAGE_ROOM = "sign_storage_room"
    LAUNDRY_ROOM = "sign_laundry_room"
    MASTER_BEDROOM = "sign_master_bedroom"
    SECONDARY_APARTMENT = "sign_secondary_apartment"
    GROUND_PARKING = "sign_ground_parking"


class LeadState(StrEnum):
    ACTIVE = "Активные"
    PAUSED = "На паузе"
    LOST = "Проиграна"
    WON = "Выиграна"


class LeadStage(StrEnum):
    OPENED = "открыта"
    PURCHASE_INTEREST = "интерес к покупке"
    PRESENTATION = "презентация"
    BOOKING = "бронь"
    CONTRACT_REQUEST = "заявка на договор"
    CONTRACT_REGISTERED = "договор зарегистрирован"
    WON = "выиграна"
    BOOKING_CANCELLED = "отмененная бронь"
    BOOKING_FELL_THROUGH = "слетевшая бронь"
    PAUSED = "на паузе"
    LEAD_CHECK = "проверка лида"
    LOST = "проиграна"


# The funnel's ordered stages, first to last; the other four are outcomes beside it.
FUNNEL_STAGES: tuple[LeadStage, ...] = (
    LeadStage.LEAD_CHECK,
    LeadStage.OPENED,
    LeadStage.PURCHASE_INTEREST,
    LeadStage.PRESENTATION,
    LeadStage.BOOKING,
    LeadStage.CONTRACT_REQUEST,
    LeadStage.CONTRACT_REGISTERED,
    LeadStage.WON,
)
OUTCOME_STAGES: tuple[LeadStage, ...] = (
    LeadStage.BOOKING_CANCELLED,
    LeadStage.BOOKING_FELL_THROUGH,
    LeadStage.LOST,
    LeadStage.PAUSED,
)


class UserStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


class UserRole(StrEnum):
    ADMIN = "ADMIN"
    AGENT = "AGENT"
    MANAGER = "MANAGER"
    NEW_MEMBER = "NEW_MEMBER"
    HEAD_OF_AGENCY = "HEAD_OF_AGENCY"
    OZK_MANAGER = "OZK_MANAGER"
    AFFILIATE_MANAGER = "AFFILIATE_MANAGER"


class FixingType(StrEnum):
    LEAD_CHECK = "проверка лида"
    REFUSED = "отказ в закреплении"
    WEAK = "слабое закрепление"
    STRONG = "сильное закрепление"


class RequestStatus(StrEnum):
    """Status of bookings and visits."""

    OPEN = "open"
    SUCCESS = "success"
    FAIL = "fail"
