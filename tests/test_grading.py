"""Grading with nbgrader: the graded check cells of the exercise sources, their hidden tests, tools/exercises.py's
checks of them, tools/course.py, and the whole flow an instructor runs (INSTRUCTORS.md, "Grading with nbgrader"):
a course folder, `nbgrader generate_assignment`, `autograde` of three submissions, `generate_feedback` and `export`.

nbgrader runs here as INSTRUCTORS.md says: the environment's `nbgrader` program, run from the course folder, with
the environment's bin folder NOT on PATH (nothing activated).
"""
import csv, html, json, os, re, shutil, sqlite3, subprocess, sys
from pathlib import Path

import nbformat
import pytest

from conftest import run_main

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
SOURCES = sorted((ROOT/'exercises'/'solutions').glob('[0-9][0-9]_*.ipynb'))
HIDDEN = ('### BEGIN HIDDEN' + ' TESTS', '### END HIDDEN' + ' TESTS')
ASSIGNMENT = '02_gradients'        # the fast one: no MNIST data


def load_tool(name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'{name}_tool', ROOT/'tools'/f'{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def graded_cells(path):
    "The check cells of a source, with their nbgrader metadata."
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == 'code' and c.source.startswith('check_')]


def points(path):
    "{grade_id: points} of the source `path`."
    return {c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points for c in graded_cells(path)}


def not_activated():
    "os.environ with this environment's bin folder taken off PATH, as for an instructor who activated nothing."
    path = [p for p in os.environ.get('PATH', '').split(os.pathsep) if p and Path(p).resolve() != BIN.resolve()]
    return dict(os.environ, PATH=os.pathsep.join(path) or os.defpath)


# ---------------------------------------------------------------- the sources and their learner's editions

@pytest.mark.parametrize('src', SOURCES, ids=[p.stem for p in SOURCES])
def test_every_check_cell_is_graded_with_a_hidden_test_on_other_inputs(src):
    cells = graded_cells(src)
    assert cells
    seeds = []
    for c in cells:
        meta = c.metadata.nbgrader
        name = re.match(r'(check_\w+)\((\w+)\)\n', c.source)
        assert name, c.source
        assert (meta.grade, meta.locked, meta.solution, meta.grade_id) == (True, True, False, name[1])
        assert meta.points > 0
        seed = re.search(r'seed=(\d+)', c.source)
        assert seed and c.source.endswith(f"{HIDDEN[0]}\n{name[1]}({name[2]}, seed={seed[1]})\n{HIDDEN[1]}"), c.source
        seeds.append(seed[1])
    assert len(set(seeds)) == len(seeds)


@pytest.mark.parametrize('src', SOURCES, ids=[p.stem for p in SOURCES])
def test_the_learners_edition_shows_each_check_without_its_hidden_test(src):
    edition = nbformat.read(src.parent.parent/src.name, as_version=4)
    text = json.dumps([c.source for c in edition.cells])
    assert 'HIDDEN' not in text and 'seed=' not in text
    shown = [c.source for c in edition.cells if c.cell_type == 'code' and c.source.startswith('check_')]
    assert shown == [c.source.split('\n')[0] for c in graded_cells(src)]


