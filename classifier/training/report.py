"""Markdown tables of the shipped model's numbers, rendered from the files that hold them.

docs/results.md is produced by ``python -m classifier report --write`` (``classifier.training.docs``) from
``models/model_card.json``, ``models/evaluation.json``, ``models/benchmark.json`` and ``models/loadtest.json``;
a test checks it still matches, so the numbers there are never typed by hand. The candidates' table is
docs/experiments.md's (``docs.experiments_markdown``).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..compression import HEAVY_BELOW


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def _num(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _generalisation(card: dict, ev: dict) -> list[str]:
    held = ev.get("held_out") or {}
    if not held.get("groups"):
        return []
    o = ev["overall"]
    quoted = held.get("model")
    who = (f"measured on the protocol model {quoted['version']} (`models/{quoted['dir']}`): the shipped model's "
           "recipe trained and calibrated without these sources, since the shipped model trained on them"
           if quoted else "the shipped model")
    lines = [
        "**Generalisation: whole sources the model never trained or calibrated on** (the source-held-out "
        f"protocol, `classifier/training/data.py: HELD_OUT_SOURCES`; {who}), next to the shipped model's own "
        "test split:",
        "",
        "| held-out family | label | images | called real | uncertain | called AI | ROC-AUC vs real test photos "
        "| flagged unlike training |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for g in held["groups"]:
        auc = g.get("roc_auc_vs_real_test")
        lines.append(f"| {g['group']} | {g['label']} | {g['n']} | {_pct(g['called_real'])} | {_pct(g['uncertain'])} "
                     f"| {_pct(g['called_ai'])} | {_num(auc, 4) if auc is not None else '—'} "
                     f"| {_pct(g.get('flagged_novel'))} |")
    lines += [
        f"| *in-distribution test, real photos* | real | {o['confusion']['fp'] + o['confusion']['tn']} | "
        f"{_pct(o.get('real_called_real'))} | {_pct(o.get('real_uncertain'))} | {_pct(o.get('real_called_ai'))} | "
        f"{_num(o['roc_auc'], 4)} (all test images) | {_pct(o.get('flagged_novel'))} (all test images) |",
        "",
        f"Held-out AI vs held-out real photos: ROC-AUC {_num(held.get('roc_auc_unseen_ai_vs_unseen_real'), 4)}.",
        "",
    ]
    return lines


def _speed(bench: dict) -> list[str]:
    return [
        "",
        f"Speed ({bench['machine']}; runtime on LiteRT, TensorFlow loaded: {bench.get('tensorflow_loaded')}):",
        "",
        "| measure | value |",
        "|---|---|",
        f"| one 1024x768 photo, end to end, p50 / p95 | {bench['single_1024x768_ms_p50']} ms / "
        f"{bench['single_1024x768_ms_p95']} ms |",
        f"| same photo with a heatmap (p50) | {bench.get('with_heatmap_ms', 'n/a')} ms |",
        f"| batch throughput, 256 px portraits | {bench['batch_256px_images_per_s']} images/s |",
        f"| import + model load | {bench['import_seconds']} s + {bench['model_load_seconds']} s |",
        f"| cold `predict photo.jpg --json`, fresh process: wall time / peak RSS (median of "
        f"{bench.get('cold_cli_runs', '?')}) | {bench.get('cold_cli_seconds_median', 'n/a')} s / "
        f"{bench.get('cold_cli_peak_rss_mb_median', 'n/a')} MB |",
        f"| app: launch to healthy server / to first verdict in Chromium | "
        f"{bench.get('app_start_to_healthy_s', 'n/a')} s / {bench.get('app_start_to_first_verdict_s', 'n/a')} s |",
        f"| model files: Keras (training source of truth) / LiteRT (what runs) | {bench['model_file_mb']} MB / "
        f"{bench.get('lite_file_mb', 'n/a')} MB |",
        f"| peak memory of the benchmark process | {bench['peak_rss_mb']:.0f} MB |",
    ]


def _provenance(card: dict) -> str:
    """How the card's network came to be and how it scores a face, beyond the base training run."""
    parent = card["training"].get("fine_tuned_from")
    out = ""
    if parent:
        out += (f", then fine-tuned from {parent.get('version')} (trained {parent.get('seconds', 0) / 60:.0f} min "
                "without the same sources)")
    if int(card.get("input", {}).get("views", 1)) == 2:
        out += "; each face is scored with its mirror image as well, the two logits averaged"
    refit = card["training"].get("head_refit")
    if refit:
        out += (f"; its last layer was then refitted on the validation split with every source weighted equally "
                f"(deep feature reweighting, C {refit['c']}), and the decision rule on cross-fitted logits")
    return out


def _load(model_dir: Path, name: str) -> dict | None:
    path = model_dir / name
    return json.loads(path.read_text()) if path.is_file() else None


