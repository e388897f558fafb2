"""Provenance: what a file declares about its origin, and how the declaration and the pixels combine.

Every fixture is made here (``provenance_fixtures``): C2PA signed with a throw-away CA, XMP, PNG text chunks,
EXIF, SD/SDXL watermarks from a port of the reference encoder. The astronaut is a real photo, so its pixel
verdict is "real"; a declaration of AI generation must turn the verdict to AI-generated all the same, with
the pixel probability unchanged.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import numpy as np
import provenance_fixtures as pf
import pytest

from classifier import provenance as prov
from classifier.rows import SCAN_COLUMNS, result_row, scan_row

A1111 = ("portrait of a woman, studio light\nNegative prompt: blurry\nSteps: 30, Sampler: DPM++ 2M Karras, "
         "CFG scale: 7, Seed: 1234, Size: 832x1216, Model hash: 31e35c80fc, Model: sd_xl_base_1.0")
COMFY_PROMPT = {"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20}},
                "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
                "9": {"class_type": "SaveImage", "inputs": {}}}
COMFY_WORKFLOW = {"nodes": [{"id": 3, "type": "KSampler"}, {"id": 9, "type": "SaveImage"}], "links": []}


@pytest.fixture(scope="module")
def ca() -> pf.TestCA:
    return pf.TestCA()


@pytest.fixture(scope="module")
def rgb(astronaut: np.ndarray) -> np.ndarray:
    return astronaut


@pytest.fixture(scope="module")
def plain_jpeg(rgb) -> bytes:
    return pf.encode(rgb, "JPEG")


@pytest.fixture(scope="module")
def plain_png(rgb) -> bytes:
    return pf.encode(rgb, "PNG")


def claim_and_kinds(data: bytes, rgb=None) -> tuple[str | None, list[str]]:
    p = prov.read_provenance(data, rgb)
    return p.claim, [e.kind for e in p.evidence]


def assert_declared_ai(clf, declared: bytes, stripped: bytes, claim: str = "ai") -> None:
    """The declared file is AI-generated whatever its pixels say; the pixels' own answer is still reported,
    and equals the stripped copy's."""
    pred, bare = clf.predict(declared), clf.predict(stripped)
    assert pred.provenance.claim == claim
    assert bare.provenance.claim is None and bare.provenance.evidence == ()
    assert pred.verdict == "ai"
    assert pred.pixel_verdict == bare.verdict
    assert pred.p_ai == pytest.approx(bare.p_ai, abs=1e-6)
    reason = "edited with AI" if claim == "ai-edited" else "declares it was AI-generated"
    assert any(reason in w for w in pred.warnings), pred.warnings


# -- each kind of evidence -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_c2pa_trained_algorithmic_media(clf, ca, rgb, fmt):
    plain = pf.encode(rgb, fmt)
    signed = pf.sign_c2pa(plain, fmt, ca)
    p = prov.read_provenance(signed)
    (ev,) = p.evidence
    assert (ev.kind, ev.claim, ev.trusted) == ("c2pa", "ai", False)  # valid, but no trust list names our CA
    assert "Test Image Generator" in ev.detail and "no trust list" in ev.detail and "Test Diffusion" in ev.detail
    assert p.warnings == ()
    assert_declared_ai(clf, signed, plain)


def test_c2pa_signer_on_the_configured_trust_list_is_trusted(ca, plain_jpeg, tmp_path, monkeypatch):
    anchors = tmp_path / "anchors.pem"
    anchors.write_text(ca.anchors)
    monkeypatch.setenv(prov.TRUST_ANCHORS_ENV, str(anchors))
    (ev,) = prov.read_provenance(pf.sign_c2pa(plain_jpeg, "JPEG", ca)).evidence
    assert (ev.claim, ev.trusted) == ("ai", True)
    assert "on the trust list" in ev.detail


@pytest.mark.parametrize("fmt", ["WEBP", "AVIF", "HEIF"])
def test_c2pa_in_other_formats(ca, rgb, fmt):
    (ev,) = prov.read_provenance(pf.sign_c2pa(pf.encode(rgb, fmt), fmt, ca)).evidence
    assert (ev.kind, ev.claim) == ("c2pa", "ai")


