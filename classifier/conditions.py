"""Decision rules for photos that carry less evidence: heavily compressed files and enlarged squares.

Why: recompression and enlargement wash out the fine traces generators leave, so an AI image's
score falls while a real photo's barely moves (test split, 3.0.0: JPEG q50 took AI images called
real from 1.6 to 4.9 %, real photos called AI stayed at 0.2 %). One cut, fitted on clean validation
photos, then misses AI images it could catch. The app can see both conditions (the file's JPEG
quantisation table, ``compression``; the square enlarged for the network, ``predictor.is_enlarged``),
so each gets its own cut and band, fitted by ``python -m classifier conditions`` on validation photos
put in that condition with the same rules as the main ones: the protective cut (few real photos called
AI, overall and per source) and the 99 %-precision uncertain band. A real photo the main cut already
calls AI in that condition does not count against a lower cut (``calibration.false_ai_allowance``): no
cut spares it, and before this one CelebA-HQ photo shrunk over 0.95 kept enlarged squares on the main
cut. The card stores them under ``conditions``; a card without them keeps the main rule everywhere, and
so does a condition for which no cut keeps real photos within the limits (``protective`` false: the fit
found nothing safer).
"""

from __future__ import annotations

Rule = tuple[float, tuple[float, float]]  # the AI cut and the uncertain band (its upper edge >= the cut)

CONDITIONS = ("compressed", "enlarged")


def rule_from(entry: dict) -> Rule:
    """A condition's (cut, band) from its card entry."""
    lo, hi = entry["uncertain_band"]
    return float(entry["threshold"]), (float(lo), float(hi))


def rule_for(rules: dict | None, base: Rule, compressed: bool = False, enlarged: bool = False) -> Rule:
    """The rule for a face: the main one, or that of the condition it is in; in both, the stricter one
    (the higher cut), because calling a real person's photo AI is the costly error. A condition whose fit
    found no cut that keeps real photos within the limits (``protective`` false) counts as the main rule."""
    found = [rule_from(rules[name]) if rules[name].get("protective", True) else base
             for name, on in zip(CONDITIONS, (compressed, enlarged), strict=True) if on and rules and name in rules]
    return max(found, key=lambda r: r[0]) if found else base
