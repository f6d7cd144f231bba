"""The import graph of `src/riskstrat`: three layers with imports pointing down only, no
cycle between packages, and the library never importing `pipelines`.

1. core: the input contract, the model spec, the model (bundle, calibration, coding,
   segments), dates, reference data, errors and the masking rule of messages (redact);
2. steps: functions that take and return frames and know no paths and no MLflow;
3. edges: reading and writing files, the runs layout, the registry, the command line.

Every import counts, including those inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

CORE = ("errors", "redact", "dates", "reference", "data", "contract", "spec", "model")
STEPS = (
    "features",
    "training",
    "scoring",
    "lists",
    "fairness",
    "disclosure",
    "population",
    "monthly",
    "evaluation",
)
EDGES = (
    "runs",
    "publishing",
    "io",
    "scores_io",
    "partitions",
    "tracking",
    "promotion",
    "experiment",
    "synth",
    "registers",
    "cli",
    "feedback_store",
    "evaluation_store",
)
LAYER = {**dict.fromkeys(CORE, 0), **dict.fromkeys(STEPS, 1), **dict.fromkeys(EDGES, 2)}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module this file imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ""
    if path.is_relative_to(SRC):
        package = (
            _module_name(path)
            if path.name == "__init__.py"
            else _module_name(path).rsplit(".", 1)[0]
        )
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                    + ([base] if base else [])
                )
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _unit(module: str) -> str | None:
    """The top-level unit of a riskstrat module (`riskstrat.model.bundle` -> `model`)."""
    parts = module.split(".")
    if parts[0] != "riskstrat" or len(parts) < 2:
        return None
    return parts[1]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted((SRC / "riskstrat").rglob("*.py")):
        source = _unit(_module_name(path))
        if source is None:
            continue
        targets = {_unit(m) for m in _imports(path)} - {None, source}
        graph.setdefault(source, set()).update(t for t in targets if t is not None)
    return graph


def test_every_package_is_assigned_a_layer() -> None:
    unassigned = sorted(set(_graph()) - set(LAYER))
    assert not unassigned, f"assign these to a layer in tests/test_architecture.py: {unassigned}"


@pytest.mark.parametrize("unit", sorted(LAYER))
def test_imports_point_down_only(unit: str) -> None:
    upward = sorted(t for t in _graph().get(unit, set()) if LAYER.get(t, 0) > LAYER[unit])
    assert not upward, f"riskstrat.{unit} (layer {LAYER[unit]}) imports higher layers: {upward}"


def test_no_cycle_between_packages() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_the_library_never_imports_pipelines() -> None:
    offenders = sorted(
        str(p.relative_to(SRC))
        for p in (SRC / "riskstrat").rglob("*.py")
        if any(m == "pipelines" or m.startswith("pipelines.") for m in _imports(p))
    )
    assert not offenders, f"src imports pipelines in {offenders}"


def test_imports_inside_functions_are_seen(tmp_path: Path) -> None:
    """The import reader finds an import inside a function (the kind that hid a cycle before)."""
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from riskstrat.training import train_model\n")
    assert "riskstrat.training" in _imports(planted)
