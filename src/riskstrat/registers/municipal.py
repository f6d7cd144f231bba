"""Municipal care → `municipal_services`, and declined outreach → `opt_outs`.

Three sources, used together when several are present:
- the contract table `municipal_services` itself, keyed by `pnr` (taken as given);
- FSIII interventions exported in the KL Gateway format (`fsiii`: citizen, FSIII level-2
  intervention code, start, end), mapped to the contract's services by the shipped
  `data/registers/fsiii_services.csv`; overlapping periods of one service are merged;
- DST's elderly-care registers (`aefv`, `aelh`, `aepb`, `aetr`: one row per person and
  month), whose months become periods. DST's own documentation says their coverage is
  partial (not every municipality reported; private home care imputed), so each is
  reported with a warning.
`opt_outs` is only ever the contract table keyed by `pnr`. Rules and sources:
docs/registers-events.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache

import pandas as pd

from riskstrat.reference import data_path
from riskstrat.registers.common import (
    Change,
    Converted,
    Problem,
    example_rows,
    parse_dates,
    require_columns,
)

TABLE = "municipal_services"
COLUMNS = ["pnr", "service", "start_date", "end_date", "hours_per_week"]
# DST elderly-care register -> contract service (DST's table names: AEFV visited home care
# with free choice, AELH delivered home care, AEPB nursing homes and care dwellings, AETR
# training)
DST_TABLES = {"aefv": "home_care", "aelh": "home_care", "aepb": "nursing_home", "aetr": "training"}
DST_COVERAGE = (
    "DST: coverage is partial (not every municipality reported, private home care imputed "
    "for many; the registers end in 2017): persons of missing municipalities have no periods"
)
SERVICE_REGISTERS: tuple[str, ...] = ("municipal_services", "fsiii", *DST_TABLES)
REGISTERS: tuple[str, ...] = (*SERVICE_REGISTERS, "opt_outs")


@cache
def fsiii_groups() -> pd.DataFrame:
    """FSIII code prefix → contract service (empty: known, but no contract service)."""
    return pd.read_csv(
        data_path("registers", "fsiii_services.csv"), dtype=str, keep_default_na=False
    )


def municipal_services(
    registers: Mapping[str, pd.DataFrame], extract_date: date, problems: list[Problem]
) -> Converted | None:
    """Service periods keyed by `pnr` from the contract table, FSIII and DST's AE tables
    present; None when none is. End dates on or after `extract_date` are left to the
    contract reader (read as ongoing there)."""
    present = [name for name in SERVICE_REGISTERS if name in registers]
    if not present:
        return None
    changes: list[Change] = []
    parts = []
    if "municipal_services" in registers:
        parts.append(_as_given(registers["municipal_services"], problems))
    if "fsiii" in registers:
        parts.append(_fsiii(registers["fsiii"], problems, changes))
    for name, service in DST_TABLES.items():
        if name in registers:
            parts.append(_dst_months(registers[name], name, service, problems, changes))
    kept = [p for p in parts if p is not None and len(p)]
    table = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=COLUMNS)
    table = table.sort_values(["pnr", "start_date", "service"], kind="stable")
    return Converted(
        table.reset_index(drop=True)[COLUMNS],
        changes,
        {name: len(registers[name]) for name in present},
    )


def _as_given(frame: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame | None:
    name = "municipal_services"
    if not require_columns(frame, name, ["pnr", "service", "start_date"], problems):
        return None
    out = pd.DataFrame({"pnr": frame["pnr"].astype(object), "service": frame["service"]})
    out["start_date"] = parse_dates(frame["start_date"], name, "start_date", problems)
    out["end_date"] = _optional_dates(frame, name, "end_date", problems)
    hours = frame["hours_per_week"] if "hours_per_week" in frame.columns else None
    out["hours_per_week"] = (
        pd.to_numeric(hours, errors="coerce") if hours is not None else float("nan")
    )
    if hours is not None:
        bad = (
            out["hours_per_week"].isna()
            & hours.notna()
            & (hours.astype("string").str.strip() != "")
        )
        if bad.any():
            problems.append(
                Problem(name, "hours_per_week", "not a number", int(bad.sum()), example_rows(bad))
            )
    return out


def _optional_dates(
    frame: pd.DataFrame, name: str, column: str, problems: list[Problem]
) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[s]")
    return parse_dates(frame[column], name, column, problems)


def _fsiii(
    frame: pd.DataFrame, problems: list[Problem], changes: list[Change]
) -> pd.DataFrame | None:
    """KL Gateway planned interventions as service periods."""
    name = "fsiii"
    frame = frame.rename(columns={"citizen": "pnr", "period_start": "start", "period_end": "end"})
    if not require_columns(frame, name, ["pnr", "intervention", "start"], problems):
        return None
    keep = pd.Series(True, index=frame.index)
    if "status" in frame.columns:
        error = (
            frame["status"].astype("string").str.strip().str.lower() == "entered-in-error"
        ).fillna(False)
        _count(changes, name, "dropped", "intervention entered in error (status)", error)
        keep &= ~error
    code = frame["intervention"].astype("string").str.strip().str.upper()
    service = _fsiii_service(code, problems)
    unmapped = keep & (service == "").fillna(False)
    _count(
        changes,
        name,
        "dropped",
        "FSIII intervention group with no contract service (e.g. 0-ydelser, respite)",
        unmapped,
    )
    keep &= service.notna() & ~unmapped
    periods = pd.DataFrame({"pnr": frame["pnr"].astype(object), "service": service})
    periods["start_date"] = parse_dates(frame["start"], name, "start", problems)
    periods["end_date"] = _optional_dates(frame, name, "end", problems)
    periods = periods[keep & periods["start_date"].notna()]
    return _merged(periods, name, changes)


def _fsiii_service(code: pd.Series, problems: list[Problem]) -> pd.Series:
    """The service of each code's group; NA (a problem) for a code of no known group."""
    service = pd.Series(pd.NA, index=code.index, dtype="string")
    for prefix, target in fsiii_groups()[["code_prefix", "service"]].itertuples(index=False):
        service = service.mask(service.isna() & code.str.startswith(prefix).fillna(False), target)
    unknown = service.isna()
    if unknown.any():
        problems.append(
            Problem(
                "fsiii",
                "intervention",
                "unknown FSIII intervention code (not in data/registers/fsiii_services.csv)",
                int(unknown.sum()),
                example_rows(unknown),
            )
        )
    return service


