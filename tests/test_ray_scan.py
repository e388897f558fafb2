"""``scan --engine ray`` gives the in-process scan's rows, as CSV and as Parquet.

Each Ray run starts a private local Ray (2 CPUs) in a subprocess, as a user's command would.
Ray is an optional extra, but ``make test`` installs it: under CI a missing Ray fails, never skips.
"""

from __future__ import annotations

import csv
import importlib
import os

import cv2
import hostile
import numpy as np
import pytest
from conftest import jpeg_bytes, run_cli

from classifier import cli
from classifier.rows import SCAN_COLUMNS

ray = importlib.import_module("ray") if os.environ.get("CI") else pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

pytestmark = pytest.mark.slow  # two Ray start-ups: about 20 s each on 2 cores

HOSTILE = ["noface_flat.png", "faces_3x3.jpg", "portrait.webp", "portrait_gray.jpg", "rgba.png", "text.jpg",
           "empty.jpg", "truncated.jpg"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory, astronaut):
    """36 images in two levels: astronaut crops of many sizes and framings, odd files and broken ones."""
    root = tmp_path_factory.mktemp("photos")
    (root / "sub").mkdir()
    rng = np.random.default_rng(7)
    for i in range(28):
        side = int(rng.integers(200, 512))
        x, y = (int(v) for v in rng.integers(0, 512 - side + 1, 2))
        crop = astronaut[y : y + side, x : x + side]
        out = int(rng.choice([128, 256, 320, 640]))
        img = np.ascontiguousarray(cv2.resize(crop, (out, out), interpolation=cv2.INTER_AREA))
        (root / ("sub" if i % 3 == 0 else "") / f"crop{i:02d}.jpg").write_bytes(jpeg_bytes(img, quality=70 + i))
    for name in HOSTILE:
        (root / name).write_bytes(hostile.build(name))
    (root / "notes.txt").write_text("not scanned")
    return root


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["p_ai"] = float(r["p_ai"]) if r["p_ai"] else None
        r["faces"] = int(r["faces"])
        r["verdict"] = r["verdict"] or None
        r["error"] = r["error"] or None
    return rows


def read_parquet(path) -> list[dict]:
    table = pq.read_table(path)
    assert table.column_names == list(SCAN_COLUMNS)
    assert str(table.schema.field("p_ai").type) == "double" and str(table.schema.field("faces").type) == "int32"
    return [{**r, "warnings": r["warnings"] or ""} for r in table.to_pylist()]


@pytest.fixture(scope="module")
def local_rows(folder, model_dir, tmp_path_factory):
    """The in-process scan, CSV and Parquet: the reference."""
    out = tmp_path_factory.mktemp("local")
    for name in ("local.csv", "local.parquet"):
        assert cli.main(["--model-dir", str(model_dir), "scan", str(folder), "--out", str(out / name)]) == 0
    csv_rows, parquet_rows = read_csv(out / "local.csv"), read_parquet(out / "local.parquet")
    assert len(csv_rows) == 28 + len(HOSTILE)
    return csv_rows, parquet_rows


def assert_same(rows: list[dict], reference: list[dict]) -> None:
    """Same files in the same order, same verdicts and counts; p_ai to 1e-4 (both are rounded to 4 places)."""
    assert [r["path"] for r in rows] == [r["path"] for r in reference]
    for r, ref in zip(rows, reference, strict=True):
        assert {k: r[k] for k in ("verdict", "faces", "warnings", "error")} == \
            {k: ref[k] for k in ("verdict", "faces", "warnings", "error")}, r["path"]
        if ref["p_ai"] is None:
            assert r["p_ai"] is None
        else:
            assert abs(r["p_ai"] - ref["p_ai"]) <= 1e-4 + 1e-9, r["path"]


def test_in_process_csv_and_parquet_agree(local_rows):
    csv_rows, parquet_rows = local_rows
    assert_same(parquet_rows, csv_rows)
    errors = [r for r in csv_rows if r["error"]]
    assert len(errors) == 3 and all(r["p_ai"] is None and r["faces"] == 0 for r in errors)


@pytest.mark.parametrize("name", ["ray.parquet", "ray.csv"])
def test_ray_scan_equals_in_process(name, folder, local_rows, cli_env, tmp_path):
    out = tmp_path / name
    env = {k: v for k, v in cli_env.items() if k != "RAY_ADDRESS"}  # a private local Ray, not a cluster
    proc = run_cli(["scan", str(folder), "--engine", "ray", "--out", str(out)], env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "images/s" in proc.stderr and "(ray)" in proc.stderr
    rows = read_parquet(out) if name.endswith(".parquet") else read_csv(out)
    assert_same(rows, local_rows[0])
