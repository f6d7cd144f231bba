"""The `evaluation:` block of a teams file: which design, what share, which seed.

Off unless configured: a teams file without the block runs no evaluation (`None`). The
block is validated like the rest of the teams file (unknown keys are errors, every problem
is reported at once); `check_settings_fit` checks it against the teams it schedules.

```yaml
evaluation:
  design: holdout          # or stepped_wedge
  holdout_share: 0.2       # holdout: the share of new candidates randomised to usual care
  seed: 20260101           # recorded: the assignments are reproducible from it
  start_months: {}         # stepped_wedge: team name or municipality code -> first month
  balance_limit: 0.1       # holdout, optional: rerandomise until every baseline covariate's
                           #   |SMD within team x risk band| of the month's new persons is below
  max_draws: 1000          # with balance_limit: draws tried before the best one is kept
```
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from riskstrat.dates import parse_month
from riskstrat.errors import InputError
from riskstrat.lists.teams import Teams

# blocks of at most this many new persons per stratum: the share is met exactly in each
MAX_BLOCK = 20


class EvaluationError(InputError):
    """An `evaluation:` block that cannot be used, with every problem listed."""


class EvaluationSettings(BaseModel):
    """A randomised evaluation of the lists: `design` (`holdout`: a share of each team's new
    candidates is randomised to usual care, within team × risk band; `stepped_wedge`: teams
    or municipalities start in scheduled months and those not started are the comparison),
    `holdout_share` (holdout only; 0 < share ≤ 0.5, a fraction with a denominator of at most
    20), the recorded `seed`, `start_months` (stepped wedge only: a team name or a
    municipality code → its first month, `YYYY-MM`), and (holdout only, optional)
    `balance_limit` (0 < limit ≤ 1; None: plain blocked randomisation) with `max_draws`: the
    month's blocked randomisation is redrawn until every baseline covariate's standardised
    mean difference within team × risk band is below the limit (rerandomisation, Morgan &
    Rubin 2012), at most `max_draws` times."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    design: Literal["holdout", "stepped_wedge"]
    holdout_share: float = Field(0.2, gt=0, le=0.5)
    seed: int = Field(ge=0)
    start_months: dict[str, str] = {}
    balance_limit: float | None = Field(None, gt=0, le=1)
    max_draws: int = Field(1000, ge=1, le=100_000)

    @field_validator("start_months", mode="before")
    @classmethod
    def _keys_as_text(cls, value: object) -> object:
        # a municipality code written without quotes in YAML (730) is read as a number
        if isinstance(value, Mapping):
            return {str(k): v for k, v in value.items()}
        return value

    @field_validator("start_months")
    @classmethod
    def _months(cls, value: dict[str, str]) -> dict[str, str]:
        bad = []
        for key, month in value.items():
            try:
                parse_month(str(month))
            except (InputError, ValueError):
                bad.append(f"{key}: {month!r}")
        if bad:
            raise ValueError(f"start months must be YYYY-MM: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _design_fits(self) -> EvaluationSettings:
        if self.design == "holdout" and self.start_months:
            raise ValueError("start_months belong to design stepped_wedge, not holdout")
        if self.design == "stepped_wedge" and not self.start_months:
            raise ValueError("design stepped_wedge needs start_months (team or municipality)")
        if self.design == "stepped_wedge" and self.balance_limit is not None:
            raise ValueError("balance_limit belongs to design holdout, not stepped_wedge")
        if self.balance_limit is None and "max_draws" in self.model_fields_set:
            raise ValueError("max_draws belongs to balance_limit, which is not given")
        share = Fraction(self.holdout_share).limit_denominator(MAX_BLOCK)
        if abs(float(share) - self.holdout_share) > 1e-9:
            raise ValueError(
                f"holdout_share {self.holdout_share} is not a fraction with a denominator of at "
                f"most {MAX_BLOCK} (e.g. 0.2, 0.25, 0.3): blocks could not meet it exactly"
            )
        return self

    @property
    def block(self) -> tuple[int, int]:
        """(holdouts, persons) of one randomisation block: 0.2 gives (1, 5)."""
        share = Fraction(self.holdout_share).limit_denominator(MAX_BLOCK)
        return share.numerator, share.denominator


def evaluation_settings(raw: object) -> EvaluationSettings | None:
    """The validated `evaluation:` block of a teams file (`raw`: the block as read from YAML;
    None or absent: no evaluation, the default). EvaluationError lists every problem."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise EvaluationError("evaluation: must be a mapping (design, holdout_share, seed, ...)")
    try:
        return EvaluationSettings.model_validate(dict(raw))
    except ValidationError as error:
        problems = []
        for e in error.errors():
            where = ".".join(str(p) for p in e["loc"])
            message = str(e["msg"]).removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                message = "unknown key (a typo?)"
            elif e["type"] == "missing":
                message = "required but missing"
            problems.append(f"evaluation.{where}: {message}" if where else f"evaluation: {message}")
        raise EvaluationError(
            f"the evaluation block has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems)
        ) from None


def check_settings_fit(settings: EvaluationSettings, teams: Teams) -> None:
    """EvaluationError unless every start month names a team or a municipality of a team's
    catchment, and (stepped wedge) every team has a start: by its name, or for each of its
    municipalities."""
    names = {t.name for t in teams.teams}
    codes = {str(c) for t in teams.teams for c in t.catchment.municipalities}
    problems = [
        f"evaluation.start_months: {key!r} is neither a team nor a municipality of a catchment"
        for key in settings.start_months
        if key not in names and key not in codes
    ]
    if settings.design == "stepped_wedge":
        for team in teams.teams:
            own = [str(c) for c in team.catchment.municipalities]
            if team.name not in settings.start_months and (
                not own or any(c not in settings.start_months for c in own)
            ):
                problems.append(
                    f"evaluation.start_months: team {team.name} has no start month "
                    "(give the team or each of its municipalities)"
                )
    if problems:
        raise EvaluationError(
            "the evaluation block does not fit the teams:\n  - " + "\n  - ".join(problems)
        )


def teams_evaluation(teams: Teams) -> EvaluationSettings | None:
    """The teams file's `evaluation:` block, validated and checked against its teams (None:
    no block, no evaluation). EvaluationError lists every problem."""
    settings = evaluation_settings(teams.evaluation)
    if settings is not None:
        check_settings_fit(settings, teams)
    return settings
