"""Family folds: each fold's verdict from held-out rows; docs/generalisation.md quotes models/family_folds.json."""

from __future__ import annotations

from pathlib import Path

from classifier.card import read_json
from classifier.training import docs
from classifier.training.evaluate import fold_summary, unseen_sources
from classifier.training.family_folds import FOLDS_FILE, fold_markdown, fold_row

ROOT = Path(__file__).resolve().parents[1]


def _row(group: str, label: str, sources: list[str], **kw) -> dict:
    return {"group": group, "label": label, "sources": sources, "n": 10, "called_real": 0.0, "called_ai": 0.0,
            "uncertain": 0.0, **kw}


def test_fold_summary_takes_each_folds_worst_and_checks_every_target():
    rows = [_row("gan_boredhumans_basemax", "ai", ["gan_boredhumans_basemax"], roc_auc_vs_real_test=0.97,
                 called_real=0.04),
            _row("stylegan2_tpdne (thispersondoesnotexist)", "ai", ["stylegan_tpdne_roeishc"],
                 roc_auc_vs_real_test=0.93, called_real=0.12),
            _row("flux1 (schnell + dev)", "ai", ["flux1dev_sfhqt2i"], roc_auc_vs_real_test=0.99, called_real=0.02),
            _row("debruine_studio (london + canada)", "real", ["london_debruine"], called_real=0.95, called_ai=0.04),
            _row("facechain_style_previews", "ai", ["facechain_style_previews"], roc_auc_vs_real_test=0.96,
                 called_real=0.05)]
    out = fold_summary(rows)
    assert set(out) == {"no_gan", "no_flux", "studio", "protocol"}
    assert out["no_gan"]["worst_roc_auc"] == 0.93 and out["no_gan"]["most_ai_called_real"] == 0.12
    assert not out["no_gan"]["meets_targets"]  # AUC and called real both miss
    assert out["no_flux"]["meets_targets"] and out["protocol"]["meets_targets"]
    assert not out["studio"]["meets_targets"]  # 4 % of real photos called AI > 3 %
    # a run that trained on GANs and FLUX (the shipped protocol model): those rows are the protocol's
    assert set(fold_summary(rows, {"studio"})) == {"studio", "protocol"}


def test_a_fold_run_counts_its_fold_sources_as_unseen():
    card = {"training": {"trained_on": ["sd21_sdfd", "utkface_mattans"], "folds": {"no_flux": {}}}}
    assert {"flux1dev_sfhqt2i", "flux1schnell_sfhqt2i", "facechain_style_previews"} <= set(unseen_sources(card))
    assert "gan_boredhumans_basemax" not in unseen_sources(card)  # not in this run's folds


def test_fold_row_and_table_come_from_the_card():
    card = {"version": "3.0.0", "validation": {"roc_auc": 0.99}, "test": {"roc_auc": 0.995},
            "training": {"seconds": 1200.4,
                         "config": {"arch": "efficientnet_lite0", "epochs": 4, "steps_per_epoch": 160,
                                    "seed": 1, "folds": ["no_gan"], "pair_aligned": True},
                         "aligned_fakes": {"families": {"taesd": {"images": 5}, "taesdxl": {"images": 6}}}},
            "held_out": {"groups": [_row("gan_boredhumans_basemax", "ai", ["gan_boredhumans_basemax"],
                                         roc_auc_vs_real_test=0.9, called_real=0.2)],
                         "folds": {"no_gan": {"worst_roc_auc": 0.9, "most_ai_called_real": 0.2,
                                              "meets_targets": False}}}}
    row = fold_row(card, "fold_aligned")
    assert row["recipe"]["aligned_images"] == 11 and row["recipe"]["steps"] == 640
    table = fold_markdown({"targets": {"roc_auc": 0.95, "ai_called_real": 0.1, "real_called_real": 0.9,
                                       "real_called_ai": 0.03}, "runs": [row]})
    assert ("| fold_aligned | efficientnet_lite0 | 11 (taesd, taesdxl, paired) | gan_boredhumans_basemax | 10 | 0.900 "
            "| 20.0 % |") in table
    assert "| fold_aligned | no_gan | 0.900 | 20.0 % | - | no |" in table


def test_generalisation_page_quotes_the_recorded_fold_runs():
    doc = read_json(ROOT / "models" / FOLDS_FILE)
    page = (ROOT / "docs" / "generalisation.md").read_text()
    assert doc["runs"], "models/family_folds.json records no run"
    start, end = docs.markers("family-folds")
    quoted = page[page.index(start) + len(start): page.index(end)].strip()
    assert quoted == fold_markdown(doc), "run `python -m classifier folds` to regenerate docs/generalisation.md"
    assert fold_markdown(None).startswith("No family-fold run")