def test_check_refuses_check_cells_that_nbgrader_would_not_grade(tmp_path):
    shutil.copytree(ROOT/'exercises', tmp_path/'exercises', ignore=shutil.ignore_patterns('*.py'))
    sols = tmp_path/'exercises'/'solutions'

    def edit(name, grade_id, change):
        p = sols/name
        nb = json.loads(p.read_text())
        cell = next(c for c in nb['cells'] if c['metadata'].get('nbgrader', {}).get('grade_id') == grade_id)
        change(cell)
        p.write_text(json.dumps(nb, indent=1))

    edit('01_pixel_similarity.ipynb', 'check_is_3', lambda c: c['metadata']['nbgrader'].update(grade=False))
    edit('02_gradients.ipynb', 'check_mse', lambda c: c['metadata']['nbgrader'].pop('points'))
    edit('02_gradients.ipynb', 'check_step', lambda c: c.update(source='check_step(step)'))
    edit('04_optimizer.ipynb', 'check_optim_step', lambda c: c.update(
        source=f'check_optim_step(BasicOptim)\n{HIDDEN[0]}\ncheck_optim_step(BasicOptim)\n{HIDDEN[1]}'))
    edit('04_optimizer.ipynb', 'check_optim_zero_grad', lambda c: c.update(
        source=f'check_optim_zero_grad(BasicOptim)\n{HIDDEN[0]}\ncheck_optim_step(BasicOptim, seed=3)\n{HIDDEN[1]}'))
    edit('05_neural_net.ipynb', 'setup', lambda c: c.update(source=''.join(c['source']) + f'\n{HIDDEN[0]}\nx = 1\n{HIDDEN[1]}'))
    r = run_main(load_tool('exercises').main, ['--check', '--root', str(tmp_path)])
    assert r.returncode == 1 and r.stderr == ''
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 6, r.stdout                 # one line each, and no advice to regenerate: it would not help
    assert re.search(r'01_pixel_similarity.ipynb: cell \d+ \(check_is_3\(is_3\)\) is not a locked nbgrader test cell', lines[0])
    assert 'check_mse(mse)) has no points' in lines[1]
    assert 'check_step(step)) lacks a hidden test' in lines[2]
    assert 'check_optim_step(BasicOptim)): its hidden test must call check_optim_step again' in lines[3]
    assert 'check_optim_zero_grad(BasicOptim)): its hidden test must call check_optim_zero_grad again' in lines[4]
    assert re.search(r'05_neural_net.ipynb: cell \d+ has a hidden test region but calls no check', lines[5])


def test_the_instructors_page_gives_the_points_of_every_check():
    "INSTRUCTORS.md's table of points is the sources' nbgrader metadata, lesson by lesson."
    text = (ROOT/'INSTRUCTORS.md').read_text()
    rows = re.findall(r'^\| `(\w+)` \| `(check_\w+)\(.*?\)` \| (\d+) \|', text, re.M)
    table = {}
    for lesson, grade_id, p in rows: table.setdefault(lesson, {})[grade_id] = int(p)
    assert table == {src.stem: points(src) for src in SOURCES}
    totals = dict(re.findall(r'^\| `(\w+)` \| \*\*total\*\* \| \*\*(\d+)\*\* \|', text, re.M))
    assert totals == {src.stem: str(sum(points(src).values())) for src in SOURCES}


# ---------------------------------------------------------------- tools/course.py and the sample config

