"""A throw-away class on this machine, for tests/test_classroom.py and benchmarks/bench_classroom.py: an instructor and
students as system accounts with a random prefix (mlcXXXX-), `classroom.py setup` in a temporary folder, the hub on
127.0.0.1; on leaving, pass or fail, every process of those accounts ends, so do the hub and what it started (its
proxy and the idle culler), and the accounts, the groups it made and the folder go. Needs root."""
import grp, json, os, pwd, re, secrets, signal, socket, subprocess, tempfile, time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = ROOT/'.venv-classroom'
TOOL = HERE/'classroom.py'
GROUPS = ('mnist-instructors', 'mnist-students')


@dataclass
class Class:
    base: str
    srv: Path
    port: int
    instructor: str
    students: list
    passwords: dict = field(repr=False)
    probe: str = ''                                   # a name no account has, for bad input that must create none

    def instructor_env(self):
        "What the instructor's terminal on the hub has: the classroom environment, the data, the instructor's config."
        return [f"FASTAI_HOME={self.srv/'fastai'}", f"PATH={VENV/'bin'}:/usr/bin:/bin", 'OMP_NUM_THREADS=1',
                f"JUPYTER_CONFIG_PATH={self.srv/'etc'/'instructor'}:{self.srv/'etc'/'common'}"]

    @property
    def course(self): return Path(pwd.getpwnam(self.instructor).pw_dir)/'mnist-course'

    def as_instructor(self, *cmd, timeout=600):
        "Run `cmd` as the instructor, in the course folder, as in a terminal of the hub; return the CompletedProcess."
        return subprocess.run(['runuser', '-u', self.instructor, '--', 'env', f'HOME={self.course.parent}',
                               *self.instructor_env(), *map(str, cmd)], capture_output=True, text=True, cwd=self.course, timeout=timeout)


def setting(key):
    "A value of settings.ini's [DEFAULT]."
    import configparser
    cp = configparser.ConfigParser(delimiters=['='])
    cp.read(ROOT/'settings.ini', encoding='utf-8')
    return cp['DEFAULT'][key]


def missing(archive):
    "What a throw-away class needs and this machine lacks, each with how to get it."
    need = []
    if os.geteuid() != 0: need.append('root (it creates system accounts)')
    for tool in ('runuser', 'useradd', 'userdel', 'chpasswd', 'pkill', 'git'):
        if not any(Path(d, tool).exists() for d in ('/usr/sbin', '/usr/bin', '/sbin', '/bin')):
            need.append(f'{tool} (apt-get install passwd util-linux procps git)')
    if not (VENV/'bin'/'jupyterhub').is_file(): need.append('.venv-classroom (make classroom-env)')
    if not (ROOT/'node_modules'/'.bin'/'configurable-http-proxy').is_file(): need.append('configurable-http-proxy (npm ci)')
    if not Path(archive).is_file(): need.append(f'the MNIST_SAMPLE archive (set MNIST_SAMPLE_ARCHIVE; {archive} is missing)')
    return need


def _free(port):
    with socket.socket() as s:
        try: s.bind(('127.0.0.1', port)); return True
        except OSError: return False


def free_ports():
    "A port p of 127.0.0.1 with p+1 and p+2 free too (the hub takes all three)."
    for _ in range(50):
        with socket.socket() as s: s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]
        if p < 65000 and all(_free(q) for q in (p, p + 1, p + 2)): return p
    raise RuntimeError('no three free ports in a row on 127.0.0.1')


def user_exists(name):
    try: pwd.getpwnam(name); return True
    except KeyError: return False


def tool(*args, user=None, env=(), archive=None, timeout=300):
    "classroom.py with the classroom environment (as `user` if given, with `env` added)."
    cmd = [str(VENV/'bin'/'python'), str(TOOL), *map(str, args)]
    if user: cmd = ['runuser', '-u', user, '--', 'env', f'HOME={pwd.getpwnam(user).pw_dir}', *env, *cmd]
    environ = {k: v for k, v in os.environ.items() if k != 'MNIST_ARCHIVE'}
    if archive: environ['MNIST_SAMPLE_ARCHIVE'] = str(archive)
    # without MNIST_ARCHIVE: a throw-away class needs only the sample (the full MNIST's 70,000 files would take seconds
    # to unpack and to delete; its installer is get_dataset's, tested in tests/test_files.py)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd='/', env=environ)


def hub_children(srv, port):
    """The pids of what the hub of the class in `srv` started in sessions of their own, and so outside its process
    group: its proxy, which inherits the hub's MNIST_CLASSROOM_DIR, and its services (the idle culler), whose
    JUPYTERHUB_API_URL names the hub's port, `port` + 1."""
    marks = (f'MNIST_CLASSROOM_DIR={srv}'.encode(), f':{port + 1}/hub/api'.encode())
    found = []
    for d in Path('/proc').iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid(): continue
        try: env = (d/'environ').read_bytes().split(b'\0')
        except OSError: continue                       # gone meanwhile, or a kernel thread
        if any(e == marks[0] or (e.startswith(b'JUPYTERHUB_API_URL=') and e.endswith(marks[1])) for e in env):
            found.append(int(d.name))
    return found


