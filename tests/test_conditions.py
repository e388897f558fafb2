"""The cuts and bands for heavily compressed files and enlarged squares (``classifier.conditions``)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from classifier import calibration as cal
from classifier.conditions import CONDITIONS, rule_for

BASE = (0.9, (0.55, 0.9))
RULES = {"compressed": {"threshold": 0.7, "uncertain_band": [0.4, 0.8]},
         "enlarged": {"threshold": 0.8, "uncertain_band": [0.5, 0.85]}}


def test_a_face_in_no_condition_keeps_the_main_rule() -> None:
    assert rule_for(RULES, BASE) == BASE
    assert rule_for(None, BASE, ["compressed", "enlarged"]) == BASE  # cards from before the conditions
    assert rule_for({"enlarged": RULES["enlarged"]}, BASE, ["compressed"]) == BASE
    assert rule_for(RULES, BASE, ["small", "unfamiliar"]) == BASE  # conditions without a fitted rule


def test_each_condition_has_its_rule_and_both_take_the_stricter() -> None:
    assert rule_for(RULES, BASE, ["compressed"]) == (0.7, (0.4, 0.8))
    assert rule_for(RULES, BASE, ["enlarged"]) == (0.8, (0.5, 0.85))
    assert rule_for(RULES, BASE, ["compressed", "enlarged"]) == (0.8, (0.5, 0.85))


def test_a_fitted_rule_protects_real_photos_like_the_main_one() -> None:
    from classifier.training.conditions import fit_rule
    from classifier.training.train import MAX_FALSE_AI_PER_SOURCE

    rng = np.random.default_rng(0)
    # real photos mostly low, AI images pushed down by the condition: a cut well under 0.9 separates them
    p = np.concatenate([rng.beta(1, 12, 600), rng.beta(1, 12, 300), rng.beta(6, 3, 400)])
    y = np.r_[np.zeros(900, int), np.ones(400, int)]
    groups = np.array(["a"] * 600 + ["b"] * 300 + ["gan"] * 400)
    rule = fit_rule(p, y, groups)
    t, (lo, hi) = rule["threshold"], rule["uncertain_band"]
    assert lo <= t <= hi and t < 0.9
    for g in ("a", "b"):
        assert np.mean(p[groups == g] >= t) <= MAX_FALSE_AI_PER_SOURCE
    assert rule["false_ai_rate_real"] == pytest.approx(np.mean(p[y == 0] >= t))
    assert rule["balanced_accuracy"] == pytest.approx(cal.balanced_accuracy(y, p >= t)) and rule["n"] == 1300
    assert rule["protective"] and rule["worst_real_source_false_ai"] <= MAX_FALSE_AI_PER_SOURCE
    p_bad = p.copy()
    p_bad[:30] = 0.99  # 5 % of source "a" scores like AI whatever the cut: no cut protects it
    assert not fit_rule(p_bad, y, groups)["protective"]


def test_real_photos_the_main_cut_already_calls_ai_do_not_block_a_lower_cut() -> None:
    from classifier.training.conditions import fit_rule
    from classifier.training.train import MAX_FALSE_AI_PER_SOURCE

    rng = np.random.default_rng(0)
    p = np.concatenate([rng.beta(1, 12, 600), rng.beta(1, 12, 300), rng.beta(6, 3, 400)])
    y = np.r_[np.zeros(900, int), np.ones(400, int)]
    groups = np.array(["a"] * 600 + ["b"] * 300 + ["gan"] * 400)
    p[:30] = 0.99  # 5 % of source "a" scores like AI: every cut, the main 0.9 included, calls them AI
    assert not fit_rule(p, y, groups)["protective"]
    rule = fit_rule(p, y, groups, main_cut=0.9)
    t = rule["threshold"]
    assert rule["protective"] and t < 0.9 and rule["main_cut"] == 0.9
    assert np.mean(p[:600] >= t) == pytest.approx(np.mean(p[:600] >= 0.9))  # no real photo of "a" beyond those
    assert np.mean(p[600:900] >= t) <= MAX_FALSE_AI_PER_SOURCE
    assert rule["main_cut_false_ai_rate_real"] == pytest.approx(30 / 900)
    assert rule["over_limit_at_main_cut"] == {"a": pytest.approx(30 / 600)}
    assert np.mean(p[900:] >= t) > np.mean(p[900:] >= 0.9)  # and it catches AI images the main cut misses
    p[600:640] = rng.uniform(0.5, 0.85, 40)  # 13 % of "b" between a lower cut and the main one: b's limit holds
    assert fit_rule(p, y, groups, main_cut=0.9)["threshold"] >= 0.845


def test_the_false_ai_allowance_is_the_limit_or_what_the_reference_already_calls_ai() -> None:
    p = np.array([0.99, 0.1, 0.2, 0.3, 0.97, 0.1, 0.9])
    y = np.array([0, 0, 0, 0, 0, 0, 1])
    groups = np.array(["a", "a", "a", "a", "b", "b", "gan"])
    assert cal.false_ai_allowance(p, y, groups, 0.02, 0.05) == (0.02, {"a": 0.05, "b": 0.05})
    overall, per = cal.false_ai_allowance(p, y, groups, 0.02, 0.05, reference=0.95)
    assert overall == pytest.approx(2 / 6) and per == pytest.approx({"a": 0.25, "b": 0.5})
    assert cal.false_ai_allowance(p, y, groups, 0.02, 0.05, reference=0.999)[1] == {"a": 0.05, "b": 0.05}


def test_the_fitting_photos_really_are_in_their_condition() -> None:
    from classifier.compression import HEAVY_BELOW, jpeg_quality
    from classifier.conditions import is_enlarged
    from classifier.faces import Box
    from classifier.training import conditions as fit

    assert fit.JPEG_QUALITY[1] < HEAVY_BELOW
    rng = np.random.default_rng(1)
    photo = np.ascontiguousarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))
    for _ in range(40):  # every shrunk or centre-cut 256 px photo leaves a square the app must enlarge
        small = fit.enlarged(photo, rng)
        assert is_enlarged(Box(0, 0, small.shape[1], small.shape[0]), 256), small.shape
    seen = []
    real = fit.jpeg_roundtrip
    try:  # the qualities drawn are heavy ones, read back as the app reads a file
        def spy(img, quality):
            import cv2

            seen.append(jpeg_quality(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])[1].tobytes()))
            return real(img, quality)
        fit.jpeg_roundtrip = spy
        for _ in range(20):
            fit.compressed(photo, rng)
    finally:
        fit.jpeg_roundtrip = real
    assert seen and all(q < HEAVY_BELOW for q in seen)


def test_a_network_trained_without_validation_is_scored_as_it_is() -> None:
    from classifier.training.conditions import honest_logits

    z = np.array([0.5, -1.0])
    assert honest_logits({"training": {}}, [], None, np.zeros((2, 3)), z) is z


def test_the_classifier_and_evaluate_apply_the_card_rules(clf, astronaut) -> None:
    import io

    from PIL import Image

    from classifier.predictor import Classifier
    from classifier.training.evaluate import app_rules

    card = copy.deepcopy(clf.card)
    card["conditions"] = {"compressed": {"threshold": 0.05, "uncertain_band": [0.05, 0.05]},
                          "enlarged": RULES["enlarged"]}
    ruled = Classifier(clf.lite, card, clf.novelty)
    buf = io.BytesIO()
    Image.fromarray(astronaut).save(buf, format="JPEG", quality=40)
    face = ruled.predict(buf.getvalue()).faces[0]
    assert face.verdict == cal.verdict(face.p_ai, cal.widened_band((0.05, 0.05)))  # (0.025, 0.525)
    assert ruled.verdict_for(0.9, ["enlarged"]) == "uncertain"  # band (0.5, 0.85), widened to (0.25, 0.925)
    assert ruled.verdict_for(0.9) == clf.verdict_for(0.9)  # no condition: the main rule
    cuts, bands = app_rules(ruled, np.array([False, True]), compressed=False)
    assert list(cuts) == [clf.threshold, 0.8] and bands.tolist() == [list(clf.band), [0.5, 0.85]]
    cuts, _ = app_rules(ruled, np.array([False, True]), compressed=True)
    assert list(cuts) == [0.05, 0.8]  # in both conditions the stricter cut


def test_the_shipped_card_has_fitted_rules_for_every_condition(clf) -> None:
    from classifier.training import conditions as fit
    from classifier.training.train import MAX_FALSE_AI_PER_SOURCE

    assert set(clf.card.get("conditions", {})) == set(CONDITIONS), "run `python -m classifier conditions`"
    for name, entry in clf.card["conditions"].items():
        t, (lo, hi) = entry["threshold"], entry["uncertain_band"]
        assert 0.0 < lo <= t <= hi < 1.0, name
        assert "validation" in entry["fitted_on"], name
        if entry["protective"]:  # else the main rule stays (test_a_condition_no_cut_could_protect...)
            allowed = entry.get("over_limit_at_main_cut", {}).get(entry["worst_real_source"], MAX_FALSE_AI_PER_SOURCE)
            assert entry["worst_real_source_false_ai"] <= allowed, name
        assert entry["n"] > 500, name
        assert entry.get("draws") == fit.DRAWS, f"{name}: fitted on one draw per photo; rerun `conditions`"


def test_a_condition_no_cut_could_protect_keeps_the_main_rule() -> None:
    unsafe = {**RULES, "enlarged": {**RULES["enlarged"], "protective": False}}
    assert rule_for(unsafe, BASE, ["enlarged"]) == BASE
    assert rule_for(unsafe, BASE, ["compressed", "enlarged"]) == BASE  # the stricter of 0.7 and the main 0.9
    assert rule_for(unsafe, BASE, ["compressed"]) == (0.7, (0.4, 0.8))


def test_earn_real_lowers_every_real_edge_and_keeps_the_cuts():
    """A card fitted before the rule: each band's real edge goes down to REAL_MAX_P_AI, cuts and AI edges stay."""
    from classifier import calibration as cal
    from classifier.training.conditions import earn_real

    card = {"threshold": 0.9, "uncertain_band": [0.55, 0.9],
            "conditions": {"compressed": {"threshold": 0.75, "uncertain_band": [0.17, 0.75]},
                           "enlarged": {"threshold": 0.71, "uncertain_band": [0.02, 0.85]}}}
    out = earn_real(card)
    assert out["uncertain_band"] == [cal.REAL_MAX_P_AI, 0.9]
    assert out["conditions"]["compressed"] == {"threshold": 0.75, "uncertain_band": [cal.REAL_MAX_P_AI, 0.75]}
    assert out["conditions"]["enlarged"]["uncertain_band"] == [0.02, 0.85]
    assert card["uncertain_band"] == [0.55, 0.9]  # pure
    assert earn_real(out)["uncertain_band"] == out["uncertain_band"]  # idempotent
