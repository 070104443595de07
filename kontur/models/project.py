from __future__ import annotations

from datetime import date

from ._base import InboundRecord, PositiveId


class Project(InboundRecord):
    city_id: PositiveId
    name: str
    brief_description: str
    detailed_description: str
    description: str
    end_date: date
    photo: str
    link: str
