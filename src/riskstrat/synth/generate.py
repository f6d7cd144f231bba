"""Writing a synthetic data directory in input contract v1, person chunk by person chunk.

Each chunk of persons is simulated on its own (seeded by the run's seed and the chunk's
number) and written as one Parquet part per table, so every table is a person-aligned part
folder, memory is bounded by the chunk size, and chunks run in parallel processes. The
whole directory is built beside its target and moved into place at the end: a failed run
leaves nothing behind. Same seed and arguments, same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from riskstrat.contract.tables import CONTACT_TYPES
from riskstrat.dates import add_months
from riskstrat.errors import InputError
from riskstrat.reference import code_list, data_path, icd10_categories, municipalities
from riskstrat.spec import DEFAULT_CODE_LIST
from riskstrat.synth.population import (
    EDUCATION,
    ORIGIN,
    RANDERS_CLUSTER,
    clinics_per_municipality,
    draw_persons,
    municipality_weights,
    national_income_cuts,
)
from riskstrat.synth.simulate import (
    CONDITIONS,
    GP_KINDS,
    SERVICES,
    Simulation,
    day_number,
)

PROFILES = {
    # name: (persons, municipalities or None for all 98)
    "tiny": (2_000, list(RANDERS_CLUSTER)),
    "randers": (228_000, list(RANDERS_CLUSTER)),
    "denmark": (5_900_000, None),
}
CHUNK_PERSONS = 200_000
TABLE_NAMES = (
    "persons",
    "hospital_contacts",
    "gp_contacts",
    "municipal_services",
    "prescriptions",
    "opt_outs",
)


@dataclass(frozen=True)
class SynthResult:
    """A written synthetic data directory: where it is, how many persons it holds, the rows
    written per table, and how many calibration figures are within tolerance."""

    out_dir: Path
    persons: int
    rows: dict[str, int]
    calibration: dict  # {"passed": n, "total": m, "figures": [...]}


@cache
def load_params(path: str | None = None) -> dict:
    """The generator's parameters (the YAML file at `path`, default the package's
    params.yaml), read once per path."""
    source = Path(path) if path else Path(__file__).with_name("params.yaml")
    return yaml.safe_load(source.read_text(encoding="utf-8"))


def generate(
    profile: str,
    seed: int,
    out_dir: str | Path,
    persons: int | None = None,
    extract_date: date = date(2026, 1, 1),
    years: int = 5,
    progress: Callable[[int, int | None], None] | None = None,
    workers: int | None = None,
) -> SynthResult:
    """Write a synthetic data directory; returns its size and calibration summary."""
    if profile not in PROFILES:
        raise InputError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    n_default, codes = PROFILES[profile]
    n = int(persons or n_default)
    if n < 1:
        raise InputError("--persons must be at least 1")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"output folder {out} exists and is not empty; choose a new folder")
    history_start = add_months(extract_date, -12 * years)
    chunks = [(i, min(CHUNK_PERSONS, n - i)) for i in range(0, n, CHUNK_PERSONS)]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name in TABLE_NAMES:
            (tmp / name).mkdir()
        jobs = [
            (tmp, k, first, size, profile, seed, n, history_start, extract_date)
            for k, (first, size) in enumerate(chunks)
        ]
        rows = _run_chunks(jobs, workers, progress)
        report = _write_manifest_and_calibration(tmp, profile, n, seed, history_start, extract_date)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    summary = {"passed": report["passed"], "total": report["total"]}
    return SynthResult(out, n, rows, summary)


def _run_chunks(
    jobs: list[tuple], workers: int | None, progress: Callable[[int, int | None], None] | None
) -> dict[str, int]:
    """Simulate and write every chunk's parts, in `workers` processes (None: one per core, at
    most one per chunk; 1: in this process); returns the rows written per table."""
    rows = dict.fromkeys(TABLE_NAMES, 0)
    workers = workers or min(len(jobs), max(1, (os.cpu_count() or 1)))
    if progress:
        progress(0, len(jobs))
    if workers == 1:
        _count_rows(map(_chunk_job, jobs), rows, len(jobs), progress)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            _count_rows(pool.map(_chunk_job, jobs), rows, len(jobs), progress)
    return rows


def _count_rows(
    results: Iterable[dict[str, int]],
    rows: dict[str, int],
    total: int,
    progress: Callable[[int, int | None], None] | None,
) -> None:
    """Add each finished chunk's row counts to `rows`, reporting progress after each."""
    for done, counts in enumerate(results, start=1):
        _add(rows, counts)
        if progress:
            progress(done, total)


