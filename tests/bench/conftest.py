"""Tests of the benchmarks' own machinery (bench/): its modules import each other by bare name, as
when the bench scripts run, so the folder goes on the import path here."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
