"""`make classroom` end to end, with real accounts (tools/classroom/): an instructor and three students as system users,
the hub on 127.0.0.1, each logged in with the hub's form as a browser would; lesson 03 run in a student's kernel through
the proxy; an assignment released, fetched, submitted three ways, collected, graded, and its feedback returned; what a
student must not reach, tried and refused; bad input refused with one line. Needs root, runuser, .venv-classroom and
configurable-http-proxy (`make classroom-env`); everything it makes (accounts, groups, processes, folders) goes at the
end, pass or fail."""
import glob, html, json, os, pwd, re, subprocess, sys, tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'/'classroom'))
from hubclient import HubError, Learner  # noqa: E402
import trial  # noqa: E402
from trial import assignments, code_cells, fill_in, solution_sources, tool  # noqa: E402

ARCHIVE = os.environ.get('MNIST_SAMPLE_ARCHIVE') or str(ROOT.parent/'shared'/'data'/'mnist_sample.tgz')
COURSE, ASSIGNMENT = 'mnist-linear', '03_sgd'
INSTRUCTOR = A = B = C = PROBE = None         # this run's account names (random), set by the fixture `hub`


@pytest.fixture(scope='module')
def hub():
    "A class of three (A: will submit the solution, B: the notebook untouched, C: a bug), everyone logged in."
    need = trial.missing(ARCHIVE)
    if need: pytest.fail('the classroom test needs: ' + '; '.join(need))
    global INSTRUCTOR, A, B, C, PROBE
    with trial.throwaway_class(3, ARCHIVE) as cls:
        INSTRUCTOR, (A, B, C), PROBE = cls.instructor, cls.students, cls.probe
        learners = {n: Learner(cls.base, n, cls.passwords[n]) for n in (cls.instructor, *cls.students)}
        with ThreadPoolExecutor(4) as pool:            # four people logging in at once: the hub starts their servers together
            list(pool.map(lambda who: (who.login(), who.start()), learners.values()))
        yield dict(cls=cls, learners=learners, base=cls.base, srv=cls.srv, port=cls.port)
    # gone with the class: the hub, and what it started outside its process group (its proxy, the idle culler)
    assert not trial.hub_children(cls.srv, cls.port), 'processes of the hub outlived the class'


def test_logins_refuse_a_wrong_password(hub):
    with pytest.raises(HubError, match='403'): Learner(hub['base'], A, 'not-the-password').login()


def outputs(cells):
    "The text a notebook's code cells printed or returned (what the kernel run must give again), in order."
    return [''.join(''.join(o['text']) if o['output_type'] == 'stream' else ''.join(o['data'].get('text/plain', ''))
                    for o in c['outputs'] if o['output_type'] in ('stream', 'execute_result')) for c in cells]


def test_lesson_03_runs_in_a_students_kernel_through_the_proxy_and_edits_survive_an_update(hub):
    a = hub['learners'][A]
    repo = f"file://{hub['srv']/'lessons.git'}"
    a.git_pull(repo, 'main', 'lessons')
    cells = code_cells(a, 'lessons/nbs/03_sgd.ipynb')
    with a.kernel('lessons/nbs') as k: got = k.run(cells, timeout=240)
    errors = [(i, e) for i, (_, e) in enumerate(got) if e]
    assert not errors, errors
    committed = [c for c in json.loads((ROOT/'nbs'/'03_sgd.ipynb').read_text())['cells'] if c['cell_type'] == 'code']
    assert [t for t, _ in got] == outputs(committed)           # every number of the lesson, as committed
    key = next(i for i, c in enumerate(cells) if c.startswith('# Key result'))
    assert got[key][0].split()[-1] == '0.9702'

    # A's edit to a lesson, then a new version of the course: the pull brings the new version and keeps the edit.
    path = '/api/contents/lessons/nbs/00_data.ipynb'
    mine = a.api('GET', path).json()['content']
    mine['cells'].append({'cell_type': 'markdown', 'metadata': {}, 'source': 'my own note'})
    assert a.api('PUT', path, json={'type': 'notebook', 'content': mine}).status_code == 200
    with tempfile.TemporaryDirectory() as d:
        git = lambda *args: subprocess.run(['git', '-C', d, '-c', 'user.name=t', '-c', 'user.email=t@t.invalid', *args], check=True, capture_output=True)
        subprocess.run(['git', 'clone', '-q', hub['srv']/'lessons.git', d], check=True, capture_output=True)
        (Path(d)/'nbs'/'new_lesson.md').write_text('a new page of the course\n')
        git('add', '-A'); git('commit', '-q', '-m', 'a new page'); git('push', '-q', 'origin', 'main')
    a.git_pull(repo, 'main', 'lessons')
    assert a.api('GET', '/api/contents/lessons/nbs/new_lesson.md').status_code == 200
    assert 'my own note' in json.dumps(a.api('GET', path).json()['content'])


