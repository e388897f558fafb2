"""Decode untrusted input into an RGB array, or refuse it with a readable reason.

Everything the outside world hands us (uploads, webcam frames, files given to
the CLI, arrays from notebooks) comes through ``load_image``. It never writes
the image anywhere and never logs its content. Limits live in ``limits.py``.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageCms, ImageFile, ImageOps, PngImagePlugin, UnidentifiedImageError

from .compression import quality_from_tables
from .errors import ImageError
from .limits import (
    DECODE_TARGET_PIXELS,
    MAX_ASPECT,
    MAX_JPEG_PIXELS,
    MAX_PIXELS,
    MAX_TEXT_BYTES,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_MB,
    MIN_SIDE,
)

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a cut-off file is an error, not grey pixels
# A PNG's compressed text (an XMP packet with a long edit history) may inflate past Pillow's 1 MB default,
# which would refuse the whole image as corrupt; the provenance reader's cap still stops a bomb.
PngImagePlugin.MAX_TEXT_CHUNK = MAX_TEXT_BYTES
# Our own limits (below) decide per format; Pillow's global bomb check would refuse a 108 MP JPEG
# before draft mode could shrink it. It stays on as a backstop above the largest JPEG we accept.
Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS

try:  # HEIC/HEIF, what iPhones save by default (pillow-heif: libheif, BSD-3)
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # optional at import time: HEIC files then get the "not an image we can read" message
    pillow_heif = None

# Only the raster formats a portrait plausibly comes in; fewer parsers, less attack surface.
# Keep only names this Pillow registers: an unknown name (Pillow 13 has no "MPO" opener;
# its JPEG plugin reads MPO) makes Image.open raise KeyError for every non-JPEG file.
Image.init()
ALLOWED_FORMATS = tuple(
    f for f in ("JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF", "AVIF", "HEIF") if f in Image.OPEN
)
UPLOAD_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif", "heic", "heif", "avif")
FORMAT_NAMES = "JPEG, PNG, WebP, HEIC/HEIF, AVIF, BMP, TIFF, GIF"
_SRGB = ImageCms.createProfile("sRGB")

ImageSource = bytes | bytearray | memoryview | str | Path | Image.Image | np.ndarray | BinaryIO


def read_bytes(source: str | Path | BinaryIO) -> bytes:
    """Read a path or file object, refusing empty or oversized data before decoding."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"No such file: {path.name}")
        size = path.stat().st_size
        if size > MAX_UPLOAD_BYTES:
            raise ImageError(_too_big_bytes(size))
        return path.read_bytes()
    data = source.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageError(_too_big_bytes(len(data)))
    return data


