"""Command line: ``python -m classifier predict|scan|serve|train|evaluate|card``.

``predict --json`` is a contract (design.md): one JSON object per input line,
``error`` set for a bad input, the run goes on; the exit status is non-zero
only when every input failed or the model cannot load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter out of JSON output

from .errors import ModelError  # noqa: E402
from .rows import predict_one as _predict_one  # noqa: E402
from .rows import result_row  # noqa: E402
from .scan import IMAGE_SUFFIXES  # noqa: E402, F401  (kept importable from here)


def _json_line(path: str, pred=None, error: str | None = None) -> str:
    return json.dumps(result_row(path, pred, error))


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
    """Classify every image under a folder into CSV or Parquet, in this process or on Ray."""
    from .predictor import load_classifier, model_dir_default
    from .scan import ScanWriter, list_images, report, scan_in_process

    clf = load_classifier(args.model_dir)  # also fails fast (exit 2) before Ray starts
    files = list_images(args.dir)
    if not files:
        print(f"no images found under {args.dir}", file=sys.stderr)
        return 1
    with ScanWriter(args.out) as writer:
        if args.engine == "ray":
            from .scan_ray import connect, scan_ray

            t0 = time.perf_counter()
            started = connect(args.address, num_cpus=max(2, args.concurrency))
            print(f"ray ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            # Local workers read the driver's model folder; a cluster's read --model-dir, else their uploaded models/.
            cluster = bool(args.address or os.environ.get("RAY_ADDRESS"))
            model_dir = args.model_dir if cluster else (args.model_dir or model_dir_default())
            model_dir = str(Path(model_dir).resolve()) if model_dir else None
            t0 = time.perf_counter()
            try:
                scan_ray(files, writer, model_dir=model_dir, concurrency=args.concurrency,
                         batch_size=args.batch_size, progress=sys.stderr.isatty())
            finally:
                if started:
                    import ray

                    ray.shutdown()
        else:
            t0 = time.perf_counter()
            scan_in_process(clf, files, writer, progress=sys.stderr.isatty())
    print(report(writer, time.perf_counter() - t0, args.engine), file=sys.stderr)
    return 1 if writer.failures == writer.count else 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the HTTP API (``classifier/server.py``) under uvicorn; SIGTERM or Ctrl-C stops it cleanly."""
    import signal

    import uvicorn

    if args.model_dir:  # each worker process builds its app from the environment
        os.environ["AIVR_MODEL_DIR"] = str(Path(args.model_dir).resolve())
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal under the handlers it
    # found, which would end the process "killed by SIGTERM" (143). The stop is complete by then: ignore
    # the re-raise and exit 0, as a service manager expects of a clean stop.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.run("classifier.server:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                timeout_graceful_shutdown=5, log_level=args.log_level)
    return 0


def check_names(overrides: dict) -> None:
    """Unknown fold or decoder names are a usage error, said before any data is read."""
    from .training.aligned import KNOWN_FAMILIES
    from .training.data import FAMILY_FOLDS

    for key, known in (("folds", FAMILY_FOLDS), ("aligned_families", KNOWN_FAMILIES)):
        unknown = set(overrides.get(key) or ()) - set(known)
        if unknown:
            raise SystemExit(f"unknown {key.replace('_', ' ')}: {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(known)})")


