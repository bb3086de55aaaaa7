#!/usr/bin/env bash
# The pipeline every commit passes (the README's test command runs this through `make test`):
#   1. nbdev-clean changes no file
#   2. nbdev-export changes no file, every module has a notebook, and clean/ holds what the
#      student-copy generator would write now
#   3. every notebook runs in a fresh kernel (nbdev-test), the lessons and their student copies
#   4. committed outputs equal fresh outputs (tools/check_outputs.py, volatile parts sanitised)
#   5. pytest tests/
# Each stage prints its name and its time. Stages 1-2 fix the files they would change, then fail,
# so that `git diff` shows what to commit.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
export PATH="$PWD/$BIN:$PATH"

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

export_stage() { unchanged_by nbdev-export && modules_have_notebooks && mnist-linear-handouts --check; }
run_notebooks() { nbdev-test nbs --n-workers 2 --timing && nbdev-test clean --n-workers 2 --timing; }

stage "1/5 nbdev-clean (no changes)"  unchanged_by nbdev-clean
stage "2/5 nbdev-export (no changes)" export_stage
stage "3/5 nbdev-test (notebooks run)" run_notebooks
stage "4/5 outputs are true"        python tools/check_outputs.py nbs
stage "5/5 pytest tests/"             python -m pytest -p no:cacheprovider tests/
printf '\nAll 5 stages passed in %ss\n' "$(( $(date +%s) - T0 ))"