def encoded_bytes(source: ImageSource) -> bytes | None:
    """The encoded file behind ``source``: bytes as given, a path or file object read once (under the size
    limit); None for an image that is already decoded (PIL, array).

    Why: the decoder and the provenance reader (``provenance.read_provenance``) must see the same bytes, and
    a file must be read only once.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, Path)) or hasattr(source, "read"):
        return read_bytes(source)
    return None


def _too_big_bytes(n: int) -> str:
    return f"The file is {n / 1e6:.0f} MB; the limit is {MAX_UPLOAD_MB} MB."


def load_image(source: ImageSource) -> np.ndarray:
    """Return ``source`` as a C-contiguous ``uint8`` array of shape (H, W, 3), RGB.

    Accepts raw bytes, a path, a binary file object, a PIL image or a NumPy array.
    Applies EXIF orientation, takes the first frame of animations and multi-page
    files, and converts every colour mode to RGB. Raises ``ImageError`` with a
    short human message for anything it cannot or will not decode.
    """
    return load_image_with_quality(source)[0]


def load_image_with_quality(source: ImageSource) -> tuple[np.ndarray, int | None]:
    """``load_image``, and the JPEG quality the file was saved at (None for other formats and for arrays),
    read while the file is open for decoding, so nothing is read or parsed twice."""
    if isinstance(source, np.ndarray):
        return _check_geometry(array_to_rgb(source)), None
    if isinstance(source, Image.Image):
        return _check_geometry(_pil_to_rgb(source)), quality_from_tables(getattr(source, "quantization", None))
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)) or hasattr(source, "read"):
        data = read_bytes(source)
    else:
        raise ImageError(f"Unsupported input type: {type(source).__name__}")
    rgb, quality = decode_bytes(data)
    return _check_geometry(rgb), quality


def decode_bytes(data: bytes) -> tuple[np.ndarray, int | None]:
    """Decode encoded image bytes (JPEG, PNG, WebP, HEIC/HEIF, AVIF, BMP, TIFF, GIF) to sRGB, with the JPEG
    quality read from the same open file's quantisation table (``compression.quality_from_tables``; None for
    other formats).

    A JPEG larger than ``DECODE_TARGET_PIXELS`` is reduced while it is decoded (Pillow's draft
    mode scales the DCT by 1/2, 1/4 or 1/8), so a 200 MP photo never exists at full size in
    memory; every other format is refused above ``MAX_PIXELS`` before its pixels are decoded.
    """
    if len(data) == 0:
        raise ImageError("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageError(_too_big_bytes(len(data)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as im:
                if im.format in ("JPEG", "MPO"):
                    _check_pixels(*im.size, limit=MAX_JPEG_PIXELS)  # header only
                    _draft(im)
                _check_pixels(*im.size)  # header only: refuse bombs before decoding
                im.seek(0)
                return _pil_to_rgb(im), quality_from_tables(getattr(im, "quantization", None))
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(
            f"This is not an image we can read (supported: {FORMAT_NAMES})."
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(_too_many_pixels()) from None
    except MemoryError:
        raise ImageError(_too_many_pixels()) from None
    except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, struct.error...
        reason = "it looks truncated or corrupt" if "truncat" in str(exc).lower() else "it is corrupt"
        raise ImageError(f"The image could not be decoded: {reason}.") from None


def _too_many_pixels() -> str:
    return (f"The image has too many pixels; the limit is {MAX_PIXELS / 1e6:.0f} megapixels "
            f"({MAX_JPEG_PIXELS / 1e6:.0f} for JPEG).")


def _check_pixels(w: int, h: int, limit: int = MAX_PIXELS) -> None:
    if w * h > limit:
        extra = f" ({MAX_JPEG_PIXELS / 1e6:.0f} for JPEG)" if limit == MAX_PIXELS else ""
        raise ImageError(
            f"The image is {w}x{h} pixels ({w * h / 1e6:.0f} MP); "
            f"the limit is {limit / 1e6:.0f} megapixels{extra}."
        )


def _draft(im: Image.Image) -> None:
    """Ask the JPEG decoder for the smallest DCT scale that keeps at least ``DECODE_TARGET_PIXELS``."""
    w, h = im.size
    if w * h <= DECODE_TARGET_PIXELS:
        return
    k = (w * h / DECODE_TARGET_PIXELS) ** 0.5  # linear reduction wanted
    im.draft(im.mode if im.mode in ("RGB", "L") else None, (max(1, int(w / k)), max(1, int(h / k))))


def _to_srgb(im: Image.Image) -> Image.Image:
    """Convert an image with an embedded ICC profile (Display P3, Adobe RGB, CMYK...) to sRGB RGB.

    The network learned sRGB pixels; a P3 photo read without its profile looks desaturated to it.
    A profile that cannot be parsed is ignored (the pixels are then read as sRGB, as browsers do).
    """
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "CMYK", "L"):
        return im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode == "L":
            return im
        return ImageCms.profileToProfile(im, src, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im


def _pil_to_rgb(im: Image.Image) -> np.ndarray:
    _check_pixels(*im.size)
    im.load()
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # a broken EXIF block should not cost the user the image
        pass
    im = _to_srgb(im)
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return array_to_rgb(np.asarray(im))
    if mode == "P":
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im)  # transparent areas show as white, as in a viewer
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb)


def array_to_rgb(arr: np.ndarray) -> np.ndarray:
    """Normalise an array (gray, RGB, RGBA; uint8, uint16 or float) to uint8 RGB."""
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ImageError(f"An image array must be HxW, HxWx3 or HxWx4, not {a.shape}.")
    if a.size == 0:
        raise ImageError("The image is empty.")
    _check_pixels(a.shape[1], a.shape[0])
    if a.dtype == np.uint8:
        out = a
    elif a.dtype == np.bool_:
        out = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.integer):
        top = 65535 if a.max(initial=0) > 255 else 255
        out = (np.clip(a, 0, top).astype(np.float32) * (255.0 / top) + 0.5).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        f = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        scale = 255.0 if f.max(initial=0.0) <= 1.0 else 1.0
        out = (np.clip(f * scale, 0, 255) + 0.5).astype(np.uint8)
    else:
        raise ImageError(f"Unsupported image array type: {a.dtype}.")
    if out.ndim == 2:
        out = np.repeat(out[:, :, None], 3, axis=2)
    elif out.shape[2] == 4:
        alpha = out[:, :, 3:4].astype(np.float32) / 255.0
        out = (out[:, :, :3] * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(out)


def _check_geometry(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"The image is only {w}x{h} pixels; at least {MIN_SIDE} px a side is needed.")
    if max(h, w) / min(h, w) > MAX_ASPECT:
        raise ImageError(f"The image is {w}x{h}: far too long and thin to be a portrait.")
    return rgb
