"""Features and labels at one index date: wall time and peak memory by population size.

    uv run python benchmarks/bench_features.py --persons 50000 200000 1000000
    uv run python benchmarks/bench_features.py --data /path/to/denmark-profile --workers 2
    uv run python benchmarks/bench_features.py --in-memory --persons 50000 200000 1000000

By default, sizes are synthetic randers-profile data directories generated first (not
timed), and the clock covers reading them partition by partition and building features
(`features_for_data_dir`). With `--in-memory`, a simple random generator in this script
builds the typed extract frames directly in memory (about 10 event rows a person: the
national target is 5.9 M persons, about 60 M event rows), and the clock covers
`build_features` alone, in one process. Each measurement runs in a fresh process so peak
memory (ru_maxrss: the process and, for directories, its partition workers) is its own.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def measure(data: str, workers: int, index_date: str, spec: str) -> dict:
    from riskstrat.contract import validate_data_dir
    from riskstrat.partitions import features_for_data_dir
    from riskstrat.spec import load_spec

    report = validate_data_dir(data)
    clock = time.perf_counter()
    table = features_for_data_dir(
        data,
        report.extract_date,
        load_spec(spec),
        [date.fromisoformat(index_date)],
        workers=workers,
    )
    wall = time.perf_counter() - clock
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return {
        "rows": len(table),
        "persons": sum(report.persons_by_age_band.values()) if report.persons_by_age_band else None,
        "seconds": round(wall, 1),
        "peak_main_gib": round(own, 2),
        "peak_worker_gib": round(child, 2),
    }


# ---------------------------------------------------------------- in-memory random extract
EVENTS_PER_PERSON = {"hospital": 2.0, "gp": 5.0, "municipal": 0.4, "prescriptions": 2.6}
DIAGNOSES = [
    "DJ189",
    "DJ441",
    "DJ449",
    "DE119",
    "DE112",
    "DE869",
    "DK590",
    "DN390",
    "DA099",
    "DS720",
    "DS7200",
    "DD509",
    "DL899",
    "DZ740",
    "DI500",
    "DI110",
    "DI639",
    "DF009",
    "DF039",
    "DG309",
    "DC509",
    "DC449",
    "DC787",
    "DN189",
    "DM810",
    "DK703",
    "DK721",
    "DR074",
    "DR529",
    "DZ016",
    "DI219",
    "DI252",
    "DI739",
    "DM069",
    "DK254",
    "DB182",
    "DG819",
    "DR296",
    "DW199",
    "DZ038",
]
ATC = [
    "C10AA05",
    "C09AA05",
    "A02BC02",
    "N02BE01",
    "B01AC06",
    "A10BA02",
    "N06DA02",
    "C03CA01",
    "C07AB02",
    "R03AK06",
    "H03AA01",
    "N05CF01",
    "M01AE01",
    "J01CE02",
    "A12AX",
    "N06AB04",
    "C08CA01",
    "A10AE04",
    "B03BA01",
    "L04AX03",
]


def synthetic_extract(persons: int, seed: int = 1, extract_date: date = date(2026, 1, 1)):
    """A random typed `Extract` (the reader's frame conventions), vectorised with numpy.
    Not realistic, only shaped like the contract: ages 0-99 with 20 % 65+, event rates
    rising with age, codes drawn from small vocabularies that hit every code list."""
    import numpy as np
    import pandas as pd

    from riskstrat.contract import Extract
    from riskstrat.contract.tables import MUNICIPAL_SERVICES
    from riskstrat.reference import municipalities

    rng = np.random.default_rng(seed)
    end = np.datetime64(extract_date, "D")
    start = end - np.timedelta64(5 * 365 + 1, "D")
    span = int((end - start).astype(int))
    n = persons
    ids = pd.array([f"P{i:08d}" for i in range(n)], dtype="str")
    old = rng.random(n) < 0.2
    age_days = np.where(old, rng.integers(65 * 365, 100 * 365, n), rng.integers(0, 65 * 365, n))
    birth = end - age_days.astype("timedelta64[D]")
    death = np.where(
        rng.random(n) < 0.04 * (1 + old * 4), start + rng.integers(0, span, n), np.datetime64("NaT")
    )
    emig = np.where(rng.random(n) < 0.01, start + rng.integers(0, span, n), np.datetime64("NaT"))

    def dates(values) -> pd.Series:
        return pd.Series(np.asarray(values, dtype="datetime64[D]").astype("datetime64[s]"))

    def text(values) -> pd.Series:
        return pd.Series(values, dtype="str")

    def choice(values, size, p=None) -> pd.Series:
        codes = rng.choice(len(values), size=size, p=p)
        return text(pd.Categorical.from_codes(codes, categories=values).astype(object))

    codes = municipalities()["municipality_code"].to_numpy()
    persons_frame = pd.DataFrame(
        {
            "person_id": text(ids),
            "birth_date": dates(birth),
            "sex": choice(["F", "M"], n),
            "municipality_code": rng.choice(codes, n).astype(np.int64),
            "gp_clinic_id": text(np.char.add("C", rng.integers(1000, 4000, n).astype(str))),
            "education": choice(["basic", "upper_secondary", "tertiary", "unknown"], n),
            "income_quintile": pd.Series(rng.integers(1, 6, n), dtype="Int8"),
            "origin": choice(
                [
                    "danish",
                    "immigrant_western",
                    "immigrant_non_western",
                    "descendant_western",
                    "descendant_non_western",
                ],
                n,
                p=[0.86, 0.05, 0.06, 0.01, 0.02],
            ),
            "living_alone": pd.Series(rng.random(n) < 0.3, dtype="boolean"),
            "death_date": dates(death),
            "emigration_date": dates(emig),
        }
    )
    weight = 0.3 + 2.0 * old  # the elderly have more events

    def events(rate: float):
        counts = rng.poisson(rate * weight / weight.mean())
        who = np.repeat(np.arange(n), counts)
        day = start + rng.integers(0, span, who.size).astype("timedelta64[D]")
        return who, day

    who, day = events(EVENTS_PER_PERSON["hospital"])
    m = who.size
    kind = rng.choice(3, m, p=[0.2, 0.65, 0.15])  # inpatient, outpatient, emergency
    stay = np.where(kind == 0, rng.geometric(0.2, m), 0).astype("timedelta64[D]")
    ends = day + stay
    ends = np.where(ends >= end, np.datetime64("NaT"), ends)
    combos = [None] * 40 + [
        ";".join(rng.choice(DIAGNOSES, k, replace=False)) for k in rng.integers(1, 4, 60)
    ]
    hospital = pd.DataFrame(
        {
            "person_id": text(ids[who]),
            "start_date": dates(day),
            "end_date": dates(ends),
            "contact_type": text(np.array(["inpatient", "outpatient", "emergency"])[kind]),
            "acute": (kind == 2) | ((kind == 0) & (rng.random(m) < 0.6)),
            "action_diagnosis": choice(DIAGNOSES, m),
            "secondary_diagnoses": text(
                np.array(combos, dtype=object)[rng.integers(0, len(combos), m)]
            ),
            "hospital_code": text(np.full(m, "H1")),
        }
    )
    who, day = events(EVENTS_PER_PERSON["gp"])
    gp = pd.DataFrame(
        {
            "person_id": text(ids[who]),
            "contact_date": dates(day),
            "contact_kind": choice(
                ["consultation", "phone", "email", "home_visit", "out_of_hours"],
                who.size,
                p=[0.45, 0.3, 0.15, 0.03, 0.07],
            ),
            "clinic_id": text(np.full(who.size, "C1000")),
        }
    )
    who, day = events(EVENTS_PER_PERSON["municipal"])
    ends = day + rng.integers(0, 700, who.size).astype("timedelta64[D]")
    ends = np.where((ends >= end) | (rng.random(who.size) < 0.3), np.datetime64("NaT"), ends)
    municipal = pd.DataFrame(
        {
            "person_id": text(ids[who]),
            "service": choice(list(MUNICIPAL_SERVICES), who.size),
            "start_date": dates(day),
            "end_date": dates(ends),
            "hours_per_week": rng.gamma(2.0, 2.0, who.size),
        }
    )
    who, day = events(EVENTS_PER_PERSON["prescriptions"])
    prescriptions = pd.DataFrame(
        {
            "person_id": text(ids[who]),
            "dispense_date": dates(day),
            "atc_code": choice(ATC, who.size),
            "ddd": rng.gamma(2.0, 20.0, who.size),
        }
    )
    opt_outs = pd.DataFrame({"person_id": text([]), "opt_out_date": dates([])})
    return Extract(
        persons_frame,
        hospital,
        gp,
        municipal,
        prescriptions,
        opt_outs,
        extract_date=extract_date,
        history_start=start.astype(date),
    )


def measure_in_memory(persons: int, index_date: str, spec: str) -> dict:
    from riskstrat.features import build_features
    from riskstrat.spec import load_spec

    clock = time.perf_counter()
    extract = synthetic_extract(persons)
    generated = time.perf_counter() - clock
    rows = sum(
        len(extract.tables[t])
        for t in ("hospital_contacts", "gp_contacts", "municipal_services", "prescriptions")
    )
    with open("/proc/self/statm") as f:
        before = int(f.read().split()[1]) * resource.getpagesize() / 2**30
    loaded = load_spec(spec)
    clock = time.perf_counter()
    table = build_features(extract, loaded, [date.fromisoformat(index_date)])
    wall = time.perf_counter() - clock
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {
        "persons": persons,
        "event_rows": rows,
        "rows": len(table),
        "generate_seconds": round(generated, 1),
        "seconds": round(wall, 1),
        "rss_before_gib": round(before, 2),
        "peak_gib": round(peak, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, nargs="*", default=[])
    parser.add_argument("--data", nargs="*", default=[])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--index-date", default="2025-01-01")
    parser.add_argument("--spec", default="models/avoidable_admission.yaml")
    parser.add_argument(
        "--in-memory",
        action="store_true",
        help="random extract frames built in memory; time build_features alone",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-persons", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.workers, args.index_date, args.spec)))
        return
    if args.child_persons:
        print(json.dumps(measure_in_memory(args.child_persons, args.index_date, args.spec)))
        return
    if args.in_memory:
        print(
            f"machine: {platform.processor() or platform.machine()}; index date {args.index_date}; "
            f"in memory, one process; spec {args.spec}"
        )
        for n in args.persons:
            result = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child-persons",
                    str(n),
                    "--index-date",
                    args.index_date,
                    "--spec",
                    args.spec,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            f = json.loads(result.stdout.strip().splitlines()[-1])
            print(
                f"{f['persons']:>10,} persons, {f['event_rows']:>11,} event rows: "
                f"{f['rows']:>9,} in the population; build_features {f['seconds']:6.1f} s; "
                f"RSS {f['rss_before_gib']:.2f} GiB before, peak {f['peak_gib']:.2f} GiB "
                f"(generation {f['generate_seconds']:.1f} s, not timed)",
                flush=True,
            )
        return
    from riskstrat.synth import generate

    print(
        f"machine: {platform.processor() or platform.machine()}; index date {args.index_date}; "
        f"workers {args.workers}; spec {args.spec}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        targets = list(args.data)
        for n in args.persons:
            out = Path(tmp) / f"p{n}"
            generate("randers", seed=1, out_dir=out, persons=n)
            targets.append(str(out))
        for data in targets:
            result = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    data,
                    "--workers",
                    str(args.workers),
                    "--index-date",
                    args.index_date,
                    "--spec",
                    args.spec,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            print(
                f"{Path(data).name:>12}: {figures['rows']:>10,} persons in the population, "
                f"{figures['seconds']:7.1f} s, peak {figures['peak_main_gib']:.2f} GiB main / "
                f"{figures['peak_worker_gib']:.2f} GiB largest worker"
            )


if __name__ == "__main__":
    main()
