"""Image intake: every input kind and colour mode becomes uint8 RGB, everything else a typed error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from classifier import MAX_PIXELS, MAX_UPLOAD_BYTES, ImageError, load_image
from classifier.limits import MAX_ASPECT, MIN_SIDE


def encode(im: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def assert_rgb(a: np.ndarray, h: int, w: int) -> None:
    assert isinstance(a, np.ndarray)
    assert a.dtype == np.uint8 and a.shape == (h, w, 3), (a.dtype, a.shape)
    assert a.flags.c_contiguous


# --- input kinds ----------------------------------------------------------------------------

def test_every_source_kind_gives_the_same_pixels(tmp_path, portrait_jpeg):
    """bytes, bytearray, memoryview, str path, Path, file object and PIL image decode identically."""
    path = tmp_path / "p.jpg"
    path.write_bytes(portrait_jpeg)
    ref = load_image(portrait_jpeg)
    assert_rgb(ref, 512, 512)
    sources = [bytearray(portrait_jpeg), memoryview(portrait_jpeg), str(path), path, io.BytesIO(portrait_jpeg)]
    for src in sources:
        np.testing.assert_array_equal(load_image(src), ref, err_msg=type(src).__name__)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(load_image(f), ref)
    with Image.open(io.BytesIO(portrait_jpeg)) as im:
        np.testing.assert_array_equal(load_image(im), ref)


def test_array_input_is_not_modified(astronaut):
    """load_image never writes into the caller's array."""
    for a in (astronaut.copy(), astronaut[:, :, ::-1].copy(), np.dstack([astronaut, astronaut[:, :, :1]])):
        before = a.copy()
        load_image(a)
        np.testing.assert_array_equal(a, before)


# --- PIL colour modes -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        ("RGB", (10, 20, 30), (10, 20, 30)),
        ("L", 100, (100, 100, 100)),
        ("LA", (100, 255), (100, 100, 100)),
        ("LA", (100, 0), (255, 255, 255)),  # fully transparent shows as white, as in a viewer
        ("RGBA", (10, 20, 30, 255), (10, 20, 30)),
        ("RGBA", (10, 20, 30, 0), (255, 255, 255)),
        ("CMYK", (0, 0, 0, 0), (255, 255, 255)),
        ("CMYK", (0, 0, 0, 255), (0, 0, 0)),
        ("1", 1, (255, 255, 255)),
        ("1", 0, (0, 0, 0)),
        ("I;16", 65535, (255, 255, 255)),
        ("I;16", 0, (0, 0, 0)),
        ("I", 200, (200, 200, 200)),
        ("F", 0.5, (128, 128, 128)),  # floats in [0, 1] are scaled to [0, 255]
        ("F", 200.0, (200, 200, 200)),
        ("YCbCr", (128, 128, 128), (128, 128, 128)),
        ("HSV", (0, 0, 255), (255, 255, 255)),
    ],
)
def test_pil_modes_become_rgb(mode, value, expected):
    """Every PIL mode a user can hand us converts to the right uint8 RGB colour."""
    im = Image.new(mode, (40, 30), value)
    out = load_image(im)
    assert_rgb(out, 30, 40)
    np.testing.assert_allclose(out[15, 20].astype(int), expected, atol=1)


def test_palette_with_transparency_becomes_white_background():
    """A P image with a transparent index composites on white, other indices keep their colour."""
    im = Image.new("P", (32, 32), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (0, 0, 16, 32))
    im.info["transparency"] = 0
    out = load_image(encode(im, "PNG"))
    assert_rgb(out, 32, 32)
    assert tuple(out[5, 5]) == (255, 0, 0)
    assert tuple(out[5, 25]) == (255, 255, 255)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("L", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("RGBA", "PNG"), ("1", "PNG"), ("I;16", "PNG"),
     ("CMYK", "JPEG"), ("L", "JPEG"), ("CMYK", "TIFF"), ("F", "TIFF"), ("I", "TIFF"), ("RGBA", "WEBP"),
     ("RGB", "BMP"), ("P", "GIF")],
)
def test_encoded_modes_decode(mode, fmt, astronaut):
    """Files in each mode and format decode to RGB of the original size (encoded round trip)."""
    im = Image.fromarray(astronaut[:48, :64]).convert(mode)
    out = load_image(encode(im, fmt))
    assert_rgb(out, 48, 64)


