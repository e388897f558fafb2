"""Face detection and the crop geometry that training and inference share."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier import MAX_FACES
from classifier.faces import CROP_MARGIN, LEGACY_FRAMING, Box, Framing, crop_box, cut, detect_faces, model_input

# The astronaut's face in skimage.data.astronaut() (x, y, w, h), measured once by eye and detector.
ASTRONAUT_FACE = (178, 63, 89, 112)


def iou(a: tuple, b: tuple) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter)


def inside(box: Box, shape: tuple) -> bool:
    h, w = shape[:2]
    return box.x >= 0 and box.y >= 0 and box.x + box.w <= w and box.y + box.h <= h


# --- crop_box geometry ----------------------------------------------------------------------

def test_no_face_gives_centre_square():
    """No face: the centre square of the short side (landscape and portrait images)."""
    assert crop_box(None, (300, 500)) == Box(100, 0, 300, 300)
    assert crop_box(None, (500, 300, 3)) == Box(0, 100, 300, 300)
    assert crop_box(None, (256, 256, 3)) == Box(0, 0, 256, 256)


def test_face_in_the_middle_is_centred_with_margin():
    """A face well inside the image: square, CROP_MARGIN x its longest side, same centre."""
    face = Box(200, 180, 60, 80)
    c = crop_box(face, (600, 600, 3))
    assert c.w == c.h == round(CROP_MARGIN * 80)
    assert abs((c.x + c.w / 2) - (face.x + face.w / 2)) <= 1
    assert abs((c.y + c.h / 2) - (face.y + face.h / 2)) <= 1


def test_margin_is_1_8():
    """The shipped geometry: the crop side is 1.8 times the face side."""
    assert CROP_MARGIN == pytest.approx(1.8)
    assert crop_box(Box(100, 100, 100, 100), (1000, 1000)).w == 180


def test_native_pixel_framing_widens_small_faces_instead_of_enlarging_them():
    """min_side: a small face gets a wider view of native pixels (up to the whole image), a big one its margin."""
    f = Framing(2.6, 256)
    assert crop_box(Box(90, 90, 72, 72), (256, 256, 3), f) == Box(0, 0, 256, 256)  # whole portrait
    c = crop_box(Box(500, 300, 40, 40), (768, 1024, 3), f)
    assert c.w == c.h == 256 and inside(c, (768, 1024))  # not 104 px enlarged 2.5x
    assert crop_box(Box(300, 200, 200, 200), (768, 1024, 3), f).w == 520  # 2.6 x 200, as without min_side
    assert crop_box(Box(10, 10, 20, 20), (100, 150, 3), f).w == 100  # never beyond the short side


def test_framing_comes_from_the_card():
    """Cards without a framing (models before 2.2) keep the 1.8 crop; newer cards say theirs."""
    assert Framing.from_card({"input": {"size": 256}}) == LEGACY_FRAMING == Framing(CROP_MARGIN, 0)
    card = {"input": {"size": 256, "framing": Framing(2.6, 256).as_dict()}}
    assert Framing.from_card(card) == Framing(2.6, 256)


def test_face_at_border_is_shifted_inside():
    """A face touching an edge: the square keeps its size and is shifted into the image."""
    shape = (400, 600)
    for face in [Box(0, 0, 50, 50), Box(550, 350, 50, 50), Box(0, 350, 50, 50), Box(560, 0, 40, 60)]:
        c = crop_box(face, shape)
        assert inside(c, shape), (face, c)
        assert c.w == c.h == round(CROP_MARGIN * max(face.w, face.h))
        assert c.x <= face.x and c.y <= face.y and c.x + c.w >= face.x + face.w and c.y + c.h >= face.y + face.h


def test_crop_larger_than_image_shrinks_to_short_side():
    """A face whose 1.8x square would not fit: the square shrinks to the image's short side."""
    c = crop_box(Box(20, 20, 300, 300), (400, 500))
    assert c.w == c.h == 400 and inside(c, (400, 500))
    c = crop_box(Box(0, 0, 400, 500), (400, 500))
    assert c.w == c.h == 400 and inside(c, (400, 500))


def test_tiny_face_crop_is_at_least_two_pixels():
    """Degenerate 1 px faces still give a valid (>= 2 px) crop."""
    c = crop_box(Box(10, 10, 1, 1), (100, 100))
    assert c.w == c.h >= 2 and inside(c, (100, 100))


@st.composite
def face_in_image(draw):
    h = draw(st.integers(16, 3000))
    w = draw(st.integers(16, 3000))
    fw = draw(st.integers(2, w))
    fh = draw(st.integers(2, h))
    x = draw(st.integers(0, w - fw))
    y = draw(st.integers(0, h - fh))
    return (h, w), Box(x, y, fw, fh)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(face_in_image())
