"""One Linux machine as the class's server: JupyterHub with real accounts, the lessons by link, nbgrader's exchange.

    make classroom INSTRUCTOR=ada STUDENTS="bo cy di"     (as root: setup, then start)
    python tools/classroom/classroom.py setup --instructor ada --students "bo cy di" [--dir DIR] [--ip IP] [--port N]
    python tools/classroom/classroom.py start [--dir DIR]                 (as root: run the hub in the foreground)
    python tools/classroom/classroom.py grade ASSIGNMENT [--student S]    (as the instructor, in a terminal of the hub)

`setup` (root, with the classroom environment's Python: .venv-classroom, made from requirements-classroom-lock.txt)
  - creates the groups mnist-instructors and mnist-students and the accounts that do not exist yet (locked passwords:
    set them with `passwd NAME` or `chpasswd`); JupyterHub logs them in with PAM, and only members of the two groups;
  - installs MNIST_SAMPLE (and the full MNIST when MNIST_ARCHIVE is set) once, into DIR/fastai, read-only for all;
  - makes DIR/lessons.git, a read-only git repository of the committed lessons (nbs/ and images/), which nbgitpuller
    pulls into each home (`start` prints the link); a learner's edits survive an update (`setup` again);
  - makes the instructor's course folder ~INSTRUCTOR/mnist-course (tools/course.py; mode 0700, the instructor's) with
    the students in its gradebook, and the course's exchange DIR/exchange/mnist-linear, owned by the instructor and the
    group mnist-instructors (nbgrader's `groupshared` mode): inbound is write+execute for students and not readable,
    feedback is execute-only, and every submission has a random part in its name (ExchangeSubmit.add_random_string),
    so a student can neither list nor find another's submission or feedback (INSTRUCTORS.md, "A class on one
    JupyterHub", says what this protects and what it does not);
  - writes DIR/classroom.json, which tools/classroom/jupyterhub_config.py reads, and the Jupyter configuration of each
    role in DIR/etc: students get nbgrader's Assignments tab and no formgrader, the instructor both.
  Run it again to add students or to update the lessons: it keeps what exists (a course folder that is not the
  instructor's is refused).
Bad input (not root, an unknown or invalid name, a course folder that is not the instructor's, a port in use, no
configurable-http-proxy because npm was never run, a clone that the students cannot read) prints one line, exits 2 and
changes nothing.
"""
import argparse, grp, json, os, pwd, re, shutil, socket, subprocess, sys, tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHP = ROOT/'node_modules'/'.bin'/'configurable-http-proxy'
DEFAULT_DIR = Path('/srv/mnist-linear-classroom')
INSTRUCTORS, STUDENTS = 'mnist-instructors', 'mnist-students'
COURSE_ID = 'mnist-linear'
NAME = re.compile(r'[a-z_][a-z0-9_-]{0,30}\Z')
# nbgrader's JupyterLab plugins and server extensions that only instructors get
INSTRUCTOR_PLUGINS = ['formgrader', 'course-list', 'create-assignment']
INSTRUCTOR_SERVER_EXTENSIONS = ['formgrader', 'course_list']


class Problem(Exception):
    "Bad input: one line for stderr."


def run(*cmd, user=None, **kw):
    "Run `cmd` (as `user` if given, with that user's HOME), raising a Problem with its last line when it fails."
    if user: cmd = ('runuser', '-u', user, '--', 'env', f'HOME={pwd.getpwnam(user).pw_dir}', *cmd)
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode:
        last = (r.stderr.strip() or r.stdout.strip() or '(no output)').splitlines()[-1]
        raise Problem(f"{Path(str(cmd[0])).name} {' '.join(map(str, cmd[1:3]))}... failed: {last}")
    return r.stdout


def user_exists(name):
    try: pwd.getpwnam(name); return True
    except KeyError: return False


def home(name): return Path(pwd.getpwnam(name).pw_dir)


