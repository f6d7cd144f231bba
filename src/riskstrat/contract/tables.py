"""The declared schema of input contract v1: one `Table` per register table.

The declarations are data; `riskstrat.contract.validate` turns each of them into SQL
rules that DuckDB runs over the files, and `riskstrat.contract.reader` into typed frames.
Changing a declaration here changes the public contract: raise `CONTRACT_VERSION` then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CONTRACT_VERSION = 1

Kind = Literal["str", "date", "int", "float", "bool", "category", "icd10", "icd10_list", "atc"]
# "event" dates must lie before the extract date; "end" dates after it mean "ongoing".
DateRole = Literal["event", "end", "attribute"]


@dataclass(frozen=True)
class Column:
    """One declared column of a contract table: its name and kind (how values are typed
    and checked), whether it may be empty, its allowed categories or range, and for dates
    their role against the extract date."""

    name: str
    kind: Kind
    nullable: bool = False
    categories: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    date_role: DateRole | None = None


@dataclass(frozen=True)
class Table:
    """One declared register table: its columns in order, whether a data directory must
    have it, and the (start, end) column pairs whose end may not come before the start."""

    name: str
    required: bool
    columns: tuple[Column, ...]
    # (start column, end column) pairs where end must not be before start
    periods: tuple[tuple[str, str], ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


EDUCATION = ("basic", "upper_secondary", "tertiary", "unknown")
ORIGIN = (
    "danish",
    "immigrant_western",
    "immigrant_non_western",
    "descendant_western",
    "descendant_non_western",
)
CONTACT_TYPES = ("inpatient", "outpatient", "emergency")
GP_CONTACT_KINDS = ("consultation", "phone", "email", "home_visit", "out_of_hours")
MUNICIPAL_SERVICES = (
    "home_care",
    "home_nursing",
    "rehabilitation",
    "training",
    "nursing_home",
    "preventive_home_visit",
    "acute_team",
)

_PERSON_ID = Column("person_id", "str")

PERSONS = Table(
    "persons",
    required=True,
    columns=(
        _PERSON_ID,
        Column("birth_date", "date", date_role="attribute"),
        Column("sex", "category", categories=("F", "M")),
        Column("municipality_code", "int"),
        Column("gp_clinic_id", "str", nullable=True),
        Column("education", "category", nullable=True, categories=EDUCATION),
        Column("income_quintile", "int", nullable=True, min_value=1, max_value=5),
        Column("origin", "category", nullable=True, categories=ORIGIN),
        Column("living_alone", "bool", nullable=True),
        Column("death_date", "date", nullable=True, date_role="attribute"),
        Column("emigration_date", "date", nullable=True, date_role="attribute"),
    ),
    periods=(("birth_date", "death_date"), ("birth_date", "emigration_date")),
)

HOSPITAL_CONTACTS = Table(
    "hospital_contacts",
    required=True,
    columns=(
        _PERSON_ID,
        Column("start_date", "date", date_role="event"),
        Column("end_date", "date", nullable=True, date_role="end"),
        Column("contact_type", "category", categories=CONTACT_TYPES),
        Column("acute", "bool"),
        Column("action_diagnosis", "icd10"),
        Column("secondary_diagnoses", "icd10_list", nullable=True),
        Column("hospital_code", "str", nullable=True),
    ),
    periods=(("start_date", "end_date"),),
)

GP_CONTACTS = Table(
    "gp_contacts",
    required=True,
    columns=(
        _PERSON_ID,
        Column("contact_date", "date", date_role="event"),
        Column("contact_kind", "category", categories=GP_CONTACT_KINDS),
        Column("clinic_id", "str", nullable=True),
    ),
)

MUNICIPAL_SERVICES_TABLE = Table(
    "municipal_services",
    required=True,
    columns=(
        _PERSON_ID,
        Column("service", "category", categories=MUNICIPAL_SERVICES),
        Column("start_date", "date", date_role="event"),
        Column("end_date", "date", nullable=True, date_role="end"),
        Column("hours_per_week", "float", nullable=True, min_value=0),
    ),
    periods=(("start_date", "end_date"),),
)

PRESCRIPTIONS = Table(
    "prescriptions",
    required=False,
    columns=(
        _PERSON_ID,
        Column("dispense_date", "date", date_role="event"),
        Column("atc_code", "atc"),
        Column("ddd", "float", nullable=True, min_value=0),
    ),
)

OPT_OUTS = Table(
    "opt_outs",
    required=False,
    columns=(_PERSON_ID, Column("opt_out_date", "date", date_role="event")),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        PERSONS,
        HOSPITAL_CONTACTS,
        GP_CONTACTS,
        MUNICIPAL_SERVICES_TABLE,
        PRESCRIPTIONS,
        OPT_OUTS,
    )
}
EVENT_TABLES = [name for name in TABLES if name != "persons"]
