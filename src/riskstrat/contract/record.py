"""A record of each successful validation, so that unchanged files are not checked again.

After a data directory passes the contract, its `ValidationReport` is stored as JSON under
the cache folder (`RISKSTRAT_CACHE`, else `$XDG_CACHE_HOME/riskstrat`, else
`~/.cache/riskstrat`), named by a fingerprint of what the validation depended on:

- every file the contract reads (each table's files and `manifest.json`): its path relative
  to the data directory, size, mtime_ns and inode (a file replaced by a rename changes inode
  even where the clock is coarse);
- the contract version, and a version of the rules: a hash of the contract's source
  (tables, sql, source, validate, this module), `riskstrat.dates`, `riskstrat.redact`
  (the CPR shape), the reference data the rules check against, and the DuckDB and pyarrow
  versions that read and check the files.

`validated(data_dir)` finds the record of the same fingerprint and returns its report
(`from_record` set to when it was validated) without running the rules; a changed, added
or removed file gives another fingerprint, so the rules run again. Only passing validations
are recorded, and only of files that did not change while (or just before) the rules ran;
failures are always re-checked. A file changed in place to the same size with its
modification time set back is not seen: `revalidate=True` (`riskstrat validate`) always
runs the rules. The record holds aggregates only: rows per
table, date ranges, persons by age band, the extract date and the warnings' counts (their
example rows are left out). Nothing is ever written into the data directory, and a record
that cannot be read is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from datetime import date, datetime
from functools import cache
from pathlib import Path

from riskstrat.contract.source import DataDir, open_data_dir
from riskstrat.contract.tables import CONTRACT_VERSION
from riskstrat.contract.validate import (
    Finding,
    PassingReport,
    ValidationReport,
    validate_data_dir,
)

RECORD_FORMAT = 1
KEEP_RECORDS = 256  # the newest records kept; older ones are removed when one is written
RACY_SECONDS = 2  # files modified this shortly before a validation are not recorded
_RULE_SOURCES = ("tables.py", "sql.py", "source.py", "validate.py", "record.py")


def cache_dir() -> Path:
    """Where riskstrat keeps what it can recompute: `RISKSTRAT_CACHE`, else the XDG cache."""
    if os.environ.get("RISKSTRAT_CACHE"):
        return Path(os.environ["RISKSTRAT_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "riskstrat"


def records_dir() -> Path:
    """The folder of the validation records: `validation` in the cache folder."""
    return cache_dir() / "validation"


@cache
def rules_version() -> str:
    """A hash of everything besides the files that decides a validation's outcome."""
    import duckdb
    import pyarrow

    from riskstrat import dates, redact
    from riskstrat.reference import data_path

    engines = f"format {RECORD_FORMAT}; duckdb {duckdb.__version__}; pyarrow {pyarrow.__version__}"
    h = hashlib.sha256(engines.encode())
    here = Path(__file__).parent
    sources = [here / name for name in _RULE_SOURCES] + [Path(dates.__file__)]
    sources.append(Path(redact.__file__))  # the CPR shape of the person-id rule
    sources += [
        data_path("municipalities.csv"),
        data_path("code_lists", "icd10_who2019_categories.csv"),
    ]
    for path in sources:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _files(data_dir: DataDir) -> list[list]:
    """[relative path, size, mtime_ns, inode] of every file the contract reads."""
    files = [f for tf in data_dir.tables.values() for f in tf.files]
    manifest = data_dir.path / "manifest.json"
    if manifest.exists():
        files.append(manifest)
    entries = []
    for f in sorted(files):
        st = f.stat()
        entries.append(
            [f.relative_to(data_dir.path).as_posix(), st.st_size, st.st_mtime_ns, st.st_ino]
        )
    return entries


