"""riskstrat: risk stratification for Danish health clusters."""

__version__ = "0.1.0"
