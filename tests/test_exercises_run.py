"""Every exercise notebook runs as a learner runs it (what `python tools/exercises.py --run` does, one test per notebook):
each source, with its solutions, prints "right" for every check, its hidden tests included; each learner's edition
prints "not done yet" for every check and raises nothing but NotImplementedError; every cell shows the same thing when
run twice. The pipeline runs these here, in pytest's pool beside the other tests, instead of in a stage of their own.
tools/exercises.py's docstring says exactly what passes."""
import os, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
import exercises as ex  # noqa: E402

JOBS = [(p, learner) for src, dst in ex.pairs(ROOT) for p, learner in ((src, False), (dst, True))]


@pytest.mark.parametrize('path,learner', JOBS, ids=[str(p.relative_to(ROOT)) for p, _ in JOBS])
def test_exercise_notebook_runs(path, learner, monkeypatch):
    monkeypatch.setenv('OMP_NUM_THREADS', os.environ.get('OMP_NUM_THREADS', '1'))
    monkeypatch.delenv('NBGRADER_EXECUTION', raising=False)      # as a learner runs them, not under nbgrader
    assert path.exists(), f'{path.relative_to(ROOT)} is missing: run python tools/exercises.py'
    seconds, n, problems, _ = ex.run_one(path, learner, ROOT)
    assert n > 0 and problems == [], '\n'.join(problems)
