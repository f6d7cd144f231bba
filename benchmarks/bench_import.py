"""`riskstrat import` on a synthetic population in register layouts, beside a raw pyarrow
read of the same register files.

    uv run python benchmarks/bench_import.py --profile tiny
    uv run python benchmarks/bench_import.py --profile randers --persons 200000 [--format csv]
        [--work DIR]   # a DIR of an earlier run: its register files are reused
        [--buckets N]  # person buckets of the import (default: chosen from the input size)
    uv run python benchmarks/bench_import.py --from-contract DK --work DIR
        # DK: `riskstrat synth --profile denmark --seed 1 --out DK` (part folders), written
        # as register part folders part by part (the in-memory `--layout dst` writer does
        # not fit a national population)

The population is synthesised and written as register files first (not timed; `synth
--layout dst`). Then, each in a fresh process: a raw read of every register file (pyarrow
for Parquet, pyarrow's CSV reader for CSV), and the import (reading, converting, stays,
pseudonyms, writing and the contract validation of the result). Printed: rows read, wall
seconds, rows per second and each process's peak resident memory (`resource.getrusage`).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

RAW_READ = """
import json, resource, sys, time
from pathlib import Path
import pyarrow.csv as pc, pyarrow.parquet as pq
clock = time.perf_counter()
rows = 0
for path in sorted(Path(sys.argv[1]).iterdir()):
    parquet = path.suffix == ".parquet" or path.is_dir()  # a folder of Parquet parts
    table = pq.read_table(path) if parquet else pc.read_csv(path)
    rows += table.num_rows
seconds = time.perf_counter() - clock
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
print("RESULT " + json.dumps({"rows": rows, "seconds": seconds, "peak_gib": peak}))
"""

SYNTH = """
import json, sys, time
from riskstrat.registers.synthetic import write_register_layout
from riskstrat.synth import generate
clock = time.perf_counter()
persons = None if sys.argv[4] == "None" else int(sys.argv[4])
result = generate(sys.argv[1], seed=int(sys.argv[2]), out_dir=sys.argv[3], persons=persons)
rows = write_register_layout(result.out_dir, result.out_dir / "registers")
print("RESULT " + json.dumps({"persons": result.persons, "rows": sum(rows.values()),
                  "seconds": time.perf_counter() - clock}))
"""

# a partitioned synthetic data directory (the generator's part folders) as register files,
# part by part: each register a folder of parts, so no step holds the whole population
SYNTH_PARTS = """
import json, sys, time
from pathlib import Path
import pyarrow.parquet as pq
from riskstrat.registers import persons as persons_module
from riskstrat.registers.importer import EVENT_CONVERTERS, converter_modules
from riskstrat.registers.synthetic import _keyed, read_contract_table, synthetic_pnr
import pandas as pd
clock = time.perf_counter()
data, out = Path(sys.argv[1]), Path(sys.argv[2])
everyone = read_contract_table(data, "persons")
pnr_of = pd.Series(synthetic_pnr(everyone).to_numpy(), index=everyone["person_id"].to_numpy())
del everyone
modules = converter_modules()
rows = 0
for k, part in enumerate(sorted(p.name for p in (data / "persons").iterdir())):
    frames = persons_module.to_registers(
        _keyed(pq.read_table(data / "persons" / part).to_pandas(date_as_object=False), pnr_of))
    for module_name, table in EVENT_CONVERTERS:
        path = data / table / part
        if not path.exists():
            continue
        keyed = _keyed(pq.read_table(path).to_pandas(date_as_object=False), pnr_of)
        inverse = getattr(modules[module_name], "to_registers", None)
        if inverse is None or table == "opt_outs":
            frames[table] = keyed
        else:
            frames.update(inverse(keyed))
    for name, frame in frames.items():
        if "pnr" not in frame.columns and k:
            continue  # a lookup (audd_niveau): written once
        for key in ("recnum", "dw_ek_kontakt"):
            if key in frame.columns:  # contact keys are numbered per part: made unique
                frame[key] = f"P{k:05d}" + frame[key].astype(str)
        (out / name).mkdir(parents=True, exist_ok=True)
        frame.to_parquet(out / name / f"part-{k:05d}.parquet", index=False)
        rows += len(frame)
print("RESULT " + json.dumps({"rows": rows, "seconds": time.perf_counter() - clock}))
"""

IMPORT = """
import json, resource, sys, time
from datetime import date
from riskstrat.registers.importer import import_registers
clock = time.perf_counter()
buckets = None if sys.argv[4] == "None" else int(sys.argv[4])
result = import_registers(sys.argv[1], sys.argv[2], extract_date=date(2026, 1, 1),
                          key_path=sys.argv[3], buckets=buckets)
seconds = time.perf_counter() - clock
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
parts = len(list((result.out_dir / "persons").glob("*.parquet"))) or 1
print("RESULT " + json.dumps({"rows": sum(result.rows_read.values()), "written": result.rows_written,
                  "seconds": seconds, "peak_gib": peak, "buckets": parts}))
"""


def child(code: str, *args: str) -> dict:
    """Run `code` in a fresh Python process; what it printed after `RESULT `, as JSON."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"a benchmark step failed:\n{done.stderr[-3000:]}")
    # after the marker: DuckDB's progress bar writes to stdout too, without line ends
    return json.loads(done.stdout.rsplit("RESULT ", 1)[1].splitlines()[0])


def main() -> None:
    """Synthesise, write the register layout, and time the raw read and the import."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--persons", type=int, default=None)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--work", type=Path, default=None, help="Folder to work in (kept).")
    parser.add_argument(
        "--from-contract",
        type=Path,
        default=None,
        help="A partitioned synthetic data directory (`riskstrat synth` at national size) "
        "to write as register part folders (Parquet), instead of synthesising here.",
    )
    parser.add_argument(
        "--buckets", type=int, default=None, help="Person buckets (default: from the size)."
    )
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-import-"))
    synth = work / "synth"
    # every step in a fresh process: a child inherits its parent's peak memory on Linux,
    # so this process stays small
    if (synth / "registers").is_dir():
        print(f"reusing the register files in {synth / 'registers'}")
    elif args.from_contract is not None:
        made = child(SYNTH_PARTS, str(args.from_contract), str(synth / "registers" / "parquet"))
        print(
            f"wrote {made['rows']:,} register rows of {args.from_contract} as part folders "
            f"in {made['seconds']:.1f} s (not timed below)"
        )
    else:
        made = child(SYNTH, args.profile, str(args.seed), str(synth), str(args.persons))
        print(
            f"synthesised {made['persons']:,} persons and wrote {made['rows']:,} register "
            f"rows in {made['seconds']:.1f} s (not timed below)"
        )
    registers = synth / "registers" / args.format
    raw = child(RAW_READ, str(registers))
    out = work / f"data-{args.format}"
    imported = child(IMPORT, str(registers), str(out), str(work / "bench.key"), str(args.buckets))
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(f"{'step':<34}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak GiB':>10}")
    for name, facts in ((f"raw pyarrow read ({args.format})", raw), ("riskstrat import", imported)):
        rate = facts["rows"] / facts["seconds"] if facts["seconds"] else float("nan")
        print(
            f"{name:<34}{facts['rows']:>12,}{facts['seconds']:>10.2f}{rate:>12,.0f}"
            f"{facts['peak_gib']:>10.2f}"
        )
    print(f"buckets: {imported['buckets']}")
    print(f"import / raw read: {imported['seconds'] / raw['seconds']:.1f}x the time")
    print("rows written:", json.dumps(imported["written"]))


if __name__ == "__main__":
    main()