def results_markdown(model_dir: str | Path) -> str:
    """docs/results.md's results block for the model in ``model_dir``."""
    model_dir = Path(model_dir)
    card = json.loads((model_dir / "model_card.json").read_text())
    ev, bench, load = _load(model_dir, "evaluation.json"), _load(model_dir, "benchmark.json"), \
        _load(model_dir, "loadtest.json")
    held_sources = sorted(card["training"].get("held_out_sources") or {})
    trained = (f"trained without the held-out sources ({', '.join(held_sources)})" if held_sources
               else "trained on every source")
    lines = [
        f"Model **{card['name']} {card['version']}** ({card['architecture']}, {card['input']['size']} px input, "
        f"{trained}, in {card['training']['seconds'] / 60:.0f} min on CPU"
        f"{_provenance(card)}). "
        f"Verdict rule: *AI-generated* when calibrated P(AI) >= {card['uncertain_band'][1]:.2f}, "
        f"*Real* below {card['uncertain_band'][0]:.2f}, *Uncertain* in between; decision threshold "
        f"{card['threshold']:.2f}.",
        "",
    ]
    v = card["validation"]
    if ev:
        o = ev["overall"]
        lines += _generalisation(card, ev)
        lines += [
            "In-distribution (the sources it trained on; the test split was never trained or tuned on):",
            "",
            "| split | images | ROC-AUC | balanced accuracy | accuracy | false-AI rate, real photos | ECE |",
            "|---|---|---|---|---|---|---|",
            f"| validation | {v.get('n', 'n/a')} | {_num(v['roc_auc'], 4)} | {_pct(v['balanced_accuracy'])} | | "
            f"| {_num(v['ece'])} |",
            f"| test | {o['n']} | {_num(o['roc_auc'], 4)} | {_pct(o['balanced_accuracy'])} | "
            f"{_pct(o['accuracy'])} | {_pct(o.get('false_ai_rate_real'))} | {_num(o['ece'])} |",
            "",
            "Per source (test split; accuracy at the decision threshold, then what a user is told):",
            "",
            "| source | label | generator | images | accuracy | called real | uncertain | called AI |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {s['source']} | {s['label']} | {s['generator']} | {s['n']} | {_pct(s['accuracy'])} | "
            f"{_pct(s.get('called_real'))} | {_pct(s.get('uncertain'))} | {_pct(s.get('called_ai'))} |"
            for s in ev["per_source"]
        ]
        lines += [
            f"| &nbsp;&nbsp;{s['population']} | {s['label']} | {s['generator']} | {s['n']} | {_pct(s['accuracy'])} | "
            f"{_pct(s.get('called_real'))} | {_pct(s.get('uncertain'))} | {_pct(s.get('called_ai'))} |"
            for s in ev.get("per_population", [])
        ]
        if ev.get("per_population"):
            lines += ["", "Indented rows: the parts of a source that holds two populations "
                      "(`classifier/training/data.py: POPULATIONS`)."]
        lines += [
            "",
            "Robustness (test split, degraded before the pipeline):",
            "",
            "| degradation | balanced accuracy | change | change at the main cut | AI called real | real called AI "
            "| real called uncertain |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['name']} | {_pct(r['balanced_accuracy'])} | {100 * r['delta_balanced_accuracy']:+.1f} pts"
            + (" ({:+.1f} to {:+.1f})".format(*(100 * v for v in r["delta_balanced_accuracy_ci95"]))
               if r.get("delta_balanced_accuracy_ci95") and r["name"] != "original" else "") + " | "
            + (f"{100 * r['delta_balanced_accuracy_main_cut']:+.1f} pts | " if "delta_balanced_accuracy_main_cut" in r
               else "- | ") +
            f"{_pct(r['ai_called_real']) if 'ai_called_real' in r else '-'} | "
            f"{_pct(r['real_called_ai']) if 'real_called_ai' in r else '-'} | "
            f"{_pct(r['real_called_uncertain']) if 'real_called_uncertain' in r else '-'} |"
            for r in ev["robustness"]
        ]
        lines += ["", "Balanced accuracy at the app's cut: the main one, or for an enlarged face "
                  f"(`conditions.is_enlarged`) or a file saved below JPEG quality {HEAVY_BELOW} "
                  "(`compression.HEAVY_BELOW`) the cut fitted on validation photos in that condition "
                  "(`classifier/conditions.py`); the next column is the change at the main cut alone. The last three "
                  "columns are the app's verdicts (the condition's band, widened for unfamiliar, enlarged or "
                  "compressed faces; the small-face rule aside); a wider band trades confident verdicts for "
                  "*uncertain* ones, and the last column is what that costs real photos. In brackets: a 95 % interval "
                  "for the change, from resampling the test images (`metrics.paired_delta_interval`): how far it "
                  "could move on another sample of the same sources."]
    if bench:
        lines += _speed(bench)
    if load:
        lines += ["", _loadtest_line(load)]
    return "\n".join(lines)


def _loadtest_line(load: dict) -> str:
    """One sentence from ``scripts/loadtest.py``'s JSON (keys as that script writes them)."""
    parts = [f"{k.replace('_', ' ')}: {v}" for k, v in load.items() if isinstance(v, (int, float, str))]
    return "HTTP API load test (`scripts/loadtest.py`): " + "; ".join(parts) + "."
