"""The exercise notebooks: generate the learner's editions from their sources, check that they are in sync, run both.

Layout (see README, "Exercises"):
  exercises/solutions/NN_topic.ipynb  the source of one lesson's exercises, WITH the solutions, marked the nbgrader way:
                                      `### BEGIN SOLUTION` / `### END SOLUTION` inside cells whose nbgrader metadata makes
                                      them solution cells. An instructor can hand it to nbgrader unchanged.
  exercises/NN_topic.ipynb            the learner's edition, generated from the source by nbgrader's own `ClearSolutions`
                                      (each solution region becomes `# YOUR CODE HERE` / `raise NotImplementedError()`)
                                      and `ClearOutput` preprocessors. Never edit it by hand.

Both are kept clean the nbdev way (nbdev's `clean_nb`: no execution counts, no notebook or cell metadata noise), with the
cells' `nbgrader` metadata kept, and both are committed without outputs: what their checks print is what `--run` proves.

Usage: python tools/exercises.py [--check | --run] [--root DIR] [--workers N]
  (no option)  clean every source and (re)write its learner's edition; print each file written.
  --check      write nothing; exit 1 if a source is not clean, has a solution region outside a solution cell, or its
               learner's edition is missing or stale, or if a learner's edition has no source.
  --run        execute every source and every learner's edition in a fresh kernel (N at a time, default 2), each code
               cell twice in a row, as a learner pressing Shift-Enter twice would. A source passes when no cell raises
               and every check prints "right"; a learner's edition passes when every check prints "not done yet", no
               check cell raises, and any other cell raises at most NotImplementedError. Either fails when a cell
               shows something else the second time.
"""
import argparse, copy, os, re, sys, time, warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

MARKERS = ('BEGIN SOLUTION', 'END SOLUTION')
CHECK_CALL = re.compile(r'^(check_\w+)\(', re.M)


class Problem(Exception):
    "Bad input or a failed check: one line for stderr."


# ---------------------------------------------------------------- generating and checking the learner's editions

def clean(nb):
    "Clean `nb` in place as nbdev-clean cleans the lessons, keeping each cell's `nbgrader` metadata."
    from nbdev.clean import clean_nb
    clean_nb(nb, clear_all=False, allowed_cell_metadata_keys=['nbgrader'], clean_ids=True)
    return nb


def to_text(nb):
    "The file text of `nb`, as nbdev writes notebooks."
    from fastcore.nbio import nb2str
    return nb2str(nb)


def read(path):
    import nbformat
    try: return nbformat.reads(Path(path).read_text(encoding='utf-8'), as_version=4)
    except Exception as e: raise Problem(f"{path}: not a readable notebook ({type(e).__name__}: {e})") from None


def learner_edition(source):
    "The learner's edition of the notebook `source`: nbgrader's ClearSolutions and ClearOutput, then cleaned."
    from nbgrader.preprocessors import ClearOutput, ClearSolutions
    nb = copy.deepcopy(source)
    nb, res = ClearSolutions().preprocess(nb, {})
    nb, _ = ClearOutput().preprocess(nb, res)
    return clean(nb)


def pairs(root):
    "The exercise sources under `root`/exercises/solutions, each with the path of its learner's edition."
    src_dir = Path(root)/'exercises'/'solutions'
    if not src_dir.is_dir(): raise Problem(f"{src_dir} does not exist: no exercise sources to work on")
    sources = sorted(src_dir.glob('[0-9][0-9]_*.ipynb'))
    if not sources: raise Problem(f"{src_dir} holds no exercise sources (NN_topic.ipynb)")
    return [(s, src_dir.parent/s.name) for s in sources]


def solution_cells_marked(nb, path):
    "Problems with nbgrader's marking in the source `nb`: a solution region in a cell nbgrader would not accept."
    problems = []
    for i, c in enumerate(nb.cells):
        has_region = any(m in c.source for m in MARKERS)
        meta = c.get('metadata', {}).get('nbgrader', {})
        if has_region and not meta.get('solution'):
            problems.append(f"{path}: cell {i} has a solution region but is not marked as a solution cell "
                            "(metadata nbgrader.solution)")
        if has_region and c.source.count(MARKERS[0]) != c.source.count(MARKERS[1]):
            problems.append(f"{path}: cell {i} has unmatched BEGIN/END SOLUTION lines")
    if not any(MARKERS[0] in c.source for c in nb.cells): problems.append(f"{path}: no solution region at all")
    return problems


