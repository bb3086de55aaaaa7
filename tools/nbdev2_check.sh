#!/usr/bin/env bash
# nbdev 2 compatibility, checked rather than claimed.
#   tools/nbdev2_check.sh [DIR]
# DIR (default: this repository) needs settings.ini, its notebooks and its package. The check
#   1. builds a small nbdev 2 environment once (nbdev 2.4.14 with fastcore<2, execnb<0.2, ghapi<2,
#      no torch: it cannot share .venv), exactly as tools/nbdev2-lock.txt pins it, and caches it in
#      .venv-nbdev2/ beside .venv;
#   2. copies settings.ini and the notebooks to a scratch folder and runs nbdev 2's nbdev_export
#      there, into an empty package folder;
#   3. requires every .py file it writes (modules, _modidx.py, __init__.py) to equal DIR's, and no
#      other .py file in DIR's package (a module no notebook exports);
#   4. requires mnist_linear.__version__ to equal settings.ini's version, and the nbdev settings that
#      both files hold to agree between settings.ini and pyproject.toml's [tool.nbdev].
# Prints one summary line and exits 0, or says what differs and exits 1. DIR is never modified.
#   tools/nbdev2_check.sh --build   only step 1 (`make setup` runs it, so that the pipeline finds it built).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ENV="${NBDEV2_VENV:-$ROOT/.venv-nbdev2}"
PYTHON="${PYTHON:-python3}"
# What the environment needs; tools/lock.py resolves it into tools/nbdev2-lock.txt, which is what gets installed.
SPEC='nbdev==2.4.14 fastcore<2 execnb<0.2 ghapi<2'
LOCKFILE="$ROOT/tools/nbdev2-lock.txt"

BUILD_ONLY=
case "${1:-}" in
  -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
  --build) BUILD_ONLY=1; shift;;
esac
[ $# -le 1 ] || { echo "error: usage: tools/nbdev2_check.sh [DIR]" >&2; exit 2; }
DIR="${1:-$ROOT}"
[ -f "$DIR/settings.ini" ] || { echo "error: $DIR/settings.ini not found: nothing to check" >&2; exit 2; }
DIR="$(cd "$DIR" && pwd)"

build_env() {  # create $ENV once from the lock; rebuild when the lock changes; one builder at a time
  mkdir -p "$ENV"
  exec 9>"$ENV/.lock"
  flock 9
  [ -f "$LOCKFILE" ] || { echo "error: $LOCKFILE not found (make it with: make lock)" >&2; exit 1; }
  local stamp; stamp="$(sha256sum "$LOCKFILE" | cut -c1-64)"
  if [ "$(cat "$ENV/.installed" 2>/dev/null)" != "$stamp" ]; then
    echo "building $ENV ($SPEC, exact versions from ${LOCKFILE#"$ROOT"/}) ..." >&2
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3,11) else "error: Python 3.11 or newer is needed")'
    rm -f "$ENV/.installed"
    "$PYTHON" -m venv "$ENV"
    if ! "$ENV/bin/pip" install -q --require-hashes -r "$LOCKFILE" > "$ENV/.pip.log" 2>&1; then
      echo "error: could not install $LOCKFILE into $ENV (see $ENV/.pip.log)" >&2; exit 1
    fi
    echo "$stamp" > "$ENV/.installed"
  fi
  flock -u 9
}
if [ -n "$BUILD_ONLY" ]; then build_env; echo "nbdev 2 environment ready in $ENV"; exit 0; fi
build_env

SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
"$ENV/bin/python" - "$DIR" "$SCRATCH" "$ENV/bin/nbdev_export" <<'PY'
import ast, configparser, difflib, re, shutil, subprocess, sys, time, tomllib
from pathlib import Path
t0 = time.time()
src, scratch, exporter = Path(sys.argv[1]), Path(sys.argv[2])/'repo', sys.argv[3]
def fail(msg): print(f'nbdev 2 check FAILED: {msg}'); sys.exit(1)

cp = configparser.ConfigParser(delimiters=['='])
cp.read(src/'settings.ini', encoding='utf-8')
cfg = cp['DEFAULT']
lib, nbs, version = cfg.get('lib_path'), cfg.get('nbs_path', 'nbs'), cfg.get('version')
if not (lib and version): fail('settings.ini needs lib_path and version')
if not (src/nbs).is_dir(): fail(f'{src/nbs} not found (settings.ini nbs_path)')
problems = []

# nbdev 3 reads [tool.nbdev]; the settings both tools know must agree.
pp = src/'pyproject.toml'
if pp.exists():
    tool = tomllib.loads(pp.read_text()).get('tool', {}).get('nbdev', {})
    for k, v in tool.items():
        if k in cfg and str(v).lower() != cfg[k].strip().lower():
            problems.append(f'{k} is {cfg[k]!r} in settings.ini but {v!r} in pyproject.toml [tool.nbdev]')

# The version: settings.ini is the one source; mnist_linear.__version__ must say the same.
# Read without importing (the package needs torch, which this environment lacks).
init = src/lib/'__init__.py'
try: tree = ast.parse(init.read_text())
except (OSError, SyntaxError) as e: fail(f'could not read {init}: {e}')
found = [n.value.value for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
         and any(isinstance(t, ast.Name) and t.id == '__version__' for t in n.targets)]
ours_v = found[-1] if found else None
if ours_v != version:
    problems.append(f"{lib}.__version__ is {ours_v!r} but settings.ini's version is {version!r} "
                    f"(set it in settings.ini, then run .venv-nbdev2/bin/nbdev_export to write it into {lib}/__init__.py)")

# nbdev 2's export of a scratch copy, into an empty package folder.
scratch.mkdir(parents=True)
shutil.copy(src/'settings.ini', scratch)
shutil.copytree(src/nbs, scratch/nbs, ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
r = subprocess.run([exporter], cwd=scratch, capture_output=True, text=True)
if r.returncode: fail(f'nbdev 2 nbdev_export exited {r.returncode}:\n{r.stdout}{r.stderr}')
def pyfiles(d): return {p.relative_to(d).as_posix() for p in d.rglob('*.py') if '__pycache__' not in p.parts}
ours, theirs = pyfiles(src/lib), pyfiles(scratch/lib)
if not theirs: fail(f'nbdev 2 wrote nothing into {lib}/')
for f in sorted(ours - theirs): problems.append(f'{lib}/{f} is not written by nbdev 2 (no notebook exports it)')
for f in sorted(theirs - ours): problems.append(f'{lib}/{f} is missing: nbdev 2 writes it')
for f in sorted(ours & theirs):
    a, b = (src/lib/f).read_text(), (scratch/lib/f).read_text()
    if a != b:
        d = list(difflib.unified_diff(a.splitlines(), b.splitlines(), f'{lib}/{f} (yours)', f'{lib}/{f} (nbdev 2)', lineterm='', n=1))
        problems.append(f'{lib}/{f} differs from what nbdev 2 writes:\n' + '\n'.join('    '+l for l in d[:30])
                        + (f'\n    ... ({len(d)-30} more diff lines)' if len(d) > 30 else ''))
if problems:
    print('\n'.join(problems))
    fail(f'{len(problems)} problem(s); the notebooks are the source: edit them, run nbdev-export, and keep settings.ini and pyproject.toml in step')
import nbdev
print(f'nbdev 2 check passed: nbdev {nbdev.__version__} writes the same {len(ours)} files in {lib}/; '
      f'{lib}.__version__ == settings.ini version == {version} ({time.time()-t0:.1f}s)')
PY
