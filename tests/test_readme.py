"""README.md and docs/ are generated where they are numbers, and the README stays a front door.

Every table between ``<!-- name:start -->`` markers is rendered from the files in ``models/`` (or, for the
condition table, from the code) by ``python -m classifier report --write`` (``make docs``); these tests fail
when a file in ``models/`` changed and the docs were not regenerated. The experiments table's commit links
come from git history, which an export or a shallow clone lacks, so they are compared blanked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classifier.training import docs

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 300


@pytest.mark.parametrize("rel", sorted(docs.blocks(ROOT / "models")))
def test_generated_blocks_match_the_model_files(rel: str) -> None:
    """Fails when models/ changed and `make docs` (python -m classifier report --write) was not re-run."""
    text = (ROOT / rel).read_text()
    for name, _ in docs.blocks(ROOT / "models")[rel]:
        start, end = docs.markers(name)
        assert start in text and end in text, f"{rel} lost its {name} markers"
    expected = docs.rendered(ROOT / "models", ROOT)[rel]
    assert docs.without_commit_links(text) == docs.without_commit_links(expected), \
        f"{rel} is stale: run `make docs` (python -m classifier report --write)"


def test_the_readme_is_a_front_door() -> None:
    """At most 300 lines, with the two commands, one results table, the limits and links into docs/."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    assert "make run" in readme and "make test" in readme
    for heading in ("## Two commands", "## How it works", "## Results", "## Limits", "## Responsible use",
                    "## Data and licences"):
        assert heading in readme, heading
    summary = readme.split(docs.markers("summary")[0])[1].split(docs.markers("summary")[1])[0]
    assert sum(line.startswith("|---") for line in summary.splitlines()) == 1, "one results table in the README"
    for doc in ("architecture", "results", "experiments", "training"):
        assert f"docs/{doc}.md" in readme and (ROOT / "docs" / f"{doc}.md").is_file(), doc


def test_every_candidate_has_a_row() -> None:
    rows = json.loads((ROOT / "models" / "candidates.json").read_text())["candidates"]
    table = (ROOT / "docs" / "experiments.md").read_text().split(docs.markers("experiments")[0])[1]
    assert len(re.findall(r"^\| (?:\*\*)?\d+", table, flags=re.M)) == len(rows)
    assert "(shipped)" in table


def test_a_note_is_cut_to_its_first_clause_and_its_verdict() -> None:
    note = "a soup (mix 0.5; head refit 0.3): held-out studio 98 %; FaceChain 0.97; lost on the margin; not shipped"
    assert docs.clauses(note) == ["a soup (mix 0.5; head refit 0.3): held-out studio 98 %", "FaceChain 0.97",
                                  "lost on the margin", "not shipped"]
    assert docs.short_note(note) == "a soup (mix 0.5; head refit 0.3): held-out studio 98 %; **not shipped**"
    assert docs.short_note("x " * 200).endswith(" …")


def test_the_screenshots_show_the_shipped_model() -> None:
    """docs/*.png come from `make docs` (scripts/screenshots.py), which records the model they show."""
    shots = json.loads((ROOT / "docs" / "screenshots.json").read_text())
    card = json.loads((ROOT / "models" / "model_card.json").read_text())
    assert shots["version"] == card["version"], "the screenshots show another model: run `make docs`"
    for name in shots["files"]:
        assert (ROOT / "docs" / name).is_file(), name
