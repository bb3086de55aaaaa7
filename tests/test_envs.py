"""Three audiences, three installs: the learner's environment (.venv, `make setup`) holds what the lessons and the
exercises import and none of the instructors' or maintainers' tools; the package imports no notebook tooling.

These tests run the learner's own Python (LEARNER_VENV, default .venv), which `make test` sets up first; without it
they fail and say how to make it."""
import json, os, re, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEARNER_PY = Path(os.environ.get('LEARNER_VENV', ROOT/'.venv'))/'bin'/'python'
sys.path.insert(0, str(ROOT/'tools'))
from lock import TOOLS_NOT_FOR_LEARNERS  # noqa: E402

# What a learner opens: the lessons, the landing page and the exercise notebooks.
LEARNER_NOTEBOOKS = sorted(ROOT.glob('nbs/0*.ipynb')) + [ROOT/'nbs'/'index.ipynb'] + sorted(ROOT.glob('exercises/*.ipynb'))
# Notebook tooling that the package must not import (it is the site's and the grader's, not the lessons').
TOOLING = ['nbformat', 'nbconvert', 'mistune', 'jupyter_core', 'nbclient', 'nbgrader', 'nbdev']


def learner(code):
    if not LEARNER_PY.is_file():
        pytest.fail(f"{LEARNER_PY} not found: set up the learner's environment with `make setup` (make test does)")
    r = subprocess.run([str(LEARNER_PY), '-c', code], capture_output=True, text=True, timeout=600,
                       env={**os.environ, 'PYTHONPATH': str(ROOT)})
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def notebook_imports(paths):
    "The top-level modules that the code cells of `paths` import."
    found = set()
    for nb in paths:
        for cell in json.loads(nb.read_text())['cells']:
            if cell['cell_type'] != 'code': continue
            for line in ''.join(cell['source']).splitlines():
                m = re.match(r'\s*(?:from|import)\s+([A-Za-z_][\w.]*)', line)
                if m and not m[1].startswith('.'): found.add(m[1])
    return sorted(found)


PACKAGE = sorted(p.stem for p in (ROOT/'mnist_linear').glob('*.py') if not p.stem.startswith('_'))

# One process of the learner's Python answers all three tests (each new process imports torch and fastai again): first
# every module of mnist_linear, and which notebook tooling that loaded; then every module a learner's notebook imports;
# then which of the instructors' and maintainers' tools are installed, and ipywidgets' version.
REPORT = f"""
import importlib, importlib.metadata as md, json, sys
for m in {PACKAGE!r}: importlib.import_module('mnist_linear.' + m)
tooling = sorted(t for t in {TOOLING!r} if t in sys.modules)
imported = [importlib.import_module(m).__name__ for m in {notebook_imports(LEARNER_NOTEBOOKS)!r}]
def installed(t):
    try: md.version(t); return True
    except md.PackageNotFoundError: return False
import jupyterlab, ipywidgets, anywidget
print(json.dumps(dict(tooling=tooling, imported=imported, tools=[t for t in {TOOLS_NOT_FOR_LEARNERS!r} if installed(t)],
                      ipywidgets=ipywidgets.__version__)))
"""


@pytest.fixture(scope='module')
def report(): return json.loads(learner(REPORT))


def test_learner_env_runs_what_the_lessons_import(report):
    mods = notebook_imports(LEARNER_NOTEBOOKS)
    assert 'mnist_linear.checks' in mods and 'fastai.vision.all' in mods, mods   # the scan reads the notebooks
    assert report['imported'] == mods                                            # each one, in the learner's environment


def test_learner_env_has_no_instructor_or_maintainer_tools(report):
    assert report['tools'] == [], f"the learner environment holds {report['tools']}"
    assert int(report['ipywidgets'].split('.')[0]) >= 8, f"ipywidgets {report['ipywidgets']}: JupyterLab 4 shows widgets with 8 only"


def test_package_imports_no_notebook_tooling(report):
    "Importing every module of mnist_linear (before anything else) loads none of the site's or the grader's libraries."
    assert report['tooling'] == [], f"importing mnist_linear loads {report['tooling']}"
