"""A hostile and odd input corpus, made by code at test time (no binaries are committed).

Each ``Case`` says what a well-behaved intake must do with the file: analyse it
(``ok=True``) or refuse it with an ``ImageError`` whose message contains ``keyword``.
``build(name)`` returns the file's bytes; results are cached for the session.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from classifier import MAX_UPLOAD_BYTES


@dataclass(frozen=True)
class Case:
    name: str
    suffix: str  # the extension the file is written with (may lie about its content)
    ok: bool  # True: must give a Prediction; False: must give an ImageError
    keyword: str = ""  # for refusals: a word the message must contain (lower case)


@functools.lru_cache(maxsize=1)
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def encode(im: Image.Image | np.ndarray, fmt: str, **kwargs) -> bytes:
    if isinstance(im, np.ndarray):
        im = Image.fromarray(im)
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_raw(width: int, height: int, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    """A PNG from its parts: signature, IHDR, one IDAT, IEND (CRCs correct)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png_bomb(side: int) -> bytes:
    """A complete, valid 1-bit ``side`` x ``side`` black PNG: megabytes of pixels, kilobytes of file."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    rows_per_feed = max(1, (1 << 22) // len(row))
    parts = []
    left = side
    while left:
        n = min(left, rows_per_feed)
        parts.append(comp.compress(row * n))
        left -= n
    parts.append(comp.flush())
    return png_raw(side, side, 1, 0, b"".join(parts))


def resized(w: int, h: int) -> np.ndarray:
    return np.asarray(Image.fromarray(astronaut()).resize((w, h), Image.Resampling.BILINEAR))


def exif_rotated() -> bytes:
    """A 512x300 (wide) crop stored with EXIF orientation 6: a viewer shows it 300x512 (tall)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(astronaut()[100:400], "JPEG", quality=90, exif=exif.tobytes())


def s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def rgb_icc_profile(name: str, red: tuple, green: tuple, blue: tuple, gamma: float) -> bytes:
    """A minimal ICC v2 matrix/TRC display profile (what Display P3 and Adobe RGB are), built by hand.

    No profile file ships with the test tools, so the bytes are assembled here: header, tag
    table, description, white point, the three D50-adapted colorants and one gamma curve each.
    """
    def xyz(v: tuple) -> bytes:
        return b"XYZ " + b"\0" * 4 + b"".join(s15(c) for c in v)

    def pad(b: bytes) -> bytes:
        return b + b"\0" * (-len(b) % 4)

    ascii_name = name.encode() + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_name)) + ascii_name + b"\0" * 8 + b"\0" * 3 + b"\0" * 67
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256))
    tags = [(b"desc", pad(desc)), (b"wtpt", xyz((0.9642, 1.0, 0.8249))), (b"rXYZ", xyz(red)),
            (b"gXYZ", xyz(green)), (b"bXYZ", xyz(blue)), (b"rTRC", pad(curve)), (b"gTRC", pad(curve)),
            (b"bTRC", pad(curve)), (b"cprt", pad(b"text" + b"\0" * 4 + b"public domain\0"))]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249)
              + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + body


# Display P3 (Apple), colorants adapted to D50 as in Apple's own profile; gamma 2.2 stands in for its sRGB-like curve.
DISPLAY_P3 = rgb_icc_profile("Display P3 (test)", (0.5151, 0.2412, -0.0011), (0.2919, 0.6922, 0.0419),
                             (0.1572, 0.0666, 0.7841), 2.2)


def p3_jpeg() -> bytes:
    """The astronaut converted into Display P3 and saved with that profile, as an iPhone JPEG is."""
    from PIL import ImageCms

    p3 = ImageCms.ImageCmsProfile(io.BytesIO(DISPLAY_P3))
    im = ImageCms.profileToProfile(Image.fromarray(astronaut()), ImageCms.createProfile("sRGB"), p3, outputMode="RGB")
    return encode(im, "JPEG", quality=92, icc_profile=DISPLAY_P3)


