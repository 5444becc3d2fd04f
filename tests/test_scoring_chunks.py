"""Regression metrics computed slice by slice equal the whole-array formulas."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.train import scoring


@pytest.mark.parametrize("rows", [1, 7, 64, 1001])
def test_slices_give_the_whole_array_metrics(monkeypatch, rows):
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 16)  # several slices, the last one short
    rng = np.random.default_rng(rows)
    y_true = (rng.normal(size=rows) * 3 + 10).astype("float32")
    y_pred = (y_true + rng.normal(size=rows)).astype("float32")
    found = scoring.regression_metrics(y_true, y_pred)
    true, error = y_true.astype("float64"), y_pred.astype("float64") - y_true.astype("float64")
    assert found["mse"] == pytest.approx(np.mean(error**2), rel=1e-12)
    assert found["rmse"] == pytest.approx(np.sqrt(np.mean(error**2)), rel=1e-12)
    assert found["mae"] == pytest.approx(np.mean(np.abs(error)), rel=1e-12)
    total = np.sum((true - true.mean()) ** 2)
    expected_r2 = 1 - np.sum(error**2) / total if total else float("nan")
    assert found["r2"] == pytest.approx(expected_r2, rel=1e-9, nan_ok=True)
