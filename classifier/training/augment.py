"""Training augmentation aimed at the dataset's shortcuts, applied to both classes.

Each real source differs from the AI sources in something that has nothing to
do with generation: UTKFace is soft, LFW is grayscale, Human Faces was squashed,
tight crops vs head-and-shoulders, one JPEG pass vs two. Each transform below
destroys one of those cues, so the network has to find another.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from ..faces import LEGACY_FRAMING, Box, Framing, crop_box, cut, resize_to_input


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
    # Alignment is not a cue: FFHQ-style generators emit eyes at fixed positions and upright heads.
    p_rotate: float = 0.5
    rotate_deg: float = 12.0
    # "Polish" is a property of both classes: studio looks applied to real and AI images alike
    # (skin smoothing, portrait-mode background blur, colour grading, strong sharpening,
    # upscaling), so that a retouched real photo is not evidence of generation.
    p_polish: float = 0.5
    # Small faces: a press, group or street photo shows a face 30-70 px wide inside the native-pixel
    # window (faces.Framing.min_side), while the dataset's faces fill half the image. With this
    # probability the image is shrunk until the face is ``zoom_face_px`` wide and its surroundings
    # are mirrored out to the window, so small faces are not out of distribution. 0: off (before 2.10).
    p_zoom_out: float = 0.0
    zoom_face_px: tuple[float, float] = (30.0, 72.0)
    # Close crops: a profile picture or a cropped-in portrait holds less than the network's window, so the app
    # enlarges it; enlarged AI faces scored low (the close_crop check, 2.8.0: -11.7 points). With this
    # probability the crop's side is drawn from ``close_scale`` instead, so the view is enlarged as such a
    # picture is. 0: off (before 2.9).
    p_close: float = 0.0
    close_scale: tuple[float, float] = (0.5, 0.75)
    # Caption bars: a band of text above or below the photo (a meme, a post). White edges with text are a
    # real-photo cue in the data (the caption_bar check, 2.8.0: -5.2 points). 0: off (before 2.9).
    p_caption: float = 0.0

    def degraded(self, scale: float) -> AugmentConfig:
        """The same augmentation with the detail-destroying steps (down/up-scaling, blur, noise, JPEG) ``scale``
        times as likely: below 1 the network sees more of the fine pixel traces generators leave."""
        return dataclasses.replace(self, p_rescale=self.p_rescale * scale, p_blur=self.p_blur * scale,
                                   p_noise=self.p_noise * scale, p_jpeg=self.p_jpeg * scale)


def zoom_out(rgb: np.ndarray, face: Box, rng: np.random.Generator, cfg: AugmentConfig,
             min_side: int) -> tuple[np.ndarray, Box]:
    """The image shrunk so the face is ``cfg.zoom_face_px`` wide, set (at a random place, edges feathered)
    into a ``min_side`` canvas: a smooth backdrop made from the image's own colours (its 4x4 thumbnail
    enlarged, plus a little noise), so no content comes from another image. Returns the new image and
    the face's box in it."""
    f = rng.uniform(*cfg.zoom_face_px) / max(face.w, face.h)
    h, w = rgb.shape[:2]
    sw, sh = max(8, round(w * f)), max(8, round(h * f))
    if f >= 1.0 or (sw >= min_side and sh >= min_side):
        return rgb, face
    cw, ch = max(sw, min_side), max(sh, min_side)
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    thumb = cv2.resize(rgb, (4, 4), interpolation=cv2.INTER_AREA)
    scene = cv2.resize(thumb, (cw, ch), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    scene += rng.normal(0.0, rng.uniform(0.5, 3.0), scene.shape).astype(np.float32)
    left, top = int(rng.integers(cw - sw + 1)), int(rng.integers(ch - sh + 1))
    mask = np.zeros((ch, cw), np.float32)
    mask[top : top + sh, left : left + sw] = 1.0
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.04 * min(sw, sh)))[:, :, None]
    placed = scene.copy()
    placed[top : top + sh, left : left + sw] = small
    out = np.clip(placed * mask + scene * (1 - mask), 0, 255).astype(np.uint8)
    box = Box(int(face.x * f) + left, int(face.y * f) + top, max(2, round(face.w * f)), max(2, round(face.h * f)),
              face.score)
    return out, box


