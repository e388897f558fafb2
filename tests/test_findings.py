"""Sentences built from the artefacts: they say what the files say, and nothing when the files are silent."""

from __future__ import annotations

from ui.findings import framing_finding


def _row(score: float, framing: dict | None, retrain_of: int | None = None) -> dict:
    return {"held_out_worst_score": score, "framing": framing, "retrain_of": retrain_of,
            "held_out_groups": {"facechain_style_previews": score, "debruine_studio (london + canada)": 0.95}}


def test_framing_finding_compares_the_best_candidate_of_each_framing():
    wide = {"margin": 2.6, "min_side": 256}
    text = framing_finding([_row(0.5, None), _row(0.697, None), _row(0.9, wide), _row(0.99, wide, retrain_of=1)])
    assert "1.8x face: worst held-out score 0.697" in text
    assert "2.6x face, >= 256 px: worst held-out score 0.900" in text
    assert text.index("1.8x") < text.index("2.6x")  # worst first
    assert "0.990" not in text  # a retrain is not measured on the held-out sources


def test_framing_finding_is_silent_with_one_framing_or_no_scores():
    assert framing_finding([_row(0.6, None), _row(0.7, None)]) == ""
    assert framing_finding([{"held_out_worst_score": None, "framing": {"margin": 2.6, "min_side": 256}},
                            _row(0.7, None)]) == ""
    assert framing_finding([]) == ""
