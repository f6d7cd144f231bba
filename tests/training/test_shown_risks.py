"""No list or report shows a risk of 99 % or more, or of 0.01 % or less (issue 15), even when
the validation date's top bin holds only events."""

from __future__ import annotations

import io
import re
from datetime import date

import numpy as np
import openpyxl
import pandas as pd

from riskstrat.lists import Team
from riskstrat.lists.build import build_target_list
from riskstrat.lists.files import target_list_csv
from riskstrat.lists.workbook import target_list_xlsx
from tests.training.synthetic import feature_frame, trained

AS_OF = date(2024, 7, 1)


def _extremes() -> pd.DataFrame:
    """A population with the most and the least admissions the law knows of."""
    frame = feature_frame(2000, AS_OF.isoformat(), seed=5, signal="rule")
    frame.loc[:99, "acute_admissions_12m"] = 9
    frame.loc[100:199, ["acute_admissions_12m", "age"]] = [0, 65]
    return frame


def _list(result) -> pd.DataFrame:
    people = _extremes()
    risk = result.bundle.predict_risk(people)
    scores = pd.DataFrame(
        {
            "person_id": people["person_id"].astype(str),
            "risk": risk,
            "tier": result.bundle.segments.tier(risk),
            "segment": "largely_healthy",
            "reason_1": None,
            "reason_2": None,
            "reason_3": None,
        }
    )
    persons = pd.DataFrame(
        {
            "person_id": people["person_id"].astype(str),
            "birth_date": pd.Timestamp("1940-01-01"),
            "sex": people["sex"],
            "municipality_code": 730,
            "gp_clinic_id": "730001",
            "death_date": pd.Series([pd.NaT] * len(people), dtype="datetime64[s]"),
            "emigration_date": pd.Series([pd.NaT] * len(people), dtype="datetime64[s]"),
        }
    )
    team = Team.model_validate(
        {
            "name": "everyone",
            "model": "avoidable_admission@champion",
            "catchment": {"municipalities": [730]},
            "capacity": 2000,
            "language": "en",
        }
    )
    return team, build_target_list(team, scores, persons, None, AS_OF)


def test_a_pure_top_bin_gives_bounded_risks_in_every_list_and_report() -> None:
    result, _ = trained("rule")
    calibrator = result.bundle.calibrator
    assert calibrator.events[-1] == calibrator.n[-1]  # the validation top step: events only
    team, listed = _list(result)
    risk = listed["risk"].to_numpy()
    assert risk.max() < 0.99 and risk.min() > 0.0001
    csv = pd.read_csv(io.BytesIO(target_list_csv(listed)))
    assert csv["risk"].max() < 0.99 and csv["risk"].min() > 0.0001
    sheet = openpyxl.load_workbook(io.BytesIO(target_list_xlsx(listed, team, "1", "2024-07")))[
        "List"
    ]
    formats = {c.number_format for (c,) in sheet.iter_rows(min_row=2, min_col=7, max_col=7)}
    assert formats <= {"0%", "0.0%", '"≥98.5%"', '"<0.1%"'}
    # the model card's and tables' risks (percentages and cut-points) stay inside the bounds
    percents = [float(x) for x in re.findall(r"(\d+(?:\.\d+)?)%", result.model_card)]
    assert percents and max(percents) < 99 and min(percents) > 0.01
    assert result.tables["tiers.csv"]["cut_point"].dropna().between(0.0001, 0.99).all()
    top = result.tables["calibration_top.csv"]["mean_predicted_risk"].dropna()
    assert top.between(0.0001, 0.99).all()
    assert np.isfinite(calibrator.interval(np.array([calibrator.x[-1]]))[0]).all()