def test_c2pa_camera_capture_and_ai_edit(ca, plain_jpeg):
    capture = pf.sign_c2pa(plain_jpeg, "JPEG", ca, pf.manifest("digitalCapture", agent="Test Camera"))
    edited = pf.sign_c2pa(plain_jpeg, "JPEG", ca, pf.manifest("trainedAlgorithmicMedia", action="c2pa.edited"))
    assert prov.read_provenance(capture).claim == "capture"
    assert prov.read_provenance(edited).claim == "ai-edited"


def test_iptc_trained_algorithmic_media_alone(clf, rgb, plain_jpeg):
    declared = pf.encode(rgb, "JPEG", xmp=pf.xmp_packet("trainedAlgorithmicMedia"))
    assert claim_and_kinds(declared) == ("ai", ["iptc"])
    assert_declared_ai(clf, declared, plain_jpeg)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "AVIF", "HEIF"])
def test_iptc_in_every_phone_and_web_format(rgb, fmt):
    xmp = pf.xmp_packet("trainedAlgorithmicMedia")
    data = pf.png_with_text(rgb, xmp=xmp) if fmt == "PNG" else pf.encode(rgb, fmt, xmp=xmp)
    assert claim_and_kinds(data) == ("ai", ["iptc"])


def test_iptc_attribute_and_resource_forms():
    for form in (f'Iptc4xmpExt:DigitalSourceType="{pf.IPTC}trainedAlgorithmicMedia"',
                 f'<Iptc4xmpExt:DigitalSourceType rdf:resource="{pf.IPTC}trainedAlgorithmicMedia"/>'):
        assert [e.claim for e in prov.iptc_evidence(f"<x:xmpmeta {form}></x:xmpmeta>".encode())] == ["ai"]
    assert prov.iptc_evidence(b"<x>DigitalSourceType>nonsenseCode</x>") == []


def test_iptc_composite_is_an_ai_edit(clf, rgb, plain_jpeg):
    declared = pf.encode(rgb, "JPEG", xmp=pf.xmp_packet("compositeWithTrainedAlgorithmicMedia"))
    assert claim_and_kinds(declared) == ("ai-edited", ["iptc"])
    assert_declared_ai(clf, declared, plain_jpeg, claim="ai-edited")


def test_a1111_parameters(clf, rgb, plain_png):
    declared = pf.png_with_text(rgb, {"parameters": A1111})
    p = prov.read_provenance(declared)
    assert (p.claim, [e.kind for e in p.evidence]) == ("ai", ["metadata"])
    assert "AUTOMATIC1111" in p.evidence[0].detail and "sd_xl_base_1.0" in p.evidence[0].detail
    assert_declared_ai(clf, declared, plain_png)


def test_a1111_parameters_in_jpeg_exif_user_comment(rgb):
    exif = pf.camera_exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + A1111.encode("utf-16-be")
    p = prov.read_provenance(pf.encode(rgb, "JPEG", exif=exif))
    assert p.claim == "ai"  # generator parameters outrank the camera EXIF they came with
    assert [e.kind for e in p.evidence] == ["metadata", "exif"]


@pytest.mark.parametrize("compress", [False, True])
def test_comfyui_prompt_and_workflow(clf, rgb, plain_png, compress):
    declared = pf.png_with_text(rgb, {"prompt": json.dumps(COMFY_PROMPT), "workflow": json.dumps(COMFY_WORKFLOW)},
                                compress=compress)
    p = prov.read_provenance(declared)
    assert (p.claim, [e.kind for e in p.evidence]) == ("ai", ["metadata"])
    assert "ComfyUI" in p.evidence[0].detail
    if not compress:
        assert_declared_ai(clf, declared, plain_png)


def test_invokeai_novelai_and_software_names(rgb):
    for texts in ({"invokeai_metadata": "{}"}, {"Software": "NovelAI", "Source": "NovelAI Diffusion V3"},
                  {"Software": "Midjourney"}):
        assert prov.read_provenance(pf.png_with_text(rgb, texts)).claim == "ai", texts
    exif = pf.camera_exif()
    exif[0x0131] = "Adobe Firefly"
    assert prov.read_provenance(pf.encode(rgb, "JPEG", exif=exif)).claim == "ai"
    exif[0x0131] = "Adobe Photoshop 26.0"  # an editor is no generator
    assert prov.read_provenance(pf.encode(rgb, "JPEG", exif=exif)).claim == "capture"