def test_crop_geometry_properties(case):
    """For any face inside any image: the crop is square, inside the image, sized
    min(short side, 1.8 x face side), and contains the face centre (and the whole face when it fits)."""
    shape, face = case
    c = crop_box(face, shape)
    short = min(shape)
    assert c.w == c.h
    assert inside(c, shape)
    assert c.w == int(round(min(short, max(2, CROP_MARGIN * max(face.w, face.h)))))
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    assert c.x - 1 <= cx <= c.x + c.w + 1 and c.y - 1 <= cy <= c.y + c.h + 1
    if CROP_MARGIN * max(face.w, face.h) <= short:
        assert c.x <= face.x + 1 and c.y <= face.y + 1
        assert c.x + c.w >= face.x + face.w - 1 and c.y + c.h >= face.y + face.h - 1


def test_model_input_shape_and_dtype(astronaut):
    """model_input returns a uint8 size x size x 3 crop for faces, no face, and tiny crops."""
    face = Box(*ASTRONAUT_FACE)
    for f in (face, None, Box(5, 5, 3, 3)):
        for size in (224, 128):
            x = model_input(astronaut, f, size)
            assert x.shape == (size, size, 3) and x.dtype == np.uint8


def test_model_input_is_the_resized_crop(astronaut):
    """model_input = cut(crop_box) then area-resize: the same pixels training used."""
    face = Box(*ASTRONAUT_FACE)
    c = crop_box(face, astronaut.shape)
    expected = cv2.resize(cut(astronaut, c), (128, 128), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(model_input(astronaut, face, 128), expected)


# --- detection ------------------------------------------------------------------------------

def test_detects_the_astronauts_face(astronaut):
    """YuNet finds exactly one face on the astronaut, where it is."""
    faces = detect_faces(astronaut)
    assert len(faces) == 1
    assert iou(faces[0].as_list(), ASTRONAUT_FACE) > 0.6, faces[0]
    assert 0.6 <= faces[0].score <= 1.0


def test_detection_boxes_scale_with_the_image(astronaut):
    """Boxes come back in the caller's pixel coordinates even when detection ran on a smaller copy."""
    big = cv2.resize(astronaut, (1536, 1536), interpolation=cv2.INTER_LINEAR)
    faces = detect_faces(big)
    assert len(faces) == 1
    scaled = tuple(3 * v for v in ASTRONAUT_FACE)
    assert iou(faces[0].as_list(), scaled) > 0.6, faces[0]


@pytest.mark.parametrize(
    "image",
    [np.full((300, 300, 3), 128, np.uint8), np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8),
     np.zeros((10, 10, 3), np.uint8), np.zeros((16, 2000, 3), np.uint8)],
    ids=["flat", "noise", "tiny", "strip"],
)
def test_no_face_found_on_faceless_images(image):
    """Flat, noise, tiny and strip images give no faces (and no crash)."""
    assert detect_faces(image) == []


def test_many_faces_sorted_and_capped(astronaut):
    """A 3x3 tiling has 9 faces: max_faces caps the list, most confident first, boxes inside."""
    tiled = np.tile(astronaut, (3, 3, 1))
    all_faces = detect_faces(tiled, max_faces=100)
    assert len(all_faces) == 9
    capped = detect_faces(tiled, max_faces=MAX_FACES)
    assert len(capped) == MAX_FACES
    scores = [f.score for f in capped]
    assert scores == sorted(scores, reverse=True)
    for f in all_faces:
        assert inside(f, tiled.shape)


@settings(max_examples=30, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(16, 900), st.integers(16, 900), st.integers(0, 2**32 - 1))
def test_detector_returns_valid_boxes_on_any_image(h, w, seed):
    """On random images of any size the detector returns boxes inside the image, never an error."""
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    for f in detect_faces(img):
        assert inside(f, img.shape) and f.w >= 2 and f.h >= 2


def test_direct_detector_call_matches_yuface(astronaut):
    """faces._raw_detect (a reused result buffer per thread) returns exactly what yuface.c_detect returns."""
    import yuface

    from classifier import faces

    for img in (astronaut, np.tile(astronaut, (2, 2, 1)), astronaut[50:400, 100:450],
                np.random.default_rng(1).integers(0, 256, (300, 200, 3), dtype=np.uint8)):
        bgr = np.ascontiguousarray(img[:, :, ::-1])
        ours = faces._raw_detect(bgr)
        ref = np.asarray(yuface.c_detect(bgr), dtype=np.int64)
        assert ours.shape == ref.shape
        np.testing.assert_array_equal(ours[:, :15], ref[:, :15])  # column 15 is padding