def _clean(names, hub, groups_before, srv, port):
    names = [n for n in names if user_exists(n)]
    for n in names: subprocess.run(['pkill', '-KILL', '-u', n])     # their servers and kernels: the hub then stops at once
    if hub is not None and hub.poll() is None:
        os.killpg(hub.pid, signal.SIGTERM)             # JupyterHub stops its services and its proxy, then exits
        try: hub.wait(30)                              # on a busy machine that can take more than a few seconds
        except subprocess.TimeoutExpired: os.killpg(hub.pid, signal.SIGKILL); hub.wait(10)
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):    # whatever it left: a hub killed before it had
        left = hub_children(srv, port)                                # stopped them leaves them running for good
        for pid in left:
            try: os.kill(pid, sig)
            except ProcessLookupError: pass
        end = time.monotonic() + grace
        while left and time.monotonic() < end: time.sleep(0.1); left = hub_children(srv, port)
        if not left: break
    end = time.monotonic() + 10
    while names and subprocess.run(['pgrep', '-u', ','.join(names)], capture_output=True).returncode == 0 and time.monotonic() < end:
        for n in names: subprocess.run(['pkill', '-KILL', '-u', n])
        time.sleep(0.2)
    for n in names: subprocess.run(['userdel', '--remove', n], capture_output=True)
    for g in GROUPS:
        if g not in groups_before and g in {x.gr_name for x in grp.getgrall()}: subprocess.run(['groupdel', g], capture_output=True)
    subprocess.run(['rm', '-rf', str(srv)])


@contextmanager
def throwaway_class(n_students, archive, start_timeout=60):
    "Set up a class of `n_students` (named <prefix>-a, -b, ...), start its hub, yield a Class; remove it all after."
    tag = secrets.token_hex(2)
    instructor, students = f'mlc{tag}-inst', [f'mlc{tag}-{chr(97 + i)}' for i in range(n_students)]
    passwords = {n: secrets.token_urlsafe(12) for n in (instructor, *students)}
    groups_before = {g.gr_name for g in grp.getgrall()}
    srv, hub, port = Path(tempfile.mkdtemp(prefix='mlc-')), None, free_ports()
    try:
        r = tool('setup', '--instructor', instructor, '--students', ' '.join(students), '--dir', srv,
                 '--ip', '127.0.0.1', '--port', port, archive=archive)
        if r.returncode: raise RuntimeError(f'classroom.py setup failed: {r.stderr.strip()}')
        subprocess.run(['chpasswd'], input=''.join(f'{n}:{p}\n' for n, p in passwords.items()), text=True, check=True)
        with open(srv/'hub.log', 'w') as log:
            hub = subprocess.Popen([VENV/'bin'/'python', TOOL, 'start', '--dir', srv], stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd='/')
        base, end = f'http://127.0.0.1:{port}', time.monotonic() + start_timeout
        while True:
            try:
                if requests.get(f'{base}/hub/api', timeout=5).status_code == 200: break
            except requests.ConnectionError: pass
            if hub.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"the hub did not start: {(srv/'hub.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield Class(base, srv, port, instructor, students, passwords, probe=f'mlc{tag}-z')
    finally:
        _clean([instructor, *students, f'mlc{tag}-z'], hub, groups_before, srv, port)


def solution_sources(assignment, bug=False):
    """{grade_id: source} of the solution cells of exercises/solutions/<assignment>.ipynb, as a learner who solved them
    writes them (no BEGIN/END SOLUTION lines); bug=True: with a realistic mistake, mnist_loss without its sigmoid."""
    nb = json.loads((ROOT/'exercises'/'solutions'/f'{assignment}.ipynb').read_text())
    res = {}
    for c in nb['cells']:
        meta = c['metadata'].get('nbgrader', {})
        if not meta.get('solution'): continue
        src = re.sub(r'^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|\Z)', '', ''.join(c['source']), flags=re.M)
        if bug and meta['grade_id'] == 'mnist_loss':
            src, n = re.subn(r'^[ \t]*predictions = predictions\.sigmoid\(\)\n', '', src, flags=re.M)
            assert n == 1, src
        res[meta['grade_id']] = src
    return res


def fill_in(learner, path, sources):
    "Put `sources` ({grade_id: code}) into the solution cells of the learner's notebook `path`, through the contents API."
    nb = learner.api('GET', f'/api/contents/{path}').json()['content']
    for c in nb['cells']:
        gid = c['metadata'].get('nbgrader', {}).get('grade_id')
        if gid in sources: c['source'] = sources[gid]
    r = learner.api('PUT', f'/api/contents/{path}', json={'type': 'notebook', 'content': nb})
    if r.status_code != 200: raise RuntimeError(f'saving {path} failed: HTTP {r.status_code}')


def assignments(r):
    "The assignments that an answer of nbgrader's Assignments tab lists; it must say it succeeded."
    got = r.json()
    if r.status_code != 200 or not got.get('success'): raise RuntimeError(f'the Assignments tab answered {got}')
    return got['value']


def code_cells(learner, path):
    "The sources of the code cells of the notebook `path` in the learner's home, read through the contents API."
    nb = learner.api('GET', f'/api/contents/{path}').json()['content']
    return [c['source'] for c in nb['cells'] if c['cell_type'] == 'code']
