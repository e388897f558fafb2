"""Dataset plumbing that needs no images: split assignment and the training sampler's weights."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.training.data import (
    Record,
    balanced_indices,
    group_key,
    population_of,
    sampling_weights,
    source_scale,
    split_of,
)


def test_group_keys_keep_near_duplicates_together() -> None:
    assert group_key("lfw_gray_baileyfriend", "real/lfw/George_W_Bush_0003.jpg") == "George_W_Bush"
    assert group_key("sd21_sdfd", "ai/sd21/anB-107,3.jpg") == group_key("sd21_sdfd", "ai/sd21/anB-107,4.jpg")
    assert group_key("utkface_mattans", "real/utk/12_0_1.jpg") == "12_0_1"


def test_splits_are_stable_and_close_to_70_15_15() -> None:
    assert split_of("celebahq_roeishc", "123") == split_of("celebahq_roeishc", "123")
    splits = [split_of("s", str(i)) for i in range(20000)]
    for name, share in (("train", 0.70), ("val", 0.15), ("test", 0.15)):
        assert splits.count(name) / len(splits) == pytest.approx(share, abs=0.01)


Y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
SOURCES = ["r1", "r1", "r1", "r2", "a1", "a1", "a1", "a1", "a2", "a3"]


def mass(w: np.ndarray, source: str) -> float:
    return float(w[np.asarray(SOURCES) == source].sum())


def test_sampling_gives_each_class_half_and_each_source_an_equal_share() -> None:
    w = sampling_weights(Y, SOURCES)
    assert w.sum() == pytest.approx(1.0)
    assert mass(w, "r1") == pytest.approx(0.25) and mass(w, "r2") == pytest.approx(0.25)
    for s in ("a1", "a2", "a3"):
        assert mass(w, s) == pytest.approx(0.5 / 3)


def test_scaling_a_source_shifts_mass_within_its_class_only() -> None:
    w = sampling_weights(Y, SOURCES, {"r1": 3.0, "a3": 0.5})
    assert mass(w, "r1") == pytest.approx(0.5 * 3 / 4) and mass(w, "r2") == pytest.approx(0.5 / 4)
    assert mass(w, "a1") + mass(w, "a2") + mass(w, "a3") == pytest.approx(0.5)
    assert mass(w, "a3") == pytest.approx(0.5 * 0.5 / 2.5)


def test_source_scale_favours_the_hardest_source_within_bounds() -> None:
    scale = source_scale({"easy": 0.01, "mid": 0.25, "hard": 1.0}, power=1.0)
    assert scale == {"easy": 0.25, "mid": 0.25, "hard": 1.0}
    assert source_scale({"easy": 0.01, "hard": 0.04}, power=0.5)["easy"] == pytest.approx(0.5)
    # a ratio, so the same relative hardness gives the same weights early and late in training
    assert source_scale({"a": 0.2, "b": 0.8}, 1.0) == source_scale({"a": 0.02, "b": 0.08}, 1.0)
    assert set(source_scale({"a": 0.3, "b": 0.9}, power=0.0).values()) == {1.0}
    assert source_scale({"a": 0.0, "b": 0.0}, power=1.0) == {"a": 1.0, "b": 1.0}


def test_balanced_indices_follow_the_weights() -> None:
    w = sampling_weights(Y, SOURCES, {"r1": 3.0})
    idx = balanced_indices(w, 40000, np.random.default_rng(0))
    drawn = np.asarray(SOURCES)[idx]
    assert np.mean(drawn == "r1") == pytest.approx(0.375, abs=0.01)
    assert np.mean(Y[idx]) == pytest.approx(0.5, abs=0.01)


def test_a_source_with_two_populations_is_split_by_file_number_and_others_are_left_alone() -> None:
    assert population_of("celebahq_roeishc", "real/celebahq_roeishc/0.jpg") == "celebahq_roeishc:ffhq"
    assert population_of("celebahq_roeishc", "real/celebahq_roeishc/249.jpg") == "celebahq_roeishc:ffhq"
    assert population_of("celebahq_roeishc", "real/celebahq_roeishc/250.jpg") == "celebahq_roeishc:celebahq"
    assert population_of("celebahq_roeishc", "real/celebahq_roeishc/x.jpg") == "celebahq_roeishc"
    assert population_of("utkface_mattans", "real/utk/12.jpg") == "utkface_mattans"
    r = Record("real/celebahq_roeishc/7.jpg", "real", "celebahq_roeishc", "camera", "", "7", "train")
    assert r.population == "celebahq_roeishc:ffhq"


def test_training_balances_populations_unless_the_recipe_says_sources() -> None:
    from classifier.training.train import TrainConfig

    recs = [Record(f"real/celebahq_roeishc/{i}.jpg", "real", "celebahq_roeishc", "camera", "", str(i), "train")
            for i in (1, 2, 3, 300)] + [Record("real/lfw/a.jpg", "real", "lfw_gray_baileyfriend", "camera", "", "a",
                                               "train")]
    groups = TrainConfig(split_populations=True).groups(recs)
    assert groups[:4] == ["celebahq_roeishc:ffhq"] * 3 + ["celebahq_roeishc:celebahq"]
    assert TrainConfig(split_populations=False).groups(recs)[:4] == ["celebahq_roeishc"] * 4
    w = sampling_weights(np.zeros(5), groups)
    # three real groups, a third each: the one CelebA-HQ photo weighs as much as the three FFHQ ones together
    assert w[3] == pytest.approx(1 / 3) and w[:3].sum() == pytest.approx(1 / 3)


def test_evaluate_reports_each_population_of_a_split_source_apart() -> None:
    from classifier.training.evaluate import per_population

    recs = [Record(f"real/celebahq_roeishc/{i}.jpg", "real", "celebahq_roeishc", "camera", "", str(i), "test")
            for i in (1, 2, 300, 301)] + [Record("ai/x/a.jpg", "ai", "sd21_sdfd", "sd", "", "a", "test")]
    y = np.array([0, 0, 0, 0, 1])
    p = np.array([0.95, 0.1, 0.05, 0.02, 0.99])
    rows = {r["population"]: r for r in per_population(recs, y, p, threshold=0.9, band=(0.5, 0.9))}
    assert set(rows) == {"celebahq_roeishc:ffhq", "celebahq_roeishc:celebahq"}
    assert rows["celebahq_roeishc:ffhq"]["n"] == 2 and rows["celebahq_roeishc:ffhq"]["called_ai"] == 0.5
    assert rows["celebahq_roeishc:celebahq"]["accuracy"] == 1.0