def train_config(args: argparse.Namespace):
    """The TrainConfig a ``train`` command line asks for: defaults, then the flags given."""
    import dataclasses

    from .training.train import TrainConfig

    given = {"arch": args.arch, "epochs": args.epochs, "steps_per_epoch": args.steps, "input_size": args.input_size,
             "seed": args.seed, "freeze_through": args.freeze_through, "ema_momentum": args.ema,
             "reweight_power": args.reweight, "sim_fakes": args.sim_fakes, "sim_steps": args.sim_steps,
             "held_out": False if args.all_sources else None,
             "split_populations": True if args.populations else None,
             "learning_rate": args.lr, "warmup_steps": args.warmup,
             "init_from": str(Path(args.init_from).resolve()) if args.init_from else None,
             "sim_focus": tuple(args.sim_focus) if args.sim_focus else None, "views": args.views,
             "degrade": args.degrade, "head_refit_c": args.head_refit, "zoom_out": args.zoom_out,
             "cutmix": args.cutmix, "cutmix_same_label": True if args.cutmix_same_label else None,
             "mixstyle": args.mixstyle,
             "frame_ai": args.frame[0] if args.frame else None, "frame_real": args.frame[1] if args.frame else None,
             "close_crop": args.close_crop, "caption": args.caption, "rescale": args.rescale,
             "folds": tuple(args.folds) if args.folds else None,
             "aligned_families": tuple(args.aligned) if args.aligned else None,
             "aligned_per_family": args.aligned_per_family, "pair_aligned": True if args.pair_aligned else None,
             "aligned_focus": tuple(args.aligned_focus) if args.aligned_focus else None,
             "pair_same_view": True if args.pair_same_view else None, "pair_degrade": args.pair_degrade,
             "aligned_weight": args.aligned_weight}
    overrides = {k: v for k, v in given.items() if v is not None}
    if overrides.get("aligned_families") == ("none",):
        overrides["aligned_families"] = ()
    check_names(overrides)
    scratch = overrides.get("arch") == "small_cnn" and args.freeze_through is None
    if overrides.get("freeze_through") == "none" or scratch:
        overrides["freeze_through"] = None  # nothing pretrained to keep
    return dataclasses.replace(TrainConfig(), **overrides)


def cmd_train(args: argparse.Namespace) -> int:
    from .training.refit import keep_network, refit_head
    from .training.train import MODELS_DIR, train

    cfg, out_dir = train_config(args), Path(args.out) if args.out else MODELS_DIR
    train(cfg, data=args.data, out_dir=out_dir)
    if cfg.head_refit_c is not None:  # the recipe's second step: refit builds on train, never the other way
        print(f"the network before its head refit: {keep_network(out_dir)}", flush=True)
        refit_head(out_dir, out_dir, cfg.head_refit_c, args.data, network="this run's network")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .predictor import model_dir_default
    from .training.train import recalibrate

    recalibrate(Path(args.model_dir or model_dir_default()), data=args.data, views=args.views)
    return 0


def cmd_refit_head(args: argparse.Namespace) -> int:
    from .predictor import model_dir_default
    from .training.refit import refit_head

    model_dir = Path(args.model_dir or model_dir_default())
    refit_head(model_dir, Path(args.out) if args.out else model_dir, args.c, data=args.data,
               augmented_views=args.augmented_views, augmented_weight=args.augmented_weight,
               populations=args.populations, augmented_kind=args.augmented_kind)
    return 0


