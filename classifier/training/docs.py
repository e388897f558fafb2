"""The generated parts of README.md and docs/: every number there is rendered from the files in ``models/``.

``python -m classifier report --write`` (``make docs``) rewrites each block between its markers, and
``tests/test_readme.py`` checks the committed files still match, so no figure is ever typed by hand:

- README.md ``summary``: the one results table a newcomer reads (sources never seen, the test split, speed);
- docs/results.md ``results``: every results table (``report.results_markdown``);
- docs/experiments.md ``experiments``: one row per candidate in ``models/candidates.json``, its note cut to
  its first clause, with a link to the commit that recorded it (found in git history; none when absent);
- docs/architecture.md ``conditions``: the image conditions as ``classifier/conditions.TABLE`` defines them;
- docs/generalisation.md ``family-folds``: the family-fold runs in ``models/family_folds.json``.

Fields that an older or newer evaluation lacks are left out or shown as "n/a", so the blocks regenerate
whatever ``evaluate`` writes.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from ..conditions import TABLE, Scene
from ..faces import Box, Framing
from ..heldout import held_out_margin
from ..limits import MAX_FACES
from .family_folds import FOLDS_FILE, fold_markdown
from .report import _load, _num, _pct, results_markdown

REPO = Path(__file__).resolve().parents[2]
CANDIDATES_FILE = "candidates.json"
COMMIT_LINK = re.compile(r"\[`[0-9a-f]{7}`\]\(\.\./\.\./\.\./commit/[0-9a-f]{40}\)")


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def splice(text: str, block: str, name: str) -> str:
    """``text`` with what lies between ``name``'s markers replaced by ``block``."""
    start, end = markers(name)
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{block}\n{end}{tail}"


# -- README: one table ------------------------------------------------------------------------------------------
def summary_markdown(model_dir: str | Path) -> str:
    """The README's one results table: each held-out family, the test split, then speed."""
    model_dir = Path(model_dir)
    card = json.loads((model_dir / "model_card.json").read_text())
    ev, bench = _load(model_dir, "evaluation.json") or {}, _load(model_dir, "benchmark.json")
    lines = [
        f"Model {card.get('name', '?')} **{card.get('version', '?')}** ({card.get('architecture', '?')}). "
        "*Called real / uncertain / called AI* is what a user is told.",
        "",
        "| measured on | images | result |",
        "|---|---|---|",
    ]
    held = ev.get("held_out") or card.get("held_out") or {}
    for g in held.get("groups") or []:
        auc = g.get("roc_auc_vs_real_test")
        kind = "real photos" if g.get("label") == "real" else "AI images"
        lines.append(
            f"| **never seen**: {g.get('group', '?')} ({kind}) | {g.get('n', '?')} | {_pct(g.get('called_real'))} "
            f"called real, {_pct(g.get('uncertain'))} uncertain, {_pct(g.get('called_ai'))} called AI"
            + (f"; ROC-AUC {_num(auc)} against real test photos" if auc is not None else "") + " |")
    if held.get("roc_auc_unseen_ai_vs_unseen_real") is not None:
        lines.append(f"| **never seen**, AI against real | {sum(int(g.get('n') or 0) for g in held['groups'])} "
                     f"| ROC-AUC {_num(held['roc_auc_unseen_ai_vs_unseen_real'])} |")
    o = ev.get("overall")
    if o:
        clean = next((r for r in ev.get("robustness") or [] if r.get("name") == "original"), {})
        ai_real = f", AI images called real {_pct(clean['ai_called_real'])}" if "ai_called_real" in clean else ""
        lines.append(
            f"| test split (sources it trained on, images it never did) | {o.get('n', '?')} | ROC-AUC "
            f"{_num(o.get('roc_auc'), 4)}, balanced accuracy {_pct(o.get('balanced_accuracy'))}; real photos "
            f"called real {_pct(o.get('real_called_real'))}, called AI {_pct(o.get('real_called_ai'))}{ai_real} |")
    if bench:
        lines.append(
            f"| speed ({bench.get('machine', '?')}, no GPU) | | one 1024x768 photo end to end "
            f"{bench.get('single_1024x768_ms_p50', 'n/a')} ms (p50); {bench.get('batch_256px_images_per_s', 'n/a')} "
            f"portraits/s in a batch; cold `predict --json` {bench.get('cold_cli_seconds_median', 'n/a')} s |")
    return "\n".join(lines)


# -- docs/experiments.md: one row per candidate -------------------------------------------------------------------
def _gate(row: dict) -> str:
    """A candidate's release gate (``release.release_gate``): passed, the limits it failed, or n/a (no full run)."""
    failed = row.get("release_gate_failed")
    return "n/a" if failed is None else ("passed" if not failed else "failed: " + "; ".join(failed))


def _signed(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.3f}"


def recipe_label(c: dict) -> str:
    """A candidate's recipe in one cell: steps, then what set it apart from the plain run."""
    parts = [
        f" (fine-tuned from {c['fine_tuned_from']})" if c.get("fine_tuned_from") else "",
        f", weights mixed: {c['soup']}" if c.get("soup") else "",
        f" + head refit, C {c['head_refit_c']}" if c.get("head_refit_c") is not None else "",
        f" (augmented crops {c['head_refit_augmented']})" if c.get("head_refit_augmented") else "",
        f", zoom-out {c['zoom_out']}" if c.get("zoom_out") else "",
        f", cutmix {c['cutmix']}" if c.get("cutmix") else "",
        f", MixStyle {c['mixstyle']}" if c.get("mixstyle") else "",
        f", frames {c['frame']} (AI / real)" if c.get("frame") else "",
        f", close crops {c['close_crop']}" if c.get("close_crop") else "",
        f", captions {c['caption']}" if c.get("caption") else "",
        f", rescale {c['rescale']}" if c.get("rescale") is not None else "",
        ", populations balanced" if c.get("balanced_over") == "populations" else "",
    ]
    return f"{c['steps']} steps" + "".join(parts)


