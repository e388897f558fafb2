"""What the file itself declares about where it came from, read from the bytes intake already holds.

Five kinds of evidence, strongest first:

- ``c2pa``: Content Credentials, signed manifests (``c2pa-python``, the CAI's own bindings): the actions and
  their digital source type, the signer, and whether the signature is valid, trusted and still matches the file.
- ``iptc``: the IPTC ``DigitalSourceType`` in the file's XMP (trainedAlgorithmicMedia, digitalCapture...).
- ``metadata``: generator parameters left in the file (AUTOMATIC1111/Forge ``parameters``, ComfyUI ``prompt`` and
  ``workflow``, InvokeAI, NovelAI, Fooocus, SwarmUI), or EXIF/XMP software naming a generator.
- ``watermark``: the invisible DWT-DCT mark that Stable Diffusion's reference scripts (1.x, 2.x) and SDXL's
  (diffusers, Stability's generative-models) embed by default, decoded here with NumPy and OpenCV.
- ``exif``: camera EXIF (make, model and exposure): weak, easy to forge and often stripped.

Why a decoder of our own for the watermark, not ``invisible-watermark``: that package imports torch when it
is imported (``imwatermark/rivaGan.py``), so installed without its dependencies it cannot even be imported,
and with them it pulls torch and ``opencv-python`` 5.x, which replaces our ``cv2`` (4.x, which has the Haar
cascades) and is gigabytes. Its ``dwtDct`` decoder is twenty lines: the largest non-DC coefficient of each
4x4 block of the U channel's Haar approximation, taken modulo 36 and voted over the blocks that carry the
same bit. The same, vectorised, costs a few milliseconds instead of ~90 ms per image.

Rules this module keeps: it never raises (a reader that fails adds nothing, or says the manifest could not
be read), never touches the network (remote manifests and OCSP are not fetched) and never writes anything.
Its time and memory are bounded: text is capped (``MAX_TEXT_BYTES``), the watermark is read from at most
``WATERMARK_MAX_PIXELS`` pixels, and C2PA is parsed only when the bytes name it.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .limits import MAX_TEXT_BYTES

CLAIMS = ("ai", "ai-edited", "capture")
KINDS = ("c2pa", "iptc", "metadata", "watermark", "exif")
_STRENGTH = {"ai": 3, "ai-edited": 2, "capture": 1, None: 0}
TRUST_ANCHORS_ENV = "AIVR_C2PA_TRUST_ANCHORS"  # a PEM bundle of C2PA trust anchors (e.g. the C2PA trust list)

MAX_TEXT_TOTAL = 16 * 1024 * 1024  # all text chunks of one file together
MAX_PNG_CHUNKS = 4096
MAX_EXIF_BYTES = 1024 * 1024
WATERMARK_MIN_PIXELS = 256 * 256  # the encoder refuses smaller images
WATERMARK_MAX_PIXELS = 2_000_000  # a top band of the image, full width (the mark repeats row by row)

IPTC_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# The IPTC digital source types (2025 vocabulary, and the older codes still found in files) and what they claim.
DIGITAL_SOURCE_TYPES: dict[str, str | None] = {
    "trainedAlgorithmicMedia": "ai",
    "compositeWithTrainedAlgorithmicMedia": "ai-edited",
    "digitalCapture": "capture",
    "computationalCapture": "capture",
    "negativeFilm": "capture",
    "positiveFilm": "capture",
    "print": "capture",
    "compositeCapture": "capture",
    "algorithmicallyEnhanced": None,
    "algorithmicMedia": None,
    "compositeSynthetic": None,
    "composite": None,
    "dataDrivenMedia": None,
    "digitalCreation": None,
    "digitalArt": None,
    "humanEdits": None,
    "minorHumanEdits": None,
    "screenCapture": None,
    "softwareImage": None,
    "virtualRecording": None,
}
SOURCE_TYPE_WORDS = {"ai": "AI-generated", "ai-edited": "edited with AI", "capture": "a camera capture"}

# Software names that only image generators use (EXIF Software, XMP CreatorTool, PNG Software).
GENERATOR_NAMES = re.compile(
    r"\b(stable[ -]?diffusion|sdxl|midjourney|dall[-·. ]?e|novel ?ai|comfy ?ui|invoke ?ai|automatic1111|"
    r"sd[-.]webui|sd\.next|fooocus|swarm ?ui|adobe firefly|firefly|imagen|ideogram|leonardo\.ai|flux\.?[12]|"
    r"black forest labs|dreamstudio|nightcafe|kandinsky|gpt-image|gpt-4o|chatgpt|draw things|diffusionbee|"
    r"stylegan|thispersondoesnotexist|artbreeder|krea|recraft)\b", re.I)
# The parameters line AUTOMATIC1111, Forge and SD.Next write ("Steps: 20, Sampler: Euler a, CFG scale: 7, ...").
A1111_LINE = re.compile(r"\bSteps: \d+, (Sampler|Seed|CFG scale|Schedule type): ")
# Iptc4xmpExt:DigitalSourceType as an attribute, an element or an rdf:resource, with or without the URI.
_DST = re.compile(rb"DigitalSourceType\b[^<>]{0,64}?[=>]\s*[\"']?\s*(?:https?://cv\.iptc\.org/newscodes/"
                  rb"digitalsourcetype/)?([A-Za-z]{3,64})")
_REMOTE_MANIFEST = re.compile(rb"dcterms:provenance\s*(?:=\s*[\"']|>)\s*https?://")
_CREATOR_TOOL = re.compile(rb"CreatorTool\s*(?:=\s*[\"']|>)([^\"'<]{1,200})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")

# The SD/SDXL invisible watermarks (imwatermark ``dwtDct``): bits, the colour domain the encoder worked in,
# and how many bits must match. A random image matches each bit with probability 1/2, so the chance of a
# false mark is a binomial tail: 43 of 48 ~7e-9 (per channel order), 105 of 136 ~7e-11, 31 of 32 ~8e-9.
SDXL_BITS = tuple(int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:])


def _bytes_bits(message: bytes) -> tuple[int, ...]:
    return tuple(int(b) for b in np.unpackbits(np.frombuffer(message, np.uint8)))


@dataclass(frozen=True)
class Mark:
    name: str
    bits: tuple[int, ...]
    float_domain: bool  # diffusers and generative-models encode float images; the SD 1/2 scripts uint8 ones
    min_matches: int


WATERMARKS = (
    Mark("Stable Diffusion XL", SDXL_BITS, True, 43),
    Mark("Stable Diffusion 1.x", _bytes_bits(b"StableDiffusionV1"), False, 105),
    Mark("Stable Diffusion 2.x", _bytes_bits(b"SDV2"), False, 31),
)


@dataclass(frozen=True)
class Evidence:
    """One thing the file says: its kind, the claim it makes (or None), a sentence, and whether a signature
    vouches for it (True/False for C2PA, None where nothing is signed)."""

    kind: str
    claim: str | None
    detail: str
    trusted: bool | None = None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "claim": self.claim, "detail": self.detail, "trusted": self.trusted}


@dataclass(frozen=True)
class Provenance:
    """Everything the file declares. ``claim`` is the strongest declaration: ai > ai-edited > capture.

    Why the strongest wins: nobody labels a real photo as AI-made by accident, while a camera claim is the
    easiest thing to copy into a generated file. ``warnings`` say when a C2PA signature failed or the file
    changed after it was signed."""

    evidence: tuple[Evidence, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def claim(self) -> str | None:
        return max((e.claim for e in self.evidence), key=_STRENGTH.__getitem__, default=None)

    @property
    def declares_ai(self) -> bool:
        return self.claim in ("ai", "ai-edited")

    def sources(self, claim: str | None = None) -> list[str]:
        """The kinds of evidence behind ``claim`` (default: the overall claim), strongest kind first."""
        claim = claim or self.claim
        return [k for k in KINDS if any(e.kind == k and e.claim == claim for e in self.evidence)]

    def to_dict(self) -> dict:
        return {"claim": self.claim, "evidence": [e.to_dict() for e in self.evidence]}


NONE = Provenance()


# -- combining with the pixels ---------------------------------------------------------------------------------
SOURCE_NAMES = {"c2pa": "Content Credentials (C2PA)", "iptc": "IPTC digital source type",
                "metadata": "generator metadata", "watermark": "an invisible Stable Diffusion watermark",
                "exif": "camera EXIF"}
PIXEL_WORDS = {"ai": "AI-generated", "real": "real", "uncertain": "uncertain"}


def _source_list(prov: Provenance, claim: str) -> str:
    return ", ".join(SOURCE_NAMES[k] for k in prov.sources(claim))


def decide(pixel_verdict: str, p_ai: float, prov: Provenance) -> tuple[str, list[str]]:
    """The image's verdict once the file's own declaration is weighed, and the sentences that say why.

    - Declared AI generation (C2PA, IPTC trainedAlgorithmicMedia, generator parameters, an SD watermark):
      *AI-generated* whatever the pixels say; an untrusted or invalid signature still counts (nobody marks a
      real photo AI by accident), and the evidence's detail says it could not be trusted.
    - Declared AI edit (compositeWithTrainedAlgorithmicMedia, a C2PA edit with an AI source): also
      *AI-generated*, with "edited with AI" in the reason. Why not a verdict of its own: ``verdict`` is a
      contract ("ai" | "real" | "uncertain") that clients switch on, and the question the app answers (is
      this a faithful photograph?) is already "no"; the finer answer is in ``provenance.claim``.
    - A capture claim never makes a verdict *Real*: it is reported beside the pixel verdict, and a conflict
      with a pixel verdict of AI is said out loud.
    """
    pixels = f"the pixels alone say {PIXEL_WORDS.get(pixel_verdict, pixel_verdict)} ({p_ai:.1%} AI)"
    notes = list(prov.warnings)
    claim = prov.claim
    if claim == "ai":
        notes.insert(0, f"The file declares it was AI-generated ({_source_list(prov, 'ai')}): the verdict follows "
                        f"the declaration; {pixels}.")
        return "ai", notes
    if claim == "ai-edited":
        notes.insert(0, f"The file declares it was edited with AI ({_source_list(prov, 'ai-edited')}): verdict "
                        f"AI-generated (edited with AI); {pixels}.")
        return "ai", notes
    if claim == "capture" and pixel_verdict == "ai":
        notes.insert(0, f"The file claims a camera capture ({_source_list(prov, 'capture')}), but the pixels look "
                        "AI-generated: metadata is easy to copy or forge and the model can err, so weigh both.")
    return pixel_verdict, notes


# -- reading ---------------------------------------------------------------------------------------------------
def read_provenance(data: bytes | None, rgb: np.ndarray | None = None) -> Provenance:
    """What ``data`` (the encoded file) and ``rgb`` (its decoded pixels, for the watermark) declare.

    Either may be None: an array has no metadata, and undecodable bytes no pixels. Never raises.
    """
    evidence: list[Evidence] = []
    warnings: list[str] = []
    if data:
        mime = sniff_mime(data)
        meta = _guard(lambda: read_metadata(data, mime), Metadata())
        c2pa_ev, c2pa_warn = _guard(lambda: read_c2pa(data, mime, meta.xmp), ([], []))
        evidence += c2pa_ev
        warnings += c2pa_warn
        evidence += _guard(lambda: iptc_evidence(meta.xmp), [])
        evidence += _guard(lambda: generator_evidence(meta), [])
    if rgb is not None:
        evidence += _guard(lambda: watermark_evidence(rgb), [])
    if data:
        evidence += _guard(lambda: camera_evidence(meta.exif), [])
    return Provenance(tuple(evidence), tuple(warnings))


def _guard(fn, default):
    """``fn()``, or ``default`` when a hostile or odd file makes a reader fail: one reader's failure must cost
    neither the others' evidence nor the pixel verdict."""
    try:
        return fn()
    except Exception:
        return default


