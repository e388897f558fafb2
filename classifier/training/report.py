"""Markdown tables of the shipped model's numbers, rendered from the files that hold them.

The README's "Results" section is produced by ``python -m classifier report --write``
from ``models/model_card.json``, ``models/evaluation.json`` and
``models/benchmark.json``; a test checks the README still matches, so the
numbers there are never typed by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

START, END = "<!-- results:start -->", "<!-- results:end -->"


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def _num(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _frozen(last_layer: str | None) -> str:
    return f"stem to {last_layer}" if last_layer else "none"


def _ema(momentum: float | None) -> str:
    return f"EMA {momentum}" if momentum else "last step"


def _sampling(power: float | None) -> str:
    return f"hardest sources, power {power:g}" if power is not None else "equal per source"


def results_markdown(model_dir: str | Path) -> str:
    """The README's results block for the model in ``model_dir``."""
    model_dir = Path(model_dir)
    card = json.loads((model_dir / "model_card.json").read_text())
    ev_path, bench_path = model_dir / "evaluation.json", model_dir / "benchmark.json"
    ev = json.loads(ev_path.read_text()) if ev_path.exists() else None
    bench = json.loads(bench_path.read_text()) if bench_path.exists() else None
    lines = [
        f"Model **{card['name']} {card['version']}** ({card['architecture']}, {card['input']['size']} px input, "
        f"trained in {card['training']['seconds'] / 60:.0f} min on CPU). "
        f"Verdict rule: *AI-generated* when calibrated P(AI) >= {card['uncertain_band'][1]:.2f}, "
        f"*Real* below {card['uncertain_band'][0]:.2f}, *Uncertain* in between.",
        "",
    ]
    v = card["validation"]
    if ev:
        o = ev["overall"]
        lines += [
            "| split | images | ROC-AUC | balanced accuracy | accuracy | ECE |",
            "|---|---|---|---|---|---|",
            f"| validation | {sum(s['val'] for s in card['data']['sources'])} | {_num(v['roc_auc'], 4)} | "
            f"{_pct(v['balanced_accuracy'])} | | {_num(v['ece'])} |",
            f"| test (untouched) | {o['n']} | {_num(o['roc_auc'], 4)} | {_pct(o['balanced_accuracy'])} | "
            f"{_pct(o['accuracy'])} | {_num(o['ece'])} |",
            "",
            "Per source (test split):",
            "",
            "| source | label | generator | images | accuracy |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {s['source']} | {s['label']} | {s['generator']} | {s['n']} | {_pct(s['accuracy'])} |"
            for s in ev["per_source"]
        ]
        lines += [
            "",
            "Robustness (test split, degraded before the pipeline):",
            "",
            "| degradation | balanced accuracy | change |",
            "|---|---|---|",
        ]
        lines += [
            f"| {r['name']} | {_pct(r['balanced_accuracy'])} | {100 * r['delta_balanced_accuracy']:+.1f} pts |"
            for r in ev["robustness"]
        ]
        if ev.get("candidates"):
            lines += [
                "",
                "Candidates compared on the validation split (the rule: highest worst-source accuracy, "
                "then balanced accuracy; a test checks `models/` holds the winner):",
                "",
                "| network | frozen layers | input | training steps | sampling | weight average | val ROC-AUC "
                "| val balanced accuracy | val worst source | train time |",
                "|---|---|---|---|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {c['arch']} | {_frozen(c.get('frozen_through'))} | {c['input_size']} px | {c['steps']} | "
                f"{_sampling(c.get('reweight'))} | {_ema(c.get('ema'))} | {_num(c['val_roc_auc'], 4)} | "
                f"{_pct(c['val_balanced_accuracy'])} | {_pct(c.get('val_worst_source_accuracy'))} | "
                f"{c['train_seconds'] / 60:.0f} min |"
                for c in ev["candidates"]
            ]
    if bench:
        lines += [
            "",
            f"Speed ({bench['machine']}):",
            "",
            "| measure | value |",
            "|---|---|",
            f"| one 1024x768 photo, end to end, p50 / p95 | {bench['single_1024x768_ms_p50']} ms / "
            f"{bench['single_1024x768_ms_p95']} ms |",
            f"| batch throughput, 256 px portraits | {bench['batch_256px_images_per_s']} images/s |",
            f"| model load (after TensorFlow's own start-up, {bench.get('tensorflow_import_seconds', 'n/a')} s) | "
            f"{bench['model_load_seconds']} s |",
            f"| same photo with a heatmap: first one (loads the Keras model) / later ones | "
            f"{bench.get('with_heatmap_first_s', 'n/a')} s / {bench.get('with_heatmap_ms', 'n/a')} ms |",
            f"| model files: Keras (heatmaps) / TensorFlow Lite (verdicts) | {bench['model_file_mb']} MB / "
            f"{bench.get('lite_file_mb', 'n/a')} MB |",
            f"| peak memory | {bench['peak_rss_mb']:.0f} MB |",
        ]
    return "\n".join(lines)


def splice(readme: str, block: str) -> str:
    """``readme`` with the text between the result markers replaced by ``block``."""
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}\n{END}{tail}"
