"""The Streamlit app driven headlessly with ``streamlit.testing.v1.AppTest``.

Every page must render without an exception, with and without the evaluation
artefacts; on Prediction an upload and a webcam snapshot each give a verdict
with a percentage, a non-image gives an error (not an exception) and several
uploads give one result each. The model is cached by ``st.cache_resource`` for
the whole pytest process, so only the first test pays for loading it.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import jpeg_bytes
from streamlit.testing.v1 import AppTest

from classifier import MAX_UPLOAD_MB, VERDICT_LABELS

REPO = Path(__file__).resolve().parents[1]
HOME = str(REPO / "Home.py")
PAGES = ["pages/home.py", "pages/prediction.py", "pages/insights.py", "pages/takeaways.py"]
TIMEOUT = 120  # first run loads TensorFlow and the model on a busy 2-core machine
VERDICT_RE = re.compile(r"\b(" + "|".join(VERDICT_LABELS.values()) + r")\b.{0,200}?\d{1,3}\.\d%", re.S)


def app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page)
        at.run()
    return at


def verdicts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if VERDICT_RE.search(m.value)]


def fake_evaluation(card: dict) -> dict:
    """An ``evaluation.json`` with every documented key, so every chart is drawn."""
    fpr = np.linspace(0, 1, 21)
    return {
        "split": "test",
        "overall": {"n": 200, "roc_auc": 0.95, "accuracy": 0.9, "balanced_accuracy": 0.88, "ece": 0.03,
                    "uncertain_fraction": 0.15, "threshold": 0.5,
                    "confusion": {"tp": 50, "fn": 10, "fp": 12, "tn": 128}},
        "per_source": [{"source": s["source"], "label": s["label"], "generator": s["generator"], "n": 20,
                        "accuracy": 0.8, "mean_p_ai": 0.3} for s in card["data"]["sources"]],
        "per_generator": [{"generator": "sdxl", "label": "ai", "n": 20, "accuracy": 0.7, "roc_auc_vs_real": 0.9},
                          {"generator": "camera", "label": "real", "n": 100, "accuracy": 0.9, "roc_auc_vs_real": None}],
        "roc": {"fpr": fpr.tolist(), "tpr": np.sqrt(fpr).tolist()},
        "reliability": [{"bin": i, "p_mean": (i + 0.5) / 10, "frac_ai": (i + 0.4) / 10, "count": 10 + i}
                        for i in range(10)],
        "robustness": [{"name": "jpeg q50", "balanced_accuracy": 0.85, "roc_auc": 0.93,
                        "delta_balanced_accuracy": -0.03}],
        "candidates": [{"arch": "mobilenetv2", "val_roc_auc": 0.95, "val_balanced_accuracy": 0.9, "steps": 100}],
    }


@pytest.fixture
def served(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at the model under test (the one ``conftest`` picked)."""
    monkeypatch.setenv("AIVR_MODEL_DIR", str(model_dir))
    return model_dir


@pytest.fixture
def portrait_1024(astronaut: np.ndarray) -> bytes:
    import cv2

    return jpeg_bytes(cv2.resize(astronaut, (1024, 768), interpolation=cv2.INTER_CUBIC))


def test_config_upload_limit_matches_package() -> None:
    cfg = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["maxUploadSize"] == MAX_UPLOAD_MB
    assert cfg["browser"]["gatherUsageStats"] is False


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(served: Path, page: str) -> None:
    at = app(page)
    assert not at.exception, at.exception
    assert at.title, f"{page} rendered no title"
    assert not [e.value for e in at.error], [e.value for e in at.error]


@pytest.mark.parametrize("page", ["pages/insights.py", "pages/takeaways.py", "pages/home.py"])
def test_pages_draw_every_evaluation_artefact(served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              page: str) -> None:
    card = json.loads((served / "model_card.json").read_text())
    shutil.copy(served / "model_card.json", tmp_path / "model_card.json")
    (tmp_path / "evaluation.json").write_text(json.dumps(fake_evaluation(card)))
    monkeypatch.setenv("AIVR_MODEL_DIR", str(tmp_path))
    at = app(page)
    assert not at.exception, at.exception
    assert not [i.value for i in at.info if "Not available" in i.value]


@pytest.mark.parametrize("page", PAGES)
def test_pages_survive_a_missing_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    monkeypatch.setenv("AIVR_MODEL_DIR", str(tmp_path))  # empty: no card, no model, no evaluation
    at = app(page)
    assert not at.exception, at.exception
    if page == "pages/prediction.py":
        assert any("model is not available" in e.value for e in at.error)


def test_uploaded_portrait_gets_a_verdict(served: Path, portrait_jpeg: bytes) -> None:
    at = app("pages/prediction.py")
    at.file_uploader[0].set_value(("astronaut.jpg", portrait_jpeg, "image/jpeg"))
    at.run()
    assert not at.exception, at.exception
    assert len(verdicts(at)) == 1
    assert not at.error
    assert at.get("progress")


