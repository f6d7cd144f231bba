"""The monthly simulation of one chunk of persons: conditions, frailty and events per sector.

Every month, for every person still living in Denmark: chronic conditions may start;
frailty follows conditions, age and past acute admissions; hospital, GP and municipal
events are drawn with rates that depend on all of these and on the person's memory of
recent acute admissions, so that an admission raises the chance of the next one, of home
care and of rehabilitation. A burn-in before the history's first day settles the state
(ongoing home care, nursing-home residents, recent admissions) without recording events.

Dates are integer days since 1970-01-01 throughout; -1 marks a missing end date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from riskstrat.contract.tables import GP_CONTACT_KINDS, MUNICIPAL_SERVICES
from riskstrat.dates import add_months
from riskstrat.features.columns import CONDITIONS
from riskstrat.synth.population import Persons

# the shared vocabularies: conditions of the feature code lists, categories of the contract
GP_KINDS, SERVICES = GP_CONTACT_KINDS, MUNICIPAL_SERVICES
EPOCH = date(1970, 1, 1)
BURN_IN_MONTHS = 36
# at most this many short hospital contacts a person-day: the register layout places them in
# four slots more than four hours apart (registers.hospital.to_registers)
SHORT_CONTACTS_PER_DAY = 4


def day_number(d: date) -> int:
    """A date as the simulation's day number: whole days since 1970-01-01."""
    return (d - EPOCH).days


def fee_week(days: np.ndarray) -> np.ndarray:
    """Day numbers dated on the Monday of their ISO week. The national registers hold a GP
    contact's fee week only (SSSY `honuge`), and the import dates it on that Monday
    (docs/registers-events.md): written so, a GP contact reads back on the same day, and
    every window boundary (labels, features) counts it as the registers do."""
    return days - (days + 3) % 7  # 1970-01-01, day 0, was a Thursday (weekday 3)


@dataclass
class Events:
    """Columns of one chunk's event tables, as lists of arrays to concatenate."""

    hospital: dict = field(
        default_factory=lambda: _columns(
            "person", "start", "end", "type", "acute", "diagnosis", "secondary"
        )
    )
    gp: dict = field(default_factory=lambda: _columns("person", "day", "kind"))
    municipal: dict = field(
        default_factory=lambda: _columns("person", "service", "start", "end", "hours")
    )
    prescriptions: dict = field(default_factory=lambda: _columns("person", "day", "atc"))

    @staticmethod
    def add(table: dict, **values) -> None:
        for key, value in values.items():
            table[key].append(value)


def _columns(*names: str) -> dict:
    return {n: [] for n in names}


@dataclass
class Outcome:
    """A simulated chunk: the persons' exits and all their events."""

    death_day: np.ndarray  # -1 = alive at the extract date
    emigration_day: np.ndarray
    events: Events
    opt_out_day: np.ndarray  # -1 = none