def fingerprint(data_dir: DataDir, files: list[list] | None = None) -> str:
    """A hash of the contract's files of `data_dir` (path, size, mtime, inode) and the rules."""
    entries = _files(data_dir) if files is None else files
    text = json.dumps(
        {"contract": CONTRACT_VERSION, "rules": rules_version(), "files": entries}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def validated(data_dir: str | Path, *, revalidate: bool = False) -> PassingReport:
    """The report of a data directory that meets the contract; raises `ContractError` if not.

    When the same files passed before (see the module doc), the recorded report is returned
    without running the rules; its `from_record` says when they ran. `revalidate=True`
    always runs them (and records the result).
    """
    if not revalidate:
        data = open_data_dir(data_dir)
        report = load_record(fingerprint(data), data.path)
        if report is not None:
            return report
    return PassingReport.of(validate_and_record(data_dir))


def validate_and_record(data_dir: str | Path) -> ValidationReport:
    """Run every rule (never the record) and, if the data directory passes, record the report.

    The record is written only when the files are the same after the rules as before them,
    and none was modified in the `RACY_SECONDS` before the rules started: a file rewritten
    in place with the same size within one tick of a coarse file-system clock (a second on
    some network and FAT drives) would otherwise keep its fingerprint.
    """
    started = time.time_ns()
    data = open_data_dir(data_dir)
    files = _files(data)
    report = validate_data_dir(data.path)
    settled = all(mtime < started - RACY_SECONDS * 10**9 for _, _, mtime, _ in files)
    if report.ok and settled and _files(open_data_dir(data.path)) == files:
        write_record(fingerprint(data, files), report)
    return report


def load_record(key: str, path: Path) -> PassingReport | None:
    """The recorded report for `key`, with `path` as its data directory; None if there is
    none or it cannot be read."""
    try:
        raw = json.loads((records_dir() / f"{key}.json").read_text(encoding="utf-8"))
        if raw["format"] != RECORD_FORMAT or raw["key"] != key:
            return None
        return _report_from_json(raw["report"], path, datetime.fromisoformat(raw["validated_at"]))
    except (OSError, RuntimeError, ValueError, TypeError, KeyError, AttributeError):
        return None  # no record, or one that cannot be read (or no home folder for the cache)


def write_record(key: str, report: ValidationReport) -> None:
    """Store a passing report under `key` (atomically); a cache that cannot be written is
    skipped silently: the record only saves time."""
    if not report.ok:
        raise ValueError("only a passing validation is recorded")
    payload = {
        "format": RECORD_FORMAT,
        "key": key,
        "validated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "report": _report_json(report),
    }
    try:
        folder = records_dir()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, indent=1, sort_keys=True)
                fh.write("\n")
            os.replace(tmp, folder / f"{key}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(folder)
    except (OSError, RuntimeError):
        return


def _prune(folder: Path) -> None:
    records = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in records[KEEP_RECORDS:]:
        old.unlink(missing_ok=True)


def _report_json(report: ValidationReport) -> dict:
    def day(d: date | None) -> str | None:
        return d.isoformat() if d else None

    return {
        "path": str(report.path),
        "extract_date": day(report.extract_date),
        "extract_date_source": report.extract_date_source,
        "rows": {k: int(v) for k, v in report.rows.items()},
        "date_ranges": {k: [day(lo), day(hi)] for k, (lo, hi) in report.date_ranges.items()},
        "persons_by_age_band": {k: int(v) for k, v in report.persons_by_age_band.items()},
        # counts only: a warning's examples are row numbers and values of single rows
        "warnings": [
            {"table": f.table, "column": f.column, "rule": f.rule, "count": int(f.count)}
            for f in report.warnings
        ],
    }


def _report_from_json(raw: dict, path: Path, validated_at: datetime) -> PassingReport:
    def day(s: str | None) -> date | None:
        return date.fromisoformat(s) if s else None

    # only passing reports are recorded, so the extract date is there (a record without
    # one cannot be read: TypeError, and the rules run again)
    return PassingReport(
        path=path,
        extract_date=date.fromisoformat(raw["extract_date"]),
        extract_date_source=str(raw["extract_date_source"]),
        errors=[],
        warnings=[
            Finding(w["table"], w["column"], w["rule"], int(w["count"]), [], "warning")
            for w in raw["warnings"]
        ],
        rows={str(k): int(v) for k, v in raw["rows"].items()},
        date_ranges={str(k): (day(lo), day(hi)) for k, (lo, hi) in raw["date_ranges"].items()},
        persons_by_age_band={str(k): int(v) for k, v in raw["persons_by_age_band"].items()},
        from_record=validated_at,
    )
