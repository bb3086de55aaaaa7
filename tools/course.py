"""Set up an nbgrader course folder from the exercises' sources, ready for `nbgrader generate_assignment`.

Usage: python tools/course.py COURSE        (or: make course COURSE=DIR)

writes, and nothing outside COURSE:
  COURSE/nbgrader_config.py               a copy of the sample exercises/nbgrader_config.py
  COURSE/source/NN_topic/NN_topic.ipynb   one assignment per lesson with exercises, named after the lesson: its source,
                                          with the solutions, the graded check cells and their hidden tests
  COURSE/gradebook.db                     nbgrader's gradebook, holding the course and those assignments

COURSE must not exist yet (its parent must), or be an empty folder. The sources must be marked as
tools/exercises.py --check wants them. Then, in COURSE, run nbgrader with this environment's
`.venv/bin/nbgrader` (INSTRUCTORS.md, "Grading with nbgrader"). Exit status 0 when the folder is
ready, 2 with one line on stderr (and nothing written) on bad input.
"""
import argparse, importlib.util, os, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT/'exercises'/'nbgrader_config.py'


class Problem(Exception):
    "Bad input: one line for stderr."


def exercises_tool():
    "tools/exercises.py as a module (it knows how a source must be marked), leaving no bytecode cache behind."
    spec = importlib.util.spec_from_file_location('exercises_tool', Path(__file__).resolve().parent/'exercises.py')
    mod, before = importlib.util.module_from_spec(spec), sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try: spec.loader.exec_module(mod)
    finally: sys.dont_write_bytecode = before
    return mod


def sources(root):
    "The exercise sources under `root`, each checked for nbgrader's marking; a Problem names the first bad one."
    ex = exercises_tool()
    try: found = [src for src, _ in ex.pairs(root)]
    except ex.Problem as e: raise Problem(str(e)) from None
    for src in found:
        try: nb = ex.read(src)
        except ex.Problem as e: raise Problem(str(e)) from None
        rel = src.relative_to(root)
        problems = ex.solution_cells_marked(nb, rel) + ex.check_cells_graded(nb, rel)
        if problems: raise Problem(f"{problems[0]} (fix the source first: python tools/exercises.py --check)")
    return found


def course_id(course):
    "The course_id that COURSE/nbgrader_config.py sets, read as nbgrader reads it (running the file)."
    from traitlets.config.loader import PyFileConfigLoader
    cfg = PyFileConfigLoader('nbgrader_config.py', path=str(course)).load_config()
    cid = cfg.CourseDirectory.get('course_id')
    if not cid: raise Problem(f"{SAMPLE.relative_to(ROOT)} sets no c.CourseDirectory.course_id")
    return cid


def make_course(course, root=ROOT):
    "Write the course folder `course` (see the module's docstring); return the assignments' names."
    course = Path(course).expanduser().absolute()
    if course.exists() and not course.is_dir(): raise Problem(f"{course} exists and is not a folder")
    if course.is_dir() and any(course.iterdir()):
        raise Problem(f"{course} is not empty: give a new folder (nothing was written)")
    if not course.parent.is_dir(): raise Problem(f"{course.parent} does not exist: create it first, or give another folder")
    if not SAMPLE.is_file(): raise Problem(f"{SAMPLE} not found")
    found = sources(root)
    created = not course.exists()
    try:
        course.mkdir(exist_ok=True)
        shutil.copy(SAMPLE, course/'nbgrader_config.py')
        names = []
        for src in found:
            (course/'source'/src.stem).mkdir(parents=True)
            shutil.copy(src, course/'source'/src.stem/src.name)
            names.append(src.stem)
        # nbgrader's Gradebook runs `alembic` from PATH when it creates the database: this environment's bin first.
        os.environ['PATH'] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get('PATH', '')
        from nbgrader.api import Gradebook
        with Gradebook(f"sqlite:///{course/'gradebook.db'}", course_id=course_id(course)) as gb:
            for name in names: gb.update_or_create_assignment(name)
        return names
    except BaseException as e:
        if created: shutil.rmtree(course, ignore_errors=True)
        else:
            for p in course.iterdir(): shutil.rmtree(p) if p.is_dir() else p.unlink()
        if isinstance(e, Problem): raise
        if isinstance(e, KeyboardInterrupt): raise Problem("interrupted (nothing was written)") from None
        if isinstance(e, Exception):
            first = (str(e).strip().splitlines() or [''])[0]
            raise Problem(f"could not set up {course}: {type(e).__name__}: {first} (nothing was written)") from None
        raise


# nbgrader's commands in one process: each `nbgrader` program imports nbgrader, nbconvert and SQLAlchemy anew (about
# 3 s of CPU each). This is how nbgrader's own tests run it: its application, the subcommand and its arguments,
# `start()`, then `reset()` before the next.
_STEPS = """
import json, sys
from jupyter_core.application import NoStart
from nbgrader.apps import NbGraderApp
for args in json.loads(sys.argv[1]):
    app = NbGraderApp.instance()
    try:
        app.initialize(args)
        app.start()
        code = 0
    except NoStart: code = 0                     # what the `nbgrader` program's launcher also takes for success
    except SystemExit as e: code = e.code or 0
    finally: app.reset()
    if code:                                      # which command failed on stdout; nbgrader said why on stderr
        print(f"nbgrader {' '.join(args)} exited with {code}")
        sys.exit(code)
"""


def nbgrader_steps(steps, course, env=None, timeout=600):
    "Run the nbgrader commands `steps` (each a list: subcommand and arguments) one after another in one process of this Python, in the course folder `course`, until one fails; the CompletedProcess."
    import json, subprocess
    return subprocess.run([sys.executable, '-c', _STEPS, json.dumps(steps)], cwd=course, env=env, capture_output=True,
                          text=True, timeout=timeout)


class Parser(argparse.ArgumentParser):
    def error(self, message): raise Problem(f"{self.prog}: {message}")


def main(argv=None):
    ap = Parser(prog='tools/course.py', description=__doc__.split('\n')[0])
    ap.add_argument('course', help='the course folder to create (new, or empty)')
    try:
        args = ap.parse_args(argv)
        if not args.course.strip(): raise Problem("give the course folder: python tools/course.py DIR, or make course COURSE=DIR")
        names = make_course(args.course)
    except Problem as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    course = Path(args.course).expanduser().absolute()
    print(f"course folder {course}: nbgrader_config.py, gradebook.db and {len(names)} assignments in source/: "
          f"{', '.join(names)}")
    print(f"next, in that folder: {Path(sys.executable).parent/'nbgrader'} generate_assignment {names[0]} "
          "(INSTRUCTORS.md says how to grade)")
    return 0


if __name__ == '__main__': sys.exit(main())
