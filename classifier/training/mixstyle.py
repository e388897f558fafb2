"""MixStyle (Zhou, Yang, Qiao & Xiang, ICLR 2021): mix feature statistics across the batch while training.

Why: early feature maps' per-channel means and standard deviations carry an image's *style* (colour,
contrast, sharpness, lighting), and that is where our shortcuts live (polished studio light looked "AI",
soft UTKFace looked "real"). With probability ``p`` per batch, each view's statistics at a few early layers
are replaced by a random mix with another view's (the batches are source-balanced, so mostly another
source's), while its normalised content stays. The label does not change, so the network has to read the
content. The layers are the identity at inference and are removed before the model is saved, so the shipped
graph, its LiteRT copy and Grad-CAM are exactly those of the plain network.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers, ops

# After the first blocks of the 24- and 32-channel stages (1/4 and 1/8 resolution): the paper mixes after
# the early stages only, as the deep layers carry the semantics the label depends on.
MIXSTYLE_AFTER = ("block3_add", "block6_add")


class MixStyle(layers.Layer):
    """With probability ``p`` per batch: x -> sigma_mix * (x - mu) / sigma + mu_mix, where (mu, sigma) are
    each view's per-channel spatial statistics and the mix is Beta(alpha, alpha) with a shuffled partner's."""

    def __init__(self, p: float, alpha: float = 0.1, eps: float = 1e-6, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.p, self.alpha, self.eps, self.seed = float(p), float(alpha), float(eps), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if not training or self.p <= 0:
            return x
        n = ops.shape(x)[0]
        mu = ops.stop_gradient(ops.mean(x, axis=(1, 2), keepdims=True))
        sigma = ops.stop_gradient(ops.sqrt(ops.var(x, axis=(1, 2), keepdims=True) + self.eps))
        lam = keras.random.beta((n, 1, 1, 1), self.alpha, self.alpha, dtype=x.dtype, seed=self.seed_generator)
        partner = keras.random.shuffle(ops.arange(n), seed=self.seed_generator)
        mu_mix = lam * mu + (1.0 - lam) * ops.take(mu, partner, axis=0)
        sigma_mix = lam * sigma + (1.0 - lam) * ops.take(sigma, partner, axis=0)
        mixed = (x - mu) / sigma * sigma_mix + mu_mix
        apply = keras.random.uniform((), seed=self.seed_generator) < self.p
        return ops.where(apply, mixed, x)

    def get_config(self) -> dict:
        return {**super().get_config(), "p": self.p, "alpha": self.alpha, "eps": self.eps, "seed": self.seed}


def style_mixer(p: float, seed: int | None = None) -> Callable:
    """The hook ``model.make_model(style_mixer=...)`` calls after each block: a MixStyle layer after the
    blocks in ``MIXSTYLE_AFTER``, the identity elsewhere."""

    def mix(x, block: str):
        if block not in MIXSTYLE_AFTER:
            return x
        return MixStyle(p, seed=None if seed is None else seed + MIXSTYLE_AFTER.index(block),
                        name=f"{block}_mixstyle")(x)

    return mix

