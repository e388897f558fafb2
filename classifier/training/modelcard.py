"""Building the model card from a training run (what the shipped model is and how it was made)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..compression import HEAVY_BELOW
from ..faces import LEGACY_FRAMING, Framing
from .data import Record, summarise

# 2.0: data v2, source-held-out protocol, simulated up-sampling fakes, polish augmentation;
# 2.2: native-pixel framing (a wider view of small faces instead of an enlarged tight crop);
# (2.4, population-balanced sampling, was a protocol run that lost: see models/candidates.json.)
# 2.6: mirror views (each face scored with its mirror image, averaged inside the exported graph).
# 2.8: the head refitted on validation features, sources balanced (``refit``: deep feature reweighting).
# 3.0: EfficientNet-Lite0 instead of MobileNetV2, the rescale augmentation on 70 % of the views (--rescale 0.7).
CARD_VERSION = "3.0.0"
# The same recipe retrained on every source (``--all-sources``): the model that ships, beside its protocol run.
ALL_SOURCES_VERSION = "3.1.0"  # 2.3.0 was the 2.2 recipe's; 2.7.0 the 2.6's; 2.9.0 the 2.8's; 3.1.0 the 3.0's

KNOWN_LIMITS = [
    "Trained on 256 px portrait crops; other generators, heavy edits, filters, screenshots and non-portraits "
    "are outside what it has seen. The held-out table shows how it does on whole sources it never saw.",
    "Webcam and phone photos are not in the training data; augmentation imitates them "
    "(noise, blur, JPEG, rescaling, beauty filters, portrait-mode blur) but cannot replace them.",
    "Calibrated on a validation split with about 30 % AI images; the probability reflects that mix, and on "
    "unseen sources it is less reliable than on the sources it trained on.",
    "Polished real photos (studio headshots, retouched or beauty-filtered portraits) are the costly error: the "
    "threshold is set so that at most 2 % of real validation photos (2 % of any source) are called AI, and the "
    "uncertain band absorbs much of the rest.",
    "FFHQ-style Flickr portraits (the photos StyleGAN learned to imitate) are the real photos most often called "
    "AI: in our data they are files 0-249 of celebahq_roeishc, and the evidence the network finds in them lies "
    "in the fine texture of the face, as in a StyleGAN face (research/probe_evidence.py). Sampling them as a "
    "population of their own (TrainConfig.split_populations) lost on the held-out sources, and so did three "
    "fine-tunes (extra auto-encoder fakes made from them, every layer trainable, lighter degradations): each left "
    "19-26 % of the FFHQ test photos called AI. The head refit (2.8) did not help them either (23 %), not even with "
    "the FFHQ training photos added to its data, nor when it weighed the FFHQ half as a source of its own "
    "(refit-head --populations): its ranking stayed that of 2.8.0 and only the cut rose, to 0.95, so 15 % of them "
    "were still called AI while the boredhumans StyleGAN test images caught fell from 92 % to 85 %. The network's "
    "features rank these real photos and that GAN's images alike. Fine-tuning every layer and then refitting the head "
    "(2.8 recipe on fine-tunes B and C) cut them to 8.5-12.8 %, but with the same trade: 80-84 % of boredhumans' "
    "StyleGAN test faces caught and a worse worst validation source, so the rule kept 2.8.0. Weight soups of "
    "2.8.0 and its fine-tunes (python -m classifier soup) fell on the same trade (FFHQ called AI 11-19 %, "
    "boredhumans caught 87-90 %): they rank those real photos against that GAN's images no better (ROC-AUC 0.95). "
    "So did CutMix across sources (train --cutmix 0.5; with --cutmix-same-label: FFHQ called AI 11-15 %, boredhumans "
    "caught 83 %; souped with 2.8.0: 15-17 % and 87-91 %), MixStyle (train --mixstyle 0.5: 17 %, 77 %) and a "
    "fine-tune at a 320 px input (15 %, 84 %). A different backbone moved it: 3.0.0 (EfficientNet-Lite0) calls "
    "6.4 % of the FFHQ test photos AI (celebahq_roeishc 3.6 %) with 91 % of boredhumans' StyleGAN test faces "
    "caught. 166 training photos are few: expect more false alarms on such photos than the test split shows.",
    "3.0.0 is more fragile than 2.8.0 to degradations that destroy fine detail: JPEG q50 costs 3.8 points of "
    "balanced accuracy, halving the size 3.7 and a webcam-like softening 4.0 (2.8.0: 0.8, 1.3, 1.3). The lost "
    "points are AI images judged uncertain or real; real photos called AI stay at 0.1-0.3 % under every "
    "degradation (evaluate: robustness). A heavily compressed or resized AI image is the likeliest to slip "
    f"through; files saved below JPEG quality {HEAVY_BELOW} and enlarged faces are therefore judged with the wider "
    "uncertain band, with a warning, and such files by the cut fitted on validation photos re-saved that way "
    "(conditions: 0.755), so JPEG q50 costs 1.5 points and 0.7 % of AI images are called real (4.9 % with the main "
    "cut and band). Enlarged faces get the cut and band fitted on validation photos shrunk or cut to their centre, "
    "four random draws each (conditions: 0.71, band 0.024-0.852; a real photo the main cut already calls AI does "
    "not count against a lower cut), so half scale costs 1.4 points (95 % interval 0.4-2.4) and 0.2 % of AI images "
    "are called real, but 18 % of real photos at half scale and 29 % of close crops are left uncertain. Heads "
    "refitted on degraded "
    "crops as well took some losses under 2 points but cost held-out FaceChain AUC (0.989 -> 0.966-0.981), and a "
    "fine-tune with stronger degradations made them worse; all lost on the held-out sources (README: Robustness "
    "against generalisation).",
    "Faces under 64 px carry little of the pixel evidence, so the app never calls one AI: it is uncertain at most, "
    "with a warning, and its probability is still shown. The network itself scores the half-scale astronaut photo "
    "(a 44 px real face) 0.08 under 3.0.0 (2.8.0: 0.87); of 201 real photos shrunk to half or a third, "
    "0-0.5 % score over the uncertain band (tests/test_quality.py). Training on faces shrunk to 30-72 px "
    "(train --zoom-out 0.25) lowered the FFHQ false alarms to 17 % but caught fewer AI images, and lost on the "
    "selection rule.",
    "Flat black or white edges (padding, frames, white backdrops) are nearly all real photos' in the training "
    "data, and the network learnt them as a sign of a real photo: a thin frame round an image used to hide most AI "
    "images. Since 2026-12-03 the crop stays inside a frame, letterbox bars or a page margin when the picture "
    "inside is at least 256 px, or when the frame runs all round it (faces.content_box, faces.enclosed), so those "
    "cost under a point; bars along two or three sides of a smaller picture are still seen and pull the verdict "
    "towards real. Training with frames on both classes (train --frame) took "
    "that cue away but lost on the held-out studio headshots, so it does not ship.",
    "A close crop or a small picture (a face's square under 192 px) is enlarged for the network, and enlarged AI "
    "faces score low: on the test split's centre two-thirds 9.2 points of balanced accuracy are lost; with the "
    "enlarged faces' own band (widened) 0.9 % of AI images are called real and 0.1 % of real photos AI, but "
    "27 % of real photos are left uncertain (evaluate: close_crop). Crop a picture to the photo itself before "
    "checking it. A caption band of text along one side of a picture of at least 256 px is cut away "
    "(faces.content_box); text over the photo, or a band round a smaller picture, is still seen.",
    "A Real verdict needs a calibrated P(AI) of at most 0.10, mirroring the AI cut of 0.90; faces in between are "
    "Uncertain. Fakes from generators it never saw score in between more often than real photos do (held-out "
    "TPDNE called real 25.6 -> 10.8 %, FaceChain 40.3 -> 10.4 %), at the cost of more real photos left uncertain "
    "(held-out studio headshots called real 99.6 -> 94.7 %). Whole generator families held out in training "
    "(every GAN, every FLUX model) are measured in docs/generalisation.md.",
    "A verdict is evidence, not proof: never use it alone to accuse anyone.",
]


def build_card(
    *,
    cfg: dict,
    augment: dict,
    records: list[Record],
    calibration: dict,
    threshold: float,
    band: tuple[float, float],
    val_metrics: dict,
    history: dict,
    train_seconds: float,
    trained_on: list[str] | None = None,
    framing: Framing | None = None,
    views: int = 1,
) -> dict:
    return {
        "name": "AI vs Reality portrait detector",
        "version": CARD_VERSION if cfg.get("held_out", True) else ALL_SOURCES_VERSION,
        "architecture": cfg["arch"],
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "input": {
            "size": cfg["input_size"],
            "pixels": "RGB uint8 values as float32 in [0, 255]; normalised inside the model",
            "preprocessing": "classifier.faces.model_input: a square of `framing.margin` face widths, at least "
            "`framing.min_side` px where the image allows (centre square if no face), area-resized to input size",
            "framing": (framing or LEGACY_FRAMING).as_dict(),
            # 2: each crop and its mirror image, logits, maps and features averaged inside the LiteRT graph
            "views": views,
        },
        "calibration": calibration,
        "threshold": threshold,
        "uncertain_band": list(band),
        "validation": val_metrics,
        "data": {
            "splits": "hash of source group (LFW person, SD 2.1 prompt, else file): 70/15/15",
            "sources": summarise(records),
        },
        "training": {"config": cfg, "augmentation": augment, "history": history, "seconds": round(train_seconds),
                     "trained_on": sorted(trained_on or {r.source for r in records})},
        "known_limits": KNOWN_LIMITS,
    }


def refresh_known_limits(model_dir: Path) -> dict:
    """Rewrite a card's known limits from ``KNOWN_LIMITS``: what we learn of a model's weak spots grows after it
    is trained, and the Takeaways page reads them from the card. Nothing measured on the card changes."""
    from ..card import CARD_FILE, read_json, write_json

    card = read_json(model_dir / CARD_FILE)
    card["known_limits"] = list(KNOWN_LIMITS)
    write_json(model_dir / CARD_FILE, card)
    return card
