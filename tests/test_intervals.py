"""The robustness checks' intervals: a resampled change in balanced accuracy, and the chart that draws it."""

from __future__ import annotations

import numpy as np
import pytest

from classifier import calibration as cal
from classifier.training.metrics import paired_delta_interval


def _case(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """400 AI and 1,600 real images; a degradation that lets 10 % of the AI ones slip through."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(400, bool), np.zeros(1600, bool)]
    before = np.r_[rng.random(400) < 0.95, rng.random(1600) < 0.01]
    after = before.copy()
    after[:400] &= rng.random(400) >= 0.10
    return y, before, after


def test_the_interval_holds_the_measured_change_and_is_repeatable():
    y, before, after = _case()
    delta = cal.balanced_accuracy(y, after) - cal.balanced_accuracy(y, before)
    lo, hi = paired_delta_interval(y, before, after)
    assert lo < delta < hi < 0  # a real loss: the whole interval is below zero
    assert hi - lo < 0.05  # 400 AI images pin a 5-point loss to within a few points
    assert paired_delta_interval(y, before, after) == (lo, hi)


def test_no_change_gives_a_zero_interval_and_more_images_a_narrower_one():
    y, before, after = _case()
    assert paired_delta_interval(y, before, before) == (0.0, 0.0)
    lo, hi = paired_delta_interval(y, before, after)
    big = [np.tile(a, 4) for a in (y, before, after)]
    lo4, hi4 = paired_delta_interval(*big)
    assert hi4 - lo4 < hi - lo


def test_the_interval_needs_both_classes():
    y = np.ones(10, bool)
    with pytest.raises(ValueError, match="both classes"):
        paired_delta_interval(y, y, y)


def test_the_robustness_chart_draws_the_interval_and_survives_a_bad_one():
    from ui import charts

    rows = [{"name": "original", "balanced_accuracy": 0.975, "delta_balanced_accuracy": 0.0,
             "delta_balanced_accuracy_ci95": [0.0, 0.0]},
            {"name": "half_scale", "balanced_accuracy": 0.938, "delta_balanced_accuracy": -0.037,
             "delta_balanced_accuracy_ci95": [-0.051, -0.024]},
            {"name": "grayscale", "balanced_accuracy": 0.96, "delta_balanced_accuracy": -0.012,
             "delta_balanced_accuracy_ci95": ["x"]}]
    fig = charts.robustness(rows)
    (bars,) = [c for c in fig.axes[0].containers if c.__class__.__name__ == "ErrorbarContainer"]
    segments = bars.lines[2][0].get_segments()
    assert len(segments) == 1  # only the degraded row with a well-formed interval gets a whisker
    (x0, _), (x1, _) = segments[0]
    assert (x0, x1) == pytest.approx((0.975 - 0.051, 0.975 - 0.024))  # the bar's value moved by each end


def test_the_hardest_perturbation_sentence_gives_its_interval_when_the_file_has_one():
    from ui.findings import evaluation_findings

    row = {"name": "half_scale", "balanced_accuracy": 0.938, "delta_balanced_accuracy": -0.037}

    def hardest(r: dict) -> str:
        (text,) = [t for t in evaluation_findings({"overall": {"n": 10}, "robustness": [r]}, None) if "hardest" in t]
        return text

    with_ci = hardest({**row, "delta_balanced_accuracy_ci95": [-0.051, -0.024]})
    assert "drops by 3.7 points to 93.8%" in with_ci and "(95 % interval 2.4-5.1 points)" in with_ci
    assert "interval" not in hardest(row)