def as_instructor(cls, *cmd):
    r = cls.as_instructor(*cmd)
    assert r.returncode == 0, r.stderr[-2000:]


@pytest.fixture(scope='module')
def graded(hub):
    "Release, fetch, edit, validate and submit three ways, then grade and return feedback; {student: feedback html}."
    cls, ls, res = hub['cls'], hub['learners'], dict(hub)
    as_instructor(cls, 'nbgrader', 'generate_assignment', ASSIGNMENT)
    as_instructor(cls, 'nbgrader', 'release_assignment', ASSIGNMENT)
    form = {'course_id': COURSE, 'assignment_id': ASSIGNMENT}
    nb_path = f'{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb'
    for name, edit in ((A, solution_sources(ASSIGNMENT)), (B, None), (C, solution_sources(ASSIGNMENT, bug=True))):
        s = ls[name]
        listed = assignments(s.api('POST', '/assignments/fetch', data=form))
        assert [x['status'] for x in listed if x['assignment_id'] == ASSIGNMENT] == ['fetched'], listed
        if edit: fill_in(s, nb_path, edit)
        if name == B:                                  # the Validate button: it lists the checks that fail
            v = s.api('POST', '/assignments/validate', data={'path': nb_path}, timeout=300).json()
            assert v['success'] and 'check_mnist_loss(mnist_loss)' in json.dumps(v['value'].get('failed')), v
        assignments(s.api('POST', '/assignments/submit', data=form))
    r = tool('grade', ASSIGNMENT, user=INSTRUCTOR, env=cls.instructor_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    pages = {}
    for name in (A, B, C):
        listed = assignments(ls[name].api('POST', '/assignments/fetch_feedback', data=form))
        assert [x['student_id'] for x in listed if x['status'] == 'submitted'] == [name], listed
        found = ls[name].api('GET', f'/api/contents/{COURSE}/{ASSIGNMENT}/feedback').json()['content']
        assert len(found) == 1, found
        page = ls[name].api('GET', f"/files/{found[0]['path']}/{ASSIGNMENT}.html")
        assert page.status_code == 200
        pages[name] = page.text
    res['pages'] = pages
    return res


def scores():
    "{student: {grade_id: score}} from the instructor's gradebook, and the points of each graded cell."
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{Path(pwd.getpwnam(INSTRUCTOR).pw_dir)/'mnist-course'/'gradebook.db'}") as gb:
        res = {s: {g.name: g.score for g in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s).grades} for s in (A, B, C)}
        points = {g.name: g.max_score for g in gb.find_notebook(ASSIGNMENT, ASSIGNMENT).grade_cells}
    return res, points


def test_the_gradebook_scores_each_submission_exactly(graded):
    got, points = scores()
    total = sum(points.values())
    # which checks a missing sigmoid breaks: the loss itself, and the 21-epoch run that trains with it (the checks of
    # calc_grad and train_epoch give the learner's function the course's own loss)
    broken = {'check_mnist_loss', 'check_sgd_run'}
    assert got[A] == points and sum(got[A].values()) == total
    assert sum(got[B].values()) == 0
    assert got[C] == {g: 0 if g in broken else p for g, p in points.items()}


