"""How far do the printed numbers move from one computer to another? Measure it before setting a tolerance.

    python tools/output_spread.py RUN_DIR... [--nbs nbs] [--sanitize tools/output_sanitize.cfg]

Each RUN_DIR holds notebooks written by `tools/check_outputs.py nbs --save RUN_DIR --first-run-only`, run
under one setting, for example

    ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 python tools/check_outputs.py nbs --first-run-only --save /tmp/spread/default-1

(`ATEN_CPU_CAPABILITY` picks PyTorch's CPU kernels: default, avx2, avx512 or unset for the best the CPU
has; `OMP_NUM_THREADS` its threads.) For every code cell whose outputs differ from the committed ones
in any run, it prints one row: per run, `=` (the same), the largest difference between its numbers
(everything else equal), or `TEXT` (more than numbers differ); then the tolerance that
tools/output_sanitize.cfg gives that cell, and whether every run is within it. Exit status 0 when every
difference is covered by a tolerance, 1 otherwise, 2 on bad arguments.
"""
import argparse, configparser, re, sys
from pathlib import Path

import nbformat

from check_outputs import Patterns, comparable, first_line, numbers_apart   # tools/ is on sys.path: this file's own folder


def main():
    ap = argparse.ArgumentParser(description='How far the printed numbers of saved runs are from the committed outputs.')
    ap.add_argument('runs', nargs='+', help='folders written by check_outputs.py --save')
    ap.add_argument('--nbs', default='nbs', help='the committed notebooks (default nbs)')
    ap.add_argument('--sanitize', default=str(Path(__file__).with_name('output_sanitize.cfg')))
    args = ap.parse_args()
    try: patterns = Patterns(args.sanitize)
    except (ValueError, re.error, configparser.Error) as e: sys.exit(f"error: --sanitize: {e}")
    runs = [Path(r) for r in args.runs]
    for r in runs:
        if not r.is_dir() or not any(r.glob('*.ipynb')): print(f"error: {r}: no saved notebooks there", file=sys.stderr); sys.exit(2)
    names = sorted({p.name for r in runs for p in r.glob('*.ipynb')})
    rows, uncovered = [], 0
    for name in names:
        ref_path = Path(args.nbs)/name
        if not ref_path.is_file(): print(f"error: {ref_path}: no committed notebook of that name", file=sys.stderr); sys.exit(2)
        ref = nbformat.read(ref_path, as_version=4)
        fresh = {r: nbformat.read(r/name, as_version=4) if (r/name).is_file() else None for r in runs}
        for i, c in enumerate(ref.cells):
            if c.cell_type != 'code': continue
            want = comparable(c.outputs, patterns)
            marks, worst, text = [], 0.0, False
            for r in runs:
                nb = fresh[r]
                if nb is None or len(nb.cells) != len(ref.cells): marks.append('-'); continue
                got = comparable(nb.cells[i].outputs, patterns)
                if got == want: marks.append('='); continue
                apart = numbers_apart(want, got)
                if apart is None: marks.append('TEXT'); text = True
                else: marks.append(f'{apart:.2g}'); worst = max(worst, apart)
            if all(m in '=-' for m in marks): continue
            tol = patterns.tolerance_for(ref_path, c.source)
            ok = tol is not None and not text and worst <= tol[0] * (1 + 1e-9)
            uncovered += not ok
            rows.append((f'{name} cell {i}', first_line(c.source)[:40], marks, f'{tol[0]:g} [{tol[1]}]' if tol else 'none', 'yes' if ok else 'NO'))
    print('| cell | first line | ' + ' | '.join(r.name for r in runs) + ' | tolerance | covered |')
    print('|---|---|' + '---|' * len(runs) + '---|---|')
    for cell, line, marks, tol, ok in rows: print(f'| {cell} | `{line}` | ' + ' | '.join(marks) + f' | {tol} | {ok} |')
    print(f'\n{len(rows)} cell(s) differ from the committed outputs in at least one of {len(runs)} run(s); '
          f'{uncovered} of them not covered by a tolerance')
    sys.exit(1 if uncovered else 0)


if __name__ == '__main__': main()