def _count(changes: list[Change], name: str, action: str, reason: str, mask: pd.Series) -> None:
    if mask.any():
        changes.append(Change(name, TABLE, action, reason, int(mask.sum())))


def _merged(periods: pd.DataFrame, name: str, changes: list[Change]) -> pd.DataFrame:
    """Periods of one person and service that overlap or touch (the next starts by the day
    after the last ends) become one period; an open end stays open."""
    if not len(periods):
        return pd.DataFrame(columns=COLUMNS)
    p = periods.sort_values(["pnr", "service", "start_date"], kind="stable").reset_index(drop=True)
    reach = p["end_date"].fillna(pd.Timestamp.max.normalize()).astype("datetime64[s]")
    group = [p["pnr"], p["service"]]
    before = reach.groupby(group, sort=False).cummax().groupby(group, sort=False).shift()
    p["period"] = (before.isna() | (p["start_date"] > before + pd.Timedelta(days=1))).cumsum()
    merged = len(p) - int(p["period"].nunique())
    if merged:
        changes.append(
            Change(
                name,
                TABLE,
                "merged",
                "overlapping or adjoining periods of one service merged",
                merged,
            )
        )
    g = p.assign(open=p["end_date"].isna()).groupby("period", sort=False)
    out = g.agg(
        pnr=("pnr", "first"),
        service=("service", "first"),
        start_date=("start_date", "min"),
        end_date=("end_date", "max"),
        open=("open", "any"),
    )
    out["end_date"] = out["end_date"].where(~out["open"])
    out["hours_per_week"] = float("nan")
    return out.reset_index(drop=True)[COLUMNS]


def _dst_months(
    frame: pd.DataFrame, name: str, service: str, problems: list[Problem], changes: list[Change]
) -> pd.DataFrame | None:
    """Months with the service (`haend_mdr`/`hænd_mdr`, yyyymm) as periods from the first
    day of the first month to the last day of the last consecutive month."""
    frame = frame.rename(columns={"hænd_mdr": "haend_mdr"})
    if not require_columns(frame, name, ["pnr", "haend_mdr"], problems):
        return None
    changes.append(Change(name, TABLE, "warning", DST_COVERAGE, len(frame)))
    text = frame["haend_mdr"].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    month = pd.to_datetime(text + "01", format="%Y%m%d", errors="coerce")
    bad = month.isna()
    if bad.any():
        problems.append(
            Problem(
                name, "haend_mdr", "unparseable month (yyyymm)", int(bad.sum()), example_rows(bad)
            )
        )
    periods = pd.DataFrame(
        {"pnr": frame["pnr"].astype(object), "service": service, "start_date": month}
    )
    periods["end_date"] = month + pd.offsets.MonthEnd(0)
    periods = periods[~bad].astype({"start_date": "datetime64[s]", "end_date": "datetime64[s]"})
    return _merged(periods.drop_duplicates(), name, changes)


def to_registers(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The contract's `municipal_services` keyed by `pnr`, as the table a municipality
    passes on as given (no register carries all of its services and hours)."""
    return {"municipal_services": table.reset_index(drop=True).copy()}


def opt_outs(
    registers: Mapping[str, pd.DataFrame], extract_date: date, problems: list[Problem]
) -> Converted | None:
    """The contract table `opt_outs` keyed by `pnr`, dates parsed; None when absent."""
    frame = registers.get("opt_outs")
    if frame is None:
        return None
    converted = Converted(
        pd.DataFrame(columns=["pnr", "opt_out_date"]), [], {"opt_outs": len(frame)}
    )
    if require_columns(frame, "opt_outs", ["pnr", "opt_out_date"], problems):
        converted.table = pd.DataFrame(
            {
                "pnr": frame["pnr"].astype(object),
                "opt_out_date": parse_dates(
                    frame["opt_out_date"], "opt_outs", "opt_out_date", problems
                ),
            }
        ).reset_index(drop=True)
    return converted


def opt_outs_to_registers(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The contract's `opt_outs` keyed by `pnr`, as given."""
    return {"opt_outs": table.reset_index(drop=True).copy()}