def jittered_crop(
    rgb: np.ndarray, face: Box | None, rng: np.random.Generator, cfg: AugmentConfig, framing: Framing = LEGACY_FRAMING
) -> np.ndarray:
    """The standard crop, randomly scaled, shifted and squashed."""
    h, w = rgb.shape[:2]
    base = crop_box(face, rgb.shape, framing)
    close = bool(cfg.p_close) and rng.random() < cfg.p_close  # drawn only when on: older recipes replay
    side = base.w * rng.uniform(*(cfg.close_scale if close else cfg.crop_scale))
    ratio = rng.uniform(*cfg.aspect)
    cw, ch = side * np.sqrt(ratio), side / np.sqrt(ratio)
    cw, ch = min(cw, w), min(ch, h)
    cx = base.x + base.w / 2 + rng.uniform(-1, 1) * cfg.crop_shift * side
    cy = base.y + base.h / 2 + rng.uniform(-1, 1) * cfg.crop_shift * side
    x0 = int(np.clip(cx - cw / 2, 0, w - cw))
    y0 = int(np.clip(cy - ch / 2, 0, h - ch))
    return cut(rgb, Box(x0, y0, max(2, int(cw)), max(2, int(ch))))


def _rotate(rgb: np.ndarray, face: Box | None, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Rotate the whole image about the face centre (mirrored borders), before cropping."""
    h, w = rgb.shape[:2]
    c = (face.x + face.w / 2, face.y + face.h / 2) if face else (w / 2, h / 2)
    m = cv2.getRotationMatrix2D(c, float(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg)), 1.0)
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


# Flat edges are not a cue. In the data a flat black or white edge is almost only real: SCUT-FBP5500's
# white backdrops (99.5 % of its photos), the black padding of LFW and the mask-free set (41-54 %), against
# 0-9 % of any AI source. 2.8.0 learnt "flat edge = real": a 6 px white frame turned 93 % of boredhumans'
# StyleGAN test images caught into 3 %, and a photo placed on a canvas into 0 % (2026-12-03).
FRAME_COLOURS = ("black", "white", "light", "dark", "any")


def frame_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A frame's colour: black, white, a light or dark gray, or any colour, equally often."""
    kind = FRAME_COLOURS[int(rng.integers(len(FRAME_COLOURS)))]
    if kind == "any":
        return tuple(int(v) for v in rng.integers(0, 256, 3))
    v = {"black": 0, "white": 255, "light": int(rng.integers(200, 250)), "dark": int(rng.integers(10, 80))}[kind]
    return (v, v, v)


def framed(rgb: np.ndarray, top: int, bottom: int, left: int, right: int,
           colour: tuple[int, int, int]) -> np.ndarray:
    """``rgb`` with flat bands of ``colour`` added on its sides (a frame, or letterbox bars)."""
    return cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_CONSTANT, value=colour)


def on_canvas(rgb: np.ndarray, scale: float, colour: tuple[int, int, int],
              at: tuple[float, float] = (0.5, 0.5)) -> tuple[np.ndarray, tuple[int, int]]:
    """``rgb`` shrunk by ``scale`` and pasted on a flat canvas of its own size; ``at`` places it (0-1 of the
    free room, x then y). Returns the canvas and the pasted image's top-left corner."""
    h, w = rgb.shape[:2]
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    x0, y0 = round((w - sw) * at[0]), round((h - sh) * at[1])
    canvas = np.empty_like(rgb)
    canvas[:] = colour
    canvas[y0 : y0 + sh, x0 : x0 + sw] = small
    return canvas, (x0, y0)


