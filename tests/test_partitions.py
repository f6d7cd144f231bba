"""Person-level work partition by partition: results come back in order, whatever the workers."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd

from riskstrat.contract import validated
from riskstrat.partitions import map_partitions, partition_names


def _persons_and_contacts(extract, scale: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    persons = pd.DataFrame({"n": [len(extract.persons) * scale]})
    contacts = pd.DataFrame({"n": [len(extract.gp_contacts)]})
    return persons, contacts


def test_a_function_returning_frames_per_partition_gets_them_concatenated(tiny_data: Path) -> None:
    extract_date = validated(tiny_data).extract_date
    counts = map_partitions(
        tiny_data, extract_date, lambda e: pd.DataFrame({"n": [len(e.persons)]})
    )
    assert len(counts) == len(partition_names(tiny_data))
    assert counts["n"].sum() == len(pd.read_parquet(tiny_data / "persons"))


def test_a_function_returning_tuples_gets_each_position_concatenated(
    tiny_data: Path, tmp_path: Path
) -> None:
    # one file per table (not person-aligned parts), so three hash buckets are three partitions
    for folder in sorted(p for p in tiny_data.iterdir() if p.is_dir()):
        pd.read_parquet(folder).to_parquet(tmp_path / f"{folder.name}.parquet")
    extract_date = validated(tiny_data).extract_date
    fn = partial(_persons_and_contacts, scale=2)
    persons, contacts = map_partitions(tmp_path, extract_date, fn, workers=2, hash_buckets=3)
    assert len(persons) == len(contacts) == 3
    assert persons["n"].sum() == 2 * len(pd.read_parquet(tiny_data / "persons"))
    assert contacts["n"].sum() == len(pd.read_parquet(tiny_data / "gp_contacts"))