def clean(text: object, limit: int = 60) -> str:
    """A short, printable rendering of a string taken from the file (control characters out, length capped)."""
    s = _CONTROL.sub(" ", str(text)).strip()
    s = re.sub(r"\s+", " ", s)
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def sniff_mime(data: bytes) -> str | None:
    """The MIME type from the magic bytes (what C2PA needs), or None for a format that carries no manifest."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        size = int.from_bytes(data[:4], "big")
        brands = {data[i : i + 4] for i in range(8, min(max(size, 16), 256), 4)}
        if brands & {b"avif", b"avis"}:
            return "image/avif"
        if brands & {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"}:
            return "image/heic"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


# -- metadata: XMP, EXIF and text chunks, through Pillow (a PNG's own chunk walker) ------------------------------
@dataclass
class Metadata:
    xmp: bytes | None = None
    exif: object | None = None  # PIL.Image.Exif
    texts: dict[str, str] = field(default_factory=dict)  # PNG text chunks, JPEG comment: keyword -> text


def read_metadata(data: bytes, mime: str | None) -> Metadata:
    """XMP, EXIF and text of the file, without decoding its pixels."""
    from PIL import Image

    meta = Metadata()
    exif_bytes = None
    if mime == "image/png":
        for key, value in png_texts(data):
            if key == "XML:com.adobe.xmp":
                meta.xmp = meta.xmp or value.encode("utf-8", "replace")
            elif key == "eXIf":
                exif_bytes = value.encode("latin-1")
            elif key not in meta.texts:
                meta.texts[key] = value
    else:
        from .images import ALLOWED_FORMATS  # also registers the HEIC opener

        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as im:  # headers only: no pixels decoded
            xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
            if isinstance(xmp, str):
                xmp = xmp.encode("utf-8", "replace")
            meta.xmp = xmp[:MAX_TEXT_BYTES] if isinstance(xmp, bytes) and xmp else None
            comment = im.info.get("comment")
            if isinstance(comment, bytes):
                comment = comment.decode("utf-8", "replace")
            if comment:
                meta.texts["comment"] = comment[:MAX_TEXT_BYTES]
            exif_bytes = im.info.get("exif")
    if exif_bytes and len(exif_bytes) <= MAX_EXIF_BYTES:
        exif = Image.Exif()
        exif.load(exif_bytes)
        meta.exif = exif
    return meta


def png_texts(data: bytes) -> Iterable[tuple[str, str]]:
    """``(keyword, text)`` for each tEXt, zTXt and iTXt chunk of a PNG, wherever it stands (before or after the
    pixels), plus ``("eXIf", raw)``; compressed text is inflated up to ``MAX_TEXT_BYTES`` and all text to
    ``MAX_TEXT_TOTAL``. Pixel data is skipped, never inflated."""
    pos, total, count = 8, 0, 0
    while pos + 8 <= len(data) and count < MAX_PNG_CHUNKS and total < MAX_TEXT_TOTAL:
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        count += 1
        if kind == b"IEND" or len(body) < length:
            break
        try:
            item = _png_text(kind, body)
        except (ValueError, zlib.error):
            continue
        if item:
            total += len(item[1])
            yield item


def _inflate(blob: bytes) -> bytes:
    return zlib.decompressobj().decompress(blob, MAX_TEXT_BYTES)


def _png_text(kind: bytes, body: bytes) -> tuple[str, str] | None:
    if kind == b"eXIf":
        return "eXIf", body.decode("latin-1")
    if kind not in (b"tEXt", b"zTXt", b"iTXt"):
        return None
    key, _, rest = body.partition(b"\x00")
    name = key[:79].decode("latin-1")
    if kind == b"tEXt":
        return name, rest[:MAX_TEXT_BYTES].decode("latin-1")
    if kind == b"zTXt":
        return name, _inflate(rest[1:]).decode("latin-1")
    compressed = rest[:1] == b"\x01"
    _lang, _, rest = rest[2:].partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    return name, (_inflate(text) if compressed else text[:MAX_TEXT_BYTES]).decode("utf-8", "replace")


# -- C2PA --------------------------------------------------------------------------------------------------------
C2PA_SETTINGS = {
    # Nothing from the network: no remote manifests, no OCSP, and no host allowed at all should a future
    # c2pa fetch something else. What cannot be fetched is reported, not chased.
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": True},
    "core": {"allowed_network_hosts": []},
}
CHANGED_CODES = ("assertion.dataHash.mismatch", "assertion.bmffHash.mismatch", "assertion.boxesHash.mismatch",
                 "assertion.collectionHash.mismatch")
UNTRUSTED_CODE = "signingCredential.untrusted"


@lru_cache(maxsize=4)
def _trust_anchors(path: str) -> str | None:
    """The PEM bundle at ``path`` (read once), or None when unreadable."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            text = f.read(4 * 1024 * 1024)
        return text if "BEGIN CERTIFICATE" in text else None
    except OSError:
        return None


