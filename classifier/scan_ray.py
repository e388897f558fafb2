"""``scan DIR --engine ray``: the folder scan on Ray Data, on this machine or on a cluster.

Ray is an optional extra (``requirements-ray.txt``): it is imported only inside these functions,
so the in-process scan, the app and the API never need it. The pipeline is a list of paths ->
``map_batches`` through a pool of actors that each hold one classifier (the model loads once per
actor, not per batch) -> rows streamed back to the driver, which writes them with the same
``ScanWriter`` and ``scan_row`` as the in-process engine. Actors read the files themselves, so a
path must be visible on every node (a shared filesystem on a cluster), and the intake's size limit
is checked before a file is read.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

from .rows import predict_one, scan_row
from .scan import ScanWriter, parquet_schema

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONCURRENCY = 2  # actors; each runs LiteRT on 2 threads and reserves 1 CPU
DEFAULT_BATCH = 16  # paths per actor call: small enough to balance, large enough to amortise Ray's overhead
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024  # the store only carries paths and rows
# What a cluster's workers get of this checkout (Ray also skips what .gitignore names).
CLUSTER_EXCLUDES = [".git", "notebooks", "docs", "tests", "pages", "ui", "scripts", "*.keras", "*.ipynb"]


class PredictActor:
    """One classifier per actor; each call turns a batch of paths into scan rows (a pyarrow table)."""

    def __init__(self) -> None:  # no arguments: the model folder comes in $AIVR_MODEL_DIR (see scan_ray)
        from .predictor import load_classifier

        self.clf = load_classifier()

    def __call__(self, batch):
        import pyarrow as pa

        rows = [scan_row(p, *predict_one(self.clf, p)) for p in batch.column("path").to_pylist()]
        return pa.Table.from_pylist(rows, schema=parquet_schema())


def connect(address: str | None = None, num_cpus: int = DEFAULT_CONCURRENCY) -> bool:
    """Join the cluster at ``address`` (or ``$RAY_ADDRESS``), else start a private local Ray.

    Returns whether this call started Ray (and so should shut it down). A local Ray gets this
    checkout on its workers' ``PYTHONPATH``; a cluster gets the checkout (code and model, not the
    Keras file or the tests) uploaded as the job's working directory.
    """
    try:
        import ray
    except ImportError:
        raise SystemExit("scan --engine ray needs Ray: pip install -r requirements-ray.txt") from None

    if ray.is_initialized():  # a notebook or a test already connected: use that
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    quiet = {"logging_level": logging.WARNING, "log_to_driver": True}
    if address:
        ray.init(address=address, runtime_env={"working_dir": str(REPO), "excludes": CLUSTER_EXCLUDES}, **quiet)
    else:
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                 object_store_memory=LOCAL_OBJECT_STORE_BYTES, runtime_env={"env_vars": {"PYTHONPATH": path}}, **quiet)
    return True


def scan_ray(files: list[str], writer: ScanWriter, model_dir: str | None = None,
             concurrency: int = DEFAULT_CONCURRENCY, batch_size: int = DEFAULT_BATCH, progress: bool = False) -> None:
    """Classify ``files`` on the connected Ray; rows reach ``writer`` in ``files`` order.

    ``model_dir`` (None: the workers' default, ``$AIVR_MODEL_DIR`` or their ``models/``) must be a
    path every worker can read.
    """
    import ray

    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # rows in the same order as the in-process scan
    ctx.enable_progress_bars = progress
    logging.getLogger("ray.data").setLevel(logging.INFO if progress else logging.ERROR)
    blocks = max(1, min(1000, math.ceil(len(files) / batch_size)))  # enough blocks to keep every actor busy
    ds = ray.data.from_items([{"path": p} for p in files], override_num_blocks=blocks)
    env = {"env_vars": {"AIVR_MODEL_DIR": model_dir}} if model_dir else None  # merged into the job's env_vars
    ds = ds.map_batches(PredictActor, batch_size=batch_size, batch_format="pyarrow", num_cpus=1, runtime_env=env,
                        compute=ray.data.ActorPoolStrategy(size=concurrency))
    for table in ds.iter_batches(batch_size=256, batch_format="pyarrow"):
        writer.write(table.to_pylist())
