"""The tiny latent-diffusion autoencoders (TAESD family), ported to Keras, for aligned fakes.

Every latent-diffusion generator (SD 1.x/2.x, SDXL, SD3, FLUX.1, FLUX.2 and their fine-tunes) makes
its pixels with its VAE decoder: three rounds of nearest-neighbour doubling and convolutions. A real
photo encoded and decoded by one of these distilled autoencoders is an *aligned* fake: the same
person, light and polish, differing only in the decoder's traces (the B-Free / Rajan et al. recipe).
Training-time only: the weights live in ``../shared/weights/taesd`` and never ship with the app.

The architecture is the public one of ``madebyollin/taesd``: 3x3 convolutions with padding 1,
residual ``Block``s, stride-2 convolutions down, nearest up-sampling; TAEF2 adds a GroupNorm branch
to its mid blocks. Torch's stride-2 convolution pads one pixel on every side, so it is written as an
explicit zero pad and a ``valid`` convolution (Keras' ``same`` would pad only bottom/right).
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backbone import _RestrictedUnpickler

# ``$AIVR_WEIGHTS/taesd`` where set, else the shared folder beside the repository.
SHARED_WEIGHTS = Path(__file__).resolve().parents[3] / "shared" / "weights"
WEIGHTS_DIR = Path(os.environ.get("AIVR_WEIGHTS") or SHARED_WEIGHTS) / "taesd"


@dataclass(frozen=True)
class Family:
    """One latent-diffusion family: its autoencoder files and latent shape."""

    name: str
    mimics: str
    encoder: str
    decoder: str
    latent_channels: int
    midblock_gn: bool = False  # TAEF2: GroupNorm branch in the encoder's last / decoder's first 3 blocks


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("taesd", "Stable Diffusion 1.x / 2.x VAE", "taesd_encoder.safetensors", "taesd_decoder.safetensors", 4),
    Family("taesdxl", "SDXL VAE", "taesdxl_encoder.safetensors", "taesdxl_decoder.safetensors", 4),
    Family("taesd3", "SD3 VAE", "taesd3_encoder.safetensors", "taesd3_decoder.safetensors", 16),
    Family("taef1", "FLUX.1 VAE", "taef1_encoder.safetensors", "taef1_decoder.safetensors", 16),
    Family("taef2", "FLUX.2 VAE", "taef2_encoder.pth", "taef2_decoder.pth", 32, midblock_gn=True),
)}


# --- reading the weight files (no torch, no code execution) -------------------------------------------

def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """A safetensors file as float32 arrays (bf16/f16/f32): an 8-byte header length, a JSON header, raw data."""
    import ml_dtypes

    dtypes = {"BF16": ml_dtypes.bfloat16, "F16": np.float16, "F32": np.float32}
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    body = memoryview(raw)[8 + n:]
    out = {}
    for key, meta in header.items():
        if key == "__metadata__":
            continue
        lo, hi = meta["data_offsets"]
        arr = np.frombuffer(body[lo:hi], dtype=dtypes[meta["dtype"]]).reshape(meta["shape"])
        out[key] = arr.astype(np.float32)
    return out


class _ZipUnpickler(_RestrictedUnpickler):
    """The restricted unpickler, with storages read from the zip archive's ``data/<key>`` entries."""

    def __init__(self, f, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(f, {})
        self.archive, self.prefix = archive, prefix

    def persistent_load(self, pid):
        st = super().persistent_load(pid)
        if st.data is None:
            st.data = np.frombuffer(self.archive.read(f"{self.prefix}data/{pid[2]}"), dtype=st.dtype)
        return st


def read_zip_torch_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """A torch >= 1.6 (zip) ``state_dict`` as float32 arrays, through the same restricted unpickler."""
    with zipfile.ZipFile(path) as archive:
        pkl = next(n for n in archive.namelist() if n.endswith("data.pkl"))
        prefix = pkl[: -len("data.pkl")]
        state = _ZipUnpickler(io.BytesIO(archive.read(pkl)), archive, prefix).load()
        return {k: v.to_numpy().astype(np.float32) for k, v in state.items()}


def read_weights(path: str | Path) -> dict[str, np.ndarray]:
    """Either format, keys without any ``encoder.layers.`` / ``decoder.layers.`` prefix."""
    state = read_safetensors(path) if str(path).endswith(".safetensors") else read_zip_torch_state_dict(path)
    return {k.split("layers.", 1)[-1]: v for k, v in state.items()}


# --- the networks --------------------------------------------------------------------------------------

def _conv(x, state: dict, key: str, kernel: int = 3, stride: int = 1, relu: bool = False):
    import keras

    w = state[f"{key}.weight"]
    bias = f"{key}.bias" in state
    if stride == 2:
        x = keras.layers.ZeroPadding2D(1)(x)
    layer = keras.layers.Conv2D(w.shape[0], kernel, strides=stride, use_bias=bias,
                                padding="valid" if stride == 2 or kernel == 1 else "same",
                                activation="relu" if relu else None)
    y = layer(x)
    layer.set_weights([w.transpose(2, 3, 1, 0)] + ([state[f"{key}.bias"]] if bias else []))
    return y


def _block(x, state: dict, key: str):
    """conv-ReLU-conv-ReLU-conv plus the input, then ReLU; TAEF2's mid blocks first add a GroupNorm branch."""
    import keras

    if f"{key}.pool.0.weight" in state:
        g = _conv(x, state, f"{key}.pool.0", kernel=1)
        gn = keras.layers.GroupNormalization(groups=4, epsilon=1e-5)
        g = gn(g)
        gn.set_weights([state[f"{key}.pool.1.weight"], state[f"{key}.pool.1.bias"]])
        g = _conv(keras.layers.ReLU()(g), state, f"{key}.pool.3", kernel=1)
        x = keras.layers.Add()([x, g])
    h = _conv(x, state, f"{key}.conv.0", relu=True)
    h = _conv(h, state, f"{key}.conv.2", relu=True)
    h = _conv(h, state, f"{key}.conv.4")
    return keras.layers.ReLU()(keras.layers.Add()([h, x]))


def make_encoder(state: dict):
    """Image in [0, 1] (NHWC, sides a multiple of 8) -> latents at 1/8 size."""
    import keras

    inp = keras.Input((None, None, 3))
    x = _conv(inp, state, "0")
    x = _block(x, state, "1")
    i = 2
    for _ in range(3):
        x = _conv(x, state, str(i), stride=2)
        for j in range(1, 4):
            x = _block(x, state, str(i + j))
        i += 4
    return keras.Model(inp, _conv(x, state, str(i)), name="taesd_encoder")


def make_decoder(state: dict, latent_channels: int):
    """Latents -> image (unclamped; the round trip clips to [0, 1])."""
    import keras

    inp = keras.Input((None, None, latent_channels))
    x = keras.layers.Lambda(lambda t: keras.ops.tanh(t / 3.0) * 3.0)(inp)
    x = _conv(x, state, "1", relu=True)
    i = 3
    for _ in range(3):
        for j in range(3):
            x = _block(x, state, str(i + j))
        x = keras.layers.UpSampling2D(2, interpolation="nearest")(x)
        x = _conv(x, state, str(i + 4))
        i += 5
    x = _block(x, state, str(i))
    return keras.Model(inp, _conv(x, state, str(i + 1)), name="taesd_decoder")


class RoundTrip:
    """Encode then decode with one family's autoencoder: a real photo in, its aligned fake out."""

    def __init__(self, family: str, weights_dir: str | Path = WEIGHTS_DIR) -> None:
        fam = FAMILIES[family]
        if not (Path(weights_dir) / fam.encoder).is_file():
            raise RuntimeError(f"aligned fakes need the {family} autoencoder in {weights_dir} (the shared "
                               "weights folder, or $AIVR_WEIGHTS/taesd); train with --aligned none without them")
        self.family = fam
        self.encoder = make_encoder(read_weights(Path(weights_dir) / fam.encoder))
        self.decoder = make_decoder(read_weights(Path(weights_dir) / fam.decoder), fam.latent_channels)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Float images in [0, 1], NHWC with sides a multiple of 8 -> the decoded images, clipped to [0, 1]."""
        latents = self.encoder.predict_on_batch(images.astype(np.float32))
        return np.clip(self.decoder.predict_on_batch(latents), 0.0, 1.0)

    def uint8(self, images: list[np.ndarray], batch: int = 16) -> list[np.ndarray]:
        """uint8 RGB images of any size -> their round trips, same size (edge-padded to a multiple of 8)."""
        out: list[np.ndarray | None] = [None] * len(images)
        for shape in sorted({im.shape for im in images}):
            idx = [k for k, im in enumerate(images) if im.shape == shape]
            h, w = shape[:2]
            ph, pw = -h % 8, -w % 8
            for s in range(0, len(idx), batch):
                part = np.stack([images[k] for k in idx[s:s + batch]]).astype(np.float32) / 255.0
                if ph or pw:
                    part = np.pad(part, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
                for k, im in zip(idx[s:s + batch], self(part)[:, :h, :w], strict=True):
                    out[k] = np.rint(im * 255.0).astype(np.uint8)
        return out  # type: ignore[return-value]
