#!/usr/bin/env bash
# The project's test command: README "Quick start" and .ci/run run exactly this: lint
# (ruff, with complexity and docstring rules), format check, type check (mypy over
# src/riskstrat), then the tests (tests/test_architecture.py checks the import graph).
# Needs only Python 3.11 with pip; installs uv and the locked environment itself.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v uv >/dev/null 2>&1; then UV=(uv); else
  python3 -m pip install -q uv
  UV=(python3 -m uv)
fi
"${UV[@]}" sync --frozen --group dev -q
"${UV[@]}" run --frozen ruff check src tests pipelines benchmarks
"${UV[@]}" run --frozen ruff format --check src tests pipelines benchmarks
"${UV[@]}" run --frozen mypy
# tests in two or more processes (pytest-xdist), a test file per process at a time: the
# module-scoped fixtures (a Prefect server, a trained model) are built once per file
"${UV[@]}" run --frozen pytest -n auto --maxprocesses 4 --dist loadfile "$@"
