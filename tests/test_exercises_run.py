"""Every exercise notebook runs as a learner runs it (what `python tools/exercises.py --run` does, one test per lesson:
its learner's edition in a fresh kernel, then its source in the same kernel after `%reset -f`): each learner's edition
prints "not done yet" for every check and raises nothing but NotImplementedError; each source, with its solutions,
prints "right" for every check, its hidden tests included; every cell shows the same thing when run twice. The
pipeline runs these here, in pytest's pool beside the other tests, instead of in a stage of their own.
tools/exercises.py's docstring says exactly what passes."""
import os, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
import exercises as ex  # noqa: E402

PAIRS = ex.pairs(ROOT)


@pytest.mark.parametrize('source,edition', PAIRS, ids=[src.stem for src, _ in PAIRS])
def test_exercise_notebooks_run(source, edition, monkeypatch):
    monkeypatch.setenv('OMP_NUM_THREADS', os.environ.get('OMP_NUM_THREADS', '1'))
    monkeypatch.delenv('NBGRADER_EXECUTION', raising=False)      # as a learner runs them, not under nbgrader
    assert edition.exists(), f'{edition.relative_to(ROOT)} is missing: run python tools/exercises.py'
    (_, n_edition, problems_edition, _), (_, n_source, problems_source, _) = ex.run_pair(edition, source, ROOT)
    assert problems_edition + problems_source == [], '\n'.join(problems_edition + problems_source)
    assert n_edition > 0 and n_source == 2 * n_edition             # each check, then its hidden test on other inputs
