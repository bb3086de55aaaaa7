"""Stage 4 of the pipeline: re-execute notebooks and check that their committed outputs are still true.

Each notebook runs top to bottom in a fresh Jupyter kernel (nbclient, as Jupyter and nbconvert run it),
is cleaned with nbdev's own `clean_nb` exactly like the committed copy, and then every code cell's
text outputs are compared with the committed ones: streams, `text/plain`, `text/html`, `text/markdown`,
errors. Pixels of images are not compared (their text repr still is). Before comparing, the narrow
volatile patterns in tools/output_sanitize.cfg are replaced on both sides; no cell is skipped.

Why not nbval: nbval ignores `update_display_data` messages, so for a fastai `Learner` it records the
empty progress bar instead of the final results table, and it treats cells with no execution count
(which `nbdev-clean` removes) as unrun. nbclient applies display updates as Jupyter does.

Usage: python tools/check_outputs.py NOTEBOOK_OR_FOLDER... [--sanitize tools/output_sanitize.cfg]
"""
import argparse, configparser, copy, difflib, re, sys, time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbdev.clean import clean_nb

PIXELS = ('image/png', 'image/jpeg', 'image/gif', 'image/svg+xml')


def load_patterns(path):
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(path)
    return [(re.compile(cp[s]['regex']), cp[s].get('replace', '')) for s in cp.sections()]


def comparable(outputs, patterns):
    "The text of `outputs` in order: consecutive streams of one name joined, one entry per text MIME type."
    res = []
    for o in outputs:
        kind = o['output_type']
        if kind == 'stream':
            key = 'stream:' + o['name']
            if res and res[-1][0] == key: res[-1] = (key, res[-1][1] + o['text'])
            else: res.append((key, o['text']))
        elif kind in ('display_data', 'execute_result'):
            res += [(mime, v if isinstance(v, str) else ''.join(v)) for mime, v in sorted(o['data'].items()) if mime not in PIXELS]
        elif kind == 'error': res.append(('error', f"{o['ename']}: {o['evalue']}"))
    def clean(s):
        for rx, rep in patterns: s = rx.sub(rep, s)
        return s
    return [(k, clean(v)) for k, v in res]


def show(entries): return ''.join(f'--- {k}\n{v}\n' for k, v in entries).splitlines(keepends=True)


def check(path, patterns, timeout):
    ref = nbformat.read(path, as_version=4)
    fresh = copy.deepcopy(ref)
    for c in fresh.cells:
        if c.cell_type == 'code': c.outputs, c.execution_count = [], None
    t = time.time()
    try: NotebookClient(fresh, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute()
    except CellExecutionError as e:
        return [f"{path}: a cell raised while re-executing:\n{str(e).strip()[-1500:]}"], 0, time.time()-t
    clean_nb(fresh)
    problems, n = [], 0
    for i, (a, b) in enumerate(zip(ref.cells, fresh.cells)):
        if a.cell_type != 'code': continue
        n += 1
        want, got = comparable(a.outputs, patterns), comparable(b.outputs, patterns)
        if want != got:
            diff = ''.join(difflib.unified_diff(show(want), show(got), 'committed', 'fresh', n=1))
            first = a.source.splitlines()[0] if a.source else ''
            problems.append(f"{path}, cell {i} ({first!r}): outputs differ\n{diff[:3000]}")
    return problems, n, time.time()-t


def main():
    ap = argparse.ArgumentParser(description='Re-execute notebooks and compare their outputs with the committed ones.')
    ap.add_argument('paths', nargs='+')
    ap.add_argument('--sanitize', default=str(Path(__file__).with_name('output_sanitize.cfg')))
    ap.add_argument('--timeout', type=int, default=900, help='seconds per cell')
    args = ap.parse_args()
    patterns = load_patterns(args.sanitize)
    nbs = []
    for p in map(Path, args.paths):
        nbs += sorted(f for f in p.glob('*.ipynb') if not f.name.startswith(('_', '.'))) if p.is_dir() else [p]
    if not nbs: sys.exit(f"error: no notebooks found in {' '.join(args.paths)}")
    failures = []
    for nb in nbs:
        problems, n, dt = check(nb, patterns, args.timeout)
        print(f"{nb}: {n} code cells, {'all outputs match' if not problems else f'{len(problems)} problem(s)'} ({dt:.0f}s)")
        failures += problems
    for f in failures: print('\n' + f)
    print(f"\n{len(nbs)} notebooks checked, {len(failures)} with outputs that are no longer true")
    sys.exit(1 if failures else 0)


if __name__ == '__main__': main()