def test_each_feedback_page_holds_its_students_results_and_no_one_elses(graded):
    got, points = scores()
    pages = graded['pages']
    order = [g for g in points]                                   # the graded cells, in the notebook's order
    for name, page in pages.items():
        # the page's total, then its list of graded cells, each with its score: this student's, from the gradebook
        shown = [(float(a), float(b)) for a, b in re.findall(r'Score: ([\d.]+) / ([\d.]+)\)', page)]
        assert shown == [(sum(got[name].values()), sum(points.values()))] + [(got[name][g], points[g]) for g in order], name
    text = {n: html.unescape(re.sub(r'<[^>]+>', '', p)) for n, p in pages.items()}
    verdicts = {n: re.findall(r'^(\w+): (right|wrong|not done yet)\b', t, flags=re.M) for n, t in text.items()}
    assert {v for _, v in verdicts[A]} == {'right'}                                  # the solution: every check right
    assert {v for _, v in verdicts[B]} == {'not done yet'}                           # untouched: not done yet, nothing else
    assert ('mnist_loss', 'wrong') in verdicts[C] and 'not done yet' not in {v for _, v in verdicts[C]}
    hint = re.search(r'^mnist_loss: wrong\..*\n\s*Hint: (.*)$', text[C], flags=re.M)[1]
    assert '.sigmoid()' in hint, hint                                                # the hint names the mistake
    assert all('Hint:' not in text[n] for n in (A, B))                              # and is on C's page only


PROBES = r'''
import glob, json, os
ex, course, home_a = {ex!r}, {course!r}, {home_a!r}
def attempt(f):
    try: f(); return 'allowed'
    except OSError as e: return type(e).__name__
print(json.dumps({{
  'list inbound': attempt(lambda: os.listdir(ex + '/inbound')),
  'find A by name': str(glob.glob(ex + '/inbound/{a}+*')),
  'read A without the random part': attempt(lambda: open(ex + '/inbound/{a}+{asg}+{ts}/{asg}.ipynb').read()),
  'overwrite A without the random part': attempt(lambda: open(ex + '/inbound/{a}+{asg}+{ts}/{asg}.ipynb', 'w')),
  'list feedback': attempt(lambda: os.listdir(ex + '/feedback')),
  'read A home': attempt(lambda: os.listdir(home_a)),
  'read A cached submission': attempt(lambda: os.listdir(home_a + '/.local/share/jupyter/nbgrader_cache')),
  'list the course folder': attempt(lambda: os.listdir(course)),
  'read the gradebook': attempt(lambda: open(course + '/gradebook.db', 'rb').read()),
  'write into the exchange course folder': attempt(lambda: open(ex + '/sneaky.txt', 'w')),
}}))
'''


def test_a_student_reaches_nothing_of_another_nor_the_instructors(graded):
    ls, srv = graded['learners'], graded['srv']
    course = graded['cls'].course
    a_sub = [p for p in glob.glob(f"{srv}/exchange/{COURSE}/inbound/{A}+{ASSIGNMENT}+*")]
    assert len(a_sub) == 1 and re.fullmatch(rf'{A}\+{ASSIGNMENT}\+(.+)\+[A-Za-z0-9_-]{{12}}', Path(a_sub[0]).name)
    ts = Path(a_sub[0]).name.split('+')[2]
    code = PROBES.format(ex=f'{srv}/exchange/{COURSE}', course=str(course), home_a=pwd.getpwnam(A).pw_dir,
                         a=A, asg=ASSIGNMENT, ts=ts)
    with ls[B].kernel() as k: (out, err), = k.run([code])
    assert err is None, err
    assert json.loads(out) == {
        'list inbound': 'PermissionError', 'find A by name': '[]', 'read A without the random part': 'FileNotFoundError',
        'overwrite A without the random part': 'FileNotFoundError', 'list feedback': 'PermissionError',
        'read A home': 'PermissionError', 'read A cached submission': 'PermissionError',
        'list the course folder': 'PermissionError', 'read the gradebook': 'PermissionError',
        'write into the exchange course folder': 'PermissionError'}
    # B's Assignments tab lists B's own submission only; B's server has no formgrader, the instructor's has
    listed = assignments(ls[B].api('GET', f'/assignments?course_id={COURSE}'))
    assert ts not in json.dumps(listed)
    assert ls[B].api('GET', '/formgrader').status_code == 404
    assert ls[INSTRUCTOR].api('GET', '/formgrader').status_code == 200
    # nor can B open A's server through the proxy
    r = ls[B].s.get(f"{graded['base']}/user/{A}/api/contents", timeout=30, allow_redirects=False)
    assert r.status_code in (302, 403) and 'api/contents' not in r.headers.get('Location', '')