def add_frame(rgb: np.ndarray, face: Box | None, rng: np.random.Generator) -> tuple[np.ndarray, Box | None]:
    """A random flat frame, letterbox bars or canvas around the image, and the face box moved to match."""
    h, w = rgb.shape[:2]
    colour = frame_colour(rng)
    kind = int(rng.integers(3))
    if kind == 2:  # pasted, smaller, on a canvas
        scale = float(rng.uniform(0.6, 0.95))
        out, (x0, y0) = on_canvas(rgb, scale, colour, (float(rng.random()), float(rng.random())))
        moved = face and Box(round(x0 + face.x * scale), round(y0 + face.y * scale),
                             max(1, round(face.w * scale)), max(1, round(face.h * scale)), face.score)
        return out, moved
    if kind == 0:  # a frame on every side
        t = max(1, round(rng.uniform(0.01, 0.08) * min(h, w)))
        top = bottom = left = right = t
    elif rng.random() < 0.5:  # letterbox bars above and below
        top = bottom = max(1, round(rng.uniform(0.05, 0.25) * h))
        left = right = 0
    else:  # pillarbox bars left and right
        left = right = max(1, round(rng.uniform(0.05, 0.25) * w))
        top = bottom = 0
    moved = face and Box(face.x + left, face.y + top, face.w, face.h, face.score)
    return framed(rgb, top, bottom, left, right, colour), moved


CAPTION_WORDS = ("look", "at", "this", "photo", "me", "today", "new", "profile", "pic", "when", "you", "the",
                 "best", "day", "ever", "lol", "2024", "my", "friend", "who", "is", "she", "he", "real", "or", "not")
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
         cv2.FONT_HERSHEY_PLAIN)


