"""Simulated generator artefacts: real photos passed through small up-sampling auto-encoders.

AutoGAN (Zhang, Karaman & Chang, WIFS 2019): every GAN and diffusion decoder ends in
up-sampling layers, and those leave periodic traces in the spectrum that no camera makes.
An auto-encoder whose decoder up-samples the same way (transposed convolutions, or nearest /
bilinear up-sampling followed by convolutions), trained on real faces, reproduces those
traces on any photo. Its reconstructions of real training photos become extra *AI* examples:
the same person, light and polish as the real photo, so the only thing that separates the pair
is the up-sampling itself. That is the evidence we want the detector to learn, and it needs no
generator weights. Each auto-encoder is small and trains in about a minute on a 2-core CPU.
"""

from __future__ import annotations

import time

import numpy as np

DECODERS = ("transposed", "nearest", "bilinear")
SIM_SOURCE = "sim_upsampler_autoencoder"
SIM_GENERATOR = "auto-encoder reconstruction (simulated up-sampling traces)"


def make_autoencoder(decoder: str, width: int = 24):
    """Fully convolutional: 2x down-sampling by a strided convolution, 2x up-sampling by ``decoder``.

    One resampling stage, not more: with two the reconstructions come out visibly soft after the
    minute of training we can afford, and softness, not up-sampling, would become the cue.
    """
    import keras
    from keras import layers

    x_in = keras.Input((None, None, 3), name="pixels")
    x = layers.Rescaling(1.0 / 255.0)(x_in)
    x = layers.Conv2D(width, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(width * 2, 4, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(width * 4, 3, padding="same", activation="relu")(x)
    for filters in (width * 2,):
        if decoder == "transposed":
            x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", activation="relu")(x)
        else:
            x = layers.UpSampling2D(2, interpolation=decoder)(x)
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(3, 3, padding="same", activation="sigmoid")(x)
    out = layers.Rescaling(255.0)(x)
    return keras.Model(x_in, out, name=f"ae_{decoder}")


def train_autoencoder(crops: np.ndarray, decoder: str, steps: int, seed: int, patch: int = 128, batch: int = 16):
    """Fit one auto-encoder (L1 loss) on random patches of ``crops`` (N, H, W, 3) uint8."""
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = make_autoencoder(decoder)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mae")
    n, h, w = crops.shape[:3]

    def patches():
        idx = rng.integers(0, n, batch)
        ys, xs = rng.integers(0, h - patch + 1, batch), rng.integers(0, w - patch + 1, batch)
        x = np.stack([crops[i, y : y + patch, x : x + patch] for i, y, x in zip(idx, ys, xs, strict=True)])
        return x.astype(np.float32)

    loss = float("nan")
    for _ in range(steps):
        x = patches()
        loss = float(model.train_on_batch(x, x))
    return model, loss


def reconstruct(model, images: list[np.ndarray], batch: int = 16) -> list[np.ndarray]:
    """The auto-encoder's version of each image (sizes kept; sides trimmed to even)."""
    out: list[np.ndarray] = []
    for i in range(0, len(images), batch):
        chunk = images[i : i + batch]
        h, w = (min(im.shape[0] for im in chunk) // 2) * 2, (min(im.shape[1] for im in chunk) // 2) * 2
        x = np.stack([im[:h, :w] for im in chunk]).astype(np.float32)
        y = model.predict_on_batch(x)
        out.extend(np.clip(np.rint(np.asarray(y)), 0, 255).astype(np.uint8))
    return out


def simulated_fakes(
    images: list[np.ndarray], y: np.ndarray, sources: list[str], n: int, steps: int, seed: int,
    focus: list[int] | None = None,
) -> tuple[list[np.ndarray], list[int], dict]:
    """``make_simulated_fakes``, cached on disk under a hash of its inputs: two runs of one recipe (a
    baseline and a candidate, or two folds with the same real photos) train the auto-encoders once."""
    import hashlib
    import json

    from .data import CACHE_DIR

    h = hashlib.sha256(json.dumps([n, steps, seed, list(focus or []), list(map(int, y)), list(sources)]).encode())
    for im in images:
        h.update(im[::16, ::16].tobytes())  # a sparse fingerprint of the pixels: cheap, and enough to tell
    path = CACHE_DIR / "simulated" / f"{h.hexdigest()[:24]}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            k = int(z["count"])
            log = json.loads(str(z["log"]))
            log["cached"] = True
            return [z[f"f{i}"] for i in range(k)], [int(v) for v in z["origin"]], log
    fakes, origin, log = make_simulated_fakes(images, y, sources, n, steps, seed, focus)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, count=len(fakes), origin=np.asarray(origin), log=json.dumps(log),
             **{f"f{i}": f for i, f in enumerate(fakes)})
    return fakes, origin, log


def make_simulated_fakes(
    images: list[np.ndarray], y: np.ndarray, sources: list[str], n: int, steps: int, seed: int,
    focus: list[int] | None = None,
) -> tuple[list[np.ndarray], list[int], dict]:
    """``n`` reconstructions of real training images (equal share per real source, one decoder each).

    ``focus``: indices of real images that are reconstructed by *every* decoder on top of the ``n``;
    they come last in the output, ``len(focus) * len(DECODERS)`` of them. They target the real photos
    whose look the network confuses with a generator's (FFHQ portraits vs StyleGAN): the same photo
    with and without up-sampling traces, so the look itself stops being evidence.
    Returns the new images, the indices of the real images they were made from, and a log.
    """
    t0 = time.time()
    rng = np.random.default_rng([seed, 4242])
    src = np.asarray(sources)
    real_sources = sorted(set(src[np.asarray(y) == 0]))
    per = max(1, n // len(real_sources))
    picked = np.concatenate([
        rng.permutation(np.flatnonzero((src == s) & (np.asarray(y) == 0)))[:per] for s in real_sources
    ])
    rng.shuffle(picked)
    same = [i for i in picked if images[i].shape[:2] == images[picked[0]].shape[:2]]
    fit_on = np.stack([images[i] for i in same[:1500]])
    log: dict = {"n": int(len(picked)), "decoders": {}, "steps_each": steps}
    fakes: list[np.ndarray] = [None] * len(picked)  # type: ignore[list-item]
    parts = np.array_split(np.arange(len(picked)), len(DECODERS))
    focus_fakes: list[np.ndarray] = []
    for k, (decoder, part) in enumerate(zip(DECODERS, parts, strict=True)):
        model, loss = train_autoencoder(fit_on, decoder, steps, seed + k)
        for j, img in zip(part, reconstruct(model, [images[picked[j]] for j in part]), strict=True):
            fakes[j] = img
        if focus:
            focus_fakes += reconstruct(model, [images[i] for i in focus])
        log["decoders"][decoder] = {"final_l1": round(loss, 2), "images": int(len(part)) + len(focus or [])}
        print(f"auto-encoder {decoder}: L1 {loss:.2f} after {steps} steps ({time.time() - t0:.0f}s)", flush=True)
    log["seconds"] = round(time.time() - t0)
    if focus:
        log["focus"] = int(len(focus_fakes))
    return fakes + focus_fakes, [int(i) for i in picked] + [int(i) for i in focus or []] * len(DECODERS), log