@pytest.mark.parametrize("model", ["sdxl", "sd1"])
def test_sd_watermarked_png_without_metadata(clf, rgb, model):
    marked = pf.embed_sd_watermark(rgb, model)
    declared, unmarked = pf.encode(marked, "PNG"), pf.encode(rgb, "PNG")
    p = prov.read_provenance(declared, marked)
    assert (p.claim, [e.kind for e in p.evidence]) == ("ai", ["watermark"])
    assert ("Stable Diffusion XL" if model == "sdxl" else "Stable Diffusion 1.x") in p.evidence[0].detail
    pred, bare = clf.predict(declared), clf.predict(unmarked)
    assert (pred.verdict, pred.provenance.claim, bare.provenance.claim) == ("ai", "ai", None)
    assert pred.pixel_verdict == bare.verdict  # the mark is invisible to the model as well


def test_watermark_decoder_agrees_with_the_reference_loop(rgb):
    """The vectorised decoder reads the same bits as imwatermark's own loop (ported in the fixtures)."""
    for model, mark in (("sdxl", prov.WATERMARKS[0]), ("sd1", prov.WATERMARKS[1])):
        marked = pf.embed_sd_watermark(rgb, model)
        reference = pf.reference_decode(marked, len(mark.bits), mark.float_domain)
        expected = int((reference == np.asarray(mark.bits, bool)).sum())
        found = dict((m.name, k) for m, k in prov.decode_watermarks(marked))[mark.name]
        assert abs(found - expected) <= 1 and found >= mark.min_matches


def test_no_watermark_in_unmarked_images(rgb):
    rng = np.random.default_rng(0)
    images = [rgb, rgb[::-1].copy(), rng.integers(0, 256, (512, 640, 3), dtype=np.uint8),
              np.full((512, 512, 3), 200, np.uint8), np.dstack([np.tile(np.arange(512, dtype=np.uint8), (512, 1))] * 3)]
    for image in images:
        assert prov.watermark_evidence(image) == []
        assert all(k < m.min_matches for m, k in prov.decode_watermarks(image))
    assert prov.decode_watermarks(np.zeros((200, 200, 3), np.uint8)) == []  # too small to carry one


def test_camera_exif_claims_capture_and_leaves_the_verdict_alone(clf, rgb, plain_jpeg):
    with_exif = pf.encode(rgb, "JPEG", exif=pf.camera_exif())
    p = prov.read_provenance(with_exif)
    (ev,) = p.evidence
    assert (p.claim, ev.kind, ev.trusted) == ("capture", "exif", None)
    assert "Canon EOS R5" in ev.detail and "1/200 s" in ev.detail and "ISO 400" in ev.detail
    pred, bare = clf.predict(with_exif), clf.predict(plain_jpeg)
    assert (pred.verdict, pred.p_ai) == (bare.verdict, bare.p_ai)
    assert pred.pixel_verdict == pred.verdict


def test_make_and_model_without_exposure_claim_nothing(rgb):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS R5"
    assert prov.read_provenance(pf.encode(rgb, "JPEG", exif=exif)).claim is None


def test_same_pixels_stripped_of_metadata_claim_nothing(rgb, plain_jpeg, plain_png):
    for data in (plain_jpeg, plain_png, pf.encode(rgb, "WEBP"), pf.encode(rgb, "AVIF")):
        assert prov.read_provenance(data, rgb) == prov.NONE
    assert prov.NONE.to_dict() == {"claim": None, "evidence": []}


# -- C2PA that cannot vouch ----------------------------------------------------------------------------------------
def test_c2pa_pixels_changed_after_signing(clf, ca, rgb, plain_jpeg):
    signed = pf.sign_c2pa(plain_jpeg, "JPEG", ca)
    changed = pf.change_pixels_after_signing(signed, pf.encode(np.ascontiguousarray(rgb[:, ::-1]), "JPEG"))
    p = prov.read_provenance(changed)
    (ev,) = p.evidence
    assert (ev.claim, ev.trusted) == ("ai", False)  # still a declaration, but it vouches for nothing
    assert "changed after it was signed" in ev.detail
    assert any("changed after its Content Credentials were signed" in w for w in p.warnings)
    pred = clf.predict(changed)
    assert pred.verdict == "ai" and any("changed after" in w for w in pred.warnings)


