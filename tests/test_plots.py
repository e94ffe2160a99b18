"""Figures: what a reader needs to read them (labels that fit their cells)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from lstm_utils import plots


@pytest.mark.parametrize(("value", "text"), [(3.6107, "3.61"), (0.20401, "0.204"), (123.4, "123"),
                                             (1234.5, "1.23k"), (-12345.0, "-12.3k"), (45.7e6, "45.7M")])
def test_short_number_keeps_three_significant_digits(value, text):
    assert plots.short_number(value) == text


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("batches", [4, 12])
def test_error_matrix_labels_fit_their_cells_with_four_digit_values(batches):
    rng = np.random.default_rng(0)
    rmse = np.tril(1000 + 9000 * rng.random((batches, batches)))  # 4-digit errors, as in MW or units sold
    rmse[0, 1] = np.nan
    results = {name: {"rmse": rmse, "batches": [f"2024-{k + 1:02d}" for k in range(batches)]}
               for name in ("finetune", "distill", "ensemble")}
    fig = plots.error_matrices(results)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    texts = ax.texts
    assert len(texts) == batches * batches and texts[1].get_text() == "-"  # a missing cell is a dash
    assert all(len(t.get_text()) <= 5 for t in texts)  # "1.23k", not "1234.57"
    boxes = [t.get_window_extent(renderer) for t in texts]
    width = ax.get_window_extent(renderer).width / batches
    assert max(b.width for b in boxes) < width  # inside its cell
    for row in range(batches):  # so no two neighbours overlap
        line = boxes[row * batches:(row + 1) * batches]
        assert not any(_overlaps(a, b) for a, b in zip(line, line[1:]))