def c2pa_settings() -> dict:
    """The reader's settings: no network, and the trust anchors named by ``$AIVR_C2PA_TRUST_ANCHORS`` if any.

    Without anchors no signer is trusted: the app ships no trust list, and an offline app cannot fetch one.
    """
    settings = {k: dict(v) for k, v in C2PA_SETTINGS.items()}
    path = os.environ.get(TRUST_ANCHORS_ENV)
    anchors = _trust_anchors(path) if path else None
    if anchors:
        settings["trust"] = {"trust_anchors": anchors}
    return settings


def read_c2pa(data: bytes, mime: str | None, xmp: bytes | None = None) -> tuple[list[Evidence], list[str]]:
    """The C2PA evidence and warnings of ``data``; nothing when the file names no manifest."""
    embedded = b"c2pa" in data
    remote = bool(xmp and _REMOTE_MANIFEST.search(xmp))
    if mime is None or not (embedded or remote):
        return [], []
    import c2pa

    try:
        context = c2pa.Context.from_dict(c2pa_settings())
        with c2pa.Reader(mime, io.BytesIO(data), context=context) as reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state()
    except c2pa.C2paError as err:
        message = str(err)
        if "ManifestNotFound" in type(err).__name__ or message.startswith("ManifestNotFound"):
            return [], []
        if message.startswith("Remote") or (remote and not embedded):
            return [Evidence("c2pa", None, "The file points to Content Credentials stored online; they were not "
                                           "fetched (the app makes no network requests), so nothing was checked.",
                             None)], []
        return [Evidence("c2pa", None, "The file carries Content Credentials (C2PA) that could not be read: "
                                       "they are malformed or truncated.", False)], \
            ["The file's Content Credentials (C2PA) are malformed or truncated and could not be checked."]
    return c2pa_evidence(store, state)


