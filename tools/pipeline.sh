#!/usr/bin/env bash
# The pipeline every commit passes (the README's test command runs this through `make test`):
#   1. nbdev-clean changes no file
#   2. nbdev-export changes no file, every module has a notebook, nbdev 2's nbdev_export writes the
#      same files (tools/nbdev2_check.sh, which also checks __version__ against settings.ini), clean/
#      holds what the student-copy generator would write now, and exercises/ holds the learner
#      editions that nbgrader's ClearSolutions, ClearHiddenTests and ClearOutput make from exercises/solutions/ now, and the locks
#      (requirements-learner-lock.txt, requirements-lock.txt, tools/nbdev2-lock.txt) still satisfy settings.ini and
#      the nbdev 2 SPEC, the second contains the first, and the first holds no grader or test tool (tools/lock.py --check)
#   3. every notebook runs ONCE, in one kernel (tools/check_outputs.py, 2 notebooks at a time, kernels
#      from tools/nbrun.py, the runner every tool shares): it runs top to bottom; its committed outputs
#      equal the outputs of that run (volatile parts sanitised; in the few cells that
#      tools/output_sanitize.cfg names, numbers within a tolerance measured across CPUs, everything else
#      exact); every cell prints the same when run twice in a row; re-running the cells from the last to
#      the first raises nothing. A cell marked `#| check: run once` (the training cells of lessons 05
#      and 06) is compared with its committed outputs but neither run twice nor re-run upward; the
#      report lists each one. A student copy in clean/ runs only where its run proves more than its
#      lesson's (see the tool's docstring): its code differs from its lesson's without the `#|` lines,
#      or its lesson has a skipped cell; today none.
#   4. pytest tests/, 2 processes at a time (pytest-xdist). Two whole checks run there beside the
#      other tests instead of in stages of their own: the answer key on the repository
#      (tests/test_answers.py, the same as `python tools/site/answer_key.py`: one answer per question,
#      question texts as in the lessons, quoted numbers printed by the lessons, no answer in a student
#      export), and the exercises (tests/test_exercises_run.py, the same as `python tools/exercises.py
#      --run`: every check prints "right" in the sources with solutions, "not done yet" in the learner
#      editions), along with the drawing pad's Node and Chromium tests (tests/test_drawing.py).
# Every stage runs PyTorch with one thread (OMP_NUM_THREADS=1). Stages 3-4 run two processes at a
# time on the two cores, and two PyTorch processes with two threads each on two cores thrash; so
# does a test whose subprocess competes with its parent, or anything else busy on the machine
# (measured under load: a 21-epoch run 24 s instead of 1 s; tests/test_net.py's 40-epoch setup 58 s
# instead of 6 s). Our models are small enough that one thread loses nothing, and the printed
# numbers of lessons 00-05 are the same either way (stage 3 compares them with outputs committed
# from default runs); lesson 06 commits its one-thread outputs, since its net differs in the 4th decimal.
# WORKERS (default 2) sets how many notebooks, exercises or test processes run at once.
# Each stage prints its name and its time. Stages 1-2 fix the files they would change, then fail,
# so that `git diff` shows what to commit.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
export PATH="$PWD/$BIN:$PATH"
export OMP_NUM_THREADS=1
WORKERS="${WORKERS:-2}"

# The time budget is a ratio, not seconds: the pipeline at most 175x a bare `python -c 'import torch'`, measured here,
# in the same run (tools/nbrun.py's yardstick, the median of 3), and printed with the total at the end.
YARDSTICK=$(python -c "import sys; sys.path.insert(0, 'tools'); import nbrun; print(f'{nbrun.yardstick():.2f}')") || exit 1
printf "yardstick: python -c 'import torch' took %ss (median of 3)\n" "$YARDSTICK"
T0=$(date +%s)

stage() {
  local name=$1; shift
  printf '\n==> stage %s\n' "$name"
  local t=$(date +%s.%N)
  "$@"; local rc=$?
  local dt; dt=$(python3 -c "print(f'{$(date +%s.%N)-$t:.1f}')")
  if [ $rc -ne 0 ]; then printf '==> stage %s FAILED after %ss\n' "$name" "$dt"; exit 1; fi
  printf '==> stage %s passed in %ss\n' "$name" "$dt"
}

# Hashes of every file nbdev may rewrite.
snapshot() {
  find nbs mnist_linear clean -type f \( -name '*.ipynb' -o -name '*.py' -o -name '*.txt' \) \
       -not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum
}

unchanged_by() {  # unchanged_by CMD...: run CMD, fail if it changed any file
  local before after
  before=$(snapshot); "$@" || return 1; after=$(snapshot)
  if [ "$before" != "$after" ]; then
    echo "'$*' changed these files; run it yourself and commit the result:"
    diff <(echo "$before") <(echo "$after") | sed -n 's/^> [0-9a-f]*  /    /p' | sort -u
    return 1
  fi
}

modules_have_notebooks() {
  python3 - <<'PY'
import json, re, sys
from pathlib import Path
exported = set()
for nb in Path('nbs').glob('*.ipynb'):
    for c in json.loads(nb.read_text())['cells']:
        src = ''.join(c['source']) if c['cell_type'] == 'code' else ''
        exported.update(re.findall(r'^#\|\s*default_exp\s+(\S+)', src, re.M))
mods = {p.stem for p in Path('mnist_linear').glob('*.py') if p.stem not in ('__init__', '_modidx')}
orphans = sorted(mods - exported)
if orphans:
    print('modules with no notebook that exports them (delete them or restore their notebook):', ', '.join(orphans))
    sys.exit(1)
print(f'{len(mods)} modules, each exported by a notebook')
PY
}

export_stage() {
  unchanged_by nbdev-export && modules_have_notebooks && bash tools/nbdev2_check.sh &&
  python tools/site/build.py --check && python tools/exercises.py --check && python tools/lock.py --check
}

stage "1/4 nbdev-clean (no changes)"  unchanged_by nbdev-clean
stage "2/4 nbdev-export (no changes), nbdev 2 agrees, clean/ and exercises/ in sync, locks hold" export_stage
stage "3/4 notebooks run once (outputs true, safe twice and upward)" \
      python tools/check_outputs.py nbs --derived clean --workers "$WORKERS"
stage "4/4 pytest tests/, the answer key's check and the exercises among them" \
      python -m pytest -p no:cacheprovider -n "$WORKERS" --dist loadfile --no-loadscope-reorder tests/
T=$(( $(date +%s) - T0 ))
printf '\nAll 4 stages passed in %ss, %sx the yardstick (%ss; the budget is 175x)\n' "$T" "$(python3 -c "print(round($T/$YARDSTICK))")" "$YARDSTICK"
