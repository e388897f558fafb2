"""The README's results section is generated from the files in models/, never typed by hand."""

from pathlib import Path

from classifier.training.report import END, START, results_markdown, splice

ROOT = Path(__file__).resolve().parents[1]


def test_readme_results_match_model_files():
    """Fails when models/ changed and `python -m classifier report --write` was not re-run."""
    readme = (ROOT / "README.md").read_text()
    assert START in readme and END in readme, "README lost its results markers"
    expected = splice(readme, results_markdown(ROOT / "models"))
    assert readme == expected, "README results are stale: run `python -m classifier report --write`"


def test_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
