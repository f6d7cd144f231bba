"""Input contract v1: declared tables, validation and typed reading of a data directory."""

from riskstrat.contract.reader import Extract, load_extract, read_extract
from riskstrat.contract.record import validate_and_record, validated
from riskstrat.contract.source import DataDir, DataDirError, open_data_dir
from riskstrat.contract.tables import CONTRACT_VERSION, TABLES
from riskstrat.contract.validate import (
    ContractError,
    Finding,
    PassingReport,
    ValidationReport,
    validate_data_dir,
)

__all__ = [
    "CONTRACT_VERSION",
    "TABLES",
    "ContractError",
    "DataDir",
    "DataDirError",
    "Extract",
    "Finding",
    "PassingReport",
    "ValidationReport",
    "load_extract",
    "open_data_dir",
    "read_extract",
    "validate_and_record",
    "validate_data_dir",
    "validated",
]
