"""Synthetic register extracts in input contract v1, calibrated to published Danish figures.

`generate(profile, seed, out_dir)` writes a data directory (all tables as person-aligned
Parquet part folders, `manifest.json`, the parameter file used, and `calibration.json` /
`calibration.md`). Every coefficient lives in `params.yaml`, with its source or "assumed".
"""

from riskstrat.synth.generate import PROFILES, SynthResult, generate, load_params

__all__ = ["PROFILES", "SynthResult", "generate", "load_params"]
