"""Who a team's feedback keeps off its next lists: one step of composing a list.

`feedback_exclusions` takes the ranked candidates (everyone the team may list this month,
best first) and the team's history (its earlier lists and the statuses it gave back) and
returns who is left out, by which rule. The list then fills its capacity from the persons
after them. Rules, first that applies wins (months counted from the list the status or
listing belongs to):

- `declined`: the person declined within the last `declined_months` (like an opt-out; the
  data's `opt_outs` table is applied before and always wins);
- `died_or_moved`: reported so within the last `known_months` (until the registers show it);
- `known`: `already_known` or `enrolled` within the last `known_months`;
- `cooldown`: listed within the last `cooldown_months`, unless now in a higher tier than then.

Other steps of composing a list (a randomised holdout, say) go beside this one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from riskstrat.dates import parse_month
from riskstrat.lists.feedback import NO_FEEDBACK
from riskstrat.lists.teams import FeedbackRules

RULES = ("declined", "died_or_moved", "known", "cooldown")


def _empty_listings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in ("month", "person_id", "tier")})


def _empty_statuses() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in ("month", "person_id", "status")})


@dataclass(frozen=True)
class FeedbackHistory:
    """One team's earlier months: `listings` (month, person_id, tier: who was on its lists),
    `statuses` (month, person_id, status: what it answered on those lists) and `answered`
    (the months whose list came back; a list that did not is "no feedback", never "not
    contacted")."""

    listings: pd.DataFrame = field(default_factory=_empty_listings)
    statuses: pd.DataFrame = field(default_factory=_empty_statuses)
    answered: frozenset[str] = frozenset()


def months_between(earlier: str, later: str) -> int:
    """Whole months from `earlier` to `later` (both `YYYY-MM`)."""
    a, b = parse_month(earlier), parse_month(later)
    return (b.year - a.year) * 12 + b.month - a.month


def feedback_exclusions(
    candidates: pd.DataFrame,
    history: FeedbackHistory,
    month: str,
    rules: FeedbackRules,
    tier_order: list[str],
) -> pd.DataFrame:
    """The candidates (`person_id`, `tier`) that `month`'s list leaves out: `person_id` and
    `rule` (one of RULES), in the candidates' order. `tier_order` lists tiers from the
    highest; a tier not in it never counts as moving up."""
    ids = candidates["person_id"].astype(str)
    rule = pd.Series(None, index=candidates.index, dtype=object)
    statuses = _within(history.statuses, month)
    for name, wanted, window in (
        ("declined", {"declined"}, rules.declined_months),
        ("died_or_moved", {"died_or_moved"}, rules.known_months),
        ("known", {"already_known", "enrolled"}, rules.known_months),
    ):
        hit = statuses[statuses["status"].isin(wanted) & (statuses["age"] <= window)]
        rule = rule.where(rule.notna() | ~ids.isin(set(hit["person_id"])), name)
    listed = _within(history.listings, month)
    listed = listed[listed["age"] <= rules.cooldown_months]
    last = listed.sort_values("age", kind="mergesort").drop_duplicates("person_id")
    was = ids.map(dict(zip(last["person_id"], last["tier"], strict=True)))
    rank = {tier: i for i, tier in enumerate(tier_order)}
    higher = candidates["tier"].map(rank) < was.map(rank)
    cooling = was.notna() & ~higher.fillna(False).astype(bool)
    rule = rule.where(rule.notna() | ~cooling, "cooldown")
    out = pd.DataFrame({"person_id": ids, "rule": rule})
    return out[out["rule"].notna()].reset_index(drop=True)


def last_status(ids: pd.Series, history: FeedbackHistory, month: str) -> pd.DataFrame:
    """For each person (`ids`), the last earlier list of the team they were on (before
    `month`) and what the team answered there: `last_status` (a status, NO_FEEDBACK, or
    None if never listed in the history) and `last_status_month`."""
    listed = _within(history.listings, month).sort_values("age", kind="mergesort")
    last = listed.drop_duplicates("person_id").set_index("person_id")["month"]
    when = ids.astype(str).map(last)
    given = {
        (m, p): s
        for m, p, s in history.statuses[["month", "person_id", "status"]].itertuples(index=False)
    }
    status = [
        None if pd.isna(m) else given.get((m, p), NO_FEEDBACK)
        for m, p in zip(when, ids.astype(str), strict=True)
    ]
    return pd.DataFrame(
        {"last_status": pd.Series(status, dtype=object), "last_status_month": when.to_numpy()}
    )


def _within(frame: pd.DataFrame, month: str) -> pd.DataFrame:
    """Rows of earlier months, with `age`: months from theirs to `month` (at least 1)."""
    out = frame.assign(person_id=frame["person_id"].astype(str))
    out["age"] = [months_between(str(m), month) for m in out["month"]]
    return out[out["age"] >= 1]