def _actions(manifest: dict) -> list[dict]:
    out = []
    for assertion in manifest.get("assertions") or []:
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            out += [a for a in (assertion.get("data") or {}).get("actions") or [] if isinstance(a, dict)]
    return out


def _agent(action: dict) -> str | None:
    agent = action.get("softwareAgent")
    if isinstance(agent, dict):
        agent = agent.get("name")
    return clean(agent, 40) if agent else None


def manifest_claim(store: dict, label: str | None, depth: int = 0) -> tuple[str | None, str | None]:
    """The claim a manifest (and, through its ingredients, the manifests it was made from) makes, and the
    software agent behind it.

    A created action with an AI source is AI generation; any other action with one (an edit, a placed
    element), or a composite with AI, is an AI edit; a created capture is a capture. An image edited from an
    AI-generated parent is still AI-generated; an AI-generated component placed into it makes it an AI edit.
    """
    manifests = store.get("manifests") or {}
    manifest = manifests.get(label) if label else None
    if not isinstance(manifest, dict) or depth > 8:
        return None, None
    best, agent = None, None
    for action in _actions(manifest):
        code = str(action.get("digitalSourceType") or "").rsplit("/", 1)[-1]
        said = DIGITAL_SOURCE_TYPES.get(code)
        if said == "ai" and action.get("action") not in ("c2pa.created",):
            said = "ai-edited"
        if said == "capture" and action.get("action") != "c2pa.created":
            said = None
        if _STRENGTH[said] > _STRENGTH[best]:
            best, agent = said, _agent(action)
    for ingredient in manifest.get("ingredients") or []:
        if not isinstance(ingredient, dict):
            continue
        said, who = manifest_claim(store, ingredient.get("active_manifest"), depth + 1)
        if ingredient.get("relationship") == "componentOf" and said == "ai":
            said = "ai-edited"
        if said == "capture" and best is not None:
            said = None
        if _STRENGTH[said] > _STRENGTH[best]:
            best, agent = said, who
    return best, agent