def cmd_soup(args: argparse.Namespace) -> int:
    from .training.soup import make_soup

    make_soup([Path(d) for d in args.dirs], args.mix, Path(args.out), head_refit_c=args.head_refit, data=args.data)
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

    try:
        report = evaluate(model_dir=args.model_dir, data=args.data, split=args.split,
                          degradations=args.checks or not args.no_degradations)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    t = report["overall"]
    print(f"{args.split}: n={t['n']} roc_auc={t['roc_auc']:.4f} balanced_acc={t['balanced_accuracy']:.4f} "
          f"ece={t['ece']:.4f}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Record the candidates' results (from their cards) beside the shipped model."""
    from .predictor import model_dir_default
    from .training.candidates import compare

    try:
        compare(args.dirs, Path(args.model_dir or model_dir_default()), args.keep, args.replace)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def cmd_novelty(args: argparse.Namespace) -> int:
    from .training.novelty import fit_and_save

    fit_and_save(args.model_dir, data=args.data)
    return 0


def cmd_conditions(args: argparse.Namespace) -> int:
    from .training.conditions import earn_real_in_place, fit_and_save

    if args.real_edge_only:
        card = earn_real_in_place(args.model_dir)
        print(json.dumps({"uncertain_band": card["uncertain_band"],
                          **{k: v["uncertain_band"] for k, v in card["conditions"].items()}}))
        return 0
    fit_and_save(args.model_dir, data=args.data)
    return 0


def cmd_folds(args: argparse.Namespace) -> int:
    from .predictor import model_dir_default
    from .training import docs
    from .training.family_folds import record

    model_dir = Path(args.model_dir or model_dir_default())
    if args.dirs:
        record(args.dirs, model_dir, args.note)
    print(f"updated {', '.join(docs.write(model_dir)) or 'nothing: README.md and docs/ are up to date'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .predictor import model_dir_default
    from .training.docs import write
    from .training.report import results_markdown

    model_dir = args.model_dir or model_dir_default()
    if not args.write:
        print(results_markdown(model_dir))
        return 0
    changed = write(model_dir)
    print("updated " + ", ".join(changed) if changed else "README.md and docs/ are up to date")
    return 0


def cmd_insights(args: argparse.Namespace) -> int:
    from .training.insights import main as insights_main

    return insights_main(args.rest)


def cmd_card(args: argparse.Namespace) -> int:
    from .predictor import load_card, model_dir_default

    if args.refresh_limits:
        from .training.modelcard import refresh_known_limits

        refresh_known_limits(Path(args.model_dir or model_dir_default()))
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

    s = sub.add_parser("scan", help="classify every image under a folder into a CSV or Parquet file")
    s.add_argument("dir")
    s.add_argument("--out", default="results.csv", help="results file: .parquet writes Parquet, else CSV")
    s.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: in this process (default); ray: Ray Data actors (pip install -r requirements-ray.txt)")
    s.add_argument("--address", default=None,
                   help="Ray cluster to join (default: $RAY_ADDRESS, else a private local Ray)")
    s.add_argument("--concurrency", type=int, default=2, help="Ray actors, one model each (default 2)")
    s.add_argument("--batch-size", type=int, default=16, help="paths per Ray actor call (default 16)")
    s.set_defaults(func=cmd_scan)

    s = sub.add_parser("serve", help="HTTP API: POST images to /v1/predict (docs at /docs)")
    s.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: localhost only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1, help="processes, one model each (default 1)")
    s.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("train", help="train the network (reads the dataset)")
    s.add_argument("--data", default=None, help="dataset root (default: $AIVR_DATA or ../shared/data/portraits)")
    s.add_argument("--out", default=None, help="output folder (default: models/)")
    s.add_argument("--arch", default=None,
                   choices=["mobilenetv2", "efficientnet_lite0", "efficientnet_lite0_local",
                            "efficientnet_lite0_local16", "small_cnn"])
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
    s.add_argument("--populations", action="store_true",
                   help="balance sampling and the decision rule over populations (data.POPULATIONS), not sources")
    s.add_argument("--views", type=int, choices=[1, 2], default=None,
                   help="views averaged per crop: 2 adds the mirror image (default: the recipe's)")
    s.add_argument("--degrade", type=float, default=None, metavar="SCALE",
                   help="scale the probabilities of the blur, rescale, noise and JPEG augmentations (default 1)")
    s.add_argument("--lr", type=float, default=None, help="peak learning rate")
    s.add_argument("--warmup", type=int, default=None, help="learning-rate warm-up steps")
    s.add_argument("--init-from", default=None, metavar="DIR",
                   help="fine-tune the model in DIR instead of starting from ImageNet")
    s.add_argument("--sim-focus", nargs="+", default=None, metavar="POPULATION",
                   help="reconstruct every real training photo of these populations with each auto-encoder")
    s.add_argument("--zoom-out", type=float, default=None, metavar="P",
                   help="zoom a training view out to a 30-72 px face with probability P (default 0: off)")
    s.add_argument("--cutmix", type=float, default=None, metavar="P",
                   help="give a training view a patch of another source's view with probability P, its label "
                        "mixed by area (default 0: off)")
    s.add_argument("--cutmix-same-label", action="store_true",
                   help="cutmix partners of the view's own label only: labels stay exact, sources' styles mix")
    s.add_argument("--mixstyle", type=float, default=None, metavar="P",
                   help="mix early feature statistics across the views of a batch with probability P "
                        "(MixStyle; default 0: off)")
    s.add_argument("--frame", type=float, nargs=2, default=None, metavar=("P_AI", "P_REAL"),
                   help="give an AI / a real training image a flat frame, letterbox bars or a canvas with these "
                        "probabilities (flat edges are nearly all real in the data; default 0 0: off)")
    s.add_argument("--close-crop", type=float, default=None, metavar="P",
                   help="make a training view a close crop (half to three quarters of the standard crop's side, "
                        "enlarged to the input) with probability P (default 0: off)")
    s.add_argument("--caption", type=float, default=None, metavar="P",
                   help="put a caption band of text above or below a training image with probability P "
                        "(default 0: off)")
    s.add_argument("--rescale", type=float, default=None, metavar="P",
                   help="scale a training view down (to 0.3-0.9) and back up with probability P "
                        "(default: 0.4 times --degrade)")
    s.add_argument("--folds", nargs="+", default=None, metavar="FOLD",
                   help="family folds to hold out as well (protocol runs): no_gan, no_flux, studio")
    s.add_argument("--aligned", nargs="+", default=None, metavar="FAMILY",
                   help="families that make aligned fakes: latent-diffusion decoders (taesd taesdxl taesd3 taef1 "
                        "taef2) and the GAN up-sampler esrgan; or 'none'")
    s.add_argument("--aligned-per-family", type=int, default=None, metavar="N",
                   help="real training photos round-tripped per family")
    s.add_argument("--pair-aligned", action="store_true",
                   help="show each aligned fake beside its own real photo in the same batch")
    s.add_argument("--aligned-focus", nargs="+", default=None, metavar="POPULATION",
                   help="populations or sources whose every real training photo each decoder round-trips too "
                        "(e.g. celebahq_roeishc:ffhq celebahq_roeishc:celebahq celebahq_starganv2)")
    s.add_argument("--pair-same-view", action="store_true",
                   help="with --pair-aligned: give each fake and its real photo the same random view")
    s.add_argument("--aligned-weight", type=float, default=None, metavar="W",
                   help="sampling weight of the aligned fakes relative to each other AI source (default 1)")
    s.add_argument("--pair-degrade", type=float, default=None, metavar="S",
                   help="with --pair-same-view: scale the rescale, blur, noise, JPEG and polish chances of a "
                        "pair's view (0: the pair keeps the decoder's traces; default: as every view)")
    s.add_argument("--head-refit", type=float, default=None, metavar="C",
                   help="then refit the head on validation features, sources balanced, at inverse L2 strength C")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("calibrate", help="refit calibration, threshold and uncertain band on validation")
    s.add_argument("--data", default=None)
    s.add_argument("--views", type=int, choices=[1, 2], default=None,
                   help="average each crop with its mirror image (2) or not (1); default: as the card says")
    s.set_defaults(func=cmd_calibrate)

    s = sub.add_parser("refit-head", help="refit the head on validation features (sources balanced) and the "
                       "decision rule on cross-fitted logits (deep feature reweighting)")
    s.add_argument("--c", type=float, default=0.3, help="inverse L2 strength of the logistic head (default 0.3)")
    s.add_argument("--out", default=None, help="output folder (default: the model folder, in place)")
    s.add_argument("--augmented-views", type=int, default=0, metavar="N",
                   help="also fit on N training-augmented crops of each validation image (default 0)")
    s.add_argument("--augmented-weight", type=float, default=1.0, metavar="W",
                   help="weight of each augmented crop relative to the standard crop (default 1)")
    s.add_argument("--augmented-kind", choices=("recipe", "degradations"), default="recipe",
                   help="the augmented crops: the training augmentation (recipe) or only downsizing and "
                        "recompression of the whole photo (degradations)")
    s.add_argument("--populations", action="store_true",
                   help="balance the head and protect the decision rule per population (a source that holds "
                        "two, such as celebahq_roeishc's FFHQ and CelebA-HQ halves, counts as two groups)")
    s.add_argument("--data", default=None)
    s.set_defaults(func=cmd_refit_head)

    s = sub.add_parser("soup", help="mix the weights of fine-tunes of one network (WiSE-FT), then refit its rule")
    s.add_argument("dirs", nargs="+", help="model folders, each a fine-tune of the same network")
    s.add_argument("--mix", type=float, nargs="+", default=None,
                   help="each network's share, in order (default: equal shares)")
    s.add_argument("--out", required=True, help="folder to write the soup to")
    s.add_argument("--head-refit", type=float, default=None, metavar="C",
                   help="refit the head on validation features at inverse L2 strength C (default: keep the mixed "
                        "head, refit only the decision rule; optimistic if a parent's head was refitted on validation)")
    s.add_argument("--data", default=None)
    s.set_defaults(func=cmd_soup)

    s = sub.add_parser("evaluate", help="metrics on a split; writes models/evaluation.json")
    s.add_argument("--data", default=None)
    s.add_argument("--split", default="test", choices=["val", "test"])
    s.add_argument("--no-degradations", action="store_true",
                   help="skip the robustness checks (most of the run): enough to record a candidate, whose "
                        "row needs only the test and held-out figures; not for the shipped model")
    s.add_argument("--checks", nargs="+", metavar="CHECK", default=None,
                   help="run only these robustness checks (e.g. jpeg_q50 half_scale grayscale: a candidate's "
                        "robustness in a third of the time); not for the shipped model")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("export", help="write the TensorFlow Lite copy of the model that verdicts run on")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("novelty", help="fit the feature-space model behind the 'unlike the training data' warning")
    s.add_argument("--data", default=None)
    s.set_defaults(func=cmd_novelty)

    s = sub.add_parser("conditions", help="fit the cut and band for heavily compressed files and enlarged faces")
    s.add_argument("--data", default=None)
    s.add_argument("--real-edge-only", action="store_true",
                   help="only lower every band's real edge to calibration.REAL_MAX_P_AI (no refit)")
    s.set_defaults(func=cmd_conditions)

    s = sub.add_parser("compare", help="write models/candidates.json from the cards of trained candidates")
    s.add_argument("dirs", nargs="+", help="folders holding a model_card.json each")
    s.add_argument("--keep", action="store_true",
                   help="keep the candidates already recorded (their folders may be gone) and add these")
    s.add_argument("--replace", action="store_true",
                   help="start models/candidates.json over with these candidates only (without --keep or "
                        "--replace an existing record is left alone)")
    s.set_defaults(func=cmd_compare)

    s = sub.add_parser("report", help="print the results tables, or --write every generated table into README.md "
                                      "and docs/ (the summary, results, experiments and the condition table)")
    s.add_argument("--write", action="store_true")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("folds", help="record evaluated family-fold runs in models/family_folds.json, then "
                                     "regenerate the docs (their table is in docs/generalisation.md)")
    s.add_argument("dirs", nargs="*", help="evaluated run folders (none: only regenerate)")
    s.add_argument("--note", nargs="+", default=None, help="one short note per folder")
    s.set_defaults(func=cmd_folds)

    s = sub.add_parser("insights", help="dataset statistics -> models/insights.json (see classifier.insights)")
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_insights)

    s = sub.add_parser("card", help="print the model card")
    s.add_argument("--refresh-limits", action="store_true",
                   help="first rewrite the card's known limits from classifier/training/modelcard.py (what was "
                        "learned about the model after it was trained)")
    s.set_defaults(func=cmd_card)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ModelError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2