def port_free(ip, port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try: s.bind((ip, port)); return True
        except OSError: return False


def readable_by_all(path):
    "Whether every user can reach `path` (every folder above it has o+x) and read it (o+r)."
    path = Path(path).resolve()
    return all(os.stat(p).st_mode & 0o001 for p in path.parents) and os.stat(path).st_mode & 0o004


def check(args):
    "Every check of `setup`, before anything is written; raises a Problem."
    if os.geteuid() != 0: raise Problem("setup needs root (it creates accounts and starts servers as each user): run it with sudo")
    names = [args.instructor, *args.students]
    bad = [n for n in names if not NAME.match(n)]
    if bad: raise Problem(f"{bad[0]!r} is not a valid account name (lower-case letters, digits, - and _)")
    if not args.students: raise Problem("name at least one student (--students \"bo cy di\")")
    if len(set(names)) != len(names): raise Problem("a name appears twice, or the instructor is also a student")
    if not CHP.is_file():
        how = "run `npm ci` in the clone" if shutil.which('npm') else "install Node.js and npm (apt-get install npm), then run `npm ci` in the clone"
        raise Problem(f"configurable-http-proxy is not installed ({CHP} is missing): {how}")
    if shutil.which('git') is None: raise Problem("git is not installed: apt-get install git")
    for p in (args.port, args.port + 1, args.port + 2):
        if not port_free(args.ip, p): raise Problem(f"port {p} on {args.ip} is in use: stop what uses it, or give --port")
    venv = Path(sys.prefix)
    if not (venv/'bin'/'jupyterhub-singleuser').is_file():
        raise Problem(f"{venv} has no JupyterHub: run this with .venv-classroom/bin/python (make classroom makes it)")
    for p in (venv, ROOT, Path(sys.executable).resolve(), Path(sys.base_prefix)/'lib'):
        if not readable_by_all(p):
            raise Problem(f"{p} is not readable by every user, so the students' servers cannot run from it: clone the "
                          "course into a folder everyone can read, and make .venv-classroom with /usr/bin/python3")
    if user_exists(args.instructor):
        course = home(args.instructor)/'mnist-course'
        if course.exists() and course.stat().st_uid != pwd.getpwnam(args.instructor).pw_uid:
            raise Problem(f"{course} exists and does not belong to {args.instructor}: move it away first")
    archive = os.environ.get('MNIST_SAMPLE_ARCHIVE')
    if not (args.dir/'fastai'/'data'/'mnist_sample').is_dir() and archive and not Path(archive).is_file():
        raise Problem(f"MNIST_SAMPLE_ARCHIVE={archive} is not a file")


def ensure_accounts(args):
    for g in (INSTRUCTORS, STUDENTS):
        try: grp.getgrnam(g)
        except KeyError: run('groupadd', g)
    for name, group in [(args.instructor, INSTRUCTORS), *((s, STUDENTS) for s in args.students)]:
        if user_exists(name): run('usermod', '-aG', group, name)
        else: run('useradd', '--create-home', '--shell', '/bin/bash', '--groups', group, name)
        os.chmod(home(name), 0o700)


def install_data(srv):
    "MNIST_SAMPLE (and the full MNIST if MNIST_ARCHIVE is set) into srv/fastai, read-only for everyone."
    env = {**os.environ, 'FASTAI_HOME': str(srv/'fastai')}
    run(Path(sys.prefix)/'bin'/'mnist-linear', 'data', '--check', env=env)
    if os.environ.get('MNIST_ARCHIVE'):
        run(sys.executable, '-c', 'from mnist_linear.digits import get_mnist; get_mnist()', env=env)
    run('chmod', '-R', 'a+rX,go-w', srv/'fastai')
    # untar_data (fastdownload) opens archive/<name>.tgz.lock for writing, to lock it, even when the data is there:
    # empty lock files that anyone may open, in a folder that only root may change
    for name in ('mnist_sample', 'mnist_png'):
        lock = srv/'fastai'/'archive'/f'{name}.tgz.lock'
        lock.parent.mkdir(exist_ok=True)
        lock.touch()
        os.chmod(lock, 0o666)


def publish_lessons(srv):
    "srv/lessons.git: one new commit of the clone's committed nbs/ and images/ on branch main (when they changed)."
    bare = srv/'lessons.git'
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)/'lessons'
        git = lambda *a: run('git', '-C', work, '-c', 'user.name=mnist-linear', '-c', 'user.email=classroom@mnist-linear.invalid', *a)
        if bare.is_dir(): run('git', 'clone', '-q', bare, work)
        else: run('git', 'init', '-q', '-b', 'main', work)
        for sub in ('nbs', 'images'): shutil.rmtree(work/sub, ignore_errors=True)
        tar = subprocess.run(['git', '-C', ROOT, 'archive', 'HEAD', 'nbs', 'images'], capture_output=True, check=True).stdout
        subprocess.run(['tar', '-x', '-C', work], input=tar, check=True)
        git('add', '-A')
        if git('status', '--porcelain').strip():
            git('commit', '-q', '-m', f"lessons of {run('git', '-C', ROOT, 'rev-parse', '--short', 'HEAD').strip()}")
        if not bare.is_dir(): run('git', 'clone', '-q', '--bare', work, bare)
        else: git('push', '-q', 'origin', 'main')
    run('chmod', '-R', 'a+rX,go-w', bare)