def test_course_refuses_bad_input_with_one_line_and_writes_nothing(tmp_path):
    main = load_tool('course').main
    (tmp_path/'full').mkdir(); (tmp_path/'full'/'mine.txt').write_text('keep')
    (tmp_path/'file').write_text('a file')
    for args, words in [([], 'required'), ([''], 'give the course folder'), ([str(tmp_path/'full')], 'is not empty'),
                        ([str(tmp_path/'file')], 'is not a folder'), ([str(tmp_path/'no'/'such')], 'does not exist'),
                        (['a', 'b'], 'unrecognized arguments')]:
        r = run_main(main, args)
        assert r.returncode == 2 and r.stdout == '', args
        assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith('error: ') and words in r.stderr, (args, r.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['file', 'full']
    assert [p.name for p in (tmp_path/'full').iterdir()] == ['mine.txt']


def test_course_refuses_sources_that_nbgrader_would_not_grade(tmp_path):
    course = load_tool('course')
    shutil.copytree(ROOT/'exercises', tmp_path/'repo'/'exercises')
    src = tmp_path/'repo'/'exercises'/'solutions'/f'{ASSIGNMENT}.ipynb'
    src.write_text(src.read_text().replace('"grade": true', '"grade": false'))
    with pytest.raises(course.Problem, match=r'02_gradients.ipynb: cell \d+ \(check_mse\(mse\)\) is not a locked nbgrader test cell'):
        course.make_course(tmp_path/'course', root=tmp_path/'repo')
    assert not (tmp_path/'course').exists()


def test_the_sample_config_puts_the_environment_on_path_for_alembic(tmp_path):
    "nbgrader runs `alembic` from PATH when it creates a gradebook; the config makes it the environment's own."
    shutil.copy(ROOT/'exercises'/'nbgrader_config.py', tmp_path)
    code = ("import shutil; from traitlets.config.loader import PyFileConfigLoader as L; "
            "print(shutil.which('alembic')); print(L('nbgrader_config.py', path='.').load_config().CourseDirectory.course_id); "
            "print(shutil.which('alembic'))")
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env=not_activated(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    before, course_id, after = r.stdout.splitlines()
    assert before != str(BIN/'alembic') and after == str(BIN/'alembic')
    assert course_id == 'mnist-linear'


# ---------------------------------------------------------------- the whole flow, on one assignment

def submission(release, source, change=None):
    "The released notebook with each solution cell filled in with the source's code (markers taken out), then `change`d."
    nb = nbformat.read(release, as_version=4)
    src = {c.id: c for c in nbformat.read(source, as_version=4).cells}
    for c in nb.cells:
        if c.metadata.get('nbgrader', {}).get('solution'):
            c.source = '\n'.join(l for l in src[c.id].source.splitlines() if 'SOLUTION' not in l)
    text = nbformat.writes(nb)
    if change:
        old, new = change
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope='module')
def graded(tmp_path_factory):
    """A course folder made by tools/course.py, graded the way INSTRUCTORS.md says: generate_assignment (the `nbgrader`
    program, for 02_gradients; the other lessons' assignments too, so that every release can be compared), three
    submissions (the solutions, the untouched learner's edition, one whose step climbs the gradient), one autograde
    call for all three, generate_feedback, export. Returns the course folder and the rows of grades.csv."""
    course = tmp_path_factory.mktemp('grading')/'course'
    env = not_activated()
    env.pop('NBGRADER_EXECUTION', None)

    def nbgrader(*args):
        r = subprocess.run([str(BIN/'nbgrader'), *args], cwd=course, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{args}: {r.stdout[-1500:]}{r.stderr[-3000:]}"

    # tools/course.py in this process (a new one would import nbformat and nbgrader again: seconds), with PATH as
    # nbgrader's commands get it, without the environment's bin folder: it must find `alembic` by itself.
    from unittest import mock
    with mock.patch.dict(os.environ, {'PATH': env['PATH']}):
        r = run_main(load_tool('course').main, [str(course)])
    assert r.returncode == 0, r.stderr
    nbgrader('generate_assignment', ASSIGNMENT)
    others = [['generate_assignment', s.stem] for s in SOURCES if s.stem != ASSIGNMENT]
    release, source = (course/d/ASSIGNMENT/f'{ASSIGNMENT}.ipynb' for d in ('release', 'source'))
    subs = {'solutions': submission(release, source), 'untouched': release.read_text(),
            'buggy': submission(release, source, ('params -= lr * params.grad', 'params += lr * params.grad'))}
    for student, text in subs.items():
        d = course/'submitted'/student/ASSIGNMENT
        d.mkdir(parents=True)
        (d/release.name).write_text(text)
    steps = others + [['autograde', ASSIGNMENT], ['generate_feedback', ASSIGNMENT], ['export']]
    r = load_tool('course').nbgrader_steps(steps, course, env=env)       # in one process, as `classroom.py grade` runs them
    assert r.returncode == 0, f"{r.stdout[-1500:]}{r.stderr[-3000:]}"
    with open(course/'grades.csv', newline='') as f:
        rows = [r for r in csv.DictReader(f) if r['assignment'] == ASSIGNMENT]
    return course, rows


def test_the_course_folder_holds_the_sources_the_config_and_a_gradebook(graded):
    course, _ = graded
    assert sorted(p.name for p in (course/'source').iterdir()) == [s.stem for s in SOURCES]
    for s in SOURCES: assert (course/'source'/s.stem/s.name).read_bytes() == s.read_bytes()
    assert (course/'nbgrader_config.py').read_bytes() == (ROOT/'exercises'/'nbgrader_config.py').read_bytes()
    with sqlite3.connect(course/'gradebook.db') as db:
        assert sorted(n for (n,) in db.execute('select name from assignment')) == [s.stem for s in SOURCES]
        assert 'mnist-linear' in [n for (n,) in db.execute('select id from course')]


def test_the_released_notebooks_are_the_learners_editions(graded):
    "nbgrader's generate_assignment accepts every source unchanged and releases exactly the code of our editions."
    course, _ = graded
    for src in SOURCES:
        released = nbformat.read(course/'release'/src.stem/src.name, as_version=4)
        ours = nbformat.read(ROOT/'exercises'/src.name, as_version=4)
        assert [c.source for c in released.cells] == [c.source for c in ours.cells], src.stem


def test_autograde_scores_exactly_what_each_submission_earned(graded):
    _, rows = graded
    p = points(ROOT/'exercises'/'solutions'/f'{ASSIGNMENT}.ipynb')
    total = sum(p.values())
    scores = {r['student_id']: (float(r['score']), float(r['max_score'])) for r in rows}
    assert scores == {'solutions': (total, total), 'untouched': (0.0, total), 'buggy': (total - p['check_step'], total)}
    assert scores == {'solutions': (3.0, 3.0), 'untouched': (0.0, 3.0), 'buggy': (1.0, 3.0)}   # INSTRUCTORS.md's points


def test_autograde_ran_each_check_and_its_hidden_test(graded):
    course, _ = graded
    nb = nbformat.read(course/'autograded'/'solutions'/ASSIGNMENT/f'{ASSIGNMENT}.ipynb', as_version=4)
    cells = [c for c in nb.cells if c.source.startswith('check_')]
    assert len(cells) == 2
    for c in cells:
        out = ''.join(o.get('text', '') for o in c.outputs)
        assert len(re.findall(r'^check_\w+\(', c.source, re.M)) == 2 and HIDDEN[0] in c.source
        assert len(re.findall(r'^\w+: right\.', out, re.M)) == 2, out


def test_the_feedback_page_shows_the_verdict_and_the_hint(graded):
    course, _ = graded
    nb = nbformat.read(course/'autograded'/'buggy'/ASSIGNMENT/f'{ASSIGNMENT}.ipynb', as_version=4)
    step = next(c for c in nb.cells if c.source.startswith('check_step('))
    out = ''.join(o.get('text', '') for o in step.outputs if o.output_type == 'stream')
    assert out.startswith('step: wrong.')
    hint = re.search(r'^  Hint: .+$', out, re.M)
    assert hint, out
    assert [o.ename for o in step.outputs if o.output_type == 'error'] == ['CheckFailed']
    page = (course/'feedback'/'buggy'/ASSIGNMENT/f'{ASSIGNMENT}.html').read_text()
    assert html.escape(hint[0].strip(), quote=False) in page
    assert 'Score: 0.0 / 2.0' in page and 'Score: 1.0 / 1.0' in page
    untouched = (course/'feedback'/'untouched'/ASSIGNMENT/f'{ASSIGNMENT}.html').read_text()
    assert 'mse: not done yet' in untouched and 'step: not done yet' in untouched


# ---------------------------------------------------------------- a plain JupyterLab for learners, nbgrader's for instructors

def jupyter_state(**env):
    """What JupyterLab, started with `env` added to this environment's variables, reads at start: the lab extensions it
    disables (the page config of every Jupyter config folder, as JupyterLab merges them) and the server extensions it
    loads (as jupyter_server merges them)."""
    from unittest import mock
    from jupyter_core.paths import jupyter_config_path, jupyter_path
    from jupyter_server.extension.config import ExtensionConfigManager
    from jupyter_server.services.config.manager import ConfigManager
    with mock.patch.dict(os.environ, env):
        if not env.get('JUPYTER_CONFIG_PATH'): os.environ.pop('JUPYTER_CONFIG_PATH', None)
        disabled = ConfigManager(config_dir_name='labconfig').get('page_config').get('disabledExtensions', {})
        return {'labextensions': sorted(f'{p.parent.name}/{p.name}' for d in jupyter_path('labextensions')
                                        for p in Path(d).glob('@*/*')),
                'disabled': sorted(k for k in disabled if disabled[k]) if isinstance(disabled, dict) else sorted(disabled),
                'server': ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()}


def test_the_instructors_jupyterlab_has_nbgrader():
    """`make instructor-lab` starts this environment's JupyterLab (.venv-dev): nbgrader's lab extension and server
    extensions are there and on, with no config that turns them off. The learners' environment holds no nbgrader at
    all (tests/test_envs.py), so their JupyterLab has nothing to hide."""
    state = jupyter_state()
    assert '@jupyter/nbgrader' in state['labextensions'], state['labextensions']
    assert '@jupyter/nbgrader' not in state['disabled'], state['disabled']
    nbgrader_server = sorted(k for k in state['server'] if k.startswith('nbgrader'))
    assert {'nbgrader.server_extensions.formgrader', 'nbgrader.server_extensions.assignment_list'} <= set(nbgrader_server), state['server']
    assert all(state['server'][k] is True for k in nbgrader_server), state['server']