def test_c2pa_invalid_signature_still_declares(ca, plain_jpeg):
    """Signed with one key under another leaf's certificate: the signature fails, the declaration stands."""
    forged = pf.sign_c2pa(plain_jpeg, "JPEG", ca, key=pf.TestCA().key)
    p = prov.read_provenance(forged)
    (ev,) = p.evidence
    assert (ev.claim, ev.trusted) == ("ai", False) and "signature is invalid" in ev.detail
    assert any("signature is invalid" in w for w in p.warnings)


def hostile_predict(clf, data: bytes):
    t0 = time.perf_counter()
    p = prov.read_provenance(data, None)
    read_s = time.perf_counter() - t0
    pred = clf.predict(data)
    return p, read_s, pred


def test_truncated_c2pa_segment(clf, ca, plain_jpeg):
    truncated = pf.truncate_jumbf(pf.sign_c2pa(plain_jpeg, "JPEG", ca))
    p, seconds, pred = hostile_predict(clf, truncated)
    assert seconds < 1.0
    assert [(e.kind, e.claim, e.trusted) for e in p.evidence] == [("c2pa", None, False)]
    assert pred.pixel_verdict == clf.predict(plain_jpeg).verdict  # the pixel verdict still comes back
    assert pred.verdict == pred.pixel_verdict and pred.provenance.warnings


@pytest.mark.parametrize("fmt", ["PNG", "PNG-compressed", "WEBP"])
def test_five_megabyte_xmp_packet(clf, rgb, fmt):
    """Read whole and in bounded time; a compressed one no longer makes Pillow refuse the image."""
    xmp = pf.xmp_packet("trainedAlgorithmicMedia", padding=5_000_000)
    data = pf.encode(rgb, fmt, xmp=xmp) if fmt == "WEBP" else pf.png_with_text(rgb, xmp=xmp, compress="-" in fmt)
    p, seconds, pred = hostile_predict(clf, data)
    assert seconds < 1.0
    assert p.claim == "ai" and pred.verdict == "ai" and pred.pixel_verdict in ("ai", "real", "uncertain")


def test_c2pa_fuzzed_bytes_never_raise(ca, rgb):
    """Truncations, flipped and inserted bytes inside the manifest: every read returns, fast."""
    rng = np.random.default_rng(43)
    for fmt in ("JPEG", "PNG"):
        signed = pf.sign_c2pa(pf.encode(rgb, fmt), fmt, ca)
        lo = max(0, signed.find(b"jumb") - 64)
        for _ in range(40):
            b = bytearray(signed)
            cut = int(rng.integers(lo, lo + 3000))
            if rng.random() < 0.3:
                b = b[:cut]
            else:
                b[cut] ^= int(rng.integers(1, 256))
            t0 = time.perf_counter()
            p = prov.read_provenance(bytes(b))
            assert time.perf_counter() - t0 < 1.0
            assert all(e.kind in prov.KINDS for e in p.evidence)


def test_remote_manifest_is_never_fetched(ca, plain_jpeg):
    """A manifest that lives at a URL: the reader reports it and makes no connection (a local listener
    counts attempts)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    hits: list = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append(1)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/manifest.c2pa"
        data = pf.sign_c2pa(plain_jpeg, "JPEG", ca, remote_url=url)
        t0 = time.perf_counter()
        p = prov.read_provenance(data)
        assert time.perf_counter() - t0 < 1.0
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(2)
        server.close()
    assert hits == []
    (ev,) = p.evidence
    assert (ev.kind, ev.claim, ev.trusted) == ("c2pa", None, None) and "not fetched" in ev.detail


def test_png_text_walker_is_bounded():
    """Text after the pixels is read; a zTXt bomb is inflated only up to the cap."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    bomb = zlib.compress(b"A" * (3 * prov.MAX_TEXT_BYTES), 9)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", b"\x00" * 13) + chunk(b"IDAT", b"x" * 100)
           + chunk(b"tEXt", b"parameters\x00" + A1111.encode()) + chunk(b"zTXt", b"bomb\x00\x00" + bomb)
           + chunk(b"IEND", b""))
    texts = dict(prov.png_texts(png))
    assert texts["parameters"] == A1111
    assert len(texts["bomb"]) == prov.MAX_TEXT_BYTES