def write(path, text, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def role_configs(srv, instructor):
    "srv/etc/{common,student,instructor}: nbgrader's exchange for everyone, the instructor's tools for the instructor."
    etc, course = srv/'etc', home(instructor)/'mnist-course'
    write(etc/'common'/'nbgrader_config.py', (
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(srv/'exchange')!r}\n"
        "c.Exchange.path_includes_course = True\n"
        "c.ExchangeSubmit.add_random_string = True\n"
        # the exchange's folders belong to the instructors' group, which root made: nbgrader leaves them as they are
        "c.CourseDirectory.groupshared = True\n"))
    write(etc/'instructor'/'nbgrader_config.py', (
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"))
    write(etc/'gitconfig', f"[safe]\n\tdirectory = {srv/'lessons.git'}\n")
    off = {f'nbgrader.server_extensions.{e}': False for e in INSTRUCTOR_SERVER_EXTENSIONS}
    write(etc/'student'/'jupyter_server_config.d'/'mnist-classroom.json', json.dumps({'ServerApp': {'jpserver_extensions': off}}, indent=1))
    plugins = {f'@jupyter/nbgrader:{p}': True for p in INSTRUCTOR_PLUGINS}
    write(etc/'student'/'labconfig'/'page_config.json', json.dumps({'disabledExtensions': plugins}, indent=1))
    run('chmod', '-R', 'a+rX,go-w', etc)


def course_and_exchange(srv, instructor, students):
    course, inst = home(instructor)/'mnist-course', pwd.getpwnam(instructor)
    py = Path(sys.prefix)/'bin'/'python'
    if not course.exists(): run(py, ROOT/'tools'/'course.py', course, user=instructor, cwd='/')
    os.chmod(course, 0o700)
    with tempfile.NamedTemporaryFile('w', suffix='.csv', dir=course, delete=False) as f:
        f.write('id\n' + ''.join(f'{s}\n' for s in students))
    try:
        os.chown(f.name, inst.pw_uid, inst.pw_gid)
        run(py, '-m', 'nbgrader', 'db', 'student', 'import', f.name, user=instructor, cwd=course)
    finally: os.unlink(f.name)
    (srv/'exchange').mkdir(exist_ok=True)
    os.chmod(srv/'exchange', 0o755)
    ex = srv/'exchange'/COURSE_ID
    ex.mkdir(exist_ok=True)
    os.chown(ex, inst.pw_uid, grp.getgrnam(INSTRUCTORS).gr_gid)
    os.chmod(ex, 0o2775)


def setup(args):
    srv = args.dir.absolute()
    check(args)
    ensure_accounts(args)
    srv.mkdir(parents=True, exist_ok=True)
    os.chmod(srv, 0o755)
    (srv/'hub').mkdir(mode=0o700, exist_ok=True)
    install_data(srv)
    publish_lessons(srv)
    role_configs(srv, args.instructor)
    course_and_exchange(srv, args.instructor, args.students)
    conf = dict(ip=args.ip, port=args.port, venv=sys.prefix, chp=str(CHP), instructors=INSTRUCTORS, students=STUDENTS,
                cull_after=args.cull_after, course_id=COURSE_ID)
    write(srv/'classroom.json', json.dumps(conf, indent=1) + '\n')
    print(f"classroom ready in {srv}: instructor {args.instructor}, {len(args.students)} students "
          f"({', '.join(args.students)}); set passwords with `passwd NAME`, then start the hub")


def pull_link(srv, conf, lesson='00_data.ipynb'):
    "The nbgitpuller link that puts the lessons into ~/lessons and opens `lesson`."
    from urllib.parse import urlencode
    q = urlencode({'repo': f"file://{srv/'lessons.git'}", 'branch': 'main', 'targetpath': 'lessons',
                   'urlpath': f'lab/tree/lessons/nbs/{lesson}'})
    return f"http://{conf['ip']}:{conf['port']}/hub/user-redirect/git-pull?{q}"


def start(args):
    srv = args.dir.absolute()
    if os.geteuid() != 0: raise Problem("the hub needs root (it starts each user's server as that user): run it with sudo")
    if not (srv/'classroom.json').is_file(): raise Problem(f"{srv} holds no classroom: run `classroom.py setup` first")
    conf = json.loads((srv/'classroom.json').read_text())
    for p in (conf['port'], conf['port'] + 1, conf['port'] + 2):
        if not port_free(conf['ip'], p): raise Problem(f"port {p} on {conf['ip']} is in use: stop what uses it, or set up again with --port")
    print(f"the lessons' link for your students: {pull_link(srv, conf)}", flush=True)
    env = {**os.environ, 'MNIST_CLASSROOM_DIR': str(srv)}
    os.execve(Path(conf['venv'])/'bin'/'jupyterhub', ['jupyterhub', '-f', str(HERE/'jupyterhub_config.py')], env)


def grade(args):
    "As the instructor: collect, autograde, generate and release feedback for ASSIGNMENT (one student or all)."
    from nbgrader.api import Gradebook, MissingEntry
    me = pwd.getpwuid(os.getuid()).pw_name
    if me not in grp.getgrnam(INSTRUCTORS).gr_mem: raise Problem(f"{me} is not an instructor (group {INSTRUCTORS})")
    course = home(me)/'mnist-course'
    with Gradebook(f"sqlite:///{course/'gradebook.db'}") as gb:
        if args.student:
            try: gb.find_student(args.student)
            except MissingEntry: raise Problem(f"{args.student} is not a student of this course (nothing was changed)") from None
        try: gb.find_assignment(args.assignment)
        except MissingEntry: raise Problem(f"{args.assignment} is not an assignment of this course (nothing was changed)") from None
    only = ['--student', args.student] if args.student else []
    # one thread per grading kernel, as in the learners' kernels: on a busy machine two threads made grading 2-3x slower
    env = {**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')}
    sys.path.insert(0, str(ROOT/'tools'))
    from course import nbgrader_steps            # tools/course.py: the four commands in one process
    steps = [[*step, args.assignment, *only] for step in (['collect', '--update'], ['autograde'], ['generate_feedback'], ['release_feedback'])]
    r = nbgrader_steps(steps, course, env=env, timeout=None)
    if r.returncode:
        last = lambda text: (text.strip().splitlines() or ['(no output)'])[-1]
        raise Problem(f"{last(r.stdout)}: {last(r.stderr)}")
    print(f"{args.assignment}: collected, graded, feedback released ({args.student or 'every student'})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest='command', required=True)
    s = sub.add_parser('setup', help='accounts, data, lessons, course, exchange, the hub\'s configuration (root)')
    s.add_argument('--instructor', required=True)
    s.add_argument('--students', required=True, type=str.split, help='names, separated by spaces')
    s.add_argument('--ip', default='0.0.0.0', help='where the hub listens (default every interface)')
    s.add_argument('--port', type=int, default=8000, help='the hub\'s port; it uses the next two too (default 8000)')
    s.add_argument('--cull-after', type=int, default=3600, help='stop a server idle this many seconds (default 3600)')
    t = sub.add_parser('start', help='run the hub in the foreground (root)')
    g = sub.add_parser('grade', help='collect, autograde and return feedback (the instructor)')
    g.add_argument('assignment')
    g.add_argument('--student')
    for p in (s, t): p.add_argument('--dir', type=Path, default=DEFAULT_DIR, help=f'the server\'s folder (default {DEFAULT_DIR})')
    args = ap.parse_args(argv)
    try: {'setup': setup, 'start': start, 'grade': grade}[args.command](args)
    except Problem as e:
        print(f"classroom {args.command}: error: {e}", file=sys.stderr); return 2
    return 0


if __name__ == '__main__': sys.exit(main())
