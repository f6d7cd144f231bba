"""Official Danish register layouts (DST, SDS) read into input contract v1.

`riskstrat import SOURCE_DIR --out DATA_DIR` finds the register files, converts each
register family to its contract table (one module per family: persons, hospital, gp,
prescriptions, municipal), replaces `pnr` with a keyed pseudonym and writes the data
directory with `import_report.md/json`. The rules and their sources: docs/registers.md.
"""
