"""Where is the evidence? Mean P(AI) of groups of test photos after removing one kind of information.

    python research/probe_evidence.py [--model-dir models] [--n 40]

Each edit keeps one thing and destroys another: graying out the face keeps the background, graying
out the background keeps the face, blurring removes fine texture, and swapping the high-pass band
(the image minus a sigma-3 blur, flipped upside down) keeps every shape and colour but scrambles the
fine texture. If P(AI) collapses when the texture is scrambled but not when the background goes, the
network judges the face's fine texture. The groups: the test photos of celebahq_roeishc's FFHQ half
that the model calls AI, the rest of that half, its CelebA-HQ half, and the StyleGAN faces of
gan_boredhumans_basemax. Needs the dataset; prints a table (no files written).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import cv2
import numpy as np

from classifier.faces import detect_faces, model_input
from classifier.predictor import load_classifier
from classifier.training.data import load_images, read_manifest


def _face_mask(shape: tuple[int, ...]) -> np.ndarray:
    """A feathered ellipse where a centred portrait's face is (1 inside, 0 outside)."""
    h, w = shape[:2]
    m = np.zeros((h, w), np.float32)
    cv2.ellipse(m, (w // 2, int(h * 0.47)), (int(w * 0.3), int(h * 0.4)), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(m, (0, 0), max(2.0, 0.03 * w))[:, :, None]


def _texture_swap(im: np.ndarray) -> np.ndarray:
    low = cv2.GaussianBlur(im, (0, 0), 3).astype(np.float32)
    return np.clip(low + (im.astype(np.float32) - low)[::-1], 0, 255).astype(np.uint8)


EDITS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "original": lambda im: im,
    "blur s1": lambda im: cv2.GaussianBlur(im, (0, 0), 1.0),
    "blur s2.5": lambda im: cv2.GaussianBlur(im, (0, 0), 2.5),
    "background grayed": lambda im: (im * _face_mask(im.shape) + 128 * (1 - _face_mask(im.shape))).astype(np.uint8),
    "face grayed": lambda im: (im * (1 - _face_mask(im.shape)) + 128 * _face_mask(im.shape)).astype(np.uint8),
    "texture swapped": _texture_swap,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--n", type=int, default=40, help="photos per group at most")
    args = ap.parse_args(argv)
    clf = load_classifier(args.model_dir)

    def p_ai(images: list[np.ndarray]) -> np.ndarray:
        crops = []
        for im in images:
            faces = detect_faces(im, max_faces=1)
            crops.append(model_input(im, faces[0] if faces else None, clf.input_size, clf.framing))
        return np.concatenate([clf.outputs(np.stack(crops[i:i + 32]))[0] for i in range(0, len(crops), 32)])

    test = [r for r in read_manifest() if r.split == "test"]
    pops = {k: [r for r in test if r.population == k] for k in ("celebahq_roeishc:ffhq", "celebahq_roeishc:celebahq")}
    ffhq = load_images(pops["celebahq_roeishc:ffhq"])
    called = p_ai(ffhq) >= clf.threshold
    groups = {
        "FFHQ real, called AI": [im for im, c in zip(ffhq, called, strict=True) if c],
        "FFHQ real, the rest": [im for im, c in zip(ffhq, called, strict=True) if not c],
        "CelebA-HQ real": load_images(pops["celebahq_roeishc:celebahq"][: args.n]),
        "StyleGAN (boredhumans)": load_images([r for r in test if r.source == "gan_boredhumans_basemax"][: args.n]),
    }
    print(f"{'mean P(AI)':24s}" + "".join(f"{k:>19s}" for k in EDITS))
    for name, images in groups.items():
        images = images[: args.n]
        if not images:
            print(f"{name:24s} (no photos)")
            continue
        row = [float(np.mean(p_ai([edit(im) for im in images]))) for edit in EDITS.values()]
        print(f"{name + f' ({len(images)})':24s}" + "".join(f"{v:19.3f}" for v in row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