class Simulation:
    """Simulates one chunk of persons from `history_start` to `extract_date`."""

    def __init__(
        self,
        params: dict,
        codes: dict,
        persons: Persons,
        history_start: date,
        extract_date: date,
        rng: np.random.Generator,
    ) -> None:
        self.p = params
        self.codes = codes
        self.persons = persons
        self.rng = rng
        self.n = len(persons)
        self.day0 = day_number(history_start)
        self.end_day = day_number(extract_date)
        months = []
        m = -BURN_IN_MONTHS
        while True:
            start = add_months(history_start, m)
            if start >= extract_date:
                break
            months.append((m, day_number(start), day_number(add_months(history_start, m + 1))))
            m += 1
        self.months = months
        self.events = Events()
        n = self.n
        self.cond = np.zeros((n, len(CONDITIONS)), dtype=bool)
        self.onset = np.full((n, len(CONDITIONS)), -(10**6), dtype=np.int64)
        self.admissions = np.zeros(n)
        # the day the person's latest recorded admission ends: one stay at a time
        self.discharge = np.full(n, -(10**6), dtype=np.int64)
        self.month_stop = self.end_day
        self.recent = np.zeros(n)
        self.recent_stays = np.zeros(n)  # acute and planned stays: rehabilitation follows both
        self.death = np.full(n, -1, dtype=np.int64)
        self.emigration = np.full(n, -1, dtype=np.int64)
        self.in_country = np.ones(n, dtype=bool)
        self.service_start = np.full((n, len(SERVICES)), -1, dtype=np.int64)
        self.hours = np.full(n, np.nan)
        sectors = params["sectors"]
        shared = rng.normal(size=n)
        self.frailty_random = rng.normal(scale=params["frailty"]["random_sd"], size=n)
        self.effect = {}
        for name in (
            "acute_admission",
            "planned_admission",
            "emergency_visit",
            "outpatient",
            "gp_contact",
        ):
            sd = sectors[name]["person_sd"]
            share = sectors[name].get("shared_share", sectors["shared_share"])
            z = np.sqrt(share) * shared + np.sqrt(1 - share) * rng.normal(size=n)
            self.effect[name] = sd * z - sd**2 / 2  # mean one on the rate scale
        self._prevalent_conditions()

    # ---------------------------------------------------------------- state
    def _prevalent_conditions(self) -> None:
        age = self.persons.age0
        for j, name in enumerate(CONDITIONS):
            c = self.p["conditions"][name]
            b = c["age_slope"]
            level = np.exp(
                c["log_rate_at_70"]
                + c["social"] * self.persons.disadvantage
                + c.get("female_log_ratio", 0.0) * ~self.persons.male
            )
            cumulative = level * 10 / b * (np.exp(b * (age - 70) / 10) - np.exp(b * (30 - 70) / 10))
            cumulative = np.where(age > 30, cumulative, 0.0)
            has = self.rng.random(self.n) < 1 - np.exp(-cumulative)
            self.cond[has, j] = True

    def _excess_frailty(self, age: np.ndarray) -> np.ndarray:
        """Frailty above the typical frailty at the person's age."""
        f = self.p["frailty"]
        return self._frailty(age) - np.interp(age, f["typical_ages"], f["typical"])

    def _frailty(self, age: np.ndarray) -> np.ndarray:
        f = self.p["frailty"]
        weights = np.array([f["condition_weight"][c] for c in CONDITIONS])
        return (
            self.cond @ weights
            + f["age_per_decade_over_65"] * np.clip(age - 65, 0, None) / 10
            + f["per_admission"] * np.minimum(self.admissions, 10)
            + self.frailty_random
        )

    # ---------------------------------------------------------------- run
    def run(self) -> Outcome:
        decay = 0.5 ** (1 / self.p["recent_admissions"]["half_life_months"])
        for m, start, stop in self.months:
            recording = m >= 0
            self.month_stop = stop
            active = self.in_country.copy()
            age = self.persons.age0 + (start + 15 - self.day0) / 365.25
            exit_day = np.full(self.n, 10**9, dtype=np.int64)
            if recording:
                exit_day = self._exits(active, age, start, stop)
                self._incident_conditions(active, age, start, stop, exit_day)
            frailty = self._excess_frailty(age)
            new_acute, new_planned = self._hospital(
                active, age, frailty, start, stop, exit_day, recording
            )
            if recording:
                self._gp(active, age, frailty, start, stop, exit_day)
            self._municipal(active, age, frailty, start, stop, exit_day)
            self.recent = self.recent * decay + new_acute
            self.recent_stays = self.recent_stays * decay + new_acute + new_planned
            self.admissions += new_acute
            leaving = exit_day < 10**9
            self._close_services(leaving, exit_day)
            self.in_country &= ~leaving
        self._close_burn_in_periods()
        self._contacts_within_stays()
        self._prescriptions()
        return Outcome(self.death, self.emigration, self.events, self._opt_outs())

    def _days(self, start: int, stop: int, k: int) -> np.ndarray:
        return start + self.rng.integers(0, stop - start, size=k)

    def _exits(self, active, age, start, stop) -> np.ndarray:
        mp, ep = self.p["mortality"], self.p["emigration"]
        frailty = self._excess_frailty(age)
        yearly = np.exp(mp["intercept"] + mp["slope"] * age + mp["frailty_effect"] * frailty)
        yearly = np.maximum(yearly, mp["child_yearly"])
        dies = active & (self.rng.random(self.n) < 1 - np.exp(-yearly / 12))
        emig_rate = np.interp(age, ep["ages"], ep["per_year"]) * np.where(
            np.isin(self.persons.origin, (1, 2)), ep["immigrant_factor"], 1.0
        )
        emigrates = active & ~dies & (self.rng.random(self.n) < emig_rate / 12)
        exit_day = np.full(self.n, 10**9, dtype=np.int64)
        rows = np.flatnonzero(dies)
        self.death[rows] = exit_day[rows] = self._days(start, stop, rows.size)
        rows = np.flatnonzero(emigrates)
        self.emigration[rows] = exit_day[rows] = self._days(start, stop, rows.size)
        return exit_day

    def _incident_conditions(self, active, age, start, stop, exit_day) -> None:
        for j, name in enumerate(CONDITIONS):
            c = self.p["conditions"][name]
            yearly = np.exp(
                c["log_rate_at_70"]
                + c["age_slope"] * (age - 70) / 10
                + c["social"] * self.persons.disadvantage
                + c.get("female_log_ratio", 0.0) * ~self.persons.male
            ) * (age > 30)
            new = active & ~self.cond[:, j] & (self.rng.random(self.n) < yearly / 12)
            rows = np.flatnonzero(new)
            if not rows.size:
                continue
            self.cond[rows, j] = True
            self.onset[rows, j] = self._days(start, stop, rows.size)
            # the diagnosis is made in hospital for most: an acute stay for stroke and
            # often heart failure, an outpatient work-up for the others
            acute = self.rng.random(rows.size) < {"stroke": 0.9, "heart_failure": 0.5}.get(
                name, 0.0
            )
            seen = acute | (self.rng.random(rows.size) < 0.6)
            self._record_hospital(
                rows[seen],
                self.onset[rows[seen], j],
                np.where(acute[seen], 0, 1),
                acute[seen],
                np.full(seen.sum(), self.codes["condition"][name][0], dtype=object),
                age[rows[seen]],
                exit_day,
                "acute_admission",
            )

    # ---------------------------------------------------------------- hospital
    def _rate(self, sector: str, age, frailty, active, effect=True) -> np.ndarray:
        s = self.p["sectors"][sector]
        log_rate = (
            np.interp(age, s["ages"], s["log_rate"])
            + s["frailty_effect"] * frailty
            + s["recent_effect"] * np.minimum(self.recent, 3)
            + s["social_effect"] * self.persons.disadvantage
            + s.get("care_effect", 0.0) * self._in_care()
        )
        if effect:
            log_rate = log_rate + self.effect[sector]
        return np.where(active, np.exp(log_rate) / 12, 0.0)

    def _in_care(self) -> np.ndarray:
        """Receiving home care, home nursing or living in a nursing home now."""
        j = [SERVICES.index(s) for s in ("home_care", "home_nursing", "nursing_home")]
        # numpy's stub types any() as a scalar or an array whatever the axis; with axis=1 of
        # a 2-D array it is always an array (one flag per person)
        return (self.service_start[:, j] >= 0).any(axis=1)  # type: ignore[return-value]

    def _hospital(
        self, active, age, frailty, start, stop, exit_day, recording
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw this month's hospital contacts (recorded only when `recording`, i.e. after the
        burn-in); returns the acute and the planned admissions per person (planned ones are
        not drawn in the burn-in: zero)."""
        rng = self.rng
        acute_n = rng.poisson(self._rate("acute_admission", age, frailty, active))
        if not recording:
            return acute_n, np.zeros(self.n)
        rows = np.repeat(np.arange(self.n), acute_n)
        days = self._days(start, stop, rows.size)
        keep = days <= exit_day[rows]
        rows, days = rows[keep], days[keep]
        diagnoses = self._acute_diagnoses(rows, age, frailty)
        happens = self._admissions_that_happen(rows, days, diagnoses)
        if happens is not None:
            rows, days, diagnoses = rows[happens], days[happens], diagnoses[happens]
        acute_n = np.bincount(rows, minlength=self.n)
        self._record_hospital(
            rows, days, 0, True, diagnoses, age[rows], exit_day, "acute_admission"
        )
        for sector, ctype, acute, pool in (
            ("planned_admission", 0, False, "planned"),
            ("emergency_visit", 2, True, "emergency"),
            ("outpatient", 1, False, "outpatient"),
        ):
            k = rng.poisson(self._rate(sector, age, frailty, active))
            if sector == "planned_admission":
                planned_n = k
            rows = np.repeat(np.arange(self.n), k)
            self._record_hospital(
                rows,
                self._days(start, stop, rows.size),
                ctype,
                acute,
                self._pick(pool, rows.size),
                age[rows],
                exit_day,
                sector,
            )
        # controls of chronic conditions
        for j, name in enumerate(CONDITIONS):
            rate = self.p["conditions"][name]["outpatient_per_year"] / 12
            scale = np.exp(0.5 * self.effect["outpatient"])
            k = rng.poisson(np.where(active & self.cond[:, j], rate * scale, 0.0))
            rows = np.repeat(np.arange(self.n), k)
            codes = self.codes["condition"][name]
            diag = np.asarray(codes, dtype=object)[rng.integers(0, len(codes), rows.size)]
            self._record_hospital(
                rows,
                self._days(start, stop, rows.size),
                1,
                False,
                diag,
                age[rows],
                exit_day,
                "outpatient",
            )
        return acute_n, planned_n

    def _admissions_that_happen(
        self, rows: np.ndarray, days: np.ndarray, diagnoses: np.ndarray
    ) -> np.ndarray | None:
        """Which of the month's drawn acute admissions happen (None: all of them). The plain
        generator keeps all; `synth.outreach` prevents some of the avoidable ones of persons
        contacted by an outreach team. Must not draw from `self.rng`: the stream of every
        other event stays as it is."""
        return None

    def _record_hospital(
        self, rows, days, ctype, acute, diagnoses, age_rows, exit_day, los_sector: str
    ) -> None:
        """Record contacts; inpatient stays get a length of stay from `los_sector`."""
        if not len(rows):
            return
        keep = days <= exit_day[rows]
        rows, days, diagnoses, age_rows = rows[keep], days[keep], diagnoses[keep], age_rows[keep]
        ctype = np.broadcast_to(np.asarray(ctype), keep.shape)[keep]
        acute = np.broadcast_to(np.asarray(acute), keep.shape)[keep]
        if not len(rows):
            return
        days = days.copy()
        end = days.copy()
        inpatient = ctype == 0
        if inpatient.any():
            s = self.p["sectors"][los_sector]
            mean = np.interp(age_rows[inpatient], s["mean_days_ages"], s["mean_days"])
            los = self.rng.geometric(1 / np.maximum(mean, 1.0)) - 1
            at = np.flatnonzero(inpatient)
            days[at], end[at], happens = self._admit(rows[at], days[at], los, exit_day)
            keep = np.ones(rows.size, dtype=bool)
            keep[at[~happens]] = False
            rows, days, end, diagnoses = rows[keep], days[keep], end[keep], diagnoses[keep]
            age_rows, ctype, acute = age_rows[keep], ctype[keep], acute[keep]
            inpatient = ctype == 0
            if not len(rows):
                return
        end = np.where(end >= self.end_day, -1, end)
        share = self.p["diagnoses"]["secondary_share_inpatient"]
        with_secondary = inpatient & (self.rng.random(rows.size) < share)
        mask = self.cond[rows] @ (1 << np.arange(len(CONDITIONS)))
        secondary = np.where(with_secondary, self.codes["secondary_by_mask"][mask], None)
        Events.add(
            self.events.hospital,
            person=rows,
            start=days,
            end=end,
            type=ctype,
            acute=acute,
            diagnosis=diagnoses,
            secondary=secondary,
        )
        if inpatient.any():
            self._after_discharge(rows[inpatient], end[inpatient], age_rows[inpatient])

    def _admit(
        self, rows: np.ndarray, days: np.ndarray, los: np.ndarray, exit_day: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start and end day of drawn admissions (`days`, lengths of stay `los`), and whether
        each happens. A person is in one hospital stay at a time: an admission drawn for a day
        on or before the person's latest discharge begins the day after it, so LPR3's stay
        rule reads every admission back as the row it is; one that cannot then begin this
        month, before the person's exit, does not happen (its draw still counts in the
        memory of recent admissions: the deterioration happened, inside a stay)."""
        start, end = days.copy(), days.copy()
        happens = np.zeros(rows.size, dtype=bool)
        # the person's admissions of this call in date order, one rank after another
        order = np.lexsort((np.arange(rows.size), days, rows))
        first = np.r_[True, rows[order][1:] != rows[order][:-1]]
        position = np.arange(rows.size)
        rank = np.empty(rows.size, dtype=np.int64)
        rank[order] = position - np.maximum.accumulate(np.where(first, position, 0))
        last_day = np.minimum(exit_day[rows], self.month_stop - 1)
        death = np.where(self.death[rows] < 0, 10**9, self.death[rows])
        for r in range(int(rank.max()) + 1 if rows.size else 0):
            i = np.flatnonzero(rank == r)
            who = rows[i]
            start[i] = np.maximum(days[i], self.discharge[who] + 1)
            end[i] = np.minimum(start[i] + los[i], death[i])
            ok = start[i] <= last_day[i]
            happens[i] = ok
            self.discharge[who[ok]] = end[i][ok]
        return start, end, happens

    def _contacts_within_stays(self) -> None:
        """Drop the short contacts (outpatient, emergency) a person has on a day of one of
        their admissions, from its start date to its end date: in the registers they are
        part of that stay, not a contact of their own. Also a fifth and later short contact
        of a person on one day: five visits in a day, more than four hours apart each, do not
        fit in it (LPR3 links them into one stay). No random draws: streams stay as they are."""
        h = self.events.hospital
        if not h["person"]:
            return
        cols = {k: np.concatenate(v) for k, v in h.items()}
        person, day, end = cols["person"], cols["start"], cols["end"]
        stay = cols["type"] == 0
        span = 10**6  # more days than the history holds: person * span + day orders both
        order = np.lexsort((day[stay], person[stay]))
        key = (person[stay] * span + day[stay])[order]
        until = np.where(end[stay] < 0, 10**9, end[stay])[order]
        owner = person[stay][order]
        at = np.searchsorted(key, person * span + day, side="right") - 1
        held = at >= 0
        at = at.clip(0)
        inside = ~stay & held & (owner[at] == person) & (day <= until[at])
        short = np.flatnonzero(~stay & ~inside)
        by_day = short[np.lexsort((short, day[short], person[short]))]
        same = np.r_[
            False,
            (person[by_day][1:] == person[by_day][:-1]) & (day[by_day][1:] == day[by_day][:-1]),
        ]
        position = np.arange(by_day.size)
        nth = position - np.maximum.accumulate(np.where(~same, position, 0))
        keep = ~inside
        keep[by_day[nth >= SHORT_CONTACTS_PER_DAY]] = False
        for k, v in cols.items():
            h[k] = [v[keep]]

    def _after_discharge(self, rows, end, age_rows) -> None:
        """Municipal services that start at discharge (a rehabilitation plan, home nursing)."""
        done = end >= 0  # still admitted at the extract date: nothing follows yet
        rows, end, age_rows = rows[done], end[done], age_rows[done]
        for service, rule in self.p["municipal"]["after_discharge"].items():
            j = SERVICES.index(service)
            p = np.interp(age_rows, rule["ages"], rule["share"])
            start = (self.rng.random(rows.size) < p) & (self.service_start[rows, j] < 0)
            start &= end < self.end_day
            self.service_start[rows[start], j] = end[start]

    def _acute_diagnoses(self, rows, age, frailty) -> np.ndarray:
        rng = self.rng
        a = self.p["avoidable"]
        dementia = self.cond[rows, CONDITIONS.index("dementia")]
        logit = (
            a["intercept"]
            + a["age_slope"] * (age[rows] - 80) / 10
            + a["frailty"] * frailty[rows]
            + a["social"] * self.persons.disadvantage[rows]
            + a["dementia"] * dementia
            + a["living_alone"] * self.persons.alone[rows]
        )
        avoidable = rng.random(rows.size) < 1 / (1 + np.exp(-logit))
        out = self._pick("acute_other", rows.size)
        k = int(avoidable.sum())
        if k:
            out[avoidable] = self.codes["avoidable"][
                rng.choice(len(self.codes["avoidable"]), size=k, p=self.codes["avoidable_p"])
            ]
        held = self.cond[rows]
        exacerbation = (
            ~avoidable
            & held.any(axis=1)
            & (rng.random(rows.size) < self.p["diagnoses"]["exacerbation_share"])
        )
        if exacerbation.any():
            which = np.argmax(
                rng.random((int(exacerbation.sum()), held.shape[1])) * held[exacerbation], axis=1
            )
            out[exacerbation] = self.codes["exacerbation"][which]
        return out

    def _pick(self, pool: str, k: int) -> np.ndarray:
        """Diagnoses from a pool, with a share drawn from all ICD-10 categories for variety."""
        codes = self.codes["pools"][pool]
        out = codes[self.rng.integers(0, len(codes), k)]
        other = self.rng.random(k) < self.p["diagnoses"]["random_category_share"]
        if other.any():
            cats = self.codes["categories"]
            out[other] = cats[self.rng.integers(0, len(cats), int(other.sum()))]
        return out

    # ---------------------------------------------------------------- GP
    def _gp(self, active, age, frailty, start, stop, exit_day) -> None:
        rng = self.rng
        kinds = self.p["sectors"]["gp_kinds"]
        k = rng.poisson(self._rate("gp_contact", age, frailty, active))
        rows = np.repeat(np.arange(self.n), k)
        u = rng.random(rows.size)
        ooh = kinds["out_of_hours_share"]
        day_shares = np.array([kinds["consultation"], kinds["phone"], kinds["email"]])
        cum = ooh + (1 - ooh) * np.cumsum(day_shares) / day_shares.sum()
        kind = np.where(u < ooh, 4, np.searchsorted(cum, u, side="right").clip(0, 2))
        hv = kinds["home_visit_per_year_at_frailty"]
        nursing = self.service_start[:, SERVICES.index("nursing_home")] >= 0
        visits = np.where(
            age >= 65, np.exp(np.interp(age, hv["ages"], hv["log_rate"]) + 0.3 * frailty), 0.0
        )
        visits = np.where(nursing, kinds["home_visit_nursing_home_rate"], visits)
        hk = rng.poisson(np.where(active, visits / 12, 0.0))
        hrows = np.repeat(np.arange(self.n), hk)
        rows = np.concatenate([rows, hrows])
        kind = np.concatenate([kind, np.full(hrows.size, 3)])
        days = self._days(start, stop, rows.size)
        keep = days <= exit_day[rows]
        Events.add(self.events.gp, person=rows[keep], day=fee_week(days[keep]), kind=kind[keep])

    # ---------------------------------------------------------------- municipality
    def _municipal(self, active, age, frailty, start, stop, exit_day) -> None:
        rng = self.rng
        mp = self.p["municipal"]
        dementia = self.cond[:, CONDITIONS.index("dementia")]
        nursing_j = SERVICES.index("nursing_home")
        for j, service in enumerate(SERVICES):
            s = mp[service]
            ongoing = self.service_start[:, j] >= 0
            if service == "preventive_home_visit":
                yearly = np.interp(age, s["ages"], s["per_year"])
                visit = active & (rng.random(self.n) < 1 - (1 - yearly) ** (1 / 12))
                rows = np.flatnonzero(visit)
                days = self._days(start, stop, rows.size)
                keep = days <= exit_day[rows]
                rows, days = rows[keep], days[keep]
                Events.add(
                    self.events.municipal,
                    person=rows,
                    service=np.full(rows.size, j),
                    start=days,
                    end=days,
                    hours=np.full(rows.size, np.nan),
                )
                continue
            # periods that end this month
            ends = ongoing & (rng.random(self.n) < s["end_per_month"])
            if service == "home_care":
                ends |= ongoing & (self.service_start[:, nursing_j] >= 0)
            rows = np.flatnonzero(ends)
            if rows.size:
                self._end_periods(
                    rows,
                    j,
                    np.maximum(self._days(start, stop, rows.size), self.service_start[rows, j]),
                )
            memory = self.recent_stays if s.get("after") == "any_stay" else self.recent
            eligible = active & ~(self.service_start[:, j] >= 0)
            if service != "nursing_home":
                eligible &= self.service_start[:, nursing_j] < 0
            log_rate = (
                np.interp(age, s["ages"], s["log_rate"])
                + s["frailty"] * frailty
                + s["recent"] * np.minimum(memory, 3)
                + s["dementia"] * dementia
                + s["living_alone"] * self.persons.alone
                + s["social"] * self.persons.disadvantage
            )
            starts = eligible & (rng.random(self.n) < np.exp(log_rate))
            rows = np.flatnonzero(starts)
            if not rows.size:
                continue
            days = self._days(start, stop, rows.size)
            keep = days <= exit_day[rows]
            rows, days = rows[keep], days[keep]
            self.service_start[rows, j] = days
            if service == "home_care":
                self.hours[rows] = (
                    np.round(
                        np.exp(
                            s["hours_log_mean"]
                            + s["hours_frailty"] * np.clip(frailty[rows], 0, None)
                            + rng.normal(scale=s["hours_log_sd"], size=rows.size)
                        ).clip(0.25, 40)
                        * 4
                    )
                    / 4
                )

    def _end_periods(self, rows: np.ndarray, j: int, end_days: np.ndarray) -> None:
        hours = self.hours[rows] if SERVICES[j] == "home_care" else np.full(rows.size, np.nan)
        Events.add(
            self.events.municipal,
            person=rows,
            service=np.full(rows.size, j),
            start=self.service_start[rows, j],
            end=end_days,
            hours=hours,
        )
        self.service_start[rows, j] = -1

    def _close_services(self, leaving: np.ndarray, exit_day: np.ndarray) -> None:
        for j in range(len(SERVICES)):
            open_ = leaving & (self.service_start[:, j] >= 0)
            # a service planned at a discharge after the person died never started
            never = open_ & (self.service_start[:, j] > exit_day)
            self.service_start[never, j] = -1
            rows = np.flatnonzero(open_ & ~never)
            if rows.size:
                self._end_periods(rows, j, exit_day[rows])

    def _close_burn_in_periods(self) -> None:
        """Periods still open at the extract date are ongoing (no end date)."""
        for j in range(len(SERVICES)):
            rows = np.flatnonzero(self.service_start[:, j] >= 0)
            if rows.size:
                self._end_periods(rows, j, np.full(rows.size, -1))
        table = self.events.municipal
        keep = [(e < 0) | (e >= self.day0) for e in table["end"]]
        for key in table:
            table[key] = [v[k] for v, k in zip(table[key], keep, strict=True)]

    # ---------------------------------------------------------------- prescriptions, opt-outs
    def _exit_or_end(self) -> np.ndarray:
        last = np.full(self.n, self.end_day, dtype=np.int64)
        for d in (self.death, self.emigration):
            last = np.where(d >= 0, np.minimum(last, d + 1), last)
        return last

    def _prescriptions(self) -> None:
        rng = self.rng
        rp = self.p["prescriptions"]
        last = self._exit_or_end()
        starts, stops, persons, atcs = [], [], [], []
        for j, name in enumerate(CONDITIONS):
            rows = np.flatnonzero(self.cond[:, j])
            drugs = self.codes["condition_atc"][name]
            for atc in drugs:
                use = rows[rng.random(rows.size) < 0.75]
                persons.append(use)
                starts.append(np.maximum(self.onset[use, j], self.day0))
                stops.append(last[use])
                atcs.append(np.full(use.size, atc, dtype=object))
        general = self.codes["general_atc"]
        lam = np.interp(self.persons.age0, rp["general_per_person_ages"], rp["general_per_person"])
        k = np.minimum(rng.poisson(lam), len(general))
        rows = np.repeat(np.arange(self.n), k)
        persons.append(rows)
        starts.append(np.full(rows.size, self.day0))
        stops.append(last[rows])
        atcs.append(general[rng.integers(0, len(general), rows.size)])
        person = np.concatenate(persons)
        start, stop = np.concatenate(starts), np.concatenate(stops)
        atc = np.concatenate(atcs)
        span = np.clip(stop - start, 0, None)
        count = rng.poisson(span / 365.25 * rp["dispensings_per_year"])
        idx = np.repeat(np.arange(person.size), count)
        days = start[idx] + (rng.random(idx.size) * span[idx]).astype(np.int64)
        Events.add(self.events.prescriptions, person=person[idx], day=days, atc=atc[idx])

    def _opt_outs(self) -> np.ndarray:
        out = np.full(self.n, -1, dtype=np.int64)
        share = self.p["opt_outs"]["share_65plus"]
        rows = np.flatnonzero((self.persons.age0 >= 60) & (self.rng.random(self.n) < share))
        last = self._exit_or_end()[rows]
        ok = last > self.day0
        rows, last = rows[ok], last[ok]
        out[rows] = self.day0 + (self.rng.random(rows.size) * (last - self.day0)).astype(np.int64)
        return out