def clauses(note: str) -> list[str]:
    """A note's top-level clauses: split at "; " outside brackets (the notes nest commands in parentheses)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(note):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and note.startswith("; ", i):
            out.append(note[start:i])
            start = i + 2
    return [c.strip() for c in [*out, note[start:]] if c.strip()]


def short_note(note: str, limit: int = 160) -> str:
    """The note's first clause, cut to ``limit`` characters at a word; its verdict ("lost", "shipped as ...")
    after it when the note ends with one."""
    parts = clauses(note.replace("|", "/"))
    if not parts:
        return ""
    first = parts[0] if len(parts[0]) <= limit else parts[0][:limit].rsplit(" ", 1)[0] + " …"
    last = parts[-1]
    verdict = last if len(parts) > 1 and re.search(r"\b(shipped|lost|picks|passed over)\b", last) else ""
    return first + (f"; **{verdict}**" if verdict else "")


def fingerprint(c: dict) -> tuple:
    """What identifies a candidate row across the file's history (its figures, not its place or note)."""
    return c.get("arch"), c.get("steps"), c.get("train_seconds"), round(float(c.get("val_roc_auc") or 0.0), 8)


def candidate_commits(repo: Path = REPO, path: str = f"models/{CANDIDATES_FILE}") -> dict[tuple, str]:
    """The first commit in which each candidate appears in ``path``, by ``fingerprint``; empty without git
    history (an export, a shallow clone)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout

    found: dict[tuple, str] = {}
    try:
        for sha in git("log", "--reverse", "--format=%H", "--", path).split():
            try:
                rows = json.loads(git("show", f"{sha}:{path}")).get("candidates", [])
            except (subprocess.CalledProcessError, ValueError):
                continue  # the file deleted or malformed in that commit
            for c in rows:
                found.setdefault(fingerprint(c), sha)
    except (OSError, subprocess.CalledProcessError):
        return {}
    return found


def experiments_markdown(model_dir: str | Path, commits: dict[tuple, str] | None = None) -> str:
    """One row per candidate, in the order they were recorded; the shipped model's row says so."""
    rows = (_load(Path(model_dir), CANDIDATES_FILE) or {}).get("candidates", [])
    commits = candidate_commits() if commits is None else commits
    shipped = ((_load(Path(model_dir), "model_card.json") or {}).get("selection") or {}).get("shipped")
    lines = [
        "| # | network | input, crop | recipe | held-out margin | val worst source | release gate | what it was "
        "| commit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, c in enumerate(rows, 1):
        sha = commits.get(fingerprint(c))
        link = f"[`{sha[:7]}`](../../../commit/{sha})" if sha else "—"
        crop = Framing.from_dict(c.get("framing")).label() + (" + mirror" if c.get("views", 1) == 2 else "")
        number = f"**{i}** (shipped)" if shipped and fingerprint(c) == fingerprint(shipped) else str(i)
        lines.append(
            f"| {number} | {c['arch']} | {c['input_size']} px, {crop} | {recipe_label(c)} | "
            f"{_signed(held_out_margin(c))} | {_pct(c.get('val_worst_source_accuracy'))} | {_gate(c)} | "
            f"{short_note(c.get('note', ''))} | {link} |")
    return "\n".join(lines)


def without_commit_links(text: str) -> str:
    """``text`` with the experiments table's commit links blanked: they follow git history, not ``models/``."""
    return COMMIT_LINK.sub("—", text)


# -- docs/architecture.md: the condition table --------------------------------------------------------------------
def conditions_markdown() -> str:
    """``conditions.TABLE`` as a table: each condition, how it is detected, what it does, what the user reads
    (each warning as a 512 px photo saved at JPEG quality 50 with one face in that condition would get it)."""
    sample = Scene((512, 512, 3), Box(0, 0, 512, 512), Framing(2.6, 256), 256, 50, MAX_FACES + 1, (None,))
    lines = ["| condition | read | detected when | effect on the verdict | the user reads |", "|---|---|---|---|---|"]
    for c in TABLE:
        lines.append(f"| `{c.name}` | per {c.scope} | {c.detected_by} | {c.effect} | {c.warning(sample, 1)} |")
    return "\n".join(lines)


# -- the files and their blocks ----------------------------------------------------------------------------------
def blocks(model_dir: str | Path) -> dict[str, list[tuple[str, Callable[[], str]]]]:
    """Each generated file (relative to the repository) and its blocks: (marker name, renderer)."""
    return {
        "README.md": [("summary", lambda: summary_markdown(model_dir))],
        "docs/results.md": [("results", lambda: results_markdown(model_dir))],
        "docs/experiments.md": [("experiments", lambda: experiments_markdown(model_dir))],
        "docs/architecture.md": [("conditions", conditions_markdown)],
        "docs/generalisation.md": [("family-folds", lambda: fold_markdown(_load(Path(model_dir), FOLDS_FILE)))],
    }


def rendered(model_dir: str | Path, repo: Path = REPO) -> dict[str, str]:
    """Each generated file's text as it should be now."""
    out = {}
    for rel, parts in blocks(model_dir).items():
        text = (repo / rel).read_text()
        for name, render in parts:
            text = splice(text, render(), name)
        out[rel] = text
    return out


def write(model_dir: str | Path, repo: Path = REPO) -> list[str]:
    """Rewrite every generated block; the files that changed."""
    changed = []
    for rel, text in rendered(model_dir, repo).items():
        if (repo / rel).read_text() != text:
            (repo / rel).write_text(text)
            changed.append(rel)
    return changed
