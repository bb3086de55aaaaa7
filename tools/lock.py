"""The lock files: exact versions, with hashes, of every package that `make setup` and `make dev-setup` install.

    python tools/lock.py            refresh the locks from settings.ini (needs uv and the package index)
    python tools/lock.py --check    check that the locks still satisfy what they were made from

settings.ini keeps the ranges (`requirements`, `lab_requirements`, `dev_requirements`, `instructor_requirements`)
for anyone who installs the package with pip. The Makefile installs exact versions instead, from three locks:
  requirements-learner-lock.txt  the learner's environment (`make setup`, `make lab`, `make run`): settings.ini's
                               requirements and lab_requirements (the package's imports, JupyterLab, the kernel).
                               No grader, no nbdev, no test tools: --check fails if one of TOOLS_NOT_FOR_LEARNERS
                               is in it.
  requirements-lock.txt        the instructors' and maintainers' environment (`make dev-setup`: tests, grading, the
                               site, the locks): everything above plus dev_requirements and instructor_requirements,
                               resolved with the learner lock as constraints, so that it contains the learner lock:
                               every package pinned there is pinned here at the same version (--check checks it).
  requirements-classroom-lock.txt  a class server's environment (`make classroom`, tools/classroom/): the learner
                               lock plus settings.ini's classroom_requirements (JupyterHub, its idle culler,
                               nbgitpuller, nbgrader for the students' Assignments tab), resolved with the learner
                               lock as constraints, so that every learner's kernel runs the learner's versions.
  tools/nbdev2-lock.txt        the small nbdev 2 environment of tools/nbdev2_check.sh (its SPEC)
The two environment locks share tools/lock-constraints.txt (the torch cap) and tools/lock-overrides.txt (the file
says why). Because an override leaves out a package that a dependency asks for, the Makefile installs each lock
with --no-deps: the lock is the whole environment.

Both are made by `uv pip compile --universal --generate-hashes`: one resolution for every platform
(Linux and macOS, Intel and ARM, Windows) and every Python from settings.ini's min_python on, with
environment markers where a platform needs something else (torch's CUDA libraries on Linux only,
for example), and every file's sha256, so that pip installs them in hash-checking mode.

--check needs no network: for the Python running it, every requirement of settings.ini (and of the
nbdev 2 SPEC, and every constraint) must be pinned in its lock, at a version inside its range.
Exit status 0 when both locks hold, 1 with one line per problem, 2 on a missing file.
"""
import argparse, configparser, re, shutil, subprocess, sys, tempfile
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT/'requirements-lock.txt'
LEARNER_LOCK = ROOT/'requirements-learner-lock.txt'
CLASSROOM_LOCK = ROOT/'requirements-classroom-lock.txt'
NBDEV2_LOCK = ROOT/'tools'/'nbdev2-lock.txt'
CONSTRAINTS = ROOT/'tools'/'lock-constraints.txt'
OVERRIDES = ROOT/'tools'/'lock-overrides.txt'
NBDEV2_SCRIPT = ROOT/'tools'/'nbdev2_check.sh'


def settings():
    cp = configparser.ConfigParser(delimiters=['='])
    if not cp.read(ROOT/'settings.ini', encoding='utf-8'): fail(2, f"{ROOT/'settings.ini'} not found")
    return cp['DEFAULT']


def fail(code, msg): print(f'error: {msg}', file=sys.stderr); sys.exit(code)


# Instructors' and maintainers' tools that a learner's environment must not carry.
TOOLS_NOT_FOR_LEARNERS = ['nbgrader', 'nbdev', 'pytest', 'pytest-xdist', 'fastbook', 'uv']


def project_requirements():
    "(the learner's requirements, everyone else's on top of them, min_python), from settings.ini."
    cfg = settings()
    keys = lambda *ks: [r for k in ks for r in cfg.get(k, '').split()]
    learner = keys('requirements', 'lab_requirements')
    rest = [r for r in keys('dev_requirements', 'instructor_requirements') if r not in learner]
    return learner, learner + list(dict.fromkeys(rest)), cfg['min_python']


def classroom_requirements():
    "A class server's requirements: the learner's plus settings.ini's classroom_requirements."
    learner, _, _ = project_requirements()
    return learner + [r for r in settings().get('classroom_requirements', '').split() if r not in learner]


def nbdev2_spec():
    m = re.search(r"^SPEC='([^']+)'", NBDEV2_SCRIPT.read_text(), re.M)
    if not m: fail(2, f'{NBDEV2_SCRIPT} has no SPEC line')
    return m[1].split()


def _lines(path):
    if not path.is_file(): return []
    return [l.split('#')[0].strip() for l in path.read_text().splitlines() if l.split('#')[0].strip()]


def constraints(): return _lines(CONSTRAINTS) + _lines(OVERRIDES)