# -- combining with the pixels ---------------------------------------------------------------------------------------
def test_decide_rules():
    ai = prov.Provenance((prov.Evidence("iptc", "ai", "x"),))
    edit = prov.Provenance((prov.Evidence("iptc", "ai-edited", "x"),))
    capture = prov.Provenance((prov.Evidence("exif", "capture", "x"),))
    for pixel in ("real", "uncertain", "ai"):
        assert prov.decide(pixel, 0.2, ai)[0] == "ai"
        assert prov.decide(pixel, 0.2, edit)[0] == "ai"
        assert prov.decide(pixel, 0.2, capture)[0] == pixel  # a capture claim never decides
        assert prov.decide(pixel, 0.2, prov.NONE) == (pixel, [])
    verdict, notes = prov.decide("ai", 0.97, capture)
    assert verdict == "ai" and "claims a camera capture" in notes[0] and "look AI-generated" in notes[0]
    assert prov.decide("real", 0.05, capture) == ("real", [])
    both = prov.Provenance((prov.Evidence("exif", "capture", "x"), prov.Evidence("watermark", "ai", "y")))
    assert both.claim == "ai" and both.sources() == ["watermark"]


# -- one contract everywhere -------------------------------------------------------------------------------------------
def test_rows_carry_provenance(clf, rgb, plain_jpeg):
    declared = pf.encode(rgb, "JPEG", xmp=pf.xmp_packet("trainedAlgorithmicMedia"))
    row = result_row("x.jpg", clf.predict(declared))
    assert row["provenance"]["claim"] == "ai" and row["verdict"] == "ai"
    assert row["provenance"]["evidence"][0] == {"kind": "iptc", "claim": "ai", "trusted": None,
                                                "detail": row["provenance"]["evidence"][0]["detail"]}
    json.dumps(row)
    flat = scan_row("x.jpg", clf.predict(declared))
    assert tuple(flat) == SCAN_COLUMNS and flat["provenance"] == "ai"
    assert scan_row("y.jpg", clf.predict(plain_jpeg))["provenance"] is None
    error = result_row("z.jpg", None, "broken")
    assert error["provenance"] == {"claim": None, "evidence": []} and scan_row("z.jpg", None, "x")["provenance"] is None


def test_arrays_and_pil_images_have_no_file_to_read(clf, rgb):
    from PIL import Image

    for image in (rgb, Image.fromarray(rgb)):
        pred = clf.predict(image)
        assert pred.provenance.claim is None and pred.to_dict()["provenance"] == {"claim": None, "evidence": []}


def test_watermark_is_read_from_arrays_too(clf, rgb):
    """The mark lives in the pixels, so an array (a notebook's image) is checked for it as well."""
    pred = clf.predict(pf.embed_sd_watermark(rgb, "sdxl"))
    assert (pred.verdict, pred.provenance.claim) == ("ai", "ai")


def test_cli_predict_and_both_scan_formats_carry_it(monkeypatch, clf, tmp_path, capsys, rgb):
    """``predict --json`` rows hold the provenance object, scans a ``provenance`` column with the claim."""
    import csv

    import pyarrow.parquet as pq

    from classifier import cli, predictor

    monkeypatch.setattr(predictor, "load_classifier", lambda model_dir=None, verify=True: clf)
    root = tmp_path / "photos"
    root.mkdir()
    (root / "a_declared.png").write_bytes(pf.png_with_text(rgb, {"parameters": A1111}))
    (root / "b_plain.png").write_bytes(pf.encode(rgb, "PNG"))
    assert cli.main(["predict", str(root / "a_declared.png"), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["verdict"], row["provenance"]["claim"]) == ("ai", "ai")
    assert row["provenance"]["evidence"][0]["kind"] == "metadata" and row["pixel_verdict"] in ("real", "uncertain")
    assert cli.main(["scan", str(root), "--out", str(tmp_path / "r.csv")]) == 0
    with open(tmp_path / "r.csv", newline="") as f:
        assert [r["provenance"] for r in csv.DictReader(f)] == ["ai", ""]
    assert cli.main(["scan", str(root), "--out", str(tmp_path / "r.parquet")]) == 0
    assert pq.read_table(tmp_path / "r.parquet").column("provenance").to_pylist() == ["ai", None]
    capsys.readouterr()