def c2pa_evidence(store: dict, state: str | None) -> tuple[list[Evidence], list[str]]:
    """Evidence and warnings from a manifest store (``Reader.json()``) and its validation state."""
    label = store.get("active_manifest")
    manifest = (store.get("manifests") or {}).get(label) or {}
    claim, agent = manifest_claim(store, label)
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = [str(f.get("code")) for f in results.get("failure") or [] if isinstance(f, dict)]
    if not results and store.get("validation_status"):
        failures = [str(f.get("code")) for f in store["validation_status"] if isinstance(f, dict)]
    changed = [c for c in failures if c in CHANGED_CODES or c.endswith("Hash.mismatch")]
    broken = [c for c in failures if c not in changed and c != UNTRUSTED_CODE]
    sig = manifest.get("signature_info") or {}
    signer = clean(sig.get("common_name") or sig.get("issuer") or "an unnamed signer", 50)
    what = f"declare the image {SOURCE_TYPE_WORDS[claim]}" if claim else "record no digital source type"
    if agent and claim:
        what += f" ({agent})"
    warnings = []
    if changed:
        status = "the file changed after it was signed, so they no longer vouch for these pixels"
        warnings.append("The image changed after its Content Credentials were signed: the manifest no longer "
                        "matches these pixels.")
    elif broken:
        status = f"the signature is invalid ({clean(', '.join(broken), 80)}), so they cannot be trusted"
        warnings.append(f"The Content Credentials signature is invalid ({clean(', '.join(broken), 80)}): the "
                        "manifest cannot be trusted.")
    elif state == "Trusted":
        status = "the signature is valid and the signer is on the trust list"
    else:
        status = "the signature is valid, but the signer is on no trust list this app has, so who signed is unconfirmed"
    trusted = state == "Trusted" and not changed and not broken
    detail = f"Content Credentials signed by '{signer}' {what}; {status}."
    return [Evidence("c2pa", claim, detail, trusted)], warnings


