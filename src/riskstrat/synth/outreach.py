"""A synthetic world where outreach works: the months after a month's lists, played again
with an effect planted among the persons the teams contacted.

The generator is run again with the data directory's own profile, persons and seed, to a
later extract date. Its hazards are the generator's own (`synth.simulate`); the one change
is that an avoidable acute admission of a contacted person, on or after the day of contact,
is prevented with probability `effect` (the relative reduction of their avoidable-admission
hazard, optionally by segment). Prevention draws from a stream of its own, so with no effect
the played world is byte for byte the plain generator's world at the later extract date.
Everything that follows an admission (the memory of recent admissions, home care,
rehabilitation, later admissions) follows a prevented one no more: the effect propagates
through the generator's own dynamics.

The months before the lists are the same draws as in the original directory, except the
last weeks before its extract date (stays still open then end, and what follows their
discharge is drawn), and prescriptions and opt-outs, which are drawn over the whole span.
The lists and their assignment were made before any of it, so the arms are compared fairly.

`synthetic_feedback` plays the teams' side: which listed persons were contacted, and when.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from riskstrat.dates import add_months, parse_month
from riskstrat.errors import InputError
from riskstrat.reference import code_list
from riskstrat.spec import DEFAULT_CODE_LIST
from riskstrat.synth.generate import (
    CHUNK_PERSONS,
    TABLE_NAMES,
    SynthResult,
    _context,
    _tables,
)
from riskstrat.synth.population import draw_persons
from riskstrat.synth.simulate import Simulation, day_number

SOURCE = re.compile(r"profile (?P<profile>\w+), (?P<persons>\d+) persons, seed (?P<seed>\d+)")
DAYS_TO_CONTACT = 28  # a contact falls in the first four weeks of the list's month


def synthetic_feedback(
    listed: pd.DataFrame, month: str, contact_rate: float | Mapping[str, float], seed: int
) -> pd.DataFrame:
    """The teams' feedback on a month's lists, played: `listed` (person_id, team, optional
    segment) → the same rows with `contacted` (each person with the team's `contact_rate`,
    one rate or team → rate) and `contact_date` (a day in the month's first four weeks;
    null if not contacted). Reproducible from `seed` and the month."""
    first = parse_month(month)
    frame = listed.sort_values("person_id", kind="mergesort").reset_index(drop=True)
    rng = np.random.default_rng([seed, first.year, first.month])
    if isinstance(contact_rate, Mapping):
        unknown = sorted(set(frame["team"]) - set(contact_rate))
        if unknown:
            raise InputError(f"no contact rate for team(s) {', '.join(unknown)}")
        rate = frame["team"].map(contact_rate).to_numpy(dtype=float)
    else:
        rate = np.full(len(frame), float(contact_rate))
    if ((rate < 0) | (rate > 1)).any():
        raise InputError("contact rates are shares between 0 and 1")
    contacted = rng.random(len(frame)) < rate
    offsets = rng.integers(0, DAYS_TO_CONTACT, len(frame))
    frame["contacted"] = contacted
    frame["contact_date"] = [
        first + timedelta(days=int(k)) if c else None
        for c, k in zip(contacted, offsets, strict=True)
    ]
    return frame


class OutreachSimulation(Simulation):
    """The generator's simulation with some avoidable admissions prevented: `exposed_from`
    (day number of contact per person, -1 = never contacted) and `reduction` (the share of
    their avoidable admissions prevented from that day), drawn from `prevention_rng`."""

    def __init__(
        self,
        *args,
        exposed_from: np.ndarray,
        reduction: np.ndarray,
        prevention_rng: np.random.Generator,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.exposed_from = exposed_from
        self.reduction = reduction
        self.prevention_rng = prevention_rng
        self.avoidable_prefixes = tuple(code_list(DEFAULT_CODE_LIST)["code_prefix"])
        self.prevented = 0

    def _admissions_that_happen(self, rows, days, diagnoses) -> np.ndarray | None:
        exposed = (self.exposed_from[rows] >= 0) & (days >= self.exposed_from[rows])
        if not exposed.any():
            return None
        avoidable = np.array(
            [str(d).startswith(self.avoidable_prefixes) for d in diagnoses], dtype=bool
        )
        prevented = (
            exposed & avoidable & (self.prevention_rng.random(rows.size) < self.reduction[rows])
        )
        self.prevented += int(prevented.sum())
        return ~prevented


def _source(data_dir: Path) -> tuple[dict, tuple[str, int, int]]:
    path = data_dir / "manifest.json"
    if not path.is_file():
        raise InputError(f"{data_dir} has no manifest.json: not a synthetic data directory")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    found = SOURCE.search(str(manifest.get("source", "")))
    if found is None or "history_start" not in manifest:
        raise InputError(
            f"{path} does not say which synthetic population it holds (profile, persons, "
            "seed): only a directory written by `riskstrat synth` can be played forward"
        )
    return manifest, (found["profile"], int(found["persons"]), int(found["seed"]))


def _exposure(feedback: pd.DataFrame, effect: float | Mapping[str, float]) -> dict:
    """person id → (day of contact, share of avoidable admissions prevented)."""
    missing = [c for c in ("person_id", "contacted", "contact_date") if c not in feedback]
    if isinstance(effect, Mapping) and "segment" not in feedback:
        missing.append("segment (the effect is given by segment)")
    if missing:
        raise InputError(f"the feedback lacks the column(s) {', '.join(missing)}")
    rows = feedback[feedback["contacted"].astype(bool)]
    if isinstance(effect, Mapping):
        reduction = rows["segment"].map(lambda s: float(effect.get(s, 0.0))).to_numpy()
    else:
        reduction = np.full(len(rows), float(effect))
    if ((reduction < 0) | (reduction > 1)).any():
        raise InputError("a planted effect is a relative reduction between 0 and 1")
    days = [day_number(pd.Timestamp(d).date()) for d in rows["contact_date"]]
    return dict(zip(rows["person_id"].astype(str), zip(days, reduction, strict=True), strict=True))


def play_outreach(
    data_dir: str | Path,
    out_dir: str | Path,
    months: int,
    feedback: pd.DataFrame,
    effect: float | Mapping[str, float],
) -> tuple[SynthResult, int]:
    """Write `out_dir`: the synthetic data directory `data_dir` played `months` further,
    with avoidable admissions of contacted persons (`feedback`: person_id, contacted,
    contact_date, and segment when `effect` is given by segment) reduced by `effect` from
    their contact date. Returns the written directory's summary and the number of
    admissions prevented. `out_dir` must not exist or be empty; built beside it and moved
    into place, so a failed run leaves nothing."""
    source = Path(data_dir)
    manifest, (profile, n, seed) = _source(source)
    history_start = date.fromisoformat(manifest["history_start"])
    extract_date = add_months(date.fromisoformat(manifest["extract_date"]), months)
    if months < 1:
        raise InputError("play at least one month forward")
    exposure = _exposure(feedback, effect)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"output folder {out} exists and is not empty; choose a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name in TABLE_NAMES:
            (tmp / name).mkdir()
        rows = dict.fromkeys(TABLE_NAMES, 0)
        prevented = 0
        for k, first in enumerate(range(0, n, CHUNK_PERSONS)):
            size = min(CHUNK_PERSONS, n - first)
            counts, chunk_prevented = _chunk(
                tmp, k, first, size, profile, seed, n, history_start, extract_date, exposure
            )
            prevented += chunk_prevented
            for name, c in counts.items():
                rows[name] += c
        _write_manifest(tmp, manifest, extract_date, months, len(exposure), effect)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # the population is the original's: its calibration report holds (not recomputed)
    return SynthResult(out, n, rows, {}), prevented


def _write_manifest(
    tmp: Path, manifest: dict, extract_date: date, months: int, contacted: int, effect
) -> None:
    played = {
        **manifest,
        "extract_date": extract_date.isoformat(),
        "source": f"{manifest['source']}; played {months} months further with outreach "
        f"({contacted} persons contacted, planted reduction {effect})",
    }
    (tmp / "manifest.json").write_text(json.dumps(played, indent=2, sort_keys=True) + "\n")
    (tmp / "params.yaml").write_bytes(Path(__file__).with_name("params.yaml").read_bytes())


def _chunk(
    tmp: Path,
    k: int,
    first: int,
    size: int,
    profile: str,
    seed: int,
    n: int,
    history_start: date,
    extract_date: date,
    exposure: dict,
) -> tuple[dict[str, int], int]:
    """Simulate and write one chunk as the generator does (same seed, same draws), with the
    chunk's contacted persons exposed."""
    p, weights, clinics, cuts, codes = _context(profile, n)
    rng = np.random.default_rng([seed, k])
    persons = draw_persons(p, weights, clinics, cuts, first, size, rng, id_width=8)
    exposed_from = np.full(size, -1, dtype=np.int64)
    reduction = np.zeros(size)
    for i, pid in enumerate(persons.person_id):
        if pid in exposure:
            exposed_from[i], reduction[i] = exposure[pid]
    simulation = OutreachSimulation(
        p,
        codes,
        persons,
        history_start,
        extract_date,
        rng,
        exposed_from=exposed_from,
        reduction=reduction,
        prevention_rng=np.random.default_rng([seed, k, 0x0E7]),
    )
    outcome = simulation.run()
    counts = {}
    for name, table in _tables(persons, outcome, history_start, codes).items():
        pq.write_table(table, tmp / name / f"part-{k:05d}.parquet", compression="zstd")
        counts[name] = table.num_rows
    return counts, simulation.prevented
