"""Target lists: catchment, eligibility, opt-outs, capacity, ranking, files, publishing."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from riskstrat.features import feature_groups
from riskstrat.lists import (
    Team,
    TeamsError,
    build_target_list,
    list_files,
    load_teams,
    phrase,
    publish_month,
)
from riskstrat.lists import publish as publish_module
from riskstrat.lists.teams import Teams
from riskstrat.spec import load_spec

AS_OF = date(2026, 1, 1)


def people(n: int = 400, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"P{i:05d}" for i in range(n)]
    persons = pd.DataFrame({
        "person_id": ids,
        "birth_date": pd.to_datetime(rng.integers(-20000, -5000, n), unit="D").astype("datetime64[s]"),
        "sex": rng.choice(["F", "M"], n),
        "municipality_code": rng.choice([730, 710, 707, 706], n),
        "gp_clinic_id": rng.choice(["730001", "730002", "710001", "707001"], n),
        "death_date": pd.Series([pd.NaT] * n, dtype="datetime64[s]"),
        "emigration_date": pd.Series([pd.NaT] * n, dtype="datetime64[s]"),
    })  # fmt: skip
    scores = pd.DataFrame({
        "person_id": ids, "index_date": pd.Timestamp(AS_OF), "model_name": "avoidable_admission",
        "model_version": "3", "risk": np.round(rng.random(n), 2),
        "tier": rng.choice(["very_high", "high", "elevated", "low"], n),
        "segment": rng.choice(["nursing_home", "multimorbid", "largely_healthy"], n),
        "reason_1": "acute_admissions_12m=2", "reason_2": "living_alone=1", "reason_3": None,
    })  # fmt: skip
    return persons, scores


def team(**changes) -> Team:
    raw = {"name": "t1", "model": "avoidable_admission@champion", "catchment": {"municipalities": [730]},
           "capacity": 25, "eligibility": {"min_age": 70}, "language": "da"}  # fmt: skip
    raw.update(changes)
    return Team.model_validate(raw)


NO_OPT_OUTS = pd.DataFrame({"person_id": pd.Series([], dtype="str"), "opt_out_date": pd.Series([], dtype="datetime64[s]")})


@pytest.mark.parametrize("catchment", [{"municipalities": [730]}, {"municipalities": [707, 706]},
                                       {"gp_clinics": ["730002"]}, {"municipalities": [730], "gp_clinics": ["730001"]}])  # fmt: skip
def test_only_persons_in_the_catchment(catchment) -> None:
    persons, scores = people()
    t = team(catchment=catchment, capacity=1000, eligibility={})
    frame = build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF)
    listed = persons.set_index("person_id").loc[frame["person_id"]]
    if "municipalities" in catchment:
        assert listed["municipality_code"].isin(catchment["municipalities"]).all()
    if "gp_clinics" in catchment:
        assert listed["gp_clinic_id"].isin(catchment["gp_clinics"]).all()
    expected = persons
    if "municipalities" in catchment:
        expected = expected[expected["municipality_code"].isin(catchment["municipalities"])]
    if "gp_clinics" in catchment:
        expected = expected[expected["gp_clinic_id"].isin(catchment["gp_clinics"])]
    assert len(frame) == len(expected)


def test_capacity_ranking_ties_and_eligibility() -> None:
    persons, scores = people()
    scores["risk"] = 0.5  # all tied: ranked by person_id
    t = team(capacity=10, eligibility={"min_age": 70, "exclude_segments": ["nursing_home"]})
    frame = build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF)
    assert len(frame) == 10 and frame["rank"].tolist() == list(range(1, 11))
    assert frame["person_id"].tolist() == sorted(frame["person_id"])
    assert (frame["age"] >= 70).all() and not (frame["segment"] == "nursing_home").any()
    assert frame["reasons"].iloc[0] == "2 akutte indlæggelser seneste år; bor alene"


def test_opt_outs_deaths_and_emigrations_are_never_listed() -> None:
    persons, scores = people()
    t = team(capacity=1000, eligibility={})
    everyone = build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF)["person_id"].tolist()
    out, dead, gone = everyone[:3], everyone[3:5], everyone[5:7]
    opt_outs = pd.DataFrame({"person_id": out, "opt_out_date": pd.Timestamp("2025-06-01")})
    persons.loc[persons["person_id"].isin(dead), "death_date"] = pd.Timestamp("2025-12-01")
    persons.loc[persons["person_id"].isin(gone), "emigration_date"] = pd.Timestamp("2025-11-01")
    listed = set(build_target_list(t, scores, persons, opt_outs, AS_OF)["person_id"])
    assert not listed & set(out + dead + gone)
    assert len(listed) == len(everyone) - 7


def test_new_this_month_marks_persons_not_on_last_months_list() -> None:
    persons, scores = people()
    t = team(capacity=5)
    first = build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF)
    again = build_target_list(t, scores, persons, NO_OPT_OUTS, AS_OF, previous=set(first["person_id"][:3]))
    assert again["new_this_month"].tolist() == [False, False, False, True, True]


def test_every_model_input_has_a_phrase_in_both_languages() -> None:
    spec = load_spec("models/avoidable_admission.yaml")
    for names in feature_groups(spec).values():
        for name in names:
            for language in ("da", "en"):
                text = phrase(f"{name}=1", language)
                assert text is not None and "=" not in text, (name, language, text)


def test_workbook_and_csv_are_byte_identical_and_readable() -> None:
    persons, scores = people()
    teams = Teams(teams=[team(), team(name="t2", language="en", catchment={"municipalities": [710]})])
    scorings = {"avoidable_admission": (scores, {"model_uri": "models:/avoidable_admission/3", "model_version": "3",
                                                 "data_extract_date": "2026-01-01"})}  # fmt: skip
    a, _ = list_files(teams, scorings, persons, NO_OPT_OUTS, "2026-01", AS_OF, None)
    b, _ = list_files(teams, scorings, persons, NO_OPT_OUTS, "2026-01", AS_OF, None)
    assert a == b
    wb = openpyxl.load_workbook(io.BytesIO(a["t1/target_list.xlsx"]))
    sheet = wb["Liste"]
    assert sheet.freeze_panes == "A2" and sheet["A1"].value == "Rang" and sheet["K1"].value == "Ny denne måned"
    assert "Forklaring" in wb.sheetnames
    assert openpyxl.load_workbook(io.BytesIO(a["t2/target_list.xlsx"]))["List"]["A1"].value == "Rank"
    csv = pd.read_csv(io.BytesIO(a["t1/target_list.csv"]))
    assert list(csv.columns)[:3] == ["rank", "person_id", "age"]
    assert json.loads(a["t1/manifest.json"])["rows"] == len(csv)


def test_teams_file_problems_are_listed(tmp_path: Path) -> None:
    bad = tmp_path / "teams.yaml"
    bad.write_text(
        "teams:\n"
        "  - {name: a, model: avoidable_admission@champion, catchment: {municipalities: [999]}, capacity: 5}\n"
        "  - {name: b, model: 'not a model', catchment: {municipalities: [730]}, capacity: 5}\n"
        "  - {name: c, model: avoidable_admission@champion, catchment: {}, capacity: 5, colour: red}\n"
    )
    with pytest.raises(TeamsError) as error:
        load_teams(bad)
    text = str(error.value)
    assert "team b" in text and "team c" in text and "colour" in text
    ok = tmp_path / "ok.yaml"
    ok.write_text("teams:\n  - {name: a, model: avoidable_admission@champion, catchment: {municipalities: [999]}, capacity: 5}\n")
    with pytest.raises(TeamsError, match="unknown municipality"):
        load_teams(ok)
    assert len(load_teams("teams.yaml").teams) == 4


def test_publishing_is_idempotent_and_survives_an_interruption(tmp_path: Path, monkeypatch) -> None:
    month = tmp_path / "2026-01"
    files = {"t1/target_list.csv": b"rank,person_id\n1,P1\n", "t1/manifest.json": b"{}"}
    first = publish_month(month, files, {"month": "2026-01"})
    assert not first.unchanged
    snapshot = {p: p.read_bytes() for p in month.rglob("*") if p.is_file()}
    again = publish_month(month, files, {"month": "2026-01"})
    assert again.unchanged
    assert {p: p.read_bytes() for p in month.rglob("*") if p.is_file()} == snapshot
    assert len((month / "audit.jsonl").read_text().splitlines()) == 1

    def broken(folder, new_files):
        (folder / "t1").mkdir(parents=True, exist_ok=True)
        (folder / "t1" / "target_list.csv").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(publish_module, "write_files", broken)
    with pytest.raises(OSError):
        publish_month(month, {**files, "t1/target_list.csv": b"rank,person_id\n1,P2\n"}, {"month": "2026-01"})
    assert {p: p.read_bytes() for p in month.rglob("*") if p.is_file()} == snapshot
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
