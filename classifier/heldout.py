"""What the product promises on sources it never saw, and how far a model's measurements are from it.

The source-held-out protocol (``classifier.training.data``) keeps whole sources out of training and
calibration; ``evaluate`` measures each held-out family and ``compare`` ranks the candidates by their worst
margin over these targets. The app ranks candidates the same way in its findings, so the targets and the
margin live here, on the runtime side, and training imports them.
"""

from __future__ import annotations

# Real photos called real at least this often; a generator's ROC-AUC against the real test photos at least
# this (issue 14). Ranking by the worst margin over these compares a share and an AUC fairly.
HELD_OUT_TARGETS: dict[str, float] = {"real": 0.90, "ai": 0.95}
MAX_HELD_OUT_REAL_CALLED_AI = 0.05  # and real photos called AI at most this often (the costly error)
# A generator's images called *real* at most this often (issue 42): an AUC target alone let a model that ranks a
# new generator well still pass a tenth of its fakes as Real, the error a user cannot see.
MAX_HELD_OUT_AI_CALLED_REAL = 0.10
REAL_HELD_OUT_SOURCES = ("london_debruine", "canada_debruine")
REAL_HELD_OUT_GROUP = "debruine_studio (london + canada)"  # the family those sources are reported as


def held_out_label(group: str) -> str:
    """The label of a held-out family (as ``training.data.held_out_group`` names it)."""
    return "real" if group == REAL_HELD_OUT_GROUP else "ai"


def held_out_margin(row: dict) -> float | None:
    """The worst held-out family's score minus its target (``HELD_OUT_TARGETS``); None if not measured.

    Real families have two targets: called real at least 0.90, called AI at most 0.05 (where the row records it);
    so have generators: ROC-AUC at least 0.95, called real at most 0.10 (where the row records it).
    Why a margin, not the raw score: the raw minimum put a share of real photos (target 0.90) and an AUC
    (target 0.95) on one scale, so a model that met every target could lose to one that missed a generator's.
    """
    groups = row.get("held_out_groups") or {}
    if not groups:
        return None
    margins = [score - HELD_OUT_TARGETS[held_out_label(g)] for g, score in groups.items()]
    margins += [MAX_HELD_OUT_REAL_CALLED_AI - v for v in (row.get("held_out_real_called_ai") or {}).values()]
    margins += [MAX_HELD_OUT_AI_CALLED_REAL - v for v in (row.get("held_out_ai_called_real") or {}).values()]
    return min(margins)