def sync(root, write):
    "Clean the sources and write (or, if not `write`, only compare) their learner's editions. Returns the problems."
    problems, written = [], []
    for src, dst in pairs(root):
        text = src.read_text(encoding='utf-8')
        nb = read(src)
        marks = solution_cells_marked(nb, src.relative_to(root))
        if marks: problems += marks; continue
        clean_src = to_text(clean(copy.deepcopy(nb)))
        if clean_src != text:
            if write: src.write_text(clean_src, encoding='utf-8'); written.append(src)
            else: problems.append(f"{src.relative_to(root)} is not clean")
        edition = to_text(learner_edition(read(src) if write else nb))
        if not dst.exists() or dst.read_text(encoding='utf-8') != edition:
            if write: dst.write_text(edition, encoding='utf-8'); written.append(dst)
            else: problems.append(f"{dst.relative_to(root)} is {'stale' if dst.exists() else 'missing'}: "
                                  f"it is not what {src.relative_to(root)} generates")
    sources = {s.name for s, _ in pairs(root)}
    for orphan in sorted((Path(root)/'exercises').glob('*.ipynb')):
        if orphan.name not in sources: problems.append(f"{orphan.relative_to(root)} has no source in exercises/solutions/")
    for p in written: print(f"wrote {p.relative_to(root)}")
    return problems


# ---------------------------------------------------------------- running them

def check_cells(nb):
    "The indices of the code cells that call a check, each with the names of the checks it calls."
    return {i: CHECK_CALL.findall(c.source) for i, c in enumerate(nb.cells)
            if c.cell_type == 'code' and CHECK_CALL.search(c.source)}


def stream_text(cell):
    return ''.join(o.get('text', '') for o in cell.get('outputs', []) if o.get('output_type') == 'stream'
                   and o.get('name') == 'stdout')


def errors(cell):
    return [o for o in cell.get('outputs', []) if o.get('output_type') == 'error']


def make_client(nb, ipc_dir, **kwargs):
    "nbclient's `NotebookClient` for `nb`, talking to its kernel over Unix sockets in `ipc_dir` (no TCP port, no warning)."
    from nbclient import NotebookClient

    class Client(NotebookClient):
        def create_kernel_manager(self):
            km = super().create_kernel_manager()
            if os.name == 'posix': km.transport, km.ip = 'ipc', str(Path(ipc_dir)/'kernel')
            if os.environ.get('MNIST_KERNEL_ZYGOTE'):          # this file may be loaded from elsewhere (tests)
                sys.path.insert(0, str(Path(__file__).resolve().parent))
                from kernel_zygote import use_zygote
                use_zygote(km)
            return km
    return Client(nb, **kwargs)


def shown(cell):
    "What a cell showed: its stdout, and the name and message of each error it raised."
    return stream_text(cell) + ''.join(f"{e['ename']}: {e['evalue']}\n" for e in errors(cell))


