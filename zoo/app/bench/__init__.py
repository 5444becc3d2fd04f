"""``zoo bench``: every combination of models x data sets x presets, side by side.

from zoo.app.bench import BenchSpec, run_bench

outcome = run_bench(BenchSpec(models=["mlp", "linear"], data=["housing"], repeats=3,
                              base={"epochs": 50}))
outcome.summary["datasets"][0]["rows"]      # ranked, mean ± std over repeats
outcome.folder                              # runs/bench-YYYYmmdd-HHMMSS/
"""

from .session import BenchOutcome, BenchServices, Resume, run_bench
from .spec import BenchSpec, read_grid_file

__all__ = ["BenchOutcome", "BenchServices", "BenchSpec", "Resume", "read_grid_file", "run_bench"]
