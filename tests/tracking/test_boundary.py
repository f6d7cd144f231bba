"""Only riskstrat.tracking talks to MLflow: no other module of src/ or pipelines/ imports it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# MLflow itself, its client and errors, and the tracking package's own handles on them
IMPORTS = re.compile(
    r"^\s*(import mlflow|from mlflow[\s.])|MlflowClient|MlflowException|tracking\._mlflow"
    r"|^\s*from riskstrat\.tracking[\w.]* import [^\n]*\b(client|quiet_mlflow)\b",
    re.MULTILINE,
)


def test_no_module_outside_riskstrat_tracking_imports_mlflow() -> None:
    tracking = ROOT / "src" / "riskstrat" / "tracking"
    files = [*(ROOT / "src" / "riskstrat").rglob("*.py"), *(ROOT / "pipelines").rglob("*.py")]
    assert len(files) > 20 and any(f.is_relative_to(tracking) for f in files)
    offenders = {
        str(f.relative_to(ROOT)): match.group(0).strip()
        for f in files
        if not f.is_relative_to(tracking)
        for match in [IMPORTS.search(f.read_text(encoding="utf-8"))]
        if match
    }
    assert offenders == {}


def test_the_check_finds_an_import(tmp_path) -> None:
    for line in (
        "import mlflow",
        "    from mlflow.exceptions import MlflowException",
        "from riskstrat.tracking.store import client, quiet_mlflow",
        "from riskstrat.tracking import _mlflow; tracking._mlflow()",
    ):
        assert IMPORTS.search(f"x = 1\n{line}\n")
    assert not IMPORTS.search('"""see runs: mlflow ui --backend-store-uri URI"""\n')
