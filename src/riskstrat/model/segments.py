"""The segment scheme registered with a model version: risk tiers and needs-based segments.

Tiers are fixed cut-points on the calibrated risk, set once at training from the validation
index date's population (by default its top 1 %, next 4 %, next 15 % and the rest), so a
month's scoring puts a person in a tier by their own risk, never by a re-ranking of that
month. Needs segments are the spec's rules (`nursing_home == 1`, ...), first match wins,
evaluated by a small interpreter that knows only comparisons, `and`, `or` and `not`.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskstrat.errors import InputError
from riskstrat.spec import Segments, check_expression

UNMATCHED = "other"  # a person no needs rule matches (e.g. a rule's input is missing)
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


@dataclass(frozen=True)
class SegmentScheme:
    """Tier cut-points (highest tier first) and the needs rules (in order of precedence)."""

    tier_names: tuple[str, ...]
    tier_shares: tuple[float, ...]  # the cumulative top shares the cut-points were set at
    cut_points: tuple[float, ...]  # a person is in the first tier whose cut-point risk >= it
    lowest_tier: str
    needs: tuple[tuple[str, str], ...]  # (segment name, rule)

    @classmethod
    def fit(cls, segments: Segments, validation_risk: np.ndarray) -> SegmentScheme:
        """Cut-points at the spec's shares of the validation population's calibrated risk."""
        risk = np.sort(np.asarray(validation_risk, dtype=np.float64))[::-1]
        if risk.size == 0:
            raise InputError("the validation population is empty; tiers cannot be set")
        cuts = [float(risk[max(1, round(t.top * risk.size)) - 1]) for t in segments.tiers]
        return cls(
            tier_names=tuple(t.name for t in segments.tiers),
            tier_shares=tuple(t.top for t in segments.tiers),
            cut_points=tuple(cuts),
            lowest_tier=segments.lowest_tier,
            needs=tuple((n.name, n.when) for n in segments.needs),
        )

    @property
    def required_columns(self) -> list[str]:
        """The feature columns the needs rules read."""
        names: set[str] = set()
        for _, rule in self.needs:
            names |= check_expression(rule)
        return sorted(names)

    def tier(self, risk: np.ndarray) -> np.ndarray:
        """The tier name of each calibrated risk."""
        risk = np.asarray(risk, dtype=np.float64)
        conditions = [risk >= cut for cut in self.cut_points]
        return np.select(conditions, list(self.tier_names), default=self.lowest_tier).astype(object)

    def segment(self, features: pd.DataFrame) -> np.ndarray:
        """The needs segment of each row: the first rule that holds, else `other`."""
        missing = [c for c in self.required_columns if c not in features.columns]
        if missing:
            raise InputError(f"the segment rules need the columns {', '.join(missing)}")
        conditions = [evaluate_rule(rule, features) for _, rule in self.needs]
        names = [name for name, _ in self.needs]
        return np.select(conditions, names, default=UNMATCHED).astype(object)

    def to_dict(self) -> dict:
        """Plain JSON-ready values."""
        return {
            "tiers": [
                {"name": n, "top": s, "cut_point": c}
                for n, s, c in zip(self.tier_names, self.tier_shares, self.cut_points, strict=True)
            ],
            "lowest_tier": self.lowest_tier,
            "needs": [{"name": n, "when": w} for n, w in self.needs],
        }

    @classmethod
    def from_dict(cls, data: dict) -> SegmentScheme:
        """The scheme `to_dict` described (rules are re-checked: a file can be edited)."""
        for rule in data["needs"]:
            check_expression(rule["when"])
        return cls(
            tier_names=tuple(t["name"] for t in data["tiers"]),
            tier_shares=tuple(float(t["top"]) for t in data["tiers"]),
            cut_points=tuple(float(t["cut_point"]) for t in data["tiers"]),
            lowest_tier=data["lowest_tier"],
            needs=tuple((r["name"], r["when"]) for r in data["needs"]),
        )


def evaluate_rule(rule: str, frame: pd.DataFrame) -> np.ndarray:
    """A boolean per row: does the rule hold? A comparison with a missing value is false."""
    check_expression(rule)
    result = _evaluate(ast.parse(rule, mode="eval").body, frame)
    if np.ndim(result) == 0:  # a rule of constants only, e.g. "1 == 1"
        return np.full(len(frame), bool(result))
    return np.asarray(result, dtype=bool)


def _evaluate(node: ast.AST, frame: pd.DataFrame):
    if isinstance(node, ast.BoolOp):
        parts = [_evaluate(v, frame) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = parts[0]
        for part in parts[1:]:
            out = combine(out, part)
        return out
    if isinstance(node, ast.UnaryOp):  # only `not` passes check_expression
        return np.logical_not(_evaluate(node.operand, frame))
    if isinstance(node, ast.Compare):
        out = True
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            out = np.logical_and(out, _compare(_COMPARE[type(op)], left, right, frame))
            left = right
        return out
    raise InputError(f"segment rules cannot use {type(node).__name__} here")


def _compare(op, left: ast.AST, right: ast.AST, frame: pd.DataFrame):
    a, b = _operand(left, frame), _operand(right, frame)
    try:
        result = op(a, b)
    except TypeError as exc:
        raise InputError(f"segment rule comparison failed: {exc}") from None
    if isinstance(result, pd.Series):
        known = np.ones(len(frame), dtype=bool)
        for value in (a, b):
            if isinstance(value, pd.Series):
                known &= value.notna().to_numpy()
        return result.to_numpy(dtype=bool, na_value=False) & known
    return result


def _operand(node: ast.AST, frame: pd.DataFrame):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return frame[node.id].reset_index(drop=True)
    return _evaluate(node, frame)