def add_caption(rgb: np.ndarray, face: Box | None, rng: np.random.Generator) -> tuple[np.ndarray, Box | None]:
    """A caption band above or below the photo: a flat colour (``frame_colour``) a tenth to a quarter of its
    height, with a line or two of random words in a contrasting colour; the face box moves with the photo."""
    h, w = rgb.shape[:2]
    bh = max(12, round(rng.uniform(0.1, 0.25) * h))
    colour = frame_colour(rng)
    band = np.empty((bh, w, 3), np.uint8)
    band[:] = colour
    ink = (20, 20, 20) if sum(colour) > 380 else (235, 235, 235)
    lines = int(rng.integers(1, 3))
    font = FONTS[int(rng.integers(len(FONTS)))]
    scale = max(0.3, bh / lines / 40 * rng.uniform(0.7, 1.2))
    for k in range(lines):
        text = " ".join(rng.choice(CAPTION_WORDS, int(rng.integers(2, 7))))
        y = round(bh * (k + 0.75) / lines)
        cv2.putText(band, text, (int(rng.integers(2, max(3, w // 8))), y), font, scale, ink,
                    max(1, round(scale * 2)), cv2.LINE_AA)
    if rng.random() < 0.5:  # below the photo
        return np.vstack([rgb, band]), face
    moved = face and Box(face.x, face.y + bh, face.w, face.h, face.score)
    return np.vstack([band, rgb]), moved


def _skin_smooth(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A beauty filter: edge-preserving smoothing blended over the original."""
    smooth = cv2.bilateralFilter(img, int(rng.choice([5, 7, 9])), float(rng.uniform(20, 60)), float(rng.uniform(3, 9)))
    alpha = float(rng.uniform(0.5, 1.0))
    return cv2.addWeighted(smooth, alpha, img, 1 - alpha, 0)


def _background_blur(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Portrait mode: the head stays sharp inside a feathered ellipse, the rest is blurred."""
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.float32)
    centre = (int(w * rng.uniform(0.42, 0.58)), int(h * rng.uniform(0.4, 0.55)))
    axes = (int(w * rng.uniform(0.22, 0.34)), int(h * rng.uniform(0.3, 0.45)))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(2.0, 0.06 * w))[:, :, None]
    blurred = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(2.0, 6.0)))
    return (img * mask + blurred * (1 - mask)).astype(np.uint8)


def _grade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour grading: an S-curve on tones plus a warm/cool split tone, as editing apps do."""
    x = np.arange(256, dtype=np.float32) / 255.0
    k = rng.uniform(0.0, 0.35)
    curve = x + k * (x - 0.5) * (1 - np.abs(2 * x - 1)) * 2  # stronger contrast in the midtones
    lut = np.clip(curve * 255, 0, 255).astype(np.uint8)
    out = cv2.LUT(img, lut).astype(np.float32)
    tint = rng.uniform(-12, 12, size=3)
    shadows = (1 - out.mean(axis=2, keepdims=True) / 255.0)
    out = out + tint * shadows - tint * (1 - shadows) * 0.5
    return np.clip(out, 0, 255).astype(np.uint8)


def _strong_sharpen(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    soft = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.8, 2.0)))
    amount = float(rng.uniform(0.5, 1.5))
    return cv2.addWeighted(img, 1 + amount, soft, -amount, 0)


def _upscale(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An "enhanced" photo: shrunk, enlarged again with Lanczos, then sharpened."""
    h, w = img.shape[:2]
    f = rng.uniform(0.4, 0.8)
    small = cv2.resize(img, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
    return _strong_sharpen(cv2.resize(small, (w, h), interpolation=cv2.INTER_LANCZOS4), rng)


POLISH = (_skin_smooth, _background_blur, _grade, _strong_sharpen, _upscale)


def polish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One or two studio-style edits in random order."""
    for k in rng.permutation(len(POLISH))[: rng.integers(1, 3)]:
        img = POLISH[k](np.ascontiguousarray(img), rng)
    return img


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


def cutmix(x: np.ndarray, y: np.ndarray, groups: np.ndarray, p: float, rng: np.random.Generator,
           same_label: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """CutMix across sources: with probability ``p`` a view gets a rectangle from another source's view in
    the same batch, and its label becomes the area-weighted mix of the two (Yun et al., ICCV 2019).

    Why: an FFHQ photo and a StyleGAN face share framing, alignment and polish, so whole-image cues cannot
    tell them apart; a label that follows the pasted *area* rewards evidence that is local (pixel and
    texture traces) and sums over the picture. Partners come from other sources so that a source's style
    is never the answer, and same-class pairs keep their label, so a seam is no evidence either way.
    ``same_label`` takes partners of the view's own label only: every label stays exact and only the
    sources' styles are mixed. Returns new arrays (float32 labels); a view without a partner is left as it was.
    """
    out_x, out_y = x.copy(), y.astype(np.float32)  # the inputs stay the patches' source
    n, h, w = x.shape[:3]
    for i in range(n):
        others = np.flatnonzero((groups != groups[i]) & ((y == y[i]) if same_label else True))
        if not len(others) or rng.random() >= p:
            continue
        j = int(rng.choice(others))
        share = rng.uniform(0.15, 0.6)  # of the area, so the host always keeps most of its evidence
        ch, cw = max(1, round(h * np.sqrt(share))), max(1, round(w * np.sqrt(share)))
        top, left = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
        out_x[i, top : top + ch, left : left + cw] = x[j, top : top + ch, left : left + cw]
        a = ch * cw / (h * w)
        out_y[i] = (1 - a) * y[i] + a * y[j]
    return out_x, out_y


def augment(
    rgb: np.ndarray,
    face: Box | None,
    size: int,
    rng: np.random.Generator,
    p_gray: float,
    cfg: AugmentConfig = AugmentConfig(),
    framing: Framing = LEGACY_FRAMING,
    p_frame: float = 0.0,
) -> np.ndarray:
    """One random training view of ``rgb`` as a ``size`` x ``size`` uint8 crop (``p_frame``: how often it
    gets a flat frame first, ``add_frame``; drawn only when above 0, so older recipes replay exactly)."""
    if rng.random() < cfg.p_rotate:
        rgb = _rotate(rgb, face, rng, cfg)
    if cfg.p_zoom_out and face is not None and framing.min_side and rng.random() < cfg.p_zoom_out:
        rgb, face = zoom_out(rgb, face, rng, cfg, framing.min_side)
    if p_frame and rng.random() < p_frame:  # last: a frame goes round the finished photo
        rgb, face = add_frame(rgb, face, rng)
    if cfg.p_caption and rng.random() < cfg.p_caption:
        rgb, face = add_caption(rgb, face, rng)
    img = np.ascontiguousarray(jittered_crop(rgb, face, rng, cfg, framing))
    if rng.random() < cfg.p_polish:
        img = polish(img, rng)
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
