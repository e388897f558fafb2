"""Privacy: classifying an upload writes nothing to disk and logs neither its bytes nor its name."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from conftest import REPO, jpeg_bytes

SKIP_DIRS = {".cache", "__pycache__", ".venv", ".git", ".pytest_cache", ".hypothesis", ".ruff_cache", "build",
             "models", "node_modules", ".ipynb_checkpoints"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

_WATCH = {"on": False, "writes": []}


def _audit(event: str, args: tuple) -> None:
    """Record every file opened for writing (and renames/removals) while a test watches."""
    if not _WATCH["on"]:
        return
    if event == "open":
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS)
        if writing:
            _WATCH["writes"].append((event, str(path)))
    elif event in ("os.rename", "os.replace", "os.remove", "os.mkdir", "shutil.copyfile", "os.link", "os.symlink"):
        _WATCH["writes"].append((event, str(args[0])))


sys.addaudithook(_audit)


def listing(root: Path, max_depth: int = 64) -> set[str]:
    """Every file and folder under ``root`` (skipping caches, the venv and model/build output)."""
    out = set()
    root = Path(root)
    base_depth = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).parts) - base_depth
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and depth < max_depth]
        out.update(os.path.join(dirpath, n) for n in dirnames + filenames)
    return out


@pytest.fixture
def marked_upload(astronaut):
    """A JPEG carrying a unique marker in a comment segment, and a unique file name."""
    marker = f"AIVR-PRIVACY-{uuid.uuid4().hex}"
    data = jpeg_bytes(astronaut, comment=marker.encode())
    assert marker.encode() in data
    return marker, data


def test_predict_from_bytes_writes_nothing(clf, marked_upload, tmp_path, monkeypatch):
    """A prediction from bytes creates no file in the temp dir, the repository or the cwd,
    and opens no file for writing (audit hook), however the upload is passed."""
    _, data = marked_upload
    clf.predict(data)  # warm: first calls may trace functions
    fresh_tmp, cwd = tmp_path / "tmp", tmp_path / "cwd"
    fresh_tmp.mkdir()
    cwd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(fresh_tmp))
    monkeypatch.setenv("TMPDIR", str(fresh_tmp))
    monkeypatch.chdir(cwd)
    system_tmp = Path("/tmp") if Path("/tmp").is_dir() else None
    before_repo = listing(REPO)
    before_sys = {p for p in listing(system_tmp, max_depth=0) if os.path.isfile(p)} if system_tmp else set()
    _WATCH.update(on=True, writes=[])
    try:
        import io

        from PIL import Image

        pred = clf.predict(data)
        clf.predict(bytearray(data))
        clf.predict(io.BytesIO(data))
        with Image.open(io.BytesIO(data)) as im:
            clf.predict(im)
        clf.predict_batch([data, b"not an image"])
    finally:
        _WATCH["on"] = False
    assert _WATCH["writes"] == [], f"files opened for writing during predict: {_WATCH['writes']}"
    assert listing(fresh_tmp) == set(), "files appeared in the temp dir"
    assert listing(cwd) == set(), "files appeared in the working directory"
    assert listing(REPO) - before_repo == set(), "files appeared in the repository"
    if system_tmp:
        new = {p for p in listing(system_tmp, max_depth=0) if os.path.isfile(p)} - before_sys
        assert new == set(), f"files appeared in {system_tmp}: {new}"
    assert pred.verdict in {"ai", "real", "uncertain"}


def test_nothing_of_the_upload_is_logged(clf, marked_upload, tmp_path, caplog, capfd):
    """At every log level, neither the upload's bytes nor its file name reach logs, stdout or stderr."""
    marker, data = marked_upload
    secret_name = f"private-{uuid.uuid4().hex}.jpg"
    path = tmp_path / secret_name
    path.write_bytes(data)
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.DEBUG)
    clf.predict(data)
    clf.predict(path)
    clf.predict_batch([data, path, b"junk", tmp_path / ("missing-" + secret_name)])
    clf.predict(data, explain=True)
    out, err = capfd.readouterr()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    probes = [marker, secret_name, uuid_part(secret_name), data[:32].hex(), repr(data[:32])[2:-1]]
    for text, where in ((logged, "logs"), (out, "stdout"), (err, "stderr")):
        for probe in probes:
            assert probe not in text, f"{probe[:40]!r} found in {where}"


def uuid_part(name: str) -> str:
    return name.split("-", 1)[1].split(".")[0]


def test_results_hold_no_image_data(clf, marked_upload):
    """The Prediction's dict and repr carry numbers and boxes, not the image or its metadata."""
    marker, data = marked_upload
    pred = clf.predict(data)
    assert marker not in repr(pred) and marker not in str(pred.to_dict())
    assert len(repr(pred.to_dict())) < 2000


def test_write_watcher_works(tmp_path):
    """The audit-hook watcher used above does see a write (so its silence means something)."""
    _WATCH.update(on=True, writes=[])
    try:
        (tmp_path / "probe.bin").write_bytes(b"x")
        fd = os.open(tmp_path / "probe2.bin", os.O_WRONLY | os.O_CREAT)
        os.close(fd)
    finally:
        _WATCH["on"] = False
    paths = [p for _, p in _WATCH["writes"]]
    assert str(tmp_path / "probe.bin") in paths and str(tmp_path / "probe2.bin") in paths
