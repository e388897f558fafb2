"""Files that declare where they came from, made in memory for the provenance tests (nothing is downloaded).

- ``TestCA``: a throw-away ES256 certificate authority and signing leaf (``cryptography``), the leaf with the
  digitalSignature key usage and the emailProtection extended key usage C2PA asks of a signer.
- ``sign_c2pa``: a C2PA manifest with a created action and a digital source type, signed into JPEG, PNG,
  WebP, HEIC or AVIF bytes by ``c2pa-python``.
- ``embed_sd_watermark``: a line-by-line port of invisible-watermark 0.2.0's ``dwtDct`` encoder (MIT), which
  cannot be imported without torch; the SD 1.x reference scripts call it on uint8 BGR images, diffusers' and
  generative-models' SDXL pipelines on float ones.
- helpers for XMP packets, PNG text chunks, EXIF, and the hostile variants (truncated JUMBF, pixels changed
  after signing, a 5 MB XMP packet).
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
from PIL import Image, PngImagePlugin

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SDXL_BITS = [int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:]]
SD1_BITS = [int(b) for b in np.unpackbits(np.frombuffer(b"StableDiffusionV1", np.uint8))]
MIMES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic", "AVIF": "image/avif"}


def encode(rgb: np.ndarray, fmt: str = "JPEG", **kwargs) -> bytes:
    """``rgb`` saved as ``fmt`` in memory (HEIF through pillow-heif)."""
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    if fmt == "JPEG":
        kwargs.setdefault("quality", 90)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, **kwargs)
    return buf.getvalue()


# -- C2PA ------------------------------------------------------------------------------------------------------
@dataclass
class TestCA:
    """A throw-away CA and leaf, valid from yesterday for 30 days; ``anchors`` is the CA's PEM."""

    __test__ = False  # not a pytest class

    @cached_property
    def _made(self) -> tuple[str, str, str]:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.datetime.now(datetime.UTC)

        def name(cn: str) -> x509.Name:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                              x509.NameAttribute(NameOID.ORGANIZATION_NAME, "AI vs Reality tests")])

        def usage(sign: bool) -> x509.KeyUsage:
            return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                                 data_encipherment=False, key_agreement=False, key_cert_sign=not sign,
                                 crl_sign=not sign, encipher_only=False, decipher_only=False)

        def cert(subject, issuer, key, signer, ca: bool):
            b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                 .serial_number(x509.random_serial_number())
                 .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                 .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                 .add_extension(usage(not ca), critical=True)
                 .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
            if not ca:
                b = (b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
                     .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                                    critical=False))
            return b.sign(signer, hashes.SHA256())

        ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca = cert(name("Test Root CA"), name("Test Root CA"), ca_key, ca_key, ca=True)
        leaf = cert(name("Test Image Generator"), ca.subject, leaf_key, ca_key, ca=False)
        pem = [c.public_bytes(serialization.Encoding.PEM).decode() for c in (leaf, ca)]
        key = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()
        return pem[0] + pem[1], key, pem[1]

    @property
    def chain(self) -> str:
        return self._made[0]

    @property
    def key(self) -> str:
        return self._made[1]

    @property
    def anchors(self) -> str:
        return self._made[2]


def manifest(source_type: str = "trainedAlgorithmicMedia", action: str = "c2pa.created",
             agent: str = "Test Diffusion 1.0") -> dict:
    return {"claim_generator_info": [{"name": "ai-vs-reality-tests", "version": "1"}], "title": "fixture",
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                {"action": action, "digitalSourceType": IPTC + source_type, "softwareAgent": {"name": agent}}]}}]}


def sign_c2pa(data: bytes, fmt: str, ca: TestCA, definition: dict | None = None, remote_url: str | None = None,
              key: str | None = None) -> bytes:
    """``data`` (an image in ``fmt``) with a signed C2PA manifest (default: created, trainedAlgorithmicMedia);
    ``key`` signs with another private key than the leaf's (a forged signature)."""
    import c2pa

    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}},
                                      "verify": {"verify_after_sign": False}})
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, ca.chain.encode(),
                                                        (key or ca.key).encode(), None))
    builder = c2pa.Builder.from_json(definition or manifest(), context)
    if remote_url:
        builder.set_remote_url(remote_url)
        builder.set_no_embed()
    out = io.BytesIO()
    builder.sign(signer, MIMES[fmt], io.BytesIO(data), out)
    return out.getvalue()


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """``(marker, start, end)`` of each marker segment before the scan."""
    out, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        out.append((marker, i, i + 2 + length))
        if marker == 0xDA:
            break
        i += 2 + length
    return out