# -- IPTC / XMP --------------------------------------------------------------------------------------------------
def iptc_evidence(xmp: bytes | None) -> list[Evidence]:
    """The IPTC digital source type(s) the XMP declares, strongest first (one evidence per distinct claim)."""
    if not xmp:
        return []
    codes = []
    for match in _DST.finditer(xmp[:MAX_TEXT_BYTES]):
        code = match.group(1).decode("ascii")
        if code in DIGITAL_SOURCE_TYPES and code not in codes:
            codes.append(code)
        if len(codes) >= 8:
            break
    by_claim: dict[str | None, str] = {}
    for code in codes:
        by_claim.setdefault(DIGITAL_SOURCE_TYPES[code], code)
    out = []
    for claim, code in sorted(by_claim.items(), key=lambda kv: -_STRENGTH[kv[0]]):
        words = SOURCE_TYPE_WORDS.get(claim, "neither generated nor captured") if claim else \
            "no generation or capture"
        out.append(Evidence("iptc", claim, f"The XMP metadata gives the IPTC digital source type '{code}' "
                                           f"({words}); it is not signed, so anyone could have written it."))
    return out


# -- generator metadata ----------------------------------------------------------------------------------------
def _json(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _comfy_nodes(graph: object) -> list[str]:
    """Node types of a ComfyUI API ``prompt`` (``{id: {"class_type"}}``) or UI ``workflow`` (``{"nodes"}``)."""
    if isinstance(graph, dict) and isinstance(graph.get("nodes"), list):
        return [str(n.get("type")) for n in graph["nodes"] if isinstance(n, dict) and n.get("type")]
    if isinstance(graph, dict):
        return [str(v["class_type"]) for v in graph.values() if isinstance(v, dict) and v.get("class_type")]
    return []


def _a1111_model(text: str) -> str:
    m = re.search(r"\bModel: ([^,\n]{1,80})", text)
    return f", model {clean(m.group(1), 40)}" if m else ""


def generator_evidence(meta: Metadata) -> list[Evidence]:
    """Generator parameters in text chunks, EXIF and XMP, and software fields that name a generator."""
    texts = {k.lower(): v for k, v in meta.texts.items()}
    found: list[str] = []
    params = texts.get("parameters", "")
    if params and (A1111_LINE.search(params) or isinstance(_json(params), dict)):
        found.append("AUTOMATIC1111/Forge generation parameters (PNG 'parameters' text"
                     f"{_a1111_model(params)})")
    nodes = _comfy_nodes(_json(texts.get("prompt", ""))) or _comfy_nodes(_json(texts.get("workflow", "")))
    if nodes:
        samplers = sorted({n for n in nodes if "sampler" in n.lower()})[:2]
        found.append(f"a ComfyUI graph of {len(nodes)} nodes (PNG 'prompt'/'workflow' text"
                     + (f", {clean(', '.join(samplers), 40)}" if samplers else "") + ")")
    if any(k in texts for k in ("invokeai_metadata", "invokeai_graph", "invokeai_workflow", "sd-metadata", "dream")):
        found.append("InvokeAI generation metadata")
    software = texts.get("software", "")
    if "novelai" in software.lower() or "novelai" in texts.get("source", "").lower():
        found.append("NovelAI generation metadata (PNG 'Software'/'Source' text)")
    if "fooocus_scheme" in texts:
        found.append("Fooocus generation parameters")
    if "sui_image_params" in texts:
        found.append("SwarmUI generation parameters")
    exif_texts = _exif_texts(meta.exif)
    comment = exif_texts.get("UserComment", "")
    if A1111_LINE.search(comment):
        found.append(f"Stable Diffusion web UI parameters in the EXIF user comment{_a1111_model(comment)}")
    if exif_texts.get("Make", "").startswith("workflow:") or exif_texts.get("Model", "").startswith("prompt:"):
        found.append("a ComfyUI graph in the EXIF make/model fields")
    if not found:
        for key, text in texts.items():  # any other text field holding an A1111-style parameters line
            if A1111_LINE.search(text[:65536]):
                found.append(f"generation parameters in the '{clean(key, 30)}' text")
                break
    named = []
    for where, value in (("EXIF Software", exif_texts.get("Software")), ("PNG Software", software or None),
                         ("XMP CreatorTool", _creator_tool(meta.xmp))):
        if where == "PNG Software" and any("NovelAI" in f for f in found):
            continue  # already said
        if GENERATOR_NAMES.search(value or ""):
            named.append(f"{where} '{clean(value, 40)}'")
    out = [Evidence("metadata", "ai", f"The file holds {f}, which image generators write.") for f in found]
    out += [Evidence("metadata", "ai", f"The {n} names an image generator.") for n in named]
    return out


def _creator_tool(xmp: bytes | None) -> str | None:
    m = _CREATOR_TOOL.search(xmp[:MAX_TEXT_BYTES]) if xmp else None
    return m.group(1).decode("utf-8", "replace") if m else None


EXIF_TAGS = {0x010F: "Make", 0x0110: "Model", 0x0131: "Software"}
EXIF_IFD_TAGS = {0x829A: "ExposureTime", 0x829D: "FNumber", 0x8827: "ISOSpeedRatings", 0xA434: "LensModel",
                 0x9286: "UserComment"}


def _exif_texts(exif) -> dict[str, str]:
    """The EXIF fields provenance reads, as text (UserComment decoded from its charset prefix)."""
    if exif is None:
        return {}
    out = {name: exif.get(tag) for tag, name in EXIF_TAGS.items()}
    try:
        ifd = exif.get_ifd(0x8769)
    except Exception:
        ifd = {}
    out.update({name: ifd.get(tag) for tag, name in EXIF_IFD_TAGS.items()})
    return {k: _exif_str(v, k) for k, v in out.items() if v not in (None, b"", "")}


def _exif_str(value: object, name: str) -> str:
    if name == "UserComment" and isinstance(value, bytes):
        head, body = value[:8], value[8:]
        if head.startswith(b"UNICODE"):
            be, le = body.decode("utf-16-be", "replace"), body.decode("utf-16-le", "replace")
            return be if sum(c.isascii() for c in be) >= sum(c.isascii() for c in le) else le
        return body.decode("utf-8", "replace") if head.startswith((b"ASCII", b"\x00" * 8)) else \
            value.decode("utf-8", "replace")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, tuple):
        return "/".join(str(v) for v in value)
    return str(value).strip("\x00 ")


