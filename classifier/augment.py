"""Training augmentation aimed at the dataset's shortcuts, applied to both classes.

Each real source differs from the AI sources in something that has nothing to
do with generation: UTKFace is soft, LFW is grayscale, Human Faces was squashed,
tight crops vs head-and-shoulders, one JPEG pass vs two. Each transform below
destroys one of those cues, so the network has to find another.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .faces import Box, crop_box, cut, resize_to_input


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges; the defaults are what the shipped model used."""

    crop_scale: tuple[float, float] = (0.75, 1.3)  # crop side relative to the standard crop
    crop_shift: float = 0.1  # fraction of the crop side
    aspect: tuple[float, float] = (0.85, 1.18)  # width/height squash
    p_rescale: float = 0.4  # down- then up-scale (resolution history)
    rescale: tuple[float, float] = (0.3, 0.9)
    p_blur: float = 0.3
    blur_sigma: tuple[float, float] = (0.3, 2.0)
    p_sharpen: float = 0.15
    p_colour: float = 0.6
    p_noise: float = 0.25  # sensor noise, as in webcam frames
    noise_sigma: tuple[float, float] = (1.0, 8.0)
    p_jpeg: float = 0.6
    jpeg_quality: tuple[int, int] = (30, 95)
    p_flip: float = 0.5


def jittered_crop(rgb: np.ndarray, face: Box | None, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """The standard crop, randomly scaled, shifted and squashed."""
    h, w = rgb.shape[:2]
    base = crop_box(face, rgb.shape)
    side = base.w * rng.uniform(*cfg.crop_scale)
    ratio = rng.uniform(*cfg.aspect)
    cw, ch = side * np.sqrt(ratio), side / np.sqrt(ratio)
    cw, ch = min(cw, w), min(ch, h)
    cx = base.x + base.w / 2 + rng.uniform(-1, 1) * cfg.crop_shift * side
    cy = base.y + base.h / 2 + rng.uniform(-1, 1) * cfg.crop_shift * side
    x0 = int(np.clip(cx - cw / 2, 0, w - cw))
    y0 = int(np.clip(cy - ch / 2, 0, h - ch))
    return cut(rgb, Box(x0, y0, max(2, int(cw)), max(2, int(ch))))


def _rescale(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    h, w = img.shape[:2]
    f = rng.uniform(*cfg.rescale)
    small = cv2.resize(img, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
    interp = (cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST)[rng.integers(3)]
    return cv2.resize(small, (w, h), interpolation=interp)


def _colour(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = img.astype(np.float32)
    gray = f.mean(axis=2, keepdims=True)
    f = gray + (f - gray) * rng.uniform(0.6, 1.4)  # saturation
    f = (f - f.mean()) * rng.uniform(0.75, 1.3) + f.mean() + rng.uniform(-25, 25)  # contrast, brightness
    f = f * rng.uniform(0.92, 1.08, size=3)  # white balance
    return np.clip(f, 0, 255).astype(np.uint8)


def to_gray(img: np.ndarray) -> np.ndarray:
    """Grayscale kept as three channels, as LFW is stored."""
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return np.repeat(g[:, :, None], 3, axis=2)


def is_gray(img: np.ndarray) -> bool:
    """True when the three channels agree (within JPEG noise) on a sparse grid of pixels."""
    s = img[::4, ::4].astype(np.int16)
    return bool(np.abs(s[:, :, 0] - s[:, :, 1]).max() <= 2 and np.abs(s[:, :, 1] - s[:, :, 2]).max() <= 2)


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode as JPEG at ``quality`` (used by augmentation and robustness tests)."""
    ok, enc = cv2.imencode(".jpg", img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(enc, cv2.IMREAD_COLOR)[:, :, ::-1]


def augment(
    rgb: np.ndarray,
    face: Box | None,
    size: int,
    rng: np.random.Generator,
    p_gray: float,
    cfg: AugmentConfig = AugmentConfig(),
) -> np.ndarray:
    """One random training view of ``rgb`` as a ``size`` x ``size`` uint8 crop."""
    img = np.ascontiguousarray(jittered_crop(rgb, face, rng, cfg))
    if rng.random() < cfg.p_rescale:
        img = _rescale(img, rng, cfg)
    if rng.random() < cfg.p_blur:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(*cfg.blur_sigma))
    elif rng.random() < cfg.p_sharpen:
        soft = cv2.GaussianBlur(img, (0, 0), 1.0)
        img = cv2.addWeighted(img, 1.6, soft, -0.6, 0)
    if rng.random() < cfg.p_colour:
        img = _colour(img, rng)
    if rng.random() < p_gray:
        img = to_gray(img)
    if rng.random() < cfg.p_noise:
        noise = rng.normal(0, rng.uniform(*cfg.noise_sigma), img.shape)
        img = np.clip(img + noise, 0, 255).astype(np.uint8)
    img = resize_to_input(img, size)
    if rng.random() < cfg.p_jpeg:
        img = jpeg_roundtrip(img, rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
    if rng.random() < cfg.p_flip:
        img = img[:, ::-1]
    return np.ascontiguousarray(img)
