"""Weight averaging (the soup): the mean it computes, what it refuses, and the card it writes."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.training.candidates import candidate_row, run_key
from classifier.training.soup import average_weights, soup_card, soup_label


def _weights(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(4,)).astype(np.float32)]


def test_the_soup_is_the_weighted_mean_layer_by_layer() -> None:
    a, b = _weights(0), _weights(1)
    mixed = average_weights([a, b], [3.0, 1.0])  # shares normalised to 0.75 / 0.25
    for m, x, y in zip(mixed, a, b, strict=True):
        assert m.dtype == x.dtype and m.shape == x.shape
        assert np.allclose(m, 0.75 * x + 0.25 * y, atol=1e-6)
    assert all(np.allclose(m, x) for m, x in zip(average_weights([a, b], [1.0, 0.0]), a, strict=True))


@pytest.mark.parametrize("mix", [[1.0], [1.0, -0.5], [0.0, 0.0]])
def test_a_bad_mix_is_refused(mix: list[float]) -> None:
    sets = [_weights(0), _weights(1)][: len(mix)]
    with pytest.raises(ValueError):
        average_weights(sets, mix)


def test_networks_of_different_shapes_are_refused() -> None:
    other = [np.zeros((3, 5), np.float32), np.zeros(5, np.float32)]
    with pytest.raises(ValueError, match="differ"):
        average_weights([_weights(0), other], [1.0, 1.0])


def _card(version: str, sha: str, seconds: float) -> dict:
    return {"version": version, "sha256": sha, "architecture": "mobilenetv2", "size_bytes": 9_000_000,
            "held_out": {"groups": []}, "test": {}, "feature_stats_file": "feature_stats.npz",
            "validation": {"roc_auc": 0.99, "balanced_accuracy": 0.95, "ece": 0.01},
            "training": {"seconds": seconds, "note": f"model {version}", "head_refit": {"c": 0.3},
                         "config": {"epochs": 3, "steps_per_epoch": 160, "input_size": 256, "head_refit_c": 0.3}}}


def test_the_card_names_its_parents_and_drops_their_results() -> None:
    card = soup_card([_card("2.8.0", "aa" * 32, 100.0), _card("2.8.0", "bb" * 32, 50.0)], [1.0, 1.0], 2.0)
    assert [p["share"] for p in card["training"]["soup"]["parents"]] == [0.5, 0.5]
    assert card["training"]["seconds"] == 152.0
    for stale in ("held_out", "test", "feature_stats_file"):
        assert stale not in card
    assert "head_refit" not in card["training"] and "head_refit_c" not in card["training"]["config"]
    assert soup_label(card) == "0.5 aaaaaaaa + 0.5 bbbbbbbb"
    assert soup_label(_card("2.8.0", "aa" * 32, 1.0)) is None


def test_a_soup_is_a_run_of_its_own_in_the_candidates_table() -> None:
    parent = _card("2.8.0", "aa" * 32, 152.0)
    soup = soup_card([_card("2.8.0", "aa" * 32, 100.0), _card("2.8.0", "bb" * 32, 50.0)], [1.0, 1.0], 2.0)
    soup["training"]["config"]["head_refit_c"] = 0.3  # as a refit would set it
    assert candidate_row(soup)["soup"] and candidate_row(parent)["soup"] is None
    assert run_key(candidate_row(soup)) != run_key(candidate_row(parent))


def test_a_mix_that_does_not_match_the_folders_is_refused_before_loading(tmp_path) -> None:
    from classifier.training.soup import make_soup

    with pytest.raises(SystemExit, match="one per folder"):
        make_soup([tmp_path / "a", tmp_path / "b"], [1.0], tmp_path / "out")