def run_one(path, learner, root, timeout=600):
    """Execute the notebook at `path` in a fresh kernel, each code cell twice in a row (a learner pressing Shift-Enter
    twice); return (seconds, number of checks, problems)."""
    import tempfile
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='.*torch.jit.script.*', category=FutureWarning)
        from mnist_linear.checks import VERDICT
    nb, t = read(path), time.time()
    want = 'not done yet' if learner else 'right'
    rel = path.relative_to(root)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == 'code']
    problems, seconds = [], {}
    with tempfile.TemporaryDirectory(prefix='exercises-') as d, open(Path(d)/'kernel_stderr.log', 'w') as log:
        client = make_client(nb, d, timeout=timeout, kernel_name='python3', allow_errors=True,
                             resources={'metadata': {'path': str(path.parent)}})
        try:
            with client.setup_kernel(stderr=log):
                for i in code:
                    t_cell = time.time()
                    client.execute_cell(nb.cells[i], i)
                    seconds[i] = time.time() - t_cell
                    twin = copy.deepcopy(nb.cells[i])
                    nb.cells.append(twin)
                    client.execute_cell(twin, len(nb.cells) - 1)
                    if shown(twin) != shown(nb.cells[i]):
                        problems.append(f"{rel}: cell {i} shows something else when run a second time: "
                                        f"{shown(nb.cells[i])[:200]!r} then {shown(twin)[:200]!r}")
        except Exception as e:
            log.flush()
            tail = ' | '.join(Path(log.name).read_text().strip().splitlines()[-3:])
            return time.time() - t, 0, [f"{rel}: the kernel failed: {type(e).__name__}: {e} {tail}".strip()], (None, 0)
    del nb.cells[len(nb.cells) - len(code):]
    n, calls = 0, check_cells(nb)
    if not calls: problems.append(f"{rel}: no check cell")
    for i in code:
        c = nb.cells[i]
        first = c.source.splitlines()[0] if c.source else ''
        for e in errors(c):
            if not (learner and i not in calls and e['ename'] == 'NotImplementedError'):
                problems.append(f"{rel}: cell {i} ({first}) raised {e['ename']}: {e['evalue']}")
        if i not in calls: continue
        out = stream_text(c)
        verdicts = [m.groupdict() for m in VERDICT.finditer(out)]
        n += len(calls[i])
        if len(verdicts) != len(calls[i]):
            problems.append(f"{rel}: cell {i} ({first}) printed {len(verdicts)} verdicts for {len(calls[i])} checks: "
                            f"{out.strip()[:300]!r}")
        for v in verdicts:
            if v['status'] != want:
                problems.append(f"{rel}: cell {i}: {v['name']} is '{v['status']}', expected '{want}': {out.strip()[:300]!r}")
    slowest = max(seconds, key=seconds.get) if seconds else None
    return time.time() - t, n, problems, (slowest, seconds.get(slowest, 0))


def run_all(root, workers):
    # Two kernels on two cores, each with PyTorch's default of one thread per core, slow each other down many times
    # over; one thread per kernel keeps the run fast. Results do not change: the checks compare runs in one process.
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    jobs = [(p, learner) for src, dst in pairs(root) for p, learner in ((src, False), (dst, True))]
    missing = [str(p.relative_to(root)) for p, _ in jobs if not p.exists()]
    if missing: raise Problem(f"missing learner's editions: {', '.join(missing)} (run python tools/exercises.py)")
    t0, problems = time.time(), []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda job: run_one(job[0], job[1], root), jobs))
    for (p, learner), (secs, n, probs, (slow, slow_s)) in zip(jobs, results):
        want = 'not done yet' if learner else 'right'
        print(f"{str(p.relative_to(root)):46} {n:2} checks {want + ' ' if not probs else 'FAILED '}"
              f"({secs:.1f}s; slowest cell {slow}: {slow_s:.1f}s)")
        problems += probs
    print(f"{len(jobs)} notebooks in {time.time()-t0:.1f}s with {workers} at a time")
    return problems


# ---------------------------------------------------------------- command line

class Parser(argparse.ArgumentParser):
    def error(self, message): raise Problem(f"{self.prog}: {message}")


def main(argv=None):
    ap = Parser(prog='tools/exercises.py', description=__doc__.split('\n')[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument('--check', action='store_true', help='write nothing; fail if anything is stale or not clean')
    mode.add_argument('--run', action='store_true', help='execute sources and learner editions and check their verdicts')
    ap.add_argument('--root', default=Path(__file__).resolve().parent.parent, type=Path, help='the repository (default: this one)')
    ap.add_argument('--workers', type=int, default=2, help='notebooks run at a time by --run (default 2)')
    try:
        args = ap.parse_args(argv)
        if args.workers < 1: raise Problem(f"--workers must be at least 1, not {args.workers}")
        root = args.root.resolve()
        if not root.is_dir(): raise Problem(f"--root {args.root} is not a folder")
        if args.run:
            problems = sync(root, write=False)
            if problems: problems.append("the learner's editions are out of date: run python tools/exercises.py first")
            else: problems = run_all(root, args.workers)
        else:
            problems = sync(root, write=not args.check)
            if args.check and not problems: print(f"{len(pairs(root))} exercise notebooks: sources clean, learner's editions in sync")
    except Problem as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for p in problems: print(p)
    if problems and args.check: print("run python tools/exercises.py to clean the sources and regenerate the learner's editions")
    return 1 if problems else 0


if __name__ == '__main__': sys.exit(main())