def iphone_heic() -> bytes:
    """A HEIC stored sideways with EXIF orientation 6, as iPhones save portrait shots (pillow-heif)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(np.ascontiguousarray(np.rot90(astronaut(), 1)), "HEIF", quality=85, exif=exif.tobytes())


def big_jpeg(w: int, h: int) -> bytes:
    """A real w x h JPEG: the astronaut enlarged (a 108 MP phone mode, say)."""
    return encode(Image.fromarray(astronaut()).resize((w, h), Image.Resampling.NEAREST), "JPEG", quality=80)


def jpeg_claiming(w: int, h: int) -> bytes:
    """A small JPEG whose frame header claims w x h: refused from the header, never decoded."""
    data = bytearray(encode(astronaut(), "JPEG", quality=80))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", h, w)
    return bytes(data)


def animated_gif() -> bytes:
    frames = [Image.fromarray(astronaut())] + [Image.new("RGB", (512, 512), c) for c in [(0, 0, 0), (255, 0, 0)]]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def multipage_tiff() -> bytes:
    pages = [Image.fromarray(astronaut()), Image.new("RGB", (256, 256), (0, 0, 0))]
    return encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])


def palette_png() -> bytes:
    im = Image.fromarray(astronaut()).quantize(64)
    return encode(im, "PNG", transparency=0)


def rgba_png() -> bytes:
    a = astronaut()
    alpha = np.tile(np.linspace(255, 0, a.shape[1]).astype(np.uint8), (a.shape[0], 1))
    return encode(np.dstack([a, alpha]), "PNG")


def gray16_png() -> bytes:
    g = (astronaut().mean(axis=2) * 257).astype(np.uint16)
    return encode(Image.fromarray(g), "PNG")


def oversize() -> bytes:
    """A real JPEG padded past the upload limit (decoders ignore bytes after EOI)."""
    j = encode(astronaut(), "JPEG")
    return j + b"\x00" * (MAX_UPLOAD_BYTES + 1 - len(j))


BUILDERS: dict[str, Callable[[], bytes]] = {
    # --- files that must be analysed -----------------------------------------------------
    "portrait.jpg": lambda: encode(astronaut(), "JPEG", quality=90),
    "portrait_gray.jpg": lambda: encode(Image.fromarray(astronaut()).convert("L"), "JPEG"),
    "cmyk.jpg": lambda: encode(Image.fromarray(astronaut()).convert("CMYK"), "JPEG", quality=90),
    "gray16.png": gray16_png,
    "rgba.png": rgba_png,
    "palette.png": palette_png,
    "animated.gif": animated_gif,
    "multipage.tif": multipage_tiff,
    "portrait.webp": lambda: encode(astronaut(), "WEBP", quality=80),
    "portrait.bmp": lambda: encode(astronaut(), "BMP"),
    "exif_rotated.jpg": exif_rotated,
    "iphone_rotated.heic": iphone_heic,
    "portrait.avif": lambda: encode(astronaut(), "AVIF", quality=70),
    "display_p3.jpg": p3_jpeg,
    "photo_12000x9000_108mp.jpg": lambda: big_jpeg(12000, 9000),
    "photo_6000x4000.jpg": lambda: encode(resized(6000, 4000), "JPEG", quality=85),
    "wide_1000x60.png": lambda: encode(resized(1000, 60), "PNG"),
    "noface_flat.png": lambda: encode(np.full((300, 400, 3), 128, np.uint8), "PNG"),
    "noface_noise.png": lambda: encode(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8), "PNG"),
    "faces_3x3.jpg": lambda: encode(np.tile(astronaut(), (3, 3, 1)), "JPEG", quality=90),
    "faces_4x4.jpg": lambda: encode(np.tile(astronaut(), (4, 4, 1)), "JPEG", quality=90),
    # --- files that must be refused with a typed, readable error --------------------------
    "empty.jpg": lambda: b"",
    "random.jpg": lambda: np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
    "text.jpg": lambda: b"Hello, this is plain text and not a photograph.\n" * 20,
    "page.png": lambda: (b"<!DOCTYPE html><html><head><title>x</title></head>"
                         b"<body><img src=x onerror=alert(1)></body></html>"),
    "vector.jpg": lambda: (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="512" height="512">'
                           b'<circle cx="256" cy="256" r="200" fill="red"/></svg>'),
    "document.png": lambda: b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    "truncated.jpg": lambda: (lambda b: b[: len(b) // 2])(encode(astronaut(), "JPEG", quality=90)),
    "truncated.png": lambda: (lambda b: b[: len(b) // 2])(encode(astronaut(), "PNG")),
    "bomb_30000.png": lambda: png_bomb(30000),
    "bomb_8000.png": lambda: png_bomb(8000),
    "tiny_1x1.png": lambda: encode(np.zeros((1, 1, 3), np.uint8), "PNG"),
    "strip_4000x10.png": lambda: encode(resized(4000, 10), "PNG"),
    "strip_2000x50.png": lambda: encode(resized(2000, 50), "PNG"),
    "photo_8000x6000.jpg": lambda: encode(resized(8000, 6000), "JPEG", quality=85),
    "oversize.jpg": oversize,
    "jpeg_claims_16000x14000.jpg": lambda: jpeg_claiming(16000, 14000),
}

CASES: list[Case] = [
    Case("portrait.jpg", ".jpg", True),
    Case("portrait_gray.jpg", ".jpg", True),
    Case("cmyk.jpg", ".jpg", True),
    Case("gray16.png", ".png", True),
    Case("rgba.png", ".png", True),
    Case("palette.png", ".png", True),
    Case("animated.gif", ".gif", True),
    Case("multipage.tif", ".tif", True),
    Case("portrait.webp", ".webp", True),
    Case("portrait.bmp", ".bmp", True),
    Case("exif_rotated.jpg", ".jpg", True),
    Case("photo_6000x4000.jpg", ".jpg", True),
    Case("photo_8000x6000.jpg", ".jpg", True),  # 48 MP
    Case("photo_12000x9000_108mp.jpg", ".jpg", True),
    Case("iphone_rotated.heic", ".heic", True),
    Case("portrait.avif", ".avif", True),
    Case("display_p3.jpg", ".jpg", True),
    Case("wide_1000x60.png", ".png", True),
    Case("noface_flat.png", ".png", True),
    Case("noface_noise.png", ".png", True),
    Case("faces_3x3.jpg", ".jpg", True),
    Case("faces_4x4.jpg", ".jpg", True),
    Case("empty.jpg", ".jpg", False, "empty"),
    Case("random.jpg", ".jpg", False, "not an image"),
    Case("text.jpg", ".jpg", False, "not an image"),
    Case("page.png", ".png", False, "not an image"),
    Case("vector.jpg", ".jpg", False, "not an image"),
    Case("document.png", ".png", False, "not an image"),
    Case("truncated.jpg", ".jpg", False, "could not be decoded"),
    Case("truncated.png", ".png", False, "could not be decoded"),
    Case("bomb_30000.png", ".png", False, "pixels"),
    Case("bomb_8000.png", ".png", False, "megapixels"),
    Case("tiny_1x1.png", ".png", False, "1x1"),
    Case("strip_4000x10.png", ".png", False, "4000x10"),
    Case("strip_2000x50.png", ".png", False, "long and thin"),
    Case("jpeg_claims_16000x14000.jpg", ".jpg", False, "megapixels"),
    Case("oversize.jpg", ".jpg", False, "mb"),
]

CASE_BY_NAME = {c.name: c for c in CASES}
GOOD = [c.name for c in CASES if c.ok]
BAD = [c.name for c in CASES if not c.ok]


@functools.cache
def build(name: str) -> bytes:
    return BUILDERS[name]()


def write_corpus(folder, names: list[str] | None = None) -> list:
    """Write the named cases (default: all, in ``CASES`` order) into ``folder``; return their paths."""
    paths = []
    for name in names or [c.name for c in CASES]:
        p = folder / name
        p.write_bytes(build(name))
        paths.append(p)
    return paths


def is_clean_message(msg: str) -> bool:
    """A message a person can read: short, one line, no traceback or internals."""
    return bool(msg) and len(msg) < 200 and "\n" not in msg and "Traceback" not in msg and 'File "' not in msg