# -- camera EXIF -------------------------------------------------------------------------------------------------
def camera_evidence(exif) -> list[Evidence]:
    """A capture claim from camera EXIF: a make and model plus at least one exposure setting."""
    fields = _exif_texts(exif)
    make, model = fields.get("Make", ""), fields.get("Model", "")
    if not make or not model or make.startswith("workflow:") or model.startswith("prompt:"):
        return []
    exposure = []
    if "ExposureTime" in fields:
        exposure.append(_exposure(exif))
    if "FNumber" in fields:
        exposure.append(f"f/{_float(exif.get_ifd(0x8769).get(0x829D)):g}")
    if "ISOSpeedRatings" in fields:
        exposure.append(f"ISO {clean(fields['ISOSpeedRatings'], 8)}")
    exposure = [e for e in exposure if e]
    if not exposure:
        return []
    camera = clean(model if model.lower().startswith(make.lower().split()[0]) else f"{make} {model}", 50)
    return [Evidence("exif", "capture", f"Camera EXIF names a {camera} ({', '.join(exposure)}); weak evidence: EXIF "
                                        "is easy to copy or forge.")]


def _float(value: object) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return float("nan")


def _exposure(exif) -> str:
    t = _float(exif.get_ifd(0x8769).get(0x829A))
    if not t > 0:
        return ""
    return f"1/{round(1 / t)} s" if t < 1 else f"{t:g} s"


