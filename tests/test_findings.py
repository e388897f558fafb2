"""Sentences built from the artefacts: they say what the files say, and nothing when the files are silent."""

from __future__ import annotations

from ui import findings
from ui.findings import framing_finding, head_refit_finding, population_findings, source_rows, views_finding


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


def _pop(name: str, n: int, called_ai: float) -> dict:
    return {"population": name, "label": "real", "n": n, "accuracy": 1 - called_ai, "called_ai": called_ai}


def test_population_rows_join_the_source_rows_and_get_a_sentence():
    ev = {"per_source": [{"source": "celebahq_roeishc", "label": "real", "n": 83, "accuracy": 0.9}],
          "per_population": [_pop("celebahq_roeishc:ffhq", 47, 0.19), _pop("celebahq_roeishc:celebahq", 36, 0.0)]}
    assert [r["source"] for r in source_rows(ev)] == ["celebahq_roeishc", "celebahq_roeishc:ffhq",
                                                       "celebahq_roeishc:celebahq"]
    (text,) = population_findings(ev)
    assert text.startswith("`celebahq_roeishc` holds two populations")
    assert "19% of its 47 `ffhq` photos" in text and "0% of its 36 `celebahq` photos" in text


def test_population_findings_are_silent_without_populations():
    assert population_findings({"per_source": []}) == [] and population_findings(None) == []
    assert source_rows(None) == []


def test_views_finding_compares_one_network_with_one_and_two_views():
    one = {**_row(0.949, None), "train_seconds": 4235, "steps": 1920, "views": 1}
    two = {**_row(0.954, None), "train_seconds": 4235, "steps": 1920, "views": 2}
    other = {**_row(0.5, None), "train_seconds": 99, "steps": 1920}
    text = views_finding([other, one, two])
    assert "mirror image" in text and "from facechain_style_previews 0.949" in text
    assert "to facechain_style_previews 0.954" in text
    assert views_finding([other, one]) == "" and views_finding([]) == ""


def test_head_refit_finding_compares_the_best_refit_with_its_parent_network():
    def run(score: float, c: float | None, called_ai: float) -> dict:
        return {**_row(score, None), "train_seconds": 4235, "steps": 1920, "views": 2, "head_refit_c": c,
                "held_out_real_called_ai": {"debruine_studio (london + canada)": called_ai}}

    parent, weak, best = run(0.954, None, 0.049), run(0.96, 1.0, 0.03), run(0.986, 0.3, 0.004)
    text = head_refit_finding([parent, weak, best, {**run(0.99, None, 0.0), "train_seconds": 1}])
    assert "C 0.3" in text and "from facechain_style_previews 0.954" in text
    assert "to facechain_style_previews 0.986" in text and "from 4.9% to 0.4%" in text
    assert head_refit_finding([parent]) == "" and head_refit_finding([best]) == ""


def test_views_finding_ignores_head_refits_of_the_same_network():
    one = {**_row(0.949, None), "train_seconds": 4235, "steps": 1920, "views": 1}
    two = {**_row(0.954, None), "train_seconds": 4235, "steps": 1920, "views": 2}
    refit = {**two, "held_out_groups": {"facechain_style_previews": 0.986}, "head_refit_c": 0.3}
    assert "to facechain_style_previews 0.954" in views_finding([one, two, refit])


def test_framing_finding_picks_each_framings_best_by_the_selection_rule():
    wide = {"margin": 2.6, "min_side": 256}
    risky = {**_row(0.98, wide), "held_out_real_called_ai": {"debruine_studio (london + canada)": 0.08}}
    text = framing_finding([_row(0.697, None), _row(0.96, wide), risky])
    assert "worst held-out score 0.960" in text and "0.980" not in text  # 8 % studio called AI loses


def test_flat_edge_note_names_the_real_sources_and_the_countermeasure():
    from ui.findings import shortcut_notes

    ins = {"sources": [{"source": "scut", "label": "real", "flat_edge_fraction": 0.99},
                       {"source": "utk", "label": "real", "flat_edge_fraction": 0.05},
                       {"source": "gan", "label": "ai", "flat_edge_fraction": 0.02},
                       {"source": "flux", "label": "ai", "flat_edge_fraction": 0.09}]}
    note = next(n for n in shortcut_notes(ins) if "flat black or white edge" in n)
    assert "`scut` 99%" in note and "utk" not in note and "than 9%" in note and "Training counters" not in note
    card = {"training": {"config": {"frame_ai": 0.35, "frame_real": 0.1}}}
    assert "framing 35% of AI and 10% of real" in next(n for n in shortcut_notes(ins, card) if "flat" in n)
    assert not [n for n in shortcut_notes({"sources": ins["sources"][1:]}) if "flat" in n], "no real source stands out"


def test_a_flat_edge_is_a_flat_black_or_white_band_on_any_side():
    import numpy as np

    from classifier.training.insights import has_flat_edge

    rgb = np.random.default_rng(0).integers(40, 200, (64, 80, 3), dtype=np.uint8)
    assert not has_flat_edge(rgb)
    for side in (np.s_[:5], np.s_[-5:], np.s_[:, :5], np.s_[:, -5:]):
        for v in (0, 255):
            x = rgb.copy()
            x[side] = v
            assert has_flat_edge(x)
    grey = rgb.copy()
    grey[:5] = 128  # flat, but neither black nor white: a backdrop colour, not padding
    assert not has_flat_edge(grey)


def test_family_fold_rows_and_group_photo_sentence_read_the_artefacts():
    doc = {"runs": [{"run": "fold_aligned", "recipe": {"aligned_families": ["taesd", "taesdxl"],
                                                         "arch": "efficientnet_lite0_local"},
                     "folds": {"no_gan": {"worst_roc_auc": 0.912, "most_ai_called_real": 0.31, "meets_targets": False},
                               "studio": {"least_real_called_real": 0.95, "most_real_called_ai": 0.0,
                                          "meets_targets": True}}}]}
    rows = findings.family_fold_rows(doc)
    assert [r["Fold"] for r in rows] == ["no_gan", "studio"]
    assert rows[0]["Worst AUC vs real test"] == "0.912" and rows[0]["Most AI called real"] == "31%"
    assert rows[0]["Aligned fakes"] == "taesd, taesdxl" and rows[1]["Meets targets"] == "yes"
    assert rows[0]["Network"] == "efficientnet_lite0_local"
    assert findings.family_fold_rows(None) == []
    ev = {"group_photos": {"n": 300, "called_ai": 0.0033, "called_real": 0.95}}
    assert "300 composites" in findings.group_photo_sentence(ev) and "0.3%" in findings.group_photo_sentence(ev)
    assert findings.group_photo_sentence({}) == ""
