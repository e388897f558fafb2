"""The command line contract (design.md section 3), run in-process on the shared model where possible.

The subprocess runs over the hostile corpus live in test_hostile.py; here ``cli.main``
is called directly with ``load_classifier`` pointed at the session's classifier, so the
contract is checked without loading the model again.
"""

from __future__ import annotations

import csv
import json

import pytest

from classifier import cli, predictor
from classifier.render import VERDICT_LABELS
from classifier.training import candidates, release

KEYS = {"path", "verdict", "p_ai", "faces", "warnings", "error"}
FACE_KEYS = {"box", "crop", "p_ai", "verdict", "detector_score"}


@pytest.fixture
def shared_model(monkeypatch, clf):
    """Make the CLI use the already-loaded classifier; records the model_dir it was asked for."""
    asked = []

    def fake_load(model_dir=None, verify=True):
        asked.append(model_dir)
        return clf

    monkeypatch.setattr(predictor, "load_classifier", fake_load)
    return asked


@pytest.fixture
def files(tmp_path, portrait_jpeg):
    good = tmp_path / "face.jpg"
    good.write_bytes(portrait_jpeg)
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    return good, bad


def json_rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_predict_json_contract(shared_model, files, capsys, clf):
    """One JSON object per input line, documented keys and types, values equal to the API's."""
    good, bad = files
    rc = cli.main(["predict", str(good), str(bad), str(good), "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    rows = json_rows(out)
    assert [r["path"] for r in rows] == [str(good), str(bad), str(good)]
    for r in rows:
        assert KEYS <= set(r)
    ok, err = rows[0], rows[1]
    assert ok["error"] is None and ok["verdict"] in {"ai", "real", "uncertain"}
    assert isinstance(ok["p_ai"], float) and 0.0 <= ok["p_ai"] <= 1.0
    assert isinstance(ok["warnings"], list) and all(isinstance(w, str) for w in ok["warnings"])
    assert len(ok["faces"]) == 1 and FACE_KEYS <= set(ok["faces"][0])
    face = ok["faces"][0]
    assert len(face["box"]) == 4 and len(face["crop"]) == 4 and face["verdict"] in {"ai", "real", "uncertain"}
    assert ok["p_ai"] == pytest.approx(clf.predict(good).p_ai, abs=1e-4)
    assert rows[2] == ok
    assert err["error"] and err["verdict"] is None and err["p_ai"] is None and err["faces"] == []


def test_predict_json_exit_codes(shared_model, files, capsys):
    """Exit 0 if any input succeeds; 1 when every input failed."""
    good, bad = files
    assert cli.main(["predict", str(bad), str(good), "--json"]) == 0
    assert cli.main(["predict", str(bad), str(bad) + ".missing", "--json"]) == 1
    rows = json_rows(capsys.readouterr().out)
    assert len(rows) == 4 and rows[-1]["error"].startswith("No such file")


def test_model_dir_option_is_passed_through(shared_model, files, capsys, tmp_path):
    """``--model-dir`` (before the sub-command) reaches load_classifier."""
    good, _ = files
    assert cli.main(["--model-dir", str(tmp_path), "predict", str(good), "--json"]) == 0
    assert shared_model == [str(tmp_path)]
    capsys.readouterr()


def test_predict_table_output(shared_model, files, capsys):
    """Without --json: a header and one readable row per input, errors in words."""
    good, bad = files
    assert cli.main(["predict", str(good), str(bad)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "verdict" in lines[0]
    assert any(label in lines[1] for label in VERDICT_LABELS.values())
    assert "error" in lines[2] and "not an image" in lines[2]


def test_unexpected_exception_becomes_an_error_line(shared_model, files, capsys, monkeypatch, clf):
    """A bug inside predict for one input gives an error line naming the type, and the run goes on."""
    good, _ = files

    def boom(image, explain=False):
        raise RuntimeError("internal detail /secret/path")

    monkeypatch.setattr(clf, "predict", boom)
    assert cli.main(["predict", str(good), "--json"]) == 1
    row = json_rows(capsys.readouterr().out)[0]
    assert row["error"] == "unexpected error: RuntimeError"


def test_scan_writes_csv(shared_model, tmp_path, portrait_jpeg, capsys):
    """``scan DIR --out x.csv``: one row per image file under DIR (recursively), errors recorded."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    (root / "a.jpg").write_bytes(portrait_jpeg)
    (root / "sub" / "b.JPG").write_bytes(portrait_jpeg)
    (root / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (root / "readme.txt").write_text("not scanned")
    out = tmp_path / "results.csv"
    assert cli.main(["scan", str(root), "--out", str(out)]) == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r.keys() for r in rows][0] >= {"path", "verdict", "p_ai", "faces", "warnings", "error"}
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in rows}
    assert set(by_name) == {"a.jpg", "b.JPG", "broken.png"}
    assert by_name["a.jpg"]["verdict"] in {"ai", "real", "uncertain"} and not by_name["a.jpg"]["error"]
    assert 0.0 <= float(by_name["a.jpg"]["p_ai"]) <= 1.0
    assert by_name["broken.png"]["error"] and not by_name["broken.png"]["verdict"]
    capsys.readouterr()


def test_scan_empty_folder_exits_non_zero(shared_model, tmp_path, capsys):
    """A folder without images is reported on stderr with a non-zero exit."""
    assert cli.main(["scan", str(tmp_path), "--out", str(tmp_path / "r.csv")]) == 1
    assert "no images" in capsys.readouterr().err


def _card(seconds: int, worst: float, ema: float | None = None) -> dict:
    return {"architecture": "mobilenetv2", "size_bytes": 9_620_000,
            "validation": {"roc_auc": 0.998, "balanced_accuracy": 0.98, "ece": 0.01,
                           "per_source_accuracy": {"a": 0.99, "b": worst}},
            "training": {"seconds": seconds, "config": {"epochs": 12, "steps_per_epoch": 160, "input_size": 224,
                                                        "freeze_through": "block3_add", "ema_momentum": ema}}}


def test_candidate_row_reads_the_recipe_and_the_worst_source():
    row = candidates.candidate_row(_card(2339, 0.897, ema=0.995))
    assert (row["steps"], row["ema"], row["val_worst_source_accuracy"], row["size_mb"]) == (1920, 0.995, 0.897, 9.62)


def test_compare_keep_adds_new_runs_and_replaces_a_rerecorded_one():
    old = [candidates.candidate_row(_card(100, 0.8)), candidates.candidate_row(_card(200, 0.85))]
    recalibrated = candidates.candidate_row(_card(200, 0.9))
    new = [recalibrated, candidates.candidate_row(_card(300, 0.88, ema=0.995))]
    merged = candidates.merge_candidates(old, new)
    assert [r["train_seconds"] for r in merged] == [100, 200, 300]
    assert merged[1] is recalibrated
    # re-recording the first run (the shipped model after a new evaluate) keeps it first: a full tie on the
    # rule goes to the first row, so moving it behind a tie would change the pick
    again = candidates.candidate_row(_card(100, 0.8))
    assert [r["train_seconds"] for r in candidates.merge_candidates(merged, [again])] == [100, 200, 300]
    assert candidates.merge_candidates(merged, [again])[0] is again


def test_best_candidate_is_decided_by_the_weakest_source_then_balanced_accuracy():
    a, b, c = (candidates.candidate_row(_card(s, w)) for s, w in ((100, 0.88), (200, 0.90), (300, 0.90)))
    c["val_balanced_accuracy"] = 0.99
    assert candidates.best_candidate([a, b]) is b
    assert candidates.best_candidate([a, b, c]) is c


def test_the_rule_ranks_by_the_margin_over_each_held_out_target():
    """A model that meets every held-out target beats one that misses a generator's, whatever the raw minimum."""
    a, b = (candidates.candidate_row(_card(s, 0.9)) for s in (100, 200))
    a["held_out_groups"] = {"debruine_studio (london + canada)": 0.922, "facechain_style_previews": 0.940}
    b["held_out_groups"] = {"debruine_studio (london + canada)": 0.918, "facechain_style_previews": 0.954}
    assert candidates.held_out_margin(a) == pytest.approx(-0.010)
    assert candidates.held_out_margin(b) == pytest.approx(0.004)
    assert candidates.best_candidate([a, b]) is b
    b["held_out_real_called_ai"] = {"debruine_studio (london + canada)": 0.082}  # the costly error counts too
    assert candidates.held_out_margin(b) == pytest.approx(-0.032)
    assert candidates.best_candidate([a, b]) is a


def test_held_out_ai_called_real_is_a_target_and_rows_that_record_it_rank_first():
    """Issue 42: a generator ranked well (AUC 0.99) whose fakes are still called Real 18 % of the time misses."""
    a, b = (candidates.candidate_row(_card(s, 0.9)) for s in (100, 200))
    for row in (a, b):
        row["held_out_groups"] = {"debruine_studio (london + canada)": 0.95, "facechain_style_previews": 0.99}
    a["held_out_ai_called_real"] = {"facechain_style_previews": 0.18}
    assert candidates.held_out_margin(a) == pytest.approx(-0.08)
    assert candidates.held_out_margin(b) == pytest.approx(0.04)
    assert candidates.best_candidate([a, b]) is a, "b was never measured on the target a misses"
    b["held_out_ai_called_real"] = {"facechain_style_previews": 0.05}
    assert candidates.best_candidate([a, b]) is b


def test_margins_closer_than_one_held_out_photo_are_a_tie_settled_by_validation():
    """0.0002 of AUC on 67 FaceChain images is chance: the validation evidence decides, not that."""
    a, b, c = (candidates.candidate_row(_card(s, w)) for s, w in ((100, 0.86), (200, 0.82), (300, 0.95)))
    a["held_out_groups"] = {"debruine_studio (london + canada)": 0.967, "facechain_style_previews": 0.9859}
    b["held_out_groups"] = {"debruine_studio (london + canada)": 0.938, "facechain_style_previews": 0.9861}
    c["held_out_groups"] = {"debruine_studio (london + canada)": 0.967, "facechain_style_previews": 0.9790}
    assert candidates.held_out_margin(b) > candidates.held_out_margin(a)
    assert candidates.best_candidate([a, b]) is a, "tied margins: the better worst validation source wins"
    assert candidates.best_candidate([a, b, c]) is a, "a margin 0.007 behind the best is not a tie"
    assert candidates.best_candidate([b]) is b
    assert candidates.held_out_margin({"held_out_groups": {}}) is None


def test_the_shipped_model_is_the_one_the_rule_picks(model_dir):
    """models/ holds the candidate with the best validation results, by the rule its card states."""
    from classifier.card import read_json

    card = read_json(model_dir / "model_card.json")
    rows = read_json(model_dir / "candidates.json")["candidates"]
    assert card.get("selection", {}).get("rule") == candidates.SELECTION_RULE, \
        "the card lacks its comparison: run `python -m classifier compare --keep models`"
    assert candidates.shipped_is_the_winner(candidates.candidate_row(card), rows), \
        (candidates.candidate_row(card), candidates.best_candidate(rows))


def _passing_report() -> dict:
    """A test-split report that meets every release limit (release.release_gate)."""
    return {"overall": {"roc_auc": 0.999, "false_ai_rate_real": 0.002, "ece": 0.01},
            "per_source": [{"source": "real_a", "label": "real", "accuracy": 0.97, "called_ai": 0.03},
                           {"source": "gan_b", "label": "ai", "accuracy": 0.93, "called_ai": 0.93}],
            "robustness": [{"name": n, "delta_balanced_accuracy": -0.029} for n in release.GATED_CHECKS]}


def test_the_release_gate_names_each_missed_limit_and_each_check_not_run():
    assert release.release_gate(_passing_report()) == {"failed": [], "unchecked": []}
    breaks = {"test AUC": lambda r: r["overall"].update(roc_auc=0.989),
              "gan_b: 89.0% right": lambda r: r["per_source"][1].update(accuracy=0.89),
              "real test photos called AI 2.1%": lambda r: r["overall"].update(false_ai_rate_real=0.021),
              "real_a: 5.1% of real test photos called AI": lambda r: r["per_source"][0].update(called_ai=0.051),
              "ECE 0.051": lambda r: r["overall"].update(ece=0.051),
              "half_scale costs 3.1 points": lambda r: r["robustness"][1].update(delta_balanced_accuracy=-0.031)}
    for words, breach in breaks.items():
        report = _passing_report()
        breach(report)
        failed = release.release_gate(report)["failed"]
        assert len(failed) == 1 and failed[0].startswith(words), (words, failed)
    report = _passing_report()
    report["robustness"] = report["robustness"][:1]
    assert release.release_gate(report) == {"failed": [], "unchecked": ["half_scale", "grayscale"]}


def test_a_pick_the_release_gate_stops_is_passed_over():
    a, b = (candidates.candidate_row(_card(s, w)) for s, w in ((100, 0.88), (200, 0.90)))
    assert candidates.best_candidate([a, b]) is b
    b["release_gate_failed"] = ["celebahq: 6.0% of real test photos called AI > 5%"]
    assert candidates.best_candidate([a, b]) is a
    b["release_gate_failed"] = []  # evaluated and passed: ranked as before
    assert candidates.best_candidate([a, b]) is b


def test_the_shipped_model_passes_the_release_gate(model_dir):
    from classifier.card import read_json

    gate = read_json(model_dir / "model_card.json")["test"].get("release_gate")
    assert gate == {"failed": [], "unchecked": []}, gate or "run `python -m classifier evaluate` on the model"


def test_a_retrain_on_every_source_ships_only_the_winners_recipe():
    a, b = (candidates.candidate_row(_card(s, w)) for s, w in ((100, 0.88), (200, 0.90)))
    retrain = {**candidates.candidate_row(_card(300, 0.99)), "retrain_of": 200}
    assert candidates.best_candidate([a, b, retrain]) is b, "a retrain is not ranked on borrowed figures"
    assert candidates.shipped_is_the_winner(retrain, [a, b, retrain])
    assert not candidates.shipped_is_the_winner({**retrain, "retrain_of": 100}, [a, b, retrain])


def test_a_row_recorded_before_an_option_existed_is_still_the_same_run():
    """Adding a recipe option (here zoom_out, cutmix, mixstyle and frame) must not make the shipped model's recorded
    row look foreign."""
    row = candidates.candidate_row(_card(200, 0.9))
    old = {k: v for k, v in row.items() if k not in ("zoom_out", "cutmix", "mixstyle", "frame")}
    assert candidates.same_run(row, old)
    assert candidates.shipped_is_the_winner(row, [candidates.candidate_row(_card(100, 0.8)), old])
    assert not candidates.same_run(row, {**old, "zoom_out": 0.25})
    assert not candidates.same_run(row, {**old, "cutmix": 0.5})
    assert not candidates.same_run(row, {**old, "mixstyle": 0.5})
    assert not candidates.same_run(row, {**old, "frame": "0.35 / 0.1"})
    assert not candidates.same_run(row, {**old, "val_roc_auc": 0.5})


def test_the_shipped_card_states_the_limits_we_know_today(model_dir):
    """The Takeaways page reads the card's limits; `python -m classifier card --refresh-limits` keeps them current."""
    from classifier.card import read_json
    from classifier.training.modelcard import KNOWN_LIMITS

    assert read_json(model_dir / "model_card.json")["known_limits"] == KNOWN_LIMITS, \
        "run `python -m classifier card --refresh-limits`"


def test_a_head_refit_balanced_over_populations_is_its_own_run():
    """refit-head --populations on the shipped network must not replace the shipped row when recorded."""
    card = _card(200, 0.9)
    card["training"]["config"]["head_refit_c"] = 0.3
    by_source = candidates.candidate_row(card)
    card["training"]["config"]["head_refit_populations"] = True
    by_population = candidates.candidate_row(card)
    assert (by_source["balanced_over"], by_population["balanced_over"]) == ("sources", "populations")
    assert candidates.merge_candidates([by_source], [by_population]) == [by_source, by_population]


def test_compare_leaves_an_existing_record_alone_unless_told(tmp_path, capsys):
    """Without --keep or --replace, compare must not overwrite the record (it holds tries whose folders are gone)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "model_card.json").write_text(json.dumps(_card(300, 0.88)))
    record = tmp_path / "models"
    record.mkdir()
    before = {"candidates": [candidates.candidate_row(_card(100, 0.8)), candidates.candidate_row(_card(200, 0.85))]}
    (record / "candidates.json").write_text(json.dumps(before))
    assert cli.main(["--model-dir", str(record), "compare", str(run)]) == 2
    assert "--keep" in capsys.readouterr().err
    assert json.loads((record / "candidates.json").read_text()) == before
    assert cli.main(["--model-dir", str(record), "compare", "--keep", str(run)]) == 0
    kept = json.loads((record / "candidates.json").read_text())["candidates"]
    assert [r["train_seconds"] for r in kept] == [100, 200, 300]
    assert cli.main(["--model-dir", str(record), "compare", "--replace", str(run)]) == 0
    assert [r["train_seconds"] for r in json.loads((record / "candidates.json").read_text())["candidates"]] == [300]


def test_evaluate_no_degradations_skips_only_the_robustness_checks(monkeypatch, capsys):
    """A candidate's quick evaluation still scores the split; only the degradation passes are skipped."""
    from classifier.training import evaluate as evaluate_module

    asked = []

    def fake_evaluate(**kwargs):
        asked.append(kwargs)
        return {"overall": {"n": 3, "roc_auc": 1.0, "balanced_accuracy": 1.0, "ece": 0.0}}

    monkeypatch.setattr(evaluate_module, "evaluate", fake_evaluate)
    assert cli.main(["evaluate", "--no-degradations"]) == 0
    assert cli.main(["evaluate"]) == 0
    assert cli.main(["evaluate", "--checks", "half_scale", "jpeg_q50"]) == 0
    assert [a["degradations"] for a in asked] == [False, True, ["half_scale", "jpeg_q50"]]
    assert asked[0]["split"] == "test"


def test_evaluate_runs_the_checks_asked_for_and_refuses_unknown_ones():
    from classifier.training.evaluate import ROBUSTNESS, checks_to_run

    assert checks_to_run(True) == list(ROBUSTNESS) and checks_to_run(False) == ["original"]
    assert checks_to_run(["half_scale", "original", "jpeg_q50", "half_scale"]) == ["original", "half_scale", "jpeg_q50"]
    with pytest.raises(ValueError, match="jpeg_q5"):
        checks_to_run(["jpeg_q5"])
    assert cli.main(["evaluate", "--checks", "jpeg_q5"]) == 2
