"""Versioned input schemas of the three channels (topics grid-reports, hotline-calls, petitions).

Field choices follow reference/domain.md §2. Person identifiers (ID numbers, phones) arrive raw
here and are pseudonymised by `warning.core.ingest` before anything leaves ingest; these models
are the only place raw identifiers exist in the process.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from warning.core.taxonomy import PartyRole, PetitionLevel

SCHEMA_VERSION = 1

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ShortText = Annotated[str, StringConstraints(max_length=200)]

_ISO_WITH_OFFSET: Final = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})")


def _iso_string_with_offset(value: object) -> object:
    """Only an ISO-8601 string with an offset is a time here.

    pydantic would read ``0``, ``1732435200`` or ``"1732435200"`` as seconds since the epoch
    and call it UTC; a producer sending those has a bug we must see, not a record dated 1970.
    """
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_WITH_OFFSET.fullmatch(value)):
        return value
    raise ValueError(
        "must be an ISO-8601 string with a UTC offset such as 2026-11-24T09:00:00+08:00 "
        f"(got {type(value).__name__}; numbers and epoch strings are not accepted)"
    )


# datetime objects pass too: the simulator and tests build records in Python
IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_string_with_offset)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class LocationIn(_Record):
    """Location down to the grid (一标三实 address optional)."""

    street: Code = Field(description="街道/镇 code, e.g. S03")
    community: Code = Field(description="社区/村 code, e.g. S03-C02")
    grid_id: Code = Field(description="网格 code, e.g. S03-C02-G05")
    micro_grid_id: Code | None = None
    std_address_code: Code | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class PersonIn(_Record):
    """A party as the source system knows it; identifiers are raw until ingest."""

    role: PartyRole = "party"
    name: ShortText = ""
    id_number: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="居民身份证号; pseudonymised at ingest"
    )
    phone: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="phone, full or masked (138****1234); pseudonymised at ingest"
    )


class _Common(_Record):
    schema_version: int = Field(description="bump on a breaking change; ingest rejects unknown versions")
    occurred_at: IsoTime = Field(description="when it happened, ISO-8601 with offset")
    location: LocationIn
    category: Code = Field(description="category code from warning.core.taxonomy.CATEGORIES")
    subcategory: ShortText = ""
    parties: list[PersonIn] = Field(default_factory=list, max_length=500)
    headcount: int = Field(default=1, ge=0, le=100_000, description="people involved (集体访/聚集)")
    text: str = ""
    case_ref: Code | None = Field(default=None, description="linked case number, if the source knows one")
    flags: list[Code] = Field(default_factory=list, max_length=20)


class GridReport(_Common):
    """A grid worker's report (网格排查/走访), topic grid-reports."""

    report_id: Code
    worker_id: Code
    worker_type: Literal["full_time", "part_time"] = "full_time"
    visit_mode: Literal["routine", "appointment", "remote", "joint"] = Field(
        default="routine", description="平时接诊/预约出诊/远程问诊/集中会诊"
    )
    severity: Literal["micro", "minor", "major", "hard"] = Field(default="minor", description="微事/小事/大事/难事")
    solved_in_grid: bool = False


class HotlineCall(_Common):
    """A 12345 hotline ticket (一号受理、分类转办、跟踪回访), topic hotline-calls."""

    ticket_no: Code
    medium: Literal["phone", "app", "wechat", "web"] = "phone"
    request_type: Literal["complaint", "help", "consult", "report", "suggestion"] = "complaint"
    transferred_to: ShortText = ""
    due_at: IsoTime | None = None
    repeat_count: int = Field(default=0, ge=0, le=10_000, description="earlier calls by this caller")
    satisfaction: Literal["satisfied", "neutral", "dissatisfied"] | None = None


class Petition(_Common):
    """A petition case (信访: letter, visit or online), topic petitions."""

    case_no: Code
    form: Literal["letter", "visit", "online"]
    is_repeat: bool = Field(default=False, description="重复信访 (not 初信初访)")
    visit_count: int = Field(default=1, ge=1, le=10_000)
    level_reached: PetitionLevel = "district"
    demand: str = ""
    responsible_unit: ShortText = ""
    lead_official: bool = Field(default=False, description="包案领导 assigned")
    deadline: IsoTime | None = None
    backlog: bool = Field(default=False, description="信访积案")
    settled: bool = Field(default=False, description="息诉罢访")


InputRecord = GridReport | HotlineCall | Petition

SCHEMAS: dict[str, type[InputRecord]] = {
    "grid": GridReport,
    "hotline": HotlineCall,
    "petition": Petition,
}


def json_schema(channel: str) -> dict[str, object]:
    """The JSON Schema of a channel's records, as published in topics/."""
    schema = SCHEMAS[channel].model_json_schema()
    schema["$id"] = f"warning/{channel}/v{SCHEMA_VERSION}"
    return schema
