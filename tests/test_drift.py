"""The drift strategy's signal: the share of a batch's targets outside the model's own band, tested
against the nominal share (fast: no training)."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_utils.strategies.drift import limit, signal


def outside_share(errors: np.ndarray, width: float) -> float:
    return float((np.abs(errors) > width).mean())


def test_the_signal_stays_quiet_on_a_stationary_series_and_fires_on_a_shift():
    """Errors of a model that still fits (the same noise as its calibration) stay within the limit;
    the same errors after a level shift of one noise SD do not. A month of hourly windows at
    horizon 24: about 700 windows, 29 separate values."""
    rng = np.random.default_rng(7)
    calibration = rng.normal(size=5000)
    width = float(np.quantile(np.abs(calibration), 0.8))  # the 80% band's half-width
    quiet = [signal(outside_share(rng.normal(size=700), width), 700, 1, 24, 0.8, 0.01) for _ in range(200)]
    assert sum(s.fired for s in quiet) <= 4  # about 1% by construction: 200 draws, generous
    shifted = signal(outside_share(rng.normal(size=700) + 1.0, width), 700, 1, 24, 0.8, 0.01)
    assert shifted.fired and shifted.outside > 0.4
    assert "retrained from scratch" in shifted.words(0.8) and "fine-tuned" in quiet[0].words(0.8)


def test_the_limit_counts_separate_values_not_overlapping_windows():
    """700 windows at horizon 24 are about 29 separate values: the limit is the nominal share plus
    2.33 standard errors of a share on 29 values; more targets or a shorter horizon tighten it."""
    s = signal(0.3, 700, 1, 24, 0.8, 0.01)
    assert s.values == pytest.approx(700 / 24)
    assert s.limit == pytest.approx(0.2 + 2.3263 * np.sqrt(0.16 / (700 / 24)), abs=1e-4)
    assert not s.fired  # 30% outside on 29 values is within noise
    assert signal(0.3, 700, 1, 1, 0.8, 0.01).fired  # the same share on 700 separate values is not
    assert limit(0.8, 0.01, 1e9) == pytest.approx(0.2, abs=1e-3)
    assert limit(0.95, 0.01, 100) < limit(0.8, 0.01, 100)