def truncate_jumbf(signed: bytes) -> bytes:
    """The signed JPEG with its C2PA (APP11) payload cut in half, segment lengths fixed: the JPEG still decodes,
    the JUMBF boxes inside claim more bytes than they hold."""
    out, last = bytearray(), 0
    for marker, start, end in jpeg_segments(signed):
        if marker == 0xEB:
            body = signed[start + 4 : end][: (end - start - 4) // 2]
            out += signed[last:start] + b"\xff\xeb" + (len(body) + 2).to_bytes(2, "big") + body
            last = end
    return bytes(out + signed[last:])


def change_pixels_after_signing(signed: bytes, other: bytes) -> bytes:
    """``signed``'s header and manifest in front of ``other``'s pixels (same JFIF header length): the manifest
    is intact, but the data it hashed is not the data that follows it."""
    app11_end = max(end for marker, _, end in jpeg_segments(signed) if marker == 0xEB)
    other_app0_end = next(end for marker, _, end in jpeg_segments(other) if marker == 0xE0)
    return signed[:app11_end] + other[other_app0_end:]


# -- XMP, PNG text, EXIF -------------------------------------------------------------------------------------------
def xmp_packet(source_type: str | None = None, padding: int = 0, extra: str = "") -> bytes:
    """An XMP packet with an IPTC DigitalSourceType (element form) and ``padding`` bytes of whitespace."""
    dst = (f"<Iptc4xmpExt:DigitalSourceType>{IPTC}{source_type}</Iptc4xmpExt:DigitalSourceType>"
           if source_type else "")
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
            f'xmlns:dcterms="http://purl.org/dc/terms/">{dst}{extra}</rdf:Description></rdf:RDF></x:xmpmeta>'
            + " " * padding + '<?xpacket end="w"?>').encode()


def png_with_text(rgb: np.ndarray, texts: dict[str, str] | None = None, xmp: bytes | None = None,
                  compress: bool = False) -> bytes:
    """A PNG with tEXt chunks (``texts``; zTXt with ``compress``) and an iTXt XMP packet."""
    info = PngImagePlugin.PngInfo()
    for key, value in (texts or {}).items():
        info.add_text(key, value, zip=compress)
    if xmp is not None:
        info.add_itxt("XML:com.adobe.xmp", xmp.decode(), zip=compress)
    return encode(rgb, "PNG", pnginfo=info)


def camera_exif() -> Image.Exif:
    """EXIF a phone camera writes: make, model, exposure, aperture, ISO."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R5"
    ifd = exif.get_ifd(0x8769)
    ifd[0x829A] = 1 / 200
    ifd[0x829D] = 2.8
    ifd[0x8827] = 400
    return exif


# -- the SD / SDXL invisible watermark (port of imwatermark.maxDct.EmbedMaxDct, dwtDct) ---------------------------
def _embed_max_dct(bgr: np.ndarray, bits: list[int], scale: float = 36, block: int = 4) -> np.ndarray:
    """EmbedMaxDct.encode, as published: the U channel only (its ``range(2)`` loop skips Y and never reaches V),
    detail bands put back with horizontal and vertical swapped."""
    import pywt

    row, col = bgr.shape[:2]
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    ca1, (h1, v1, d1) = pywt.dwt2(yuv[: row // 4 * 4, : col // 4 * 4, 1], "haar")
    num = 0
    for i in range(ca1.shape[0] // block):
        for j in range(ca1.shape[1] // block):
            blk = ca1[i * block : i * block + block, j * block : j * block + block]
            bit = bits[num % len(bits)]
            pos = np.argmax(abs(blk.flatten()[1:])) + 1
            r, c = pos // block, pos % block
            val = blk[r][c]
            if val >= 0.0:
                blk[r][c] = (val // scale + 0.25 + 0.5 * bit) * scale
            else:
                blk[r][c] = -1.0 * (abs(val) // scale + 0.25 + 0.5 * bit) * scale
            num += 1
    yuv[: row // 4 * 4, : col // 4 * 4, 1] = pywt.idwt2((ca1, (v1, h1, d1)), "haar")
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)


def embed_sd_watermark(rgb: np.ndarray, model: str = "sdxl") -> np.ndarray:
    """``rgb`` watermarked the way a pipeline does it: ``"sdxl"`` as diffusers' StableDiffusionXLWatermarker
    (float BGR, then clipped and rounded to uint8), ``"sd1"`` as the SD 1.x txt2img script (uint8 BGR)."""
    if model == "sdxl":
        bgr = np.ascontiguousarray(rgb[:, :, ::-1].astype(np.float32))
        out = _embed_max_dct(bgr, SDXL_BITS)[:, :, ::-1]
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    return cv2.cvtColor(_embed_max_dct(bgr, SD1_BITS), cv2.COLOR_BGR2RGB)


def reference_decode(rgb: np.ndarray, n_bits: int, float_domain: bool, scale: float = 36) -> np.ndarray:
    """imwatermark's ``dwtDct`` decoder, loop for loop (the vectorised one in provenance.py must agree)."""
    import pywt

    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    bgr = bgr.astype(np.float32) if float_domain else bgr
    row, col = bgr.shape[:2]
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    ca1, _ = pywt.dwt2(yuv[: row // 4 * 4, : col // 4 * 4, 1], "haar")
    scores: list[list[int]] = [[] for _ in range(n_bits)]
    num = 0
    for i in range(ca1.shape[0] // 4):
        for j in range(ca1.shape[1] // 4):
            blk = ca1[i * 4 : i * 4 + 4, j * 4 : j * 4 + 4]
            pos = np.argmax(abs(blk.flatten()[1:])) + 1
            val = abs(blk[pos // 4][pos % 4])
            scores[num % n_bits].append(int((val % scale) > 0.5 * scale))
            num += 1
    return np.array([np.mean(s) for s in scores]) * 255 > 127
