"""The source-held-out protocol: fixed in code, and the card's held-out figures come from ``evaluate``.

The card and README quote how the shipped model does on whole sources it never trained on. This
checks those figures are what ``classifier.training.evaluate`` computes: the card's rows equal the
rows re-derived from the per-image probabilities in ``evaluation.json``, and a fixed sample of those
images, run again through the app's pipeline now, gives the same probabilities.

A model trained on every source quotes the protocol model beside it (``models/protocol``): the same
recipe trained without the held-out sources. Then the figures are checked against that model.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from classifier.training.data import HELD_OUT_SOURCES, held_out_group, protocol_split, read_manifest
from classifier.training.evaluate import (
    held_out_summary,
    pipeline_probabilities,
    run_folds,
    same_recipe,
    unseen_sources,
)

SPOT_CHECK = 24  # images per side re-run through the pipeline


def test_protocol_holds_out_a_polished_real_source_a_gan_and_a_diffusion_source():
    groups = {held_out_group(s) for s in HELD_OUT_SOURCES}
    text = " ".join(HELD_OUT_SOURCES.values()).lower()
    assert len(groups) >= 3
    assert "studio" in text and "stylegan" in text and ("diffusion" in text or "sd 1.5" in text)


def test_protocol_split_keeps_held_out_sources_out_of_train_and_val():
    from classifier.training.data import Record

    recs = [Record(f"{s}/{i}.jpg", "real", s, "camera", "", str(i), split)
            for s in ("london_debruine", "utkface_mattans") for i, split in enumerate(["train", "val", "test"])]
    roles = protocol_split(recs, held_out=True)
    assert {r.source for r in roles["heldout"]} == {"london_debruine"}
    assert all(r.source == "utkface_mattans" for k in ("train", "val", "test") for r in roles[k])
    assert not protocol_split(recs, held_out=False)["heldout"]


@pytest.fixture(scope="module")
def evaluation(model_dir):
    path = model_dir / "evaluation.json"
    if not path.is_file():
        pytest.fail("models/evaluation.json is missing: run `python -m classifier evaluate`")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def measured(clf, model_dir):
    """The model the held-out figures measure: the shipped one, or the protocol model it quotes."""
    quoted = (clf.card.get("held_out") or {}).get("model")
    if quoted is None:
        return clf
    from classifier import load_classifier

    assert not unseen_sources(clf.card), "a model that has unseen sources is measured on them itself"
    pclf = load_classifier(model_dir / quoted["dir"])
    assert pclf.card["lite_sha256"] == quoted["lite_sha256"], "the card quotes this protocol model"
    assert same_recipe(pclf.card["training"]["config"], clf.card["training"]["config"]), \
        "the protocol model was trained with the shipped model's recipe"
    assert unseen_sources(pclf.card), "the protocol model never trained on the held-out sources"
    return pclf


def test_a_shipped_model_states_held_out_figures(clf):
    assert clf.card.get("held_out", {}).get("groups"), "the card shows held-out results (its own or the protocol's)"


def test_card_held_out_figures_come_from_evaluate(clf, measured, evaluation, dataset_root):
    held = evaluation["held_out"]
    card_held = clf.card["held_out"]
    images = held["images"]
    by_path = {r.path: r for r in read_manifest(dataset_root)}
    records = [by_path[p] for p in images["paths"]]
    assert {r.source for r in records} == set(unseen_sources(measured.card)), "every unseen source is evaluated"
    derived = held_out_summary(records, np.array(images["p_ai"]), np.array(images["real_test_p_ai"]),
                               measured.threshold, measured.band, run_folds(measured.card))
    for got, want in ((card_held, derived), ({k: v for k, v in held.items() if k != "images"}, derived)):
        assert [g["group"] for g in got["groups"]] == [g["group"] for g in want["groups"]]
        for g, w in zip(got["groups"], want["groups"], strict=True):
            for key in ("n", "called_real", "called_ai", "uncertain", "roc_auc_vs_real_test"):
                assert g.get(key) == pytest.approx(w.get(key), abs=1e-4), (g["group"], key)
        assert got["worst_score"] == pytest.approx(want["worst_score"], abs=1e-4)
        assert got["folds"].keys() == want["folds"].keys()
        for name, fold in want["folds"].items():
            assert got["folds"][name]["meets_targets"] == fold["meets_targets"], name


def _sample(paths: list[str], n: int) -> list[int]:
    return sorted(range(len(paths)), key=lambda i: hashlib.sha256(paths[i].encode()).hexdigest())[:n]


def test_held_out_probabilities_are_this_models(measured, evaluation, dataset_root):
    """A fixed sample of the stored per-image probabilities, recomputed now, matches to 1e-4."""
    from classifier import load_image

    images = evaluation.get("held_out", {}).get("images")
    if not images:
        pytest.skip("no held-out sources for this model")
    for paths_key, p_key in (("paths", "p_ai"), ("real_test_paths", "real_test_p_ai")):
        idx = _sample(images[paths_key], SPOT_CHECK)
        p_now = pipeline_probabilities(measured, [load_image(dataset_root / images[paths_key][i]) for i in idx])
        np.testing.assert_allclose(p_now, [images[p_key][i] for i in idx], atol=1e-4)