def test_detector_does_not_leak(astronaut):
    """1,000 detections grow RSS by < 6 MB (yuface.c_detect alone leaks 36 KB a call: ~35 MB)."""
    psutil = pytest.importorskip("psutil")
    img = cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)
    for _ in range(20):
        detect_faces(img)
    before = psutil.Process().memory_info().rss
    for _ in range(1000):
        detect_faces(img)
    grown = (psutil.Process().memory_info().rss - before) / 2**20
    assert grown < 6, f"RSS grew {grown:.1f} MB over 1,000 detections"


def _photo(h: int = 240, w: int = 200) -> np.ndarray:
    return np.random.default_rng(0).integers(30, 220, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("colour", [(255, 255, 255), (0, 0, 0), (120, 40, 200)])
def test_content_box_finds_the_picture_inside_a_frame_bars_or_a_page(colour):
    from classifier.faces import content_box
    from classifier.training.augment import framed, on_canvas

    x = _photo()
    assert content_box(x) == Box(0, 0, 200, 240)
    assert content_box(framed(x, 9, 9, 9, 9, colour)) == Box(9, 9, 200, 240)
    assert content_box(framed(x, 30, 30, 0, 0, colour)) == Box(0, 30, 200, 240)  # letterbox
    assert content_box(framed(x, 0, 0, 25, 25, colour)) == Box(25, 0, 200, 240)  # pillarbox
    page, (x0, y0) = on_canvas(x, 0.7, colour, at=(0.2, 0.9))
    assert content_box(page) == Box(x0, y0, 140, 168)


def test_enclosed_means_a_frame_on_all_four_sides():
    from classifier.faces import enclosed

    assert enclosed(Box(5, 5, 90, 90), (100, 100, 3))
    assert not enclosed(Box(0, 5, 100, 90), (100, 100, 3)), "letterbox bars"
    assert not enclosed(Box(5, 0, 95, 100), (100, 100, 3)), "pillarbox bar on one side"
    assert not enclosed(Box(0, 0, 100, 100), (100, 100, 3))


def test_content_box_keeps_a_backdrop_on_one_side_and_tiny_images():
    from classifier.faces import content_box

    x = _photo()
    x[:60] = 255  # a white backdrop above the head: one side only, not a frame
    assert content_box(x) == Box(0, 0, 200, 240)
    x[-3:] = 0  # flat, but another colour than the top: still not one frame
    assert content_box(x) == Box(0, 0, 200, 240)
    backdrop = np.full((240, 200, 3), 255, np.uint8)  # a white studio backdrop on both sides of a head
    cv2.ellipse(backdrop, (100, 120), (70, 100), 0, 0, 360, (90, 60, 50), -1)
    assert content_box(backdrop) == Box(0, 0, 200, 240), "a silhouette is not the straight edge of a frame"
    assert content_box(np.zeros((20, 20, 3), np.uint8)) == Box(0, 0, 20, 20)
    assert content_box(np.full((100, 100, 3), 255, np.uint8)) == Box(0, 0, 100, 100), "all frame: keep the image"


def test_a_frame_does_not_change_what_the_network_sees():
    """The crop stays inside the picture, so a framed photo gives the network the very same pixels."""
    from classifier.training.augment import framed

    x, face, framing = _photo(256, 256), Box(90, 80, 70, 90), Framing(2.6, 256)
    plain = model_input(x, face, 256, framing)
    moved = Box(face.x + 12, face.y + 12, face.w, face.h)
    assert np.array_equal(model_input(framed(x, 12, 12, 12, 12, (255, 255, 255)), moved, 256, framing), plain)
    assert crop_box(moved, (280, 280), framing, Box(12, 12, 256, 256)) == Box(12, 12, 256, 256)
    assert crop_box(None, (300, 300), framing, Box(20, 10, 260, 270)) == Box(20, 15, 260, 260)
    # A picture smaller than the window between bars (two or three sides) keeps the whole-image square, as the
    # network saw padded photos in training; enclosed on all four sides (a page, a mat) it is cropped alone.
    assert crop_box(None, (280, 300), framing, Box(20, 0, 200, 280)) == Box(10, 0, 280, 280)
    assert crop_box(None, (280, 300), framing, Box(20, 10, 200, 260)) == Box(20, 40, 200, 200)
    assert crop_box(Box(60, 60, 50, 50), (280, 300), framing, Box(20, 10, 200, 260)) == Box(20, 10, 200, 200)
    near = Box(14, 14, 40, 40)  # a face by the frame: its square is pushed inside the picture, not the image
    assert crop_box(near, (280, 280), Framing(1.8, 0)) == Box(0, 0, 72, 72)
    assert crop_box(near, (280, 280), Framing(1.8, 0), Box(12, 12, 256, 256)) == Box(12, 12, 72, 72)


def test_a_page_round_a_small_picture_does_not_change_what_the_network_sees():
    """A picture under the window on a page is seen as it would be alone (its own square, enlarged), not with the
    page: flat edges were a real-photo cue, and a page round a shrunk photo cost 2.8.0 29 points."""
    from classifier.training.augment import framed

    x, face, framing = _photo(200, 180), Box(60, 50, 60, 70), Framing(2.6, 256)
    plain = model_input(x, face, 256, framing)
    for top, left in ((30, 30), (12, 40)):
        page = framed(x, top, top + 7, left, left + 3, (235, 235, 235))
        moved = Box(face.x + left, face.y + top, face.w, face.h)
        assert np.array_equal(model_input(page, moved, 256, framing), plain)


def _captioned(x: np.ndarray, below: bool, colour=(255, 255, 255), ink=(20, 20, 20)) -> np.ndarray:
    """``x`` with a caption band of bold text a fifth of its height, as a meme or a post has."""
    h, w = x.shape[:2]
    band = np.empty((h // 5, w, 3), np.uint8)
    band[:] = colour
    cv2.putText(band, "Look at this!", (4, h // 10 + 5), cv2.FONT_HERSHEY_SIMPLEX, w / 430, ink, 2)
    return np.vstack([x, band] if below else [band, x])


@pytest.mark.parametrize("colour,ink", [((255, 255, 255), (20, 20, 20)), ((10, 10, 10), (240, 240, 240))])
def test_content_box_cuts_a_caption_band_on_one_side(colour, ink):
    from classifier.faces import content_box

    x = _photo(256, 256)
    assert content_box(_captioned(x, below=True, colour=colour, ink=ink)) == Box(0, 0, 256, 256)
    assert content_box(_captioned(x, below=False, colour=colour, ink=ink)) == Box(0, 51, 256, 256)


def test_content_box_keeps_a_plain_band_and_a_padded_photos_jpeg_ringing():
    """A band without text is one flat side (kept, as a backdrop is); the ringing that JPEG leaves along a padded
    photo's edge marks a line or two of the padding, which is not text (SCUT-FBP5500's one-sided white padding)."""
    from classifier.faces import content_box
    from classifier.training.augment import framed, jpeg_roundtrip

    x = _photo(256, 220)
    assert content_box(framed(x, 0, 40, 0, 0, (255, 255, 255))) == Box(0, 0, 220, 296)
    padded = jpeg_roundtrip(cv2.GaussianBlur(framed(x, 0, 0, 0, 36, (255, 255, 255)), (0, 0), 0.6), 50)
    assert content_box(padded) == Box(0, 0, 256, 256)
    band = _captioned(x, below=True)
    band[256:262, ::3] = 20  # ink right against the photo, no flat line between: no straight edge to cut along
    assert content_box(band).h == band.shape[0]


def test_a_caption_band_does_not_change_what_the_network_sees():
    x, face, framing = _photo(256, 256), Box(90, 80, 70, 90), Framing(2.6, 256)
    from classifier.faces import content_box

    captioned = _captioned(x, below=False)
    moved = Box(face.x, face.y + 51, face.w, face.h)
    assert np.array_equal(model_input(captioned, moved, 256, framing, content_box(captioned)),
                          model_input(x, face, 256, framing))


def test_detections_in_parallel_threads_match_one_thread(astronaut):
    """predict_batch detects faces on several threads at once (libfacedetection works in per-call blobs; only
    its first call, made under a lock, sets shared state): each thread's results equal the one-thread ones."""
    from concurrent.futures import ThreadPoolExecutor

    from classifier import faces

    rng = np.random.default_rng(3)
    images = [astronaut, np.tile(astronaut, (2, 2, 1)), astronaut[50:400, 100:450], astronaut[::2, ::2]]
    images += [rng.integers(0, 256, (int(h), int(w), 3), dtype=np.uint8) for h, w in rng.integers(40, 300, (8, 2))]
    bgrs = [np.ascontiguousarray(im[:, :, ::-1]) for im in images] * 4
    alone = [faces._raw_detect(b) for b in bgrs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(faces._raw_detect, bgrs))
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a[:, :15], b[:, :15])
