"""The hostile-input corpus through the package API and the CLI: a verdict or a clean, typed error.

Every file is made by ``hostile.py`` at test time. The CLI run reads them all in one
process, so its time and peak memory bound the whole corpus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import REPO
from hostile import BAD, CASE_BY_NAME, CASES, GOOD, build, is_clean_message, write_corpus

from classifier import MAX_FACES, ImageError, Prediction, load_image
from classifier.conditions import NO_FACE_WARNING

CLI_SECONDS = 120  # whole corpus, model load included
CLI_MAX_RSS_MB = 1500  # the whole corpus, 108 MP JPEG included (draft mode keeps it bounded)
VERDICTS = {"ai", "real", "uncertain"}


def check_prediction(pred: Prediction, name: str) -> None:
    assert isinstance(pred, Prediction), name
    assert pred.verdict in VERDICTS
    assert 0.0 <= pred.p_ai <= 1.0
    assert 1 <= len(pred.faces) <= MAX_FACES
    assert pred.p_ai == max(f.p_ai for f in pred.faces)  # the most AI-like face decides
    for f in pred.faces:
        x, y, w, h = f.crop
        assert w == h and x >= 0 and y >= 0 and x + w <= pred.width and y + h <= pred.height


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_corpus_through_package(clf, name):
    """Each corpus file gives a Prediction (good ones) or an ImageError with a short,
    readable message naming the problem (bad ones), within a bounded time."""
    case = CASE_BY_NAME[name]
    data = build(name)
    t0 = time.perf_counter()
    try:
        pred = clf.predict(data)
    except ImageError as err:
        assert not case.ok, f"{name} was refused: {err.message}"
        assert is_clean_message(err.message), err.message
        assert case.keyword in err.message.lower(), err.message
    else:
        assert case.ok, f"{name} should have been refused, got {pred.verdict}"
        check_prediction(pred, name)
    assert time.perf_counter() - t0 < 60


def test_corpus_special_expectations(clf):
    """Specific promises: EXIF rotation applied, no-face warning, face cap, big photo decoded."""
    rot = clf.predict(build("exif_rotated.jpg"))
    assert (rot.width, rot.height) == (300, 512)
    for name in ("noface_flat.png", "noface_noise.png"):
        p = clf.predict(build(name))
        assert NO_FACE_WARNING in p.warnings and p.faces[0].box is None and len(p.faces) == 1
    many = clf.predict(build("faces_3x3.jpg"))
    assert len(many.faces) == MAX_FACES
    assert any(f"More than {MAX_FACES} faces" in w for w in many.warnings)
    big = clf.predict(build("photo_6000x4000.jpg"))
    assert (big.width, big.height) == (6000, 4000) and big.faces[0].box is not None


def test_predict_batch_mixes_good_and_bad(clf):
    """predict_batch returns results in order: Predictions and ImageErrors side by side."""
    names = ["portrait.jpg", "empty.jpg", "palette.png", "bomb_8000.png", "noface_flat.png"]
    out = clf.predict_batch([build(n) for n in names])
    assert len(out) == len(names)
    for name, res in zip(names, out, strict=True):
        assert isinstance(res, Prediction if CASE_BY_NAME[name].ok else ImageError), name
    single = clf.predict(build("portrait.jpg"))
    assert out[0].p_ai == pytest.approx(single.p_ai, abs=1e-5)
    assert clf.predict_batch([]) == []
    assert all(isinstance(r, ImageError) for r in clf.predict_batch([b"", b"x"]))


def test_load_image_on_corpus_paths(tmp_path):
    """load_image on file paths agrees with the corpus table (no model needed)."""
    for path in write_corpus(tmp_path, [n for n in GOOD + BAD if n != "photo_6000x4000.jpg"]):
        case = CASE_BY_NAME[path.name]
        try:
            a = load_image(path)
            assert case.ok, path.name
            assert a.ndim == 3 and a.shape[2] == 3 and a.dtype.name == "uint8"
        except ImageError as err:
            assert not case.ok, f"{path.name}: {err.message}"
            assert is_clean_message(err.message)


def run_measured(cmd: list[str], env: dict, timeout: float) -> tuple[int, str, str, float, float]:
    """Run ``cmd``; return (exit code, stdout, stderr, seconds, peak RSS in MB of that command alone)."""
    sys.path.insert(0, str(REPO / "scripts"))
    from measure import measure

    out_path, err_path = os.path.join(env["AIVR_TMP"], "out.txt"), os.path.join(env["AIVR_TMP"], "err.txt")
    rc, seconds, rss = measure(cmd, env, REPO, timeout=timeout, stdout=out_path, stderr=err_path)
    with open(out_path) as f_out, open(err_path) as f_err:
        return rc, f_out.read(), f_err.read(), seconds, rss


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory, cli_env):
    """One CLI run over the whole corpus (plus a missing file), measured."""
    folder = tmp_path_factory.mktemp("corpus")
    paths = [str(p) for p in write_corpus(folder)]
    paths.insert(5, str(folder / "does_not_exist.jpg"))
    env = dict(cli_env, AIVR_TMP=str(folder))
    cmd = [sys.executable, "-m", "classifier", "predict", *paths, "--json"]
    rc, out, err, seconds, rss = run_measured(cmd, env, timeout=CLI_SECONDS + 60)
    print(f"\nCLI corpus run: {len(paths)} inputs, {seconds:.1f} s, peak RSS {rss:.0f} MB, exit {rc}")
    return paths, rc, out, err, seconds, rss


def test_cli_corpus_one_json_line_per_input(corpus_run):
    """The CLI prints exactly one JSON object per input, in input order, and exits 0."""
    paths, rc, out, err, _, _ = corpus_run
    assert rc == 0, err[-2000:]
    lines = out.splitlines()
    assert len(lines) == len(paths), out[-2000:]
    rows = [json.loads(line) for line in lines]
    assert [r["path"] for r in rows] == paths
    for r in rows:
        assert {"path", "verdict", "p_ai", "faces", "warnings", "error"} <= set(r)


def test_cli_corpus_errors_exactly_for_bad_inputs(corpus_run):
    """``error`` is set exactly for the bad files (and the missing one), with a clean message."""
    paths, _, out, err, _, _ = corpus_run
    assert "Traceback" not in out + err
    for path, line in zip(paths, out.splitlines(), strict=True):
        row = json.loads(line)
        name = os.path.basename(path)
        ok = CASE_BY_NAME[name].ok if name in CASE_BY_NAME else False
        if ok:
            assert row["error"] is None, f"{name}: {row['error']}"
            assert row["verdict"] in VERDICTS and 0.0 <= row["p_ai"] <= 1.0 and row["faces"], name
        else:
            assert isinstance(row["error"], str) and is_clean_message(row["error"]), (name, row["error"])
            assert row["verdict"] is None and row["p_ai"] is None and row["faces"] == [], name
            if name in CASE_BY_NAME:
                assert CASE_BY_NAME[name].keyword in row["error"].lower(), (name, row["error"])
            else:
                assert row["error"] == "No such file: does_not_exist.jpg"


def test_cli_corpus_time_and_memory(corpus_run):
    """The whole corpus (bombs, a 48 MP photo, a 21 MB file) runs in bounded time and memory."""
    _, _, _, _, seconds, rss = corpus_run
    assert seconds < CLI_SECONDS, f"CLI took {seconds:.0f} s for the corpus"
    assert rss < CLI_MAX_RSS_MB, f"CLI peak RSS {rss:.0f} MB"


def test_cli_only_bad_inputs_exit_non_zero(tmp_path, cli_env):
    """When every input fails the CLI still prints one line each, then exits non-zero."""
    names = ["empty.jpg", "text.jpg", "truncated.png", "bomb_8000.png", "tiny_1x1.png"]
    paths = [str(p) for p in write_corpus(tmp_path, names)]
    proc = subprocess.run([sys.executable, "-m", "classifier", "predict", *paths, "--json"], env=cli_env,
                          cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode != 0
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["path"] for r in rows] == paths
    assert all(r["error"] for r in rows)
    assert "Traceback" not in proc.stderr