def pins(lock):
    "{canonical name: [(version, marker or None)]} of a lock written by uv pip compile."
    res = {}
    for line in lock.read_text().splitlines():
        if not line or line[0] in ' #-': continue
        req, _, marker = line.rstrip(' \\').partition(';')
        m = re.fullmatch(r'([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)', req.strip())
        if not m: continue
        res.setdefault(canonicalize_name(m[1]), []).append((Version(m[2]), Marker(marker.strip()) if marker.strip() else None))
    return res


def problems(lock, wanted):
    "What in `wanted` (requirement strings) the lock does not satisfy for this Python and platform."
    if not lock.is_file(): return [f'{lock.name} is missing: run `make lock`']
    pinned, found = pins(lock), []
    for text in wanted:
        r = Requirement(text)
        if r.marker is not None and not r.marker.evaluate(): continue
        here = [v for v, m in pinned.get(canonicalize_name(r.name), []) if m is None or m.evaluate()]
        if not here: found.append(f'{lock.name} pins no version of {r.name} for this platform; {text!r} needs one'); continue
        bad = [v for v in here if not r.specifier.contains(v, prereleases=True)]
        if bad: found.append(f'{lock.name} pins {r.name}=={bad[0]}, outside {text!r}')
    return found


def contained(small, big):
    "Every version that the lock `small` pins is pinned by the lock `big` too (markers may widen: more needs it)."
    bigpins = pins(big)
    return [f'{big.name} does not pin {name}=={v} as {small.name} does'
            for name, pairs in pins(small).items() for v, _ in pairs
            if v not in {w for w, _ in bigpins.get(name, [])}]


def no_tools(lock):
    here = pins(lock)
    return [f'{lock.name} holds {t}, a tool learners do not need (see TOOLS_NOT_FOR_LEARNERS)'
            for t in TOOLS_NOT_FOR_LEARNERS if canonicalize_name(t) in here]


def compile_lock(inputs, out, min_python, extra=()):
    uv = shutil.which('uv')
    if uv is None: fail(2, 'uv is not installed here; `make lock` installs it into .venv first')
    with tempfile.TemporaryDirectory() as d:
        src = Path(d)/'requirements.in'
        src.write_text('\n'.join(inputs) + '\n')
        cmd = [uv, 'pip', 'compile', '--universal', '--generate-hashes', '--python-version', min_python,
               '--no-header', '--quiet', *extra, str(src), '-o', str(out)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode: fail(1, f"uv pip compile failed for {out.name}:\n{r.stderr.strip()}")
    body = out.read_text()
    head = (f'# Made by `make lock` (python tools/lock.py) from {", ".join(inputs)}.\n'
            '# Do not edit by hand; `python tools/lock.py --check` checks it against what it was made from.\n')
    out.write_text(head + body.replace(str(src), 'requirements.in'))


def main():
    ap = argparse.ArgumentParser(description='Refresh or check the lock files (exact versions with hashes).')
    ap.add_argument('--check', action='store_true', help='only check that the locks satisfy settings.ini and the nbdev 2 SPEC')
    args = ap.parse_args()
    learner, everyone, min_python = project_requirements()
    if not args.check:
        extra = ['-c', str(CONSTRAINTS)] if CONSTRAINTS.is_file() else []
        extra += ['--override', str(OVERRIDES)] if OVERRIDES.is_file() else []
        compile_lock(learner, LEARNER_LOCK, min_python, extra)
        compile_lock(everyone, LOCK, min_python, extra + ['-c', str(LEARNER_LOCK)])
        compile_lock(classroom_requirements(), CLASSROOM_LOCK, min_python, extra + ['-c', str(LEARNER_LOCK)])
        compile_lock(nbdev2_spec(), NBDEV2_LOCK, min_python)
    found = (problems(LEARNER_LOCK, learner + constraints()) + no_tools(LEARNER_LOCK)
             + problems(LOCK, everyone + constraints()) + problems(NBDEV2_LOCK, nbdev2_spec())
             + problems(CLASSROOM_LOCK, classroom_requirements() + constraints()))
    if not found: found = contained(LEARNER_LOCK, LOCK) + contained(LEARNER_LOCK, CLASSROOM_LOCK)
    for p in found: print(p)
    if found: sys.exit(1)
    n = [len(pins(f)) for f in (LEARNER_LOCK, LOCK, NBDEV2_LOCK, CLASSROOM_LOCK)]
    print(f"{'locks refreshed' if not args.check else 'locks hold'}: {LEARNER_LOCK.name} pins {n[0]} packages, "
          f"{LOCK.name} {n[1]} and {CLASSROOM_LOCK.name} {n[3]} (each all of the first at the same versions), "
          f"{NBDEV2_LOCK.name} {n[2]}; "
          f"every requirement of settings.ini and the nbdev 2 SPEC is inside its range")


if __name__ == '__main__': main()