def test_declared_ai_upload_shows_its_provenance(served: Path, astronaut: np.ndarray) -> None:
    """A real photo whose file declares AI generation: verdict AI-generated, the reason and the pixels' own
    probability in the Provenance part; a plain copy says that no metadata proves nothing."""
    import provenance_fixtures as pf

    declared = pf.png_with_text(astronaut, {"parameters": "a face\nSteps: 20, Sampler: Euler a, Seed: 1"})
    at = app("pages/prediction.py")
    at.file_uploader[0].set_value(("generated.png", declared, "image/png"))
    at.run()
    assert not at.exception, at.exception
    (shown,) = verdicts(at)
    assert VERDICT_LABELS["ai"] in shown and "declared by the file" in shown
    text = " ".join(m.value for m in [*at.markdown, *at.caption])
    assert "**Provenance**" in text and "declares it was AI-generated" in text and "AUTOMATIC1111" in text
    at.file_uploader[0].set_value(("plain.jpg", jpeg_bytes(astronaut), "image/jpeg"))
    at.run()
    assert any("proves nothing" in c.value for c in at.caption)


def test_heatmap_toggle(served: Path, portrait_jpeg: bytes) -> None:
    at = app("pages/prediction.py")
    at.toggle[0].set_value(True)
    at.file_uploader[0].set_value(("astronaut.jpg", portrait_jpeg, "image/jpeg"))
    at.run()
    assert not at.exception, at.exception
    assert len(verdicts(at)) == 1


def test_camera_snapshot_gets_a_verdict(served: Path, astronaut: np.ndarray) -> None:
    at = app("pages/prediction.py")
    at.camera_input[0].set_value(("snapshot.jpg", jpeg_bytes(astronaut, quality=75), "image/jpeg"))
    at.run()
    assert not at.exception, at.exception
    assert len(verdicts(at)) == 1
    assert any("Webcam" in c.value for c in at.caption)


def test_non_image_upload_shows_an_error(served: Path) -> None:
    at = app("pages/prediction.py")
    at.file_uploader[0].set_value(("notes.jpg", b"these are not the pixels you are looking for", "image/jpeg"))
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "notes" in at.error[0].value
    assert not verdicts(at)


def test_several_uploads_give_one_result_each(served: Path, portrait_jpeg: bytes, portrait_1024: bytes) -> None:
    at = app("pages/prediction.py")
    files = [("a.jpg", portrait_jpeg, "image/jpeg"), ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image/png"),
             ("c.jpg", portrait_1024, "image/jpeg")]
    at.file_uploader[0].set_value(files)
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["File"]) == ["a.jpg", "broken.png", "c.jpg"]
    assert list(table["Verdict"] == "Error") == [False, True, False]
    assert len(verdicts(at)) == 2  # one result panel per readable file
    assert len(at.error) == 1 and "broken" in at.error[0].value
    assert len(at.get("download_button")) == 2


def test_insights_artefact_from_a_tiny_dataset(tmp_path: Path) -> None:
    """``classifier.training.insights`` (the Insights page's data) on a made-up two-source dataset."""
    from PIL import Image

    from classifier.training.insights import compute_insights, write_insights

    rng = np.random.default_rng(0)
    rows = ["path,label,source,generator,origin,license"]
    for label, source, blur in (("real", "cam", 0), ("ai", "gen", 1)):
        (tmp_path / source).mkdir()
        for i in range(3):
            img = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
            if blur:
                img = np.repeat(np.repeat(img[::4, ::4], 4, 0), 4, 1)  # blocky up-sampling: a spectral trace
            Image.fromarray(img).save(tmp_path / source / f"{i}.jpg", quality=90)
            rows.append(f"{source}/{i}.jpg,{label},{source},{'camera' if label == 'real' else 'toy-gan'},test,none")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")

    ins = compute_insights(tmp_path, per_source=2, seed=0)
    assert [s["source"] for s in ins["sources"]] == ["cam", "gen"]
    assert all(s["n"] == 2 and len(s["sharpness"]["values"]) == 2 for s in ins["sources"])
    assert np.asarray(ins["spectrum"]["real"]).shape == (128, 128)
    assert len(ins["radial"]["freq"]) == len(ins["radial"]["ai"]) == 128
    sharp = {s["source"]: s["sharpness"]["median"] for s in ins["sources"]}
    assert sharp["gen"] < sharp["cam"]  # the up-sampled source is the softer one
    out = tmp_path / "insights.json"
    write_insights(out, tmp_path, per_source=2)
    assert json.loads(out.read_text())["n_images"] == 4
    assert out.stat().st_size < 1_000_000


def test_hostile_corpus_through_the_app(served: Path) -> None:
    """Every file of the hostile corpus, uploaded together: one row each, an error exactly for the
    bad ones, and no exception or traceback shown (the app keeps serving)."""
    import hostile

    files = [(c.name, hostile.build(c.name), "application/octet-stream") for c in hostile.CASES]
    at = app("pages/prediction.py")
    at.file_uploader[0].set_value(files)
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["File"]) == [c.name for c in hostile.CASES]
    assert list(table["Verdict"] == "Error") == [not c.ok for c in hostile.CASES]
    shown = " ".join(e.value for e in at.error)
    assert "Traceback" not in shown
    at.file_uploader[0].set_value(("astronaut.jpg", jpeg_bytes(hostile.astronaut()), "image/jpeg"))
    at.run()  # and the next upload is served as usual
    assert not at.exception and len(verdicts(at)) == 1