def test_cmyk_jpeg_colours_survive(astronaut):
    """A CMYK JPEG (Adobe inverted or not) is not returned with inverted colours."""
    out = load_image(encode(Image.fromarray(astronaut).convert("CMYK"), "JPEG", quality=95))
    assert np.abs(out.astype(int) - astronaut.astype(int)).mean() < 12


def test_sixteen_bit_png_keeps_its_range():
    """A 16-bit grayscale PNG maps 0..65535 onto 0..255, not clipped at 255."""
    g = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (32, 1))
    out = load_image(encode(Image.fromarray(g), "PNG"))
    assert_rgb(out, 32, 64)
    assert out[0, 0, 0] == 0 and out[0, -1, 0] == 255
    assert np.all(np.diff(out[0, :, 0].astype(int)) >= 0)


def test_animated_gif_uses_first_frame():
    """Animated images: the first frame is analysed."""
    frames = [Image.new("RGB", (32, 32), c) for c in [(250, 250, 250), (0, 0, 0), (0, 0, 0)]]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    assert load_image(data).mean() > 240


def test_multipage_tiff_uses_first_page():
    """Multi-page TIFF: the first page is analysed."""
    pages = [Image.new("RGB", (32, 32), (0, 0, 250)), Image.new("RGB", (64, 64), (250, 0, 0))]
    out = load_image(encode(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    assert_rgb(out, 32, 32)
    assert tuple(out[0, 0]) == (0, 0, 250)


# --- EXIF orientation -------------------------------------------------------------------------

def two_tone(w: int = 64, h: int = 32) -> Image.Image:
    """Left half red, right half blue: easy to follow through a rotation."""
    a = np.zeros((h, w, 3), np.uint8)
    a[:, : w // 2] = (255, 0, 0)
    a[:, w // 2 :] = (0, 0, 255)
    return Image.fromarray(a)


def with_orientation(im: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(im, "JPEG", quality=95, exif=exif.tobytes())


def test_exif_orientation_6_is_applied():
    """Orientation 6 (rotate 90 deg clockwise): a 64x32 image is shown 32 wide, 64 tall, red on top."""
    out = load_image(with_orientation(two_tone(), 6))
    assert_rgb(out, 64, 32)
    top, bottom = out[8, 16].astype(int), out[56, 16].astype(int)
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(orientation):
    """All 8 orientations give the upright image a viewer would show (transposed for 5-8)."""
    data = with_orientation(two_tone(), orientation)
    out = load_image(data)
    expect_shape = (64, 32) if orientation >= 5 else (32, 64)
    assert out.shape[:2] == expect_shape
    from PIL import ImageOps

    with Image.open(io.BytesIO(data)) as im:
        ref = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    np.testing.assert_array_equal(out, ref)


def test_exif_orientation_applied_to_pil_input():
    """A PIL image opened by the caller still gets its EXIF orientation applied."""
    with Image.open(io.BytesIO(with_orientation(two_tone(), 8))) as im:
        assert load_image(im).shape == (64, 32, 3)


# --- NumPy arrays -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("arr", "expected"),
    [
        (np.full((20, 30), 77, np.uint8), 77),
        (np.full((20, 30, 1), 77, np.uint8), 77),
        (np.full((20, 30, 3), 77, np.uint8), 77),
        (np.full((20, 30), 0.5, np.float32), 128),
        (np.full((20, 30, 3), 0.5, np.float64), 128),
        (np.full((20, 30, 3), 200.0, np.float32), 200),
        (np.full((20, 30), 65535, np.uint16), 255),
        (np.full((20, 30, 3), 100, np.int32), 100),
        (np.ones((20, 30), bool), 255),
        (np.dstack([np.full((20, 30, 3), 10, np.uint8), np.full((20, 30), 255, np.uint8)]), 10),
        (np.dstack([np.full((20, 30, 3), 10, np.uint8), np.zeros((20, 30), np.uint8)]), 255),
        (np.full((20, 30, 3), np.nan, np.float32), 0),
        (np.full((20, 30, 3), -5.0, np.float32), 0),
    ],
    ids=["gray", "gray1", "rgb", "float01-gray", "float01-rgb", "float255", "uint16", "int32", "bool",
         "rgba-opaque", "rgba-clear", "nan", "negative"],
)
def test_arrays_become_rgb(arr, expected):
    """Gray, float, uint16, int, bool and RGBA arrays normalise to uint8 RGB."""
    out = load_image(arr)
    assert_rgb(out, 20, 30)
    assert abs(int(out[10, 10, 0]) - expected) <= 1


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros(100, np.uint8),
        np.zeros((4, 20, 20, 3), np.uint8),
        np.zeros((20, 20, 2), np.uint8),
        np.zeros((20, 20, 5), np.uint8),
        np.zeros((0, 20, 3), np.uint8),
        np.zeros((20, 20, 3), np.complex64),
        np.zeros((20, 20, 3), object),
        np.zeros((8, 8, 3), np.uint8),
        np.zeros((20, 20 * 25, 3), np.uint8),
    ],
    ids=["1d", "4d", "2ch", "5ch", "empty", "complex", "object", "too-small", "too-thin"],
)
def test_bad_arrays_raise_image_error(arr):
    """Arrays that are not images raise ImageError with a short message."""
    with pytest.raises(ImageError) as exc:
        load_image(arr)
    assert 0 < len(exc.value.message) < 200


def test_huge_array_refused_without_copy():
    """An array over MAX_PIXELS is refused (a broadcast view: no memory is spent making it)."""
    side = int(MAX_PIXELS**0.5) + 10
    big = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (side, side, 3))
    with pytest.raises(ImageError, match="megapixels"):
        load_image(big)


# --- typed errors for every bad kind -------------------------------------------------------------

@pytest.mark.parametrize("source", [42, 3.5, None, ["a.jpg"], {"x": 1}, object()])
def test_unsupported_types_raise_image_error(source):
    """Things that are not image sources raise ImageError, not TypeError."""
    with pytest.raises(ImageError, match="Unsupported input"):
        load_image(source)


def test_missing_path_and_directory(tmp_path):
    """A missing file or a folder gives 'No such file' and shows only the file name."""
    with pytest.raises(ImageError) as exc:
        load_image(tmp_path / "nope" / "missing.jpg")
    assert exc.value.message == "No such file: missing.jpg"
    with pytest.raises(ImageError, match="No such file"):
        load_image(tmp_path)


def test_oversized_file_object_is_refused_without_reading_it_all():
    """A file object larger than MAX_UPLOAD_BYTES is refused after reading at most the limit + 1."""

    class Endless(io.RawIOBase):
        def __init__(self):
            self.served = 0

        def readable(self):
            return True

        def readinto(self, b):
            n = len(b)
            b[:n] = b"\xff" * n
            self.served += n
            return n

    src = Endless()
    with pytest.raises(ImageError, match="MB"):
        load_image(io.BufferedReader(src))
    assert src.served <= MAX_UPLOAD_BYTES + 1 + io.DEFAULT_BUFFER_SIZE


def test_oversized_bytes_and_path(tmp_path):
    """Bytes or files over the upload limit are refused by size before decoding."""
    data = b"\xff\xd8" + b"\x00" * MAX_UPLOAD_BYTES
    with pytest.raises(ImageError, match="limit is"):
        load_image(data)
    p = tmp_path / "big.jpg"
    p.write_bytes(data)
    with pytest.raises(ImageError, match="limit is"):
        load_image(p)


@pytest.mark.parametrize(
    ("data", "keyword"),
    [
        (b"", "empty"),
        (b"GIF89a", "not an image"),
        (b"\x89PNG\r\n\x1a\n", "not an image"),
        (b"\xff\xd8\xff", "not an image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not an image"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n", "not an image"),  # a format Pillow reads but we do not allow
        (b"\x00\x00\x01\x00\x01\x00\x10\x10", "not an image"),  # ICO
    ],
)
def test_non_images_raise_typed_errors(data, keyword):
    """Headers alone, other formats and vector files are refused with a readable reason."""
    with pytest.raises(ImageError) as exc:
        load_image(data)
    assert keyword in exc.value.message.lower()


def test_disallowed_formats_are_refused(astronaut):
    """Formats outside the allowed list (e.g. ICO, PPM, TGA) are not parsed at all."""
    for fmt in ("ICO", "PPM", "TGA", "PCX"):
        data = encode(Image.fromarray(astronaut[:64, :64]), fmt)
        with pytest.raises(ImageError, match="not an image"):
            load_image(data)


def test_truncated_files_raise(astronaut):
    """Cut-off JPEG/PNG files are errors, never silently grey-filled pixels."""
    for fmt in ("JPEG", "PNG", "WEBP", "GIF", "TIFF"):
        data = encode(Image.fromarray(astronaut), fmt)
        with pytest.raises(ImageError) as exc:
            load_image(data[: len(data) // 3])
        assert "could not be decoded" in exc.value.message or "not an image" in exc.value.message, fmt


def test_geometry_limits():
    """Sides below MIN_SIDE and aspect beyond MAX_ASPECT are refused; just inside is accepted."""
    assert_rgb(load_image(np.zeros((MIN_SIDE, MIN_SIDE, 3), np.uint8)), MIN_SIDE, MIN_SIDE)
    with pytest.raises(ImageError, match="at least"):
        load_image(np.zeros((MIN_SIDE - 1, 100, 3), np.uint8))
    w = int(MIN_SIDE * 2 * MAX_ASPECT)
    assert_rgb(load_image(np.zeros((MIN_SIDE * 2, w, 3), np.uint8)), MIN_SIDE * 2, w)
    with pytest.raises(ImageError, match="long and thin"):
        load_image(np.zeros((MIN_SIDE * 2, w + 2, 3), np.uint8))


def test_pixel_limit_from_header_before_decoding():
    """A JPEG whose header claims more than MAX_PIXELS is refused from the header."""
    from hostile import png_raw

    data = png_raw(9000, 9000, 8, 2, b"")  # 81 MP claimed, no pixel data at all
    with pytest.raises(ImageError, match="megapixels"):
        load_image(data)


def test_error_is_a_classifier_error():
    """ImageError is catchable as ClassifierError and carries .message."""
    from classifier import ClassifierError

    with pytest.raises(ClassifierError) as exc:
        load_image(b"nope")
    assert isinstance(exc.value, ImageError) and exc.value.message == str(exc.value)


# --- phone formats (issue 15) ----------------------------------------------------------------

def test_heic_with_exif_rotation_comes_out_upright():
    """An iPhone-style HEIC stored sideways with orientation 6 decodes to the upright picture."""
    import hostile

    out = load_image(hostile.build("iphone_rotated.heic"))
    assert out.shape == hostile.astronaut().shape
    assert np.abs(out.astype(int) - hostile.astronaut()).mean() < 4  # upright; sideways would differ by ~60


def test_avif_decodes():
    import hostile

    out = load_image(hostile.build("portrait.avif"))
    assert out.shape == hostile.astronaut().shape and np.abs(out.astype(int) - hostile.astronaut()).mean() < 6


def test_display_p3_jpeg_is_converted_to_srgb():
    """A P3-tagged JPEG read without its profile is off by ~5.5 levels; converted, it is close to the sRGB original."""
    import io as _io

    import hostile
    from PIL import Image as _Image

    data = hostile.build("display_p3.jpg")
    a = hostile.astronaut().astype(int)
    raw = np.asarray(_Image.open(_io.BytesIO(data)).convert("RGB")).astype(int)
    converted = load_image(data).astype(int)
    assert np.abs(converted - a).mean() < 0.6 * np.abs(raw - a).mean()


def test_108_megapixel_jpeg_is_reduced_while_decoding():
    """Draft mode: a 12000x9000 JPEG arrives at 1/2 scale, never at full size."""
    import hostile

    out = load_image(hostile.build("photo_12000x9000_108mp.jpg"))
    assert out.shape == (4500, 6000, 3)


def test_upload_extensions_cover_phone_formats():
    from classifier import UPLOAD_EXTENSIONS

    assert {"heic", "heif", "avif", "jpg", "png"} <= set(UPLOAD_EXTENSIONS)
