"""Cohort, features and labels at index dates, vectorised over one extract (or partition).

Everything is integer arithmetic on day numbers and `np.bincount` over person positions:
each event table is turned once into (person position, day) arrays, diagnosis codes are
matched against the code lists once per distinct code, and each index date D is then a
handful of masks. Features only read rows whose start date is before D (durations are
cut at D); labels only read the window [D, D + H months). See interfaces.md, "Labels,
version 1", for the definitions implemented here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskstrat.contract import Extract
from riskstrat.contract.reader import PersonSelection
from riskstrat.contract.tables import EDUCATION, MUNICIPAL_SERVICES, ORIGIN
from riskstrat.dates import add_months
from riskstrat.features.columns import (
    AGE_BANDS,
    AUDIT_COLUMNS,
    CONDITIONS,
    OUTCOME_COLUMNS,
    built_columns,
    windows,
)
from riskstrat.reference import code_list, covered_min_age, data_path, municipalities
from riskstrat.spec import ModelSpec

EPOCH = np.datetime64("1970-01-01", "D")
NEVER = np.iinfo(np.int64).max // 4  # a day after every real date
SERVICES = MUNICIPAL_SERVICES
# The columns features and labels read; the rest of an extract stays on disk.
COLUMNS_READ = {
    "persons": [
        "person_id",
        "birth_date",
        "sex",
        "municipality_code",
        "education",
        "income_quintile",
        "origin",
        "living_alone",
        "death_date",
        "emigration_date",
    ],
    "hospital_contacts": [
        "person_id",
        "start_date",
        "end_date",
        "contact_type",
        "acute",
        "action_diagnosis",
        "secondary_diagnoses",
    ],
    "gp_contacts": ["person_id", "contact_date", "contact_kind"],
    "municipal_services": ["person_id", "service", "start_date", "end_date", "hours_per_week"],
    "prescriptions": ["person_id", "dispense_date", "atc_code"],
    "opt_outs": [],
}
# Charlson categories of which only the severe form counts when both are present.
CHARLSON_HIERARCHY = {"mld": "msld", "diab": "diabwc", "canc": "metacanc"}


def day(d: date) -> int:
    """A date as a day number (days since 1970-01-01), the unit every date is compared in."""
    return int((np.datetime64(d, "D") - EPOCH).astype(np.int64))


def days(values: pd.Series, missing: int) -> np.ndarray:
    """Dates as day numbers; missing dates become `missing`."""
    raw = values.to_numpy(dtype="datetime64[D]")
    out = (raw - EPOCH).astype(np.int64)
    out[np.isnat(raw)] = missing
    return out


def build_features(
    extract: Extract, spec: ModelSpec, index_dates: list[date], with_labels: bool = True
) -> pd.DataFrame:
    """One row per person in the population at each index date: features, audit columns and
    (if `with_labels`) labels; sorted by (index_date, person_id).

    Population at D: born before D, `death_date` and `emigration_date` null or >= D, aged
    >= `spec.population.min_age` (and <= `max_age` if set) in completed years on D, and, if
    `exclude_nursing_home`, without a nursing-home period active at D (start < D, end null
    or >= D). Feature columns are float64 (`days_since_last_admission` is NaN for persons
    with no inpatient contact before D); audit columns are typed as in `_audit`; labels are
    nullable Int8, all null when D + H months is after the extract date. An empty extract,
    population or list of index dates gives an empty frame with the same columns and dtypes.
    """
    prepared = Prepared.of(extract, spec)
    frames = [prepared.at(d, with_labels) for d in sorted(set(index_dates))]
    if not frames:
        return prepared.at(extract.extract_date, with_labels).iloc[:0]
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return table


def candidates(
    specs: ModelSpec | Iterable[ModelSpec], index_dates: Iterable[date]
) -> PersonSelection:
    """The persons who can be in the population of any of `specs` at any of `index_dates`,
    as a reading selection: a superset of every population (`build_features` still applies
    the exact rules), so reading only them changes no row of the output.

    Old enough on the last date (born on or before it minus the smallest minimum age, two
    days' slack for 29 February), young enough on the first date if every spec has a
    maximum age, and neither dead nor emigrated before the first date.
    """
    specs = [specs] if isinstance(specs, ModelSpec) else list(specs)
    dates = sorted(set(index_dates))
    if not specs or not dates:
        return PersonSelection()
    first, last = dates[0], dates[-1]
    min_age = min(s.population.min_age for s in specs)
    born_by = add_months(last, -12 * min_age) + timedelta(days=2) if min_age > 0 else last
    max_ages = [s.population.max_age for s in specs if s.population.max_age is not None]
    born_after = None
    if len(max_ages) == len(specs):  # every spec has a maximum age
        born_after = add_months(first, -12 * (max(max_ages) + 1)) - timedelta(days=2)
    return PersonSelection(born_by=born_by, born_after=born_after, present_on=first)


@cache
def _condition_prefixes() -> pd.DataFrame:
    table = pd.read_csv(data_path("code_lists", "chronic_conditions_v1.csv"))
    table["exclude"] = table["exclude"].astype(str).str.lower() == "true"
    return table


@cache
def _charlson() -> pd.DataFrame:
    return pd.read_csv(data_path("code_lists", "charlson_quan2005.csv"))


@cache
def _hfrs() -> dict[str, float]:
    table = pd.read_csv(data_path("code_lists", "hfrs_gilbert2018.csv"))
    return dict(zip(table["code_prefix"].str[:4], table["weight"], strict=True))


def _match(codes: np.ndarray, prefixes: list[str]) -> np.ndarray:
    """Which of `codes` start with any of `prefixes` (one vectorised pass per prefix)."""
    series = pd.Series(codes, dtype="str")
    hit = np.zeros(len(codes), dtype=bool)
    for prefix in prefixes:
        hit |= series.str.startswith(prefix).to_numpy()
    return hit


@dataclass
class Prepared:
    """An extract turned into arrays once, so every index date is cheap."""

    spec: ModelSpec
    extract_day: int
    history_day: int | None
    person_id: np.ndarray
    birth: np.ndarray
    birth_md: np.ndarray
    death: np.ndarray
    emigration: np.ndarray
    persons: pd.DataFrame
    h: dict[str, np.ndarray]
    g: dict[str, np.ndarray]
    m: dict[str, np.ndarray]
    rx: dict[str, np.ndarray]
    condition_first: np.ndarray  # (persons, conditions) first day seen, NEVER if not
    charlson_first: np.ndarray  # (persons, categories)
    charlson_categories: list[str]
    hfrs: dict[str, np.ndarray]  # person, day, weight of (person, 3-character code) rows

    @classmethod
    def of(cls, extract: Extract, spec: ModelSpec) -> Prepared:
        persons = extract.persons.sort_values("person_id", kind="stable").reset_index(drop=True)
        ids = persons["person_id"].to_numpy(dtype=object)
        id_set = _arrow(persons["person_id"])
        birth_ts = persons["birth_date"]
        birth = days(birth_ts, NEVER)
        birth_md = (birth_ts.dt.month * 100 + birth_ts.dt.day).to_numpy(dtype=np.int64)

        def pos(frame: pd.DataFrame) -> np.ndarray:
            return person_positions(frame["person_id"], id_set)

        hc = extract.hospital_contacts
        contact_type = hc["contact_type"]
        inpatient = (contact_type == "inpatient").to_numpy(dtype=bool)
        acute = hc["acute"].to_numpy(dtype=bool)
        h_person = pos(hc)
        h_start = days(hc["start_date"], NEVER)
        listed = code_list(spec.code_list)
        min_age = covered_min_age(listed)
        # diagnoses (action and secondary) in long form, each distinct code matched once
        dx_row, code_index, codes = _diagnoses(hc)
        code_on_list = _match(codes, list(listed["code_prefix"]))
        on_list = code_on_list[code_index[: len(hc)]]  # the action diagnoses come first
        h = {
            "person": h_person,
            "start": h_start,
            "end": days(hc["end_date"], NEVER),
            "acute_inpatient": inpatient & acute,
            "planned_inpatient": inpatient & ~acute,
            "inpatient": inpatient,
            "emergency": (contact_type == "emergency").to_numpy(dtype=bool),
            "outpatient": (contact_type == "outpatient").to_numpy(dtype=bool),
        }
        at_age = _age(birth[h_person], birth_md[h_person], h_start, hc["start_date"])
        h["avoidable"] = h["acute_inpatient"] & on_list & (at_age >= min_age)

        gc = extract.gp_contacts
        kind = gc["contact_kind"]  # compared as Arrow strings: no Python objects per row
        g = {
            "person": pos(gc),
            "day": days(gc["contact_date"], NEVER),
            "home_visit": (kind == "home_visit").to_numpy(dtype=bool),
            "out_of_hours": (kind == "out_of_hours").to_numpy(dtype=bool),
        }

        ms = extract.municipal_services
        m = {
            "person": pos(ms),
            "start": days(ms["start_date"], NEVER),
            "end": days(ms["end_date"], NEVER),
            "service": pd.Categorical(ms["service"], categories=SERVICES).codes.astype(np.int64),
            "hours": ms["hours_per_week"].to_numpy(dtype=np.float64, na_value=np.nan),
        }

        pr = extract.prescriptions
        atc_codes, atc_uniques = _encode(_arrow(pr["atc_code"]))  # distinct full ATC codes
        rx = {"person": pos(pr), "day": days(pr["dispense_date"], NEVER), "atc": atc_codes}

        known = h_person[dx_row] >= 0
        dx_person, dx_day = h_person[dx_row][known], h_start[dx_row][known]
        code_index = code_index[known]
        n = len(ids)
        conds = _condition_prefixes()
        condition_first = np.full((n, len(CONDITIONS)), NEVER, dtype=np.int64)
        for j, name in enumerate(CONDITIONS):
            rules = conds[conds["condition"] == name]
            for source, (who, when, distinct, index) in (
                ("diagnosis", (dx_person, dx_day, codes, code_index)),
                ("atc", (rx["person"], rx["day"], atc_uniques, rx["atc"])),
            ):
                r = rules[rules["source"] == source]
                if r.empty or not len(distinct):
                    continue
                hit = _match(distinct, list(r.loc[~r["exclude"], "code_prefix"]))
                hit &= ~_match(distinct, list(r.loc[r["exclude"], "code_prefix"]))
                sel = hit[index] & (who >= 0)
                np.minimum.at(condition_first[:, j], who[sel], when[sel])
        charlson = _charlson()
        categories = sorted(charlson["category"].unique())
        charlson_first = np.full((n, len(categories)), NEVER, dtype=np.int64)
        for j, cat in enumerate(categories):
            if not len(codes):
                break
            hit = _match(codes, list(charlson.loc[charlson["category"] == cat, "code_prefix"]))
            sel = hit[code_index]
            np.minimum.at(charlson_first[:, j], dx_person[sel], dx_day[sel])
        # HFRS: 'D' + the first three characters; each 3-character code is one key number
        weights = _hfrs()
        keys = list(weights)
        key_of = {k: i for i, k in enumerate(keys)}
        code_key = np.array([key_of.get(str(c)[:4], -1) for c in codes], dtype=np.int64)
        row_key = code_key[code_index] if len(codes) else np.zeros(0, dtype=np.int64)
        keep = row_key >= 0
        hfrs = {
            "person": dx_person[keep],
            "day": dx_day[keep],
            "key": row_key[keep],
            "key_weight": np.array([weights[k] for k in keys], dtype=np.float64),
        }

        return cls(
            spec=spec,
            extract_day=day(extract.extract_date),
            history_day=None if extract.history_start is None else day(extract.history_start),
            person_id=ids,
            birth=birth,
            birth_md=birth_md,
            death=days(persons["death_date"], NEVER),
            emigration=days(persons["emigration_date"], NEVER),
            persons=persons,
            h=h,
            g=g,
            m=m,
            rx=rx,
            condition_first=condition_first,
            charlson_first=charlson_first,
            charlson_categories=categories,
            hfrs=hfrs,
        )

    # ------------------------------------------------------------------ one index date
    def at(self, index_date: date, with_labels: bool) -> pd.DataFrame:
        spec = self.spec
        d = day(index_date)
        age = _age(self.birth, self.birth_md, np.full(len(self.birth), d), pd.Timestamp(index_date))
        member = (self.birth < d) & (self.death >= d) & (self.emigration >= d)
        member &= age >= spec.population.min_age
        if spec.population.max_age is not None:
            member &= age <= spec.population.max_age
        n = len(self.person_id)
        cols: dict[str, np.ndarray] = {}
        cols["age"] = age.astype(np.float64)
        cols["sex_male"] = (self.persons["sex"].to_numpy(dtype=object) == "M").astype(np.float64)
        h, g, m = self.h, self.g, self.m
        before = h["start"] < d
        for w in windows(spec):
            lo = day(add_months(index_date, -w))
            inw = before & (h["start"] >= lo)
            cols[f"acute_admissions_{w}m"] = _count(h["person"], inw & h["acute_inpatient"], n)
            cols[f"planned_admissions_{w}m"] = _count(h["person"], inw & h["planned_inpatient"], n)
            stay = before & h["inpatient"] & (np.minimum(h["end"], d) > lo)
            nights = np.minimum(h["end"], d) - np.maximum(h["start"], lo)
            cols[f"bed_days_{w}m"] = _sum(h["person"], stay, nights, n)
            cols[f"ed_visits_{w}m"] = _count(h["person"], inw & h["emergency"], n)
            cols[f"outpatient_contacts_{w}m"] = _count(h["person"], inw & h["outpatient"], n)
            cols[f"avoidable_admissions_{w}m"] = _count(h["person"], inw & h["avoidable"], n)
            gin = (g["day"] < d) & (g["day"] >= lo)
            cols[f"gp_contacts_{w}m"] = _count(g["person"], gin, n)
            cols[f"gp_home_visits_{w}m"] = _count(g["person"], gin & g["home_visit"], n)
            cols[f"gp_out_of_hours_{w}m"] = _count(g["person"], gin & g["out_of_hours"], n)
        last = np.full(n, -NEVER, dtype=np.int64)
        sel = before & h["inpatient"] & (h["person"] >= 0)
        np.maximum.at(last, h["person"][sel], h["start"][sel])
        # NaN (not a cap) for persons never admitted before D: LightGBM treats missing as its
        # own branch, and a cap would pretend to know of an admission ten years back.
        cols["days_since_last_admission"] = np.where(last > -NEVER, d - last, np.nan).astype(
            np.float64
        )

        active = (m["start"] < d) & (m["end"] >= d)
        for service in ("home_care", "home_nursing", "rehabilitation", "training"):
            cols[f"{service}_active"] = _any(
                m["person"], active & (m["service"] == SERVICES.index(service)), n
            )
        cols["nursing_home"] = _any(
            m["person"], active & (m["service"] == SERVICES.index("nursing_home")), n
        )
        hc = active & (m["service"] == SERVICES.index("home_care"))
        cols["home_care_hours_per_week"] = _sum(m["person"], hc, np.nan_to_num(m["hours"]), n)
        y12 = day(add_months(index_date, -12))
        started = (m["start"] < d) & (m["start"] >= y12)
        cols["acute_team_12m"] = _count(
            m["person"], started & (m["service"] == SERVICES.index("acute_team")), n
        )
        cols["preventive_home_visit_12m"] = _count(
            m["person"], started & (m["service"] == SERVICES.index("preventive_home_visit")), n
        )
        overlap = (m["start"] < d) & (m["end"] >= y12)
        cols["municipal_services_12m"] = _count(m["person"], overlap, n)
        prior = self._trilateral(y12, d, known_before=d)
        cols["trilateral_12m"] = prior.astype(np.float64)

        y24 = day(add_months(index_date, -24))
        acute_prev = _count(
            h["person"], h["acute_inpatient"] & (h["start"] >= y24) & (h["start"] < y12), n
        )
        cols["acute_admissions_trend"] = cols["acute_admissions_12m"] - acute_prev
        gp_prev = _count(g["person"], (g["day"] >= y24) & (g["day"] < y12), n)
        cols["gp_contacts_trend"] = cols["gp_contacts_12m"] - gp_prev

        for j, name in enumerate(CONDITIONS):
            cols[f"cond_{name}"] = (self.condition_first[:, j] < d).astype(np.float64)
        cols["n_chronic_conditions"] = np.sum([cols[f"cond_{c}"] for c in CONDITIONS], axis=0)
        cols["charlson_index"] = self._charlson_index(d)
        cols["hfrs_score"] = self._hfrs(d, y24, n)

        rx = self.rx
        rin = (rx["day"] < d) & (rx["day"] >= y12) & (rx["person"] >= 0)
        # distinct (person, ATC) pairs as one int64 key each: sorting integers, not rows
        width = int(rx["atc"].max()) + 1 if rx["atc"].size else 1
        keys = np.unique(rx["person"][rin] * width + rx["atc"][rin])
        distinct = np.bincount(keys // width, minlength=n).astype(np.float64)
        cols["distinct_atc_12m"] = distinct
        cols["polypharmacy_5"] = (distinct >= 5).astype(np.float64)
        cols["polypharmacy_10"] = (distinct >= 10).astype(np.float64)

        if spec.population.exclude_nursing_home:  # a nursing-home period active at D
            member &= cols["nursing_home"] == 0
        rows = np.flatnonzero(member)
        out = pd.DataFrame({"person_id": pd.Series(self.person_id[rows], dtype="str")})
        out["index_date"] = pd.Series(np.full(rows.size, np.datetime64(index_date, "s")))
        for name in built_columns(spec):
            out[name] = cols[name][rows]
        audit = self._audit(rows, age[rows])
        for name in AUDIT_COLUMNS:
            out[name] = audit[name]
        if with_labels:
            for name, values in self._labels(d, index_date, rows).items():
                out[name] = values
        return out

    def _trilateral(self, lo: int, hi: int, known_before: int) -> np.ndarray:
        """Contact with all three sectors in [lo, hi) (municipal: a period overlapping it)."""
        n = len(self.person_id)
        h, g, m = self.h, self.g, self.m
        hosp = _any(h["person"], (h["start"] >= lo) & (h["start"] < hi), n)
        gp = _any(g["person"], (g["day"] >= lo) & (g["day"] < hi), n)
        mun = _any(m["person"], (m["start"] < min(hi, known_before)) & (m["end"] >= lo), n)
        return (hosp > 0) & (gp > 0) & (mun > 0)

    def _charlson_index(self, d: int) -> np.ndarray:
        present = pd.DataFrame(self.charlson_first < d, columns=self.charlson_categories)
        for mild, severe in CHARLSON_HIERARCHY.items():
            if mild in present and severe in present:
                present[mild] &= ~present[severe]
        charlson = _charlson()
        weight = charlson.groupby("category")["weight_charlson1987"].max()
        return (
            present.to_numpy(dtype=np.float64)
            @ weight.reindex(present.columns).fillna(0).to_numpy()
        )

    def _hfrs(self, d: int, lo: int, n: int) -> np.ndarray:
        hf = self.hfrs
        sel = (hf["day"] < d) & (hf["day"] >= lo) & (hf["person"] >= 0)
        if not sel.any():
            return np.zeros(n)
        width = len(hf["key_weight"])
        pairs = np.unique(hf["person"][sel] * width + hf["key"][sel])  # each code once a person
        return np.bincount(
            pairs // width, weights=hf["key_weight"][pairs % width], minlength=n
        ).astype(np.float64)

    def _audit(self, rows: np.ndarray, age: np.ndarray) -> dict[str, pd.Series]:
        p = self.persons.iloc[rows]
        names = municipalities().set_index("municipality_code")["rurality_name"]
        rurality_levels = list(
            dict.fromkeys(municipalities().sort_values("rurality")["rurality_name"])
        )
        band = np.select([age < 65, age < 75, age < 85], AGE_BANDS[:3], AGE_BANDS[3])
        return {
            "municipality_code": pd.Series(p["municipality_code"].to_numpy(dtype=np.int64)),
            "rurality": pd.Series(
                pd.Categorical(
                    p["municipality_code"].map(names).to_numpy(dtype=object),
                    categories=rurality_levels,
                )
            ),
            "education": pd.Series(
                pd.Categorical(p["education"].to_numpy(dtype=object), categories=list(EDUCATION))
            ),
            "income_quintile": pd.Series(p["income_quintile"].to_numpy(), dtype="Int8"),
            "origin": pd.Series(
                pd.Categorical(p["origin"].to_numpy(dtype=object), categories=list(ORIGIN))
            ),
            "sex": pd.Series(
                pd.Categorical(p["sex"].to_numpy(dtype=object), categories=["F", "M"])
            ),
            "age_band": pd.Series(pd.Categorical(band, categories=AGE_BANDS)),
            "living_alone": pd.Series(p["living_alone"].astype("Int8").to_numpy(), dtype="Int8"),
        }

    def _labels(self, d: int, index_date: date, rows: np.ndarray) -> dict[str, pd.Series]:
        n = len(self.person_id)
        end_date = add_months(index_date, self.spec.horizon_months)
        e = day(end_date)
        if e > self.extract_day:
            return {
                name: pd.Series(pd.array([pd.NA] * rows.size, dtype="Int8"))
                for name in OUTCOME_COLUMNS
            }
        h = self.h
        inw = (h["start"] >= d) & (h["start"] < e)
        avoidable = _any(h["person"], inw & h["avoidable"], n) > 0
        trilateral = self._trilateral(d, e, known_before=e)
        died = (self.death >= d) & (self.death < e)
        emigrated = (self.emigration >= d) & (self.emigration < e)
        y12 = day(add_months(index_date, -12))
        was = self._trilateral(y12, d, known_before=d)
        new = pd.array(trilateral.astype(np.int8), dtype="Int8")[rows]
        unknown_history = self.history_day is not None and self.history_day > y12
        new[was[rows] | unknown_history] = pd.NA

        def ints(values: np.ndarray) -> pd.Series:
            return pd.Series(pd.array(values[rows].astype(np.int8), dtype="Int8"))

        return {
            "y_avoidable_admission": ints(avoidable),
            "y_trilateral": ints(trilateral),
            "y_new_trilateral": pd.Series(new),
            "died_in_window": ints(died),
            "emigrated_in_window": ints(emigrated),
        }


def _age(birth: np.ndarray, birth_md: np.ndarray, on: np.ndarray, on_dates) -> np.ndarray:
    """Completed years on day numbers `on` (a 29 February birthday counts on 1 March)."""
    on_ts = pd.to_datetime(pd.Series(on, dtype="int64") * 86_400, unit="s")
    on_year = on_ts.dt.year.to_numpy(dtype=np.int64)
    on_md = (on_ts.dt.month * 100 + on_ts.dt.day).to_numpy(dtype=np.int64)
    birth_year = pd.to_datetime(
        pd.Series(np.minimum(birth, 10**6), dtype="int64") * 86_400, unit="s"
    )
    years = on_year - birth_year.dt.year.to_numpy(dtype=np.int64)
    return years - (on_md < birth_md).astype(np.int64)


def _count(person: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    sel = mask & (person >= 0)
    return np.bincount(person[sel], minlength=n).astype(np.float64)


def _any(person: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return (_count(person, mask, n) > 0).astype(np.float64)


def _sum(person: np.ndarray, mask: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    sel = mask & (person >= 0)
    # float64 even when nothing is selected (numpy gives int64 for empty weights)
    return np.bincount(person[sel], weights=values[sel].astype(np.float64), minlength=n).astype(
        np.float64
    )


def person_positions(person_ids: pd.Series, persons: pd.Series | pa.Array) -> np.ndarray:
    """Each row's position in `persons` (their person ids; -1 for a person not there), by
    Arrow hashing: much cheaper than a merge or a pandas index lookup on the id text."""
    value_set = persons if isinstance(persons, pa.Array) else _arrow(persons)
    found = pc.index_in(_arrow(person_ids), value_set=value_set)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _arrow(values: pd.Series) -> pa.Array:
    """A string column as one Arrow (large) string array (zero-copy for Arrow-backed `str`)."""
    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.large_string())


def _encode(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(code number of each row, the distinct codes): hashing, no Python object per row."""
    encoded = pc.dictionary_encode(pc.fill_null(values, ""))
    return (
        encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
        encoded.dictionary.to_numpy(zero_copy_only=False).astype(object),
    )


def _diagnoses(hc: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every action and secondary diagnosis in long form, without a Python object per row:
    (contact row, code number, distinct codes). The first `len(hc)` entries are the action
    diagnoses in row order; then the `;`-separated secondary diagnoses."""
    action = _arrow(hc["action_diagnosis"])
    secondary = pc.split_pattern(_arrow(hc["secondary_diagnoses"]), ";")
    parts = pc.list_flatten(secondary)
    rows = np.concatenate(
        [
            np.arange(len(action), dtype=np.int64),
            pc.list_parent_indices(secondary).to_numpy().astype(np.int64),
        ]
    )
    code_index, codes = _encode(pa.concat_arrays([action, parts.cast(pa.large_string())]))
    return rows, code_index, codes
