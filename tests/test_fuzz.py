"""Property-based fuzzing of the intake path: only ImageError escapes, and what comes back is uint8 RGB.

Deterministic (``derandomize=True``, no example database written to disk). Iterations per
test are in ``EXAMPLES`` ($AIVR_FUZZ_EXAMPLES); time per input and the process's peak memory are bounded.
"""

from __future__ import annotations

import io
import os
import resource
import struct
import time
import zlib

import numpy as np
import pytest
from hostile import is_clean_message, png_chunk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from classifier import ImageError, load_image

# Pillow warns about the corrupt metadata it skips; the contract is about what escapes, not warnings.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore:overflow encountered:RuntimeWarning")

EXAMPLES = int(os.environ.get("AIVR_FUZZ_EXAMPLES", "300"))  # raise it for a longer fuzzing session
SECONDS_PER_INPUT = 10.0
PEAK_RSS_GROWTH_MB = 1500

FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _seed(fmt: str, **kwargs) -> bytes:
    rng = np.random.default_rng(7)
    a = np.zeros((40, 48, 3), np.uint8)
    a[:, :, 0] = np.linspace(0, 255, 48)
    a[:, :, 1] = np.linspace(0, 255, 40)[:, None]
    a[10:30, 12:36] = rng.integers(0, 256, (20, 24, 3))
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, fmt, **kwargs)
    return buf.getvalue()


SEEDS = {
    "jpeg": _seed("JPEG", quality=80),
    "progressive_jpeg": _seed("JPEG", quality=80, progressive=True),
    "png": _seed("PNG"),
    "gif": _seed("GIF"),
    "webp": _seed("WEBP", quality=80),
    "tiff": _seed("TIFF", compression="tiff_deflate"),
    "bmp": _seed("BMP"),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


CALLS: dict[str, int] = {}  # inputs tried per test (printed with -s; see test_zz_report)


def check_contract(data, tag: str) -> None:
    """The contract under fuzzing: an RGB uint8 array, or ImageError with a clean message, quickly."""
    CALLS[tag] = CALLS.get(tag, 0) + 1
    t0 = time.perf_counter()
    try:
        out = load_image(data)
    except ImageError as err:
        assert is_clean_message(err.message), err.message
    else:
        assert isinstance(out, np.ndarray) and out.dtype == np.uint8
        assert out.ndim == 3 and out.shape[2] == 3 and out.shape[0] >= 1 and out.shape[1] >= 1
    elapsed = time.perf_counter() - t0
    assert elapsed < SECONDS_PER_INPUT, f"one input took {elapsed:.1f} s"


@st.composite
def mutated(draw, seed: bytes):
    """A valid file with 1-8 random edits: flip, overwrite, insert, delete, truncate, duplicate."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "dup"]))
        n = len(data)
        if n == 0:
            break
        i = draw(st.integers(0, n - 1))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0xD8, 0xD9, 0xDA]))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[i:]
        else:
            j = draw(st.integers(i, min(n, i + 256)))
            data[j:j] = data[i:j]
    return bytes(data)


def test_fuzz_arbitrary_bytes():
    """Arbitrary bytes (with and without a real magic number in front) never escape as other errors."""
    magics = [b"", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBPVP8 ",
              b"II*\x00", b"MM\x00*", b"BM"]
    before = peak_rss_mb()

    @FUZZ
    @given(st.sampled_from(magics), st.binary(max_size=4096))
    def run(magic, tail):
        check_contract(magic + tail, "bytes")

    run()
    assert peak_rss_mb() - before < PEAK_RSS_GROWTH_MB


MUTATED = {  # what is mutated, and the contract label check_contract reports it under
    "jpeg": (["jpeg", "progressive_jpeg"], "jpeg"),  # baseline and progressive JPEGs
    "png": (["png"], "png"),  # bad CRCs, chunk lengths, IHDR fields
    "other": (["gif", "webp", "tiff", "bmp"], "other"),
}


@pytest.mark.parametrize("family", sorted(MUTATED))
def test_fuzz_mutated_files(family):
    """Mutated valid files of each format family: an image or an ImageError, nothing else."""
    seeds, label = MUTATED[family]
    before = peak_rss_mb()

    @FUZZ
    @given(st.sampled_from(seeds).flatmap(lambda k: mutated(SEEDS[k])))
    def run(data):
        check_contract(data, label)

    run()
    assert peak_rss_mb() - before < PEAK_RSS_GROWTH_MB


def test_fuzz_png_headers():
    """PNG headers claiming any size, depth and colour type (with valid CRCs) over tiny or empty data:
    refused or decoded, never a hang or an allocation beyond the pixel limit."""
    before = peak_rss_mb()

    @FUZZ
    @given(
        st.integers(0, 2**31 - 1) | st.integers(1, 9000),
        st.integers(0, 2**31 - 1) | st.integers(1, 9000),
        st.sampled_from([1, 2, 4, 8, 16, 3, 0, 32]),
        st.sampled_from([0, 2, 3, 4, 6, 1, 7]),
        st.integers(0, 2),
        st.binary(max_size=64),
    )
    def run(w, h, depth, colour, interlace, payload):
        ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace)
        chunks = [png_chunk(b"IHDR", ihdr)]
        if colour == 3:
            chunks.append(png_chunk(b"PLTE", bytes(range(48))))
        chunks.append(png_chunk(b"IDAT", zlib.compress(payload)))
        chunks.append(png_chunk(b"IEND", b""))
        check_contract(b"\x89PNG\r\n\x1a\n" + b"".join(chunks), "png_headers")

    run()
    assert peak_rss_mb() - before < PEAK_RSS_GROWTH_MB


def test_fuzz_arrays():
    """NumPy arrays of any dtype, shape and values: uint8 RGB out, or ImageError."""
    dtypes = st.sampled_from([np.uint8, np.uint16, np.int16, np.int32, np.int64, np.float16, np.float32,
                              np.float64, np.bool_, np.complex64, np.uint32])
    shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=64)

    @FUZZ
    @given(dtypes.flatmap(lambda dt: hnp.arrays(dt, shapes)))
    def run(arr):
        check_contract(arr, "arrays")

    run()


def test_zz_report():
    """Every fuzz test really ran (close to) its examples; prints the counts."""
    print(f"\nfuzz inputs tried: {CALLS} (total {sum(CALLS.values())})")
    for tag, n in CALLS.items():
        assert n >= EXAMPLES * 0.8, (tag, n)