# -- SD / SDXL invisible watermark -----------------------------------------------------------------------------
def _block_bits(s: np.ndarray) -> np.ndarray:
    """imwatermark's ``infer_dct_matrix`` on every 4x4 block of ``s`` (twice the Haar approximation): 1 where the
    largest non-DC magnitude, modulo 36 (72 here), sits in the upper half."""
    import cv2

    r, c = s.shape[0] // 4, s.shape[1] // 4
    a = np.abs(s[: r * 4, : c * 4])
    a[0::4, 0::4] = -1.0  # the block's first (DC) coefficient is never the one chosen
    peak = cv2.dilate(a, np.ones((4, 4), np.uint8), anchor=(0, 0))[0::4, 0::4]
    return (np.mod(peak, 72.0) > 36.0).ravel()


def _matches(bits: np.ndarray, mark: Mark) -> int:
    """How many of the mark's bits the blocks vote for (block k carries bit k mod len, in row-major order)."""
    n = len(mark.bits)
    pos = np.arange(len(bits)) % n
    votes = np.bincount(pos, weights=bits, minlength=n) / np.maximum(np.bincount(pos, minlength=n), 1)
    return int(((votes * 255 > 127).astype(np.uint8) == np.asarray(mark.bits, np.uint8)).sum())


def decode_watermarks(rgb: np.ndarray) -> list[tuple[Mark, int]]:
    """Each known mark with how many of its bits match, best channel order first; [] for a small image.

    Linear colour maths commutes with the Haar average, so the U channel is computed once on the 2x2-averaged
    image: the float encoders (SDXL) work with U offset by 0.5, the uint8 ones (SD 1/2) by 128. Both channel
    orders are tried: early diffusers releases handed the encoder RGB where it expected BGR.
    """
    import cv2

    h, w = rgb.shape[:2]
    if h * w < WATERMARK_MIN_PIXELS or rgb.ndim != 3 or rgb.shape[2] != 3:
        return []
    rows = min(h, max(64, WATERMARK_MAX_PIXELS // w)) // 8 * 8  # a full-width top band keeps the numbering
    cols = w // 8 * 8
    if rows < 64 or cols < 64:
        return []
    half = cv2.resize(rgb[:rows, :cols].astype(np.float32), (cols // 2, rows // 2), interpolation=cv2.INTER_AREA)
    r, g, b = half[..., 0], half[..., 1], half[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u_bgr = 4.0 * 0.492 * (b - y)  # four times the U of a 2x2 block: imwatermark's Haar approximation, doubled
    y_swap = 0.299 * b + 0.587 * g + 0.114 * r
    u_swap = 4.0 * 0.492 * (r - y_swap)
    out = []
    for mark in WATERMARKS:
        offset = 4 * 0.5 if mark.float_domain else 4 * 128.0
        orders = (u_bgr, u_swap) if mark.float_domain else (u_bgr,)
        out.append((mark, max(_matches(_block_bits(u + offset), mark) for u in orders)))
    return out


def watermark_evidence(rgb: np.ndarray) -> list[Evidence]:
    """An SD/SDXL watermark found in the pixels, as evidence of AI generation."""
    found = [(m, k) for m, k in decode_watermarks(rgb) if k >= m.min_matches]
    return [Evidence("watermark", "ai", f"The pixels carry the invisible {m.name} watermark that its reference "
                                        f"code embeds by default ({k} of {len(m.bits)} bits match).")
            for m, k in found[:1]]
