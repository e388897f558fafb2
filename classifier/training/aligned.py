"""Aligned fakes: real training photos round-tripped through real latent-diffusion decoders, cached.

Why: the AI sources we have differ from the real ones in *everything* (people, light, polish, crop),
so a network can separate them without learning what a generator leaves behind. An aligned fake is
the same photo after one family's encoder and decoder (``taesd.py``): only the decoder's traces
differ, so those traces are the only evidence left to learn. Rajan et al. (ICLR 2025) and B-Free
(Guillaro et al., CVPR 2025) show such pairs generalise to generators never trained on.

Deterministic and generated once: which photos each family gets depends only on the seed and the
manifest, each fake is cached under ``.cache/aligned/<family>/`` by the hash of its real photo's
pixels, and the fake is saved as a quality-90 JPEG, the format of every image in the dataset, so
"no JPEG history" cannot become a shortcut for the AI class.
"""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from . import esrgan
from .data import CACHE_DIR
from .taesd import FAMILIES

# Every family that makes aligned fakes: the five latent-diffusion decoders, then the GAN up-sampler.
KNOWN_FAMILIES: tuple[str, ...] = (*FAMILIES, esrgan.FAMILY)


class FakeMaker(Protocol):
    """What every family's fake maker offers (``taesd.RoundTrip``, ``esrgan.RoundTrip``)."""

    def uint8(self, images: list[np.ndarray], batch: int = ...) -> list[np.ndarray]: ...


ALIGNED_SOURCE = "aligned_ldm_decoders"  # one AI-class sampling group for every family's fakes
SAVED_QUALITY = 90  # the dataset's JPEG quality (its README)
CACHE_VERSION = "v1"  # bump when the port or the saving changes, so stale fakes are never reused


def source_name(family: str) -> str:
    """The per-family source name of a fake (reported per decoder; sampled as ``ALIGNED_SOURCE``)."""
    return f"aligned_{family}"


def pixel_key(img: np.ndarray) -> str:
    """A content hash of the real photo's pixels: the cache key, stable across paths and machines."""
    h = hashlib.sha256(f"{CACHE_VERSION}|{img.shape}".encode())
    h.update(np.ascontiguousarray(img).tobytes())
    return h.hexdigest()[:24]


def as_saved(img: np.ndarray) -> np.ndarray:
    """The fake as the dataset stores images: JPEG quality 90, decoded again."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=SAVED_QUALITY)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def pick_photos(y: np.ndarray, sources: list[str], families: tuple[str, ...], per_family: int,
                seed: int) -> dict[str, np.ndarray]:
    """Disjoint sets of real photos per family, equal shares per real source (more people, each paired once).

    The photos are dealt to *every* known family and then the requested ones are kept, so a fold that
    leaves a decoder out pairs the others with the same photos as a run that uses all (cache hits)."""
    rng = np.random.default_rng([seed, 777])
    src = np.asarray(sources)
    real = np.asarray(y) == 0
    real_sources = sorted(set(src[real]))

    def equal_shares(gen: np.random.Generator, per_source: int) -> np.ndarray:
        # up to ``per_source`` random real photos of every real source, in source order
        return np.concatenate([gen.permutation(np.flatnonzero((src == s) & real))[:per_source] for s in real_sources])

    every = tuple(FAMILIES)
    picked = equal_shares(rng, max(1, per_family * len(every) // len(real_sources)))
    rng.shuffle(picked)
    dealt = np.array_split(picked[: per_family * len(every)], len(every))
    out = {f: np.sort(part) for f, part in zip(every, dealt, strict=True) if f in families}
    # A family outside the decoders' deal draws its own photos (same equal shares), so adding one never
    # changes which photos the decoders pair with, and their cached fakes stay valid.
    for f in (f for f in families if f not in every):
        own = np.random.default_rng([seed, 777, KNOWN_FAMILIES.index(f)])
        idx = equal_shares(own, max(1, -(-per_family // len(real_sources))))
        out[f] = np.sort(own.permutation(idx)[:per_family])
    return out


def round_trip(family: str) -> FakeMaker:
    """The family's fake maker (``.uint8(images, batch)``): the GAN up-sampler or a decoder's round trip."""
    if family == esrgan.FAMILY:
        return esrgan.RoundTrip()
    from .taesd import RoundTrip  # TensorFlow: only when a fake must be made

    return RoundTrip(family)


def cached_round_trips(family: str, images: list[np.ndarray], cache_dir: Path | None = None,
                       batch: int = 16) -> tuple[list[np.ndarray], int]:
    """Each image's aligned fake by ``family``, from the cache where present; returns (fakes, newly made)."""
    folder = (cache_dir or CACHE_DIR / "aligned") / family
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{pixel_key(im)}.jpg" for im in images]
    todo = [k for k, p in enumerate(paths) if not p.is_file()]
    if todo:
        trip = round_trip(family)
        for s in range(0, len(todo), 256):  # write as we go: an interrupted run keeps what it made
            part = todo[s:s + 256]
            for k, fake in zip(part, trip.uint8([images[k] for k in part], batch=batch), strict=True):
                Image.fromarray(fake).save(paths[k], format="JPEG", quality=SAVED_QUALITY)
            print(f"  aligned {family}: {min(s + 256, len(todo))}/{len(todo)} made", flush=True)
    return [np.asarray(Image.open(p).convert("RGB")) for p in paths], len(todo)


def with_focus(picks: dict[str, np.ndarray], focus: list[int] | None) -> dict[str, np.ndarray]:
    """Each family's picks plus every ``focus`` photo (once): the photos whose look a generator imitates get a
    fake by every decoder, so that look stops being evidence for *real*. Pure."""
    if not focus:
        return picks
    return {f: np.union1d(idx, np.asarray(focus, dtype=int)) for f, idx in picks.items()}


def aligned_fakes(images: list[np.ndarray], y: np.ndarray, sources: list[str], families: tuple[str, ...],
                  per_family: int, seed: int, cache_dir: Path | None = None, focus: list[int] | None = None
                  ) -> tuple[list[np.ndarray], list[int], list[str], dict]:
    """Aligned fakes of real training photos: (fakes, index of each fake's real photo, its family, log).

    ``focus``: indices of real photos that every family round-trips on top of its ``per_family`` share."""
    t0 = time.time()
    fakes: list[np.ndarray] = []
    origin: list[int] = []
    family_of: list[str] = []
    log: dict = {"families": {}, "per_family": per_family, "focus_photos": len(focus or []),
                 "jpeg_quality": SAVED_QUALITY}
    for family, idx in with_focus(pick_photos(y, sources, families, per_family, seed), focus).items():
        t = time.time()
        made, new = cached_round_trips(family, [images[i] for i in idx], cache_dir)
        fakes += made
        origin += [int(i) for i in idx]
        family_of += [family] * len(made)
        log["families"][family] = {"images": len(made), "generated": new,
                                   "generation_seconds": round(time.time() - t, 1)}
        print(f"aligned fakes {family}: {len(made)} ({new} generated, {time.time() - t:.0f}s)", flush=True)
    log["seconds"] = round(time.time() - t0, 1)
    return fakes, origin, family_of, log
