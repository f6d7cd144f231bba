"""Thin Prefect flows and deployments that wire riskstrat library functions."""
