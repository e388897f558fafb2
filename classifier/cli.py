"""Command line: ``python -m classifier predict|scan|train|evaluate|card``.

``predict --json`` is a contract (design.md): one JSON object per input line,
``error`` set for a bad input, the run goes on; the exit status is non-zero
only when every input failed or the model cannot load.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter out of JSON output

from .errors import ClassifierError, ModelError  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def _json_line(path: str, pred=None, error: str | None = None) -> str:
    if pred is None:
        row = {"path": path, "verdict": None, "p_ai": None, "faces": [], "warnings": [], "error": error}
    else:
        row = {"path": path, **pred.to_dict(), "error": None}
    return json.dumps(row)


def _predict_one(clf, path: str):
    try:
        return clf.predict(path), None
    except ClassifierError as err:
        return None, err.message
    except Exception as err:  # the run goes on; say what broke without a traceback
        return None, f"unexpected error: {type(err).__name__}"


def cmd_predict(args: argparse.Namespace) -> int:
    from .predictor import load_classifier
    from .render import VERDICT_LABELS

    clf = load_classifier(args.model_dir)
    failures = 0
    if not args.json:
        print(f"{'file':40s} {'verdict':14s} {'P(AI)':>6s} faces  notes")
    for path in args.images:
        pred, error = _predict_one(clf, path)
        failures += error is not None
        if args.json:
            print(_json_line(path, pred, error), flush=True)
        elif error:
            print(f"{path[-40:]:40s} {'error':14s} {'':>6s} {'':5s}  {error}")
        else:
            notes = "; ".join(pred.warnings)
            print(f"{path[-40:]:40s} {VERDICT_LABELS[pred.verdict]:14s} {pred.p_ai:6.1%} {len(pred.faces):5d}  {notes}")
    return 1 if args.images and failures == len(args.images) else 0


def cmd_scan(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .predictor import load_classifier

    clf = load_classifier(args.model_dir)
    files = sorted(p for p in Path(args.dir).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        print(f"no images found under {args.dir}", file=sys.stderr)
        return 1
    failures = 0
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "verdict", "p_ai", "faces", "warnings", "error"])
        for path in tqdm(files, unit="img", file=sys.stderr):
            pred, error = _predict_one(clf, str(path))
            failures += error is not None
            if error:
                w.writerow([path, "", "", 0, "", error])
            else:
                w.writerow([path, pred.verdict, f"{pred.p_ai:.4f}", len(pred.faces), "; ".join(pred.warnings), ""])
    print(f"{len(files)} images, {failures} failed -> {args.out}", file=sys.stderr)
    return 1 if failures == len(files) else 0


def train_config(args: argparse.Namespace):
    """The TrainConfig a ``train`` command line asks for: defaults, then the flags given."""
    import dataclasses

    from .training.train import TrainConfig

    given = {"arch": args.arch, "epochs": args.epochs, "steps_per_epoch": args.steps, "input_size": args.input_size,
             "seed": args.seed, "freeze_through": args.freeze_through, "ema_momentum": args.ema,
             "reweight_power": args.reweight, "sim_fakes": args.sim_fakes, "sim_steps": args.sim_steps,
             "held_out": False if args.all_sources else None}
    overrides = {k: v for k, v in given.items() if v is not None}
    scratch = overrides.get("arch") == "small_cnn" and args.freeze_through is None
    if overrides.get("freeze_through") == "none" or scratch:
        overrides["freeze_through"] = None  # nothing pretrained to keep
    return dataclasses.replace(TrainConfig(), **overrides)


def cmd_train(args: argparse.Namespace) -> int:
    from .training.train import MODELS_DIR, train

    train(train_config(args), data=args.data, out_dir=Path(args.out) if args.out else MODELS_DIR)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .predictor import model_dir_default
    from .training.train import recalibrate

    recalibrate(Path(args.model_dir or model_dir_default()), data=args.data)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """(Re)write the TensorFlow Lite copy of a model folder's Keras model and record it in the card."""
    from .predictor import load_card, model_dir_default
    from .training.export import load_keras_model, save_lite

    model_dir = Path(args.model_dir or model_dir_default())
    card = load_card(model_dir)
    # Only the Keras file is needed (and checked): a missing or damaged copy is what export repairs.
    save_lite(load_keras_model(model_dir, card), card, model_dir)
    print(f"wrote {model_dir / card['lite_file']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .training.evaluate import evaluate

    report = evaluate(model_dir=args.model_dir, data=args.data, split=args.split)
    t = report["overall"]
    print(f"{args.split}: n={t['n']} roc_auc={t['roc_auc']:.4f} balanced_acc={t['balanced_accuracy']:.4f} "
          f"ece={t['ece']:.4f}")
    return 0


def candidate_row(card: dict) -> dict:
    """One line of the candidates table: a trained model's validation results and recipe, from its card."""
    cfg = card["training"]["config"]
    per_source = card["validation"].get("per_source_accuracy")  # absent in cards from before the rule
    return {"arch": card["architecture"], "val_roc_auc": card["validation"]["roc_auc"],
            "val_balanced_accuracy": card["validation"]["balanced_accuracy"],
            "val_ece": card["validation"]["ece"],
            "val_worst_source_accuracy": min(per_source.values()) if per_source else None,
            "steps": cfg["epochs"] * cfg["steps_per_epoch"],
            "frozen_through": cfg.get("freeze_through"),
            "ema": cfg.get("ema_momentum"),
            "reweight": cfg.get("reweight_power"),
            "input_size": cfg["input_size"], "train_seconds": card["training"]["seconds"],
            "size_mb": round(card["size_bytes"] / 1e6, 2)}


def merge_candidates(old: list[dict], new: list[dict]) -> list[dict]:
    """``old`` then ``new``; a new row replaces an old one of the same run (recipe and training time).

    Lets a later session add its experiments without the earlier candidates' folders, which are
    build outputs and not kept.
    """
    def run(row: dict) -> tuple:
        return (row["arch"], row["steps"], row.get("frozen_through"), row.get("ema"), row.get("reweight"),
                row["input_size"], row["train_seconds"])

    fresh = {run(r) for r in new}
    return [r for r in old if run(r) not in fresh] + new


SELECTION_RULE = "highest worst-source accuracy on validation; ties by balanced accuracy on validation"


def best_candidate(rows: list[dict]) -> dict:
    """The row ``SELECTION_RULE`` picks: the weakest source decides, as the product's promise is per source."""
    return max(rows, key=lambda r: (r.get("val_worst_source_accuracy") or 0.0, r["val_balanced_accuracy"]))


def cmd_compare(args: argparse.Namespace) -> int:
    """Record the candidates' validation results (from their cards) beside the shipped model."""
    from .card import CARD_FILE, read_json, write_json
    from .predictor import model_dir_default

    rows = [candidate_row(read_json(Path(d) / CARD_FILE)) for d in args.dirs]
    for row in rows:
        print(json.dumps(row))
    model_dir = Path(args.model_dir or model_dir_default())
    path = model_dir / "candidates.json"
    if args.keep and path.exists():
        rows = merge_candidates(read_json(path)["candidates"], rows)
    write_json(path, {"candidates": rows})
    best = best_candidate(rows)
    print(f"by the rule ({SELECTION_RULE}) the best is: {json.dumps(best)}")
    card_path = model_dir / CARD_FILE
    if card_path.exists():  # the card carries the comparison its model won (or, if not, shows it did not)
        card = read_json(card_path)
        card["selection"] = {"rule": SELECTION_RULE, "shipped": candidate_row(card), "best": best,
                             "candidates": rows}
        write_json(card_path, card)
    evaluation = model_dir / "evaluation.json"
    if evaluation.exists():  # keep the Insights page's copy in step without re-running evaluate
        report = read_json(evaluation)
        report["candidates"] = rows
        write_json(evaluation, report)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .predictor import model_dir_default
    from .training.report import results_markdown, splice

    block = results_markdown(args.model_dir or model_dir_default())
    if not args.write:
        print(block)
        return 0
    readme = Path(args.readme)
    readme.write_text(splice(readme.read_text(), block))
    print(f"updated {readme}")
    return 0


def cmd_insights(args: argparse.Namespace) -> int:
    from .training.insights import main as insights_main

    return insights_main(args.rest)


def cmd_card(args: argparse.Namespace) -> int:
    from .predictor import load_card

    print(json.dumps(load_card(args.model_dir), indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m classifier", description="Tell real portraits from AI-generated ones.")
    p.add_argument("--model-dir", default=None, help="model folder (default: models/ or $AIVR_MODEL_DIR)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("predict", help="classify images")
    s.add_argument("images", nargs="+")
    s.add_argument("--json", action="store_true", help="one JSON object per input line")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("scan", help="classify every image under a folder into a CSV")
    s.add_argument("dir")
    s.add_argument("--out", default="results.csv")
    s.set_defaults(func=cmd_scan)

    s = sub.add_parser("train", help="train the network (reads the dataset)")
    s.add_argument("--data", default=None, help="dataset root (default: $AIVR_DATA or ../shared/data/portraits)")
    s.add_argument("--out", default=None, help="output folder (default: models/)")
    s.add_argument("--arch", choices=["mobilenetv2", "small_cnn"], default=None)
    s.add_argument("--epochs", type=int, default=None)
    s.add_argument("--steps", type=int, default=None, help="steps per epoch")
    s.add_argument("--input-size", type=int, default=None)
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--freeze-through", default=None,
                   help="freeze backbone layers up to this layer name ('none': train every layer)")
    s.add_argument("--ema", type=float, default=None, help="ship a moving average of the weights (momentum)")
    s.add_argument("--reweight", type=float, default=None, metavar="POWER",
                   help="each epoch, scale every source's share of the batches by (its loss / the worst) ** POWER")
    s.add_argument("--all-sources", action="store_true",
                   help="train on every source (the final model); default: hold out the protocol's sources")
    s.add_argument("--sim-fakes", type=int, default=None,
                   help="how many auto-encoder reconstructions of real photos join the AI class (0: none)")
    s.add_argument("--sim-steps", type=int, default=None, help="training steps of each auto-encoder")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("calibrate", help="refit calibration, threshold and uncertain band on validation")
    s.add_argument("--data", default=None)
    s.set_defaults(func=cmd_calibrate)

    s = sub.add_parser("evaluate", help="metrics on a split; writes models/evaluation.json")
    s.add_argument("--data", default=None)
    s.add_argument("--split", default="test", choices=["val", "test"])
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("export", help="write the TensorFlow Lite copy of the model that verdicts run on")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("compare", help="write models/candidates.json from the cards of trained candidates")
    s.add_argument("dirs", nargs="+", help="folders holding a model_card.json each")
    s.add_argument("--keep", action="store_true",
                   help="keep the candidates already recorded (their folders may be gone) and add these")
    s.set_defaults(func=cmd_compare)

    s = sub.add_parser("report", help="print (or --write into README.md) the results tables")
    s.add_argument("--write", action="store_true")
    s.add_argument("--readme", default=str(Path(__file__).resolve().parents[1] / "README.md"))
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("insights", help="dataset statistics -> models/insights.json (see classifier.insights)")
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_insights)

    s = sub.add_parser("card", help="print the model card")
    s.set_defaults(func=cmd_card)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ModelError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2
