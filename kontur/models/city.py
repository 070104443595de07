from __future__ import annotations

from ._base import DecimalString, InboundRecord


class City(InboundRecord):
    name: str
    long: DecimalString
    lat: DecimalString