def refused(r, words):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith('classroom ') and words in lines[0], r.stderr
    assert not trial.user_exists(PROBE)


def test_bad_input_gets_one_line_and_changes_nothing(graded):
    cls = graded['cls']
    setup = ['setup', '--instructor', INSTRUCTOR, '--students', f'{A} {PROBE}', '--dir', cls.srv, '--ip', '127.0.0.1']
    refused(tool(*setup, '--port', cls.port), 'is in use')                          # the running hub's port
    inst = pwd.getpwnam(INSTRUCTOR)
    os.chown(cls.course, 0, 0)                                                     # a course folder that is not the instructor's
    try: refused(tool(*setup, '--port', trial.free_ports()), 'does not belong to')
    finally: os.chown(cls.course, inst.pw_uid, inst.pw_gid)
    no_npm = subprocess.run([trial.VENV/'bin'/'python', '-c', 'import sys; sys.path.insert(0, sys.argv[1]); import classroom; '
                             'classroom.CHP = classroom.CHP.with_name("absent"); sys.exit(classroom.main(sys.argv[2:]))',
                             trial.HERE, *map(str, setup), '--port', str(trial.free_ports())],
                            capture_output=True, text=True, env={**os.environ, 'PATH': '/nonexistent'})
    refused(no_npm, 'install Node.js and npm')                                     # neither the proxy nor npm
    before = (cls.course/'gradebook.db').read_bytes()
    refused(tool('grade', ASSIGNMENT, '--student', PROBE, user=INSTRUCTOR), 'is not a student of this course')
    assert (cls.course/'gradebook.db').read_bytes() == before


# Past one machine (tools/classroom/k8s/): no Kubernetes and no container engine here, so only what can be read.
K8S = ROOT/'tools'/'classroom'/'k8s'


def test_the_image_recipe_installs_exactly_the_classroom_lock():
    lines = re.sub(r'\\\n', ' ', (K8S/'Dockerfile').read_text()).splitlines()
    pips = [l for l in lines if re.search(r'\bpip install\b', l)]
    assert len(pips) == 2, pips
    lock, package = pips
    assert re.search(r'pip install --no-cache-dir --no-deps --require-hashes -r /tmp/requirements-classroom-lock\.txt', lock)
    assert 'COPY requirements-classroom-lock.txt /tmp/' in lines
    assert re.search(r'pip install --no-cache-dir --no-deps --no-build-isolation /opt/mnist-linear\b', package)
    base = re.search(r'^FROM python:(\d+\.\d+)', (K8S/'Dockerfile').read_text(), flags=re.M)[1]
    assert base == trial.setting('min_python')            # the Python the lock was resolved from


def test_the_values_file_parses_and_makes_the_same_choices():
    import yaml
    v = yaml.safe_load((K8S/'values.yaml').read_text())
    assert v['singleuser']['image']['name'].endswith('/mnist-linear-classroom')
    assert 'mnist-linear-classroom' in (K8S/'Dockerfile').read_text()
    assert v['cull']['enabled'] is True and v['cull']['timeout'] == 3600
    assert v['hub']['config']['JupyterHub']['authenticator_class'] == 'nativeauthenticator.NativeAuthenticator'
    hook = v['hub']['extraConfig']['mnist-classroom']
    compile(hook, 'extraConfig', 'exec')
    assert 'JUPYTER_CONFIG_PATH' in hook and 'spawner.uid' in hook
    mounts = {m['mountPath'] for m in v['singleuser']['storage']['extraVolumeMounts']}
    assert mounts == {'/srv/nbgrader/exchange', '/etc/mnist-classroom'}