def _write_manifest_and_calibration(
    tmp: Path, profile: str, n: int, seed: int, history_start: date, extract_date: date
) -> dict:
    """Write manifest.json, the parameters used and the calibration report (JSON and
    Markdown) beside the tables in `tmp`; returns the calibration report."""
    manifest = {
        "contract_version": 1,
        "extract_date": extract_date.isoformat(),
        "history_start": history_start.isoformat(),
        "source": f"riskstrat synthetic population, profile {profile}, {n} persons, "
        f"seed {seed} (synthetic: not register data)",
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (tmp / "params.yaml").write_bytes(Path(__file__).with_name("params.yaml").read_bytes())
    from riskstrat.synth.calibration import calibration_report

    report = calibration_report(tmp, history_start, extract_date)
    (tmp / "calibration.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    from riskstrat.synth.calibration import render_markdown

    (tmp / "calibration.md").write_text(render_markdown(report, profile, n, seed))
    return report


def _add(rows: dict, counts: dict) -> None:
    for k, v in counts.items():
        rows[k] += v


@cache
def _context(profile: str, n: int) -> tuple:
    p = load_params()
    table = municipalities()
    weights = municipality_weights(table, PROFILES[profile][1]).merge(
        _region_codes(), on="municipality_code", how="left"
    )
    clinics = clinics_per_municipality(weights, n, p["population"]["persons_per_clinic"])
    cuts = national_income_cuts(p, table)
    return p, weights, clinics, cuts, _codes(p)


@cache
def _region_codes():
    import pandas as pd

    raw = pd.read_csv(data_path("municipalities.csv"))
    return pd.DataFrame(
        {"municipality_code": raw["kommunekode"], "region_code": raw["region_code"]}
    )


def _codes(p: dict) -> dict:
    avoid_codes, avoid_p = [], []
    for group in p["avoidable"]["groups"].values():
        for code in group["codes"]:
            avoid_codes.append(code)
            avoid_p.append(group["weight"] / len(group["codes"]))
    prefixes = tuple(code_list(DEFAULT_CODE_LIST)["code_prefix"])
    cats = icd10_categories()["code"].to_numpy(dtype=object)
    cats = np.array(
        [c for c in cats if not c.startswith(prefixes) and c[1] not in "UVWXY"], dtype=object
    )
    cond = {c: p["conditions"][c]["codes"] for c in CONDITIONS}
    secondary = np.empty(1 << len(CONDITIONS), dtype=object)
    for mask in range(secondary.size):
        held = [cond[c][0] for j, c in enumerate(CONDITIONS) if mask >> j & 1][:3]
        secondary[mask] = ";".join(held) if held else None
    return {
        "condition": cond,
        "condition_atc": {c: p["conditions"][c]["atc"] for c in CONDITIONS},
        "exacerbation": np.array(
            [cond[c][min(1, len(cond[c]) - 1)] for c in CONDITIONS], dtype=object
        ),
        "avoidable": np.array(avoid_codes, dtype=object),
        "avoidable_p": np.array(avoid_p) / sum(avoid_p),
        "pools": {
            "acute_other": np.array(p["diagnoses"]["acute_other"], dtype=object),
            "emergency": np.array(p["diagnoses"]["emergency"], dtype=object),
            "planned": np.array(p["diagnoses"]["planned"], dtype=object),
            "outpatient": np.array(p["diagnoses"]["outpatient"], dtype=object),
        },
        "categories": cats,
        "secondary_by_mask": secondary,
        "general_atc": np.array(p["prescriptions"]["general_atc"], dtype=object),
    }


def _chunk_job(job: tuple) -> dict[str, int]:
    tmp, k, first, size, profile, seed, n, history_start, extract_date = job
    p, weights, clinics, cuts, codes = _context(profile, n)
    rng = np.random.default_rng([seed, k])
    persons = draw_persons(p, weights, clinics, cuts, first, size, rng, id_width=8)
    outcome = Simulation(p, codes, persons, history_start, extract_date, rng).run()
    tables = _tables(persons, outcome, history_start, codes)
    counts = {}
    for name, table in tables.items():
        pq.write_table(table, tmp / name / f"part-{k:05d}.parquet", compression="zstd")
        counts[name] = table.num_rows
    return counts


def _dates(days: np.ndarray, nullable: bool = True) -> pa.Array:
    """Days since 1970 as dates; in event columns -1 (never a real date there) is null."""
    days = np.asarray(days, dtype=np.int64)
    mask = days == -1 if nullable else None
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=mask)


def _strings(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.string())


def _labels(codes: np.ndarray, names: tuple[str, ...]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(list(names))
    ).cast(pa.string())


def _ids(persons, rows: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(rows.astype(np.int32)), pa.array(persons.person_id, type=pa.string())
    ).cast(pa.string())


def _cat(parts: list, dtype=None) -> np.ndarray:
    if not parts:
        return np.array([], dtype=dtype or np.int64)
    return np.concatenate(parts)


def _tables(persons, outcome, history_start: date, codes: dict) -> dict[str, pa.Table]:
    day0 = day_number(history_start)
    birth = day0 - np.floor(persons.age0 * 365.25).astype(np.int64)
    # numpy's stub reads np.where(c, x, None) as the one-argument form (a tuple of indices)
    education: np.ndarray = np.where(  # type: ignore[assignment]
        persons.education >= 0, EDUCATION[persons.education.clip(0)], None
    )
    quintile = pa.array(persons.income_quintile.astype(np.int8), mask=persons.income_quintile == 0)
    adult = persons.age0 >= 18
    tables = {
        "persons": pa.table(
            {
                "person_id": _strings(persons.person_id),
                "birth_date": _dates(birth, nullable=False),
                "sex": _strings(np.where(persons.male, "M", "F")),
                "municipality_code": pa.array(persons.municipality, type=pa.int32()),
                "gp_clinic_id": _strings(persons.clinic),
                "education": _strings(education),
                "income_quintile": quintile,
                "origin": _strings(ORIGIN[persons.origin]),
                "living_alone": pa.array(persons.alone, mask=~adult & ~persons.alone),
                "death_date": _dates(outcome.death_day),
                "emigration_date": _dates(outcome.emigration_day),
            }
        )
    }
    ev = outcome.events
    h = {
        k: _cat(v, object if k in ("diagnosis", "secondary") else None)
        for k, v in ev.hospital.items()
    }
    order: np.ndarray | list[int] = (
        np.lexsort((h["type"], h["start"], h["person"])) if len(h["person"]) else []
    )
    h = {k: v[order] for k, v in h.items()}
    region = persons.region_code[h["person"]] if len(h["person"]) else np.array([], dtype=int)
    tables["hospital_contacts"] = pa.table(
        {
            "person_id": _ids(persons, h["person"]),
            "start_date": _dates(h["start"]),
            "end_date": _dates(h["end"]),
            "contact_type": _labels(h["type"], CONTACT_TYPES),
            "acute": pa.array(np.asarray(h["acute"], dtype=bool)),
            "action_diagnosis": _strings(h["diagnosis"]),
            "secondary_diagnoses": _strings(h["secondary"]),
            "hospital_code": _strings(np.char.add(region.astype(str), "01").astype(object)),
        }
    )
    g = {k: _cat(v) for k, v in ev.gp.items()}
    order = np.lexsort((g["kind"], g["day"], g["person"]))
    g = {k: v[order] for k, v in g.items()}
    # numpy's stub reads np.where(c, None, y) as the one-argument form (a tuple of indices)
    clinic: np.ndarray = np.where(  # type: ignore[assignment]
        g["kind"] == GP_KINDS.index("out_of_hours"), None, persons.clinic[g["person"]]
    )
    tables["gp_contacts"] = pa.table(
        {
            "person_id": _ids(persons, g["person"]),
            "contact_date": _dates(g["day"]),
            "contact_kind": _labels(g["kind"], GP_KINDS),
            "clinic_id": _strings(clinic),
        }
    )
    m = {k: _cat(v, float if k == "hours" else None) for k, v in ev.municipal.items()}
    order = np.lexsort((m["service"], m["start"], m["person"]))
    m = {k: v[order] for k, v in m.items()}
    tables["municipal_services"] = pa.table(
        {
            "person_id": _ids(persons, m["person"]),
            "service": _labels(m["service"], SERVICES),
            "start_date": _dates(m["start"]),
            "end_date": _dates(m["end"]),
            "hours_per_week": pa.array(
                m["hours"].astype(float), mask=np.isnan(m["hours"].astype(float))
            ),
        }
    )
    r = {k: _cat(v, object if k == "atc" else None) for k, v in ev.prescriptions.items()}
    order = np.lexsort((r["atc"].astype(str), r["day"], r["person"])) if len(r["person"]) else []
    r = {k: v[order] for k, v in r.items()}
    tables["prescriptions"] = pa.table(
        {
            "person_id": _ids(persons, r["person"]),
            "dispense_date": _dates(r["day"]),
            "atc_code": _strings(r["atc"]),
            "ddd": pa.array(
                np.full(
                    len(r["person"]), float(load_params()["prescriptions"]["ddd_per_dispensing"])
                )
            ),
        }
    )
    rows = np.flatnonzero(outcome.opt_out_day >= 0)
    tables["opt_outs"] = pa.table(
        {
            "person_id": _ids(persons, rows),
            "opt_out_date": _dates(outcome.opt_out_day[rows]),
        }
    )
    return tables
