"""``python -m classifier scan``: the files to scan, the in-process engine, and the CSV/Parquet writer.

Both engines (this one, and Ray in ``scan_ray.py``) list files with ``list_images``, turn results
into rows with ``rows.scan_row`` and write them through ``ScanWriter``, so their outputs have the
same columns and the same values. Rows are written as they come: memory stays flat on any folder.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from pathlib import Path

from .images import UPLOAD_EXTENSIONS
from .rows import SCAN_COLUMNS, predict_one, scan_row

IMAGE_SUFFIXES = {f".{ext}" for ext in UPLOAD_EXTENSIONS}  # the formats intake decodes


def list_images(root: str | Path) -> list[str]:
    """Image files under ``root`` (recursively, by extension), sorted: the scan's row order."""
    return sorted(str(p) for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def parquet_schema():
    import pyarrow as pa

    return pa.schema([("path", pa.string()), ("verdict", pa.string()), ("p_ai", pa.float64()),
                      ("faces", pa.int32()), ("warnings", pa.string()), ("error", pa.string()),
                      ("provenance", pa.string())])


class ScanWriter:
    """Rows to ``out``: Parquet when it ends in ``.parquet`` (pyarrow, typed, nulls), else CSV.

    A Parquet file is written in row groups as rows arrive, so neither format needs every row in
    memory. In CSV a missing value (an error's verdict, say) is an empty cell, as before.
    """

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.parquet = self.out.suffix.lower() == ".parquet"
        self.count = 0
        self.failures = 0
        self._buffer: list[dict] = []
        if self.parquet:
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self.out, parquet_schema())
        else:
            self._file = open(self.out, "w", newline="")  # closed in close()
            self._csv = csv.DictWriter(self._file, fieldnames=SCAN_COLUMNS)
            self._csv.writeheader()

    def write(self, rows: Iterable[dict]) -> None:
        for row in rows:
            self.count += 1
            self.failures += row["error"] is not None
            if self.parquet:
                self._buffer.append(row)
            else:
                self._csv.writerow(row)
        if self.parquet and len(self._buffer) >= 1024:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._buffer:
            self._writer.write_table(pa.Table.from_pylist(self._buffer, schema=parquet_schema()))
            self._buffer = []

    def close(self) -> None:
        if self.parquet:
            self._flush()
            self._writer.close()
        else:
            self._file.close()

    def __enter__(self) -> ScanWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def scan_in_process(clf, files: list[str], writer: ScanWriter, progress: bool = True) -> None:
    """Classify ``files`` one by one in this process (the default engine: no Ray needed)."""
    from tqdm import tqdm

    for path in tqdm(files, unit="img", file=sys.stderr, disable=not progress):
        writer.write([scan_row(path, *predict_one(clf, path))])


def report(writer: ScanWriter, seconds: float, engine: str) -> str:
    """The summary line the scan prints on stderr, throughput included."""
    rate = writer.count / seconds if seconds > 0 else float("inf")
    return (f"{writer.count} images, {writer.failures} failed, {seconds:.1f} s, {rate:.1f} images/s "
            f"({engine}) -> {writer.out}")

