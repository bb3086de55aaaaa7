"""The exercise notebooks: generate the learner's editions from their sources, check that they are in sync, run both.

Layout (see README, "Exercises", and INSTRUCTORS.md, "Grading with nbgrader"):
  exercises/solutions/NN_topic.ipynb  the source of one lesson's exercises, WITH the solutions, marked the nbgrader way:
                                      `### BEGIN SOLUTION` / `### END SOLUTION` inside cells whose nbgrader metadata makes
                                      them solution cells; and each check cell (a code cell starting with `check_xxx(`)
                                      an autograded test cell (nbgrader metadata grade and locked, points > 0) that ends
                                      with hidden tests, which call the same checks on other inputs:
                                          check_mse(mse)
                                          ### BEGIN HIDDEN TESTS
                                          check_mse(mse, seed=6030)
                                          ### END HIDDEN TESTS
                                      Under nbgrader (autograde, validate) a check that does not say right raises, so its
                                      cell scores nothing. An instructor can hand the source to nbgrader unchanged
                                      (tools/course.py makes a course folder of them).
  exercises/NN_topic.ipynb            the learner's edition, generated from the source by nbgrader's own `ClearSolutions`
                                      (each solution region becomes `# YOUR CODE HERE` / `raise NotImplementedError()`),
                                      `ClearHiddenTests` (the hidden tests go) and `ClearOutput` preprocessors, as
                                      `nbgrader generate_assignment` releases it. Never edit it by hand.

Both are kept clean the nbdev way (nbdev's `clean_nb`: no execution counts, no notebook or cell metadata noise), with the
cells' `nbgrader` metadata kept, and both are committed without outputs: what their checks print is what `--run` proves.

Usage: python tools/exercises.py [--check | --run] [--root DIR] [--workers N]
  (no option)  clean every source and (re)write its learner's edition; print each file written.
  --check      write nothing; exit 1 if a source is not clean, has a solution region outside a solution cell, has a
               check cell that is not a graded test cell with points or lacks its hidden test (or a hidden test region
               outside a check cell), or its learner's edition is missing or stale, or if a learner's edition has no
               source. One line per problem.
  --run        execute every learner's edition in a fresh kernel, then its source in the same kernel after `%reset -f`
               (N pairs at a time, default 2), each code cell twice in a row, as a learner pressing Shift-Enter twice
               would, without nbgrader's NBGRADER_EXECUTION (as a learner runs them). A source passes when no cell
               raises and every check prints "right", the hidden tests' checks included; a learner's edition passes
               when every check prints "not done yet", no check cell raises (Run All never stops), and any other cell
               raises at most NotImplementedError. Either fails when a cell shows something else the second time.
"""
import argparse, copy, os, re, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

MARKERS = ('BEGIN SOLUTION', 'END SOLUTION')
HIDDEN = ('### BEGIN HIDDEN TESTS', '### END HIDDEN TESTS')
CHECK_CALL = re.compile(r'^(check_\w+)\(', re.M)
SEEDED_CALL = re.compile(r'^(check_\w+)\(.*\bseed=\d+\)\s*$', re.M)


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
    "The learner's edition of the notebook `source`: nbgrader's ClearSolutions, ClearHiddenTests and ClearOutput, then cleaned."
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions
    nb = copy.deepcopy(source)
    nb, res = ClearSolutions().preprocess(nb, {})
    nb, res = ClearHiddenTests().preprocess(nb, res)
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


def is_check_cell(cell):
    "A check cell: a code cell with a line that starts with a call of a check, `check_xxx(` (as `--run` counts them)."
    return cell.cell_type == 'code' and CHECK_CALL.search(cell.source) is not None


def check_cells_graded(nb, path):
    """Problems with the grading of the source `nb`: each check cell must be an nbgrader autograded test cell (grade,
    locked, a unique grade_id, points > 0) whose hidden tests (between HIDDEN[0] and HIDDEN[1], which nbgrader's
    ClearHiddenTests removes from what learners get) call the cell's own checks again with `seed=<int>`; and a hidden
    test region anywhere else is refused, as nbgrader refuses it."""
    problems, ids = [], {}
    for i, c in enumerate(nb.cells):
        meta = c.get('metadata', {}).get('nbgrader', {})
        if meta.get('grade_id'): ids.setdefault(meta['grade_id'], []).append(i)
        lines = c.source.splitlines()
        begins, ends = [j for j, l in enumerate(lines) if HIDDEN[0] in l], [j for j, l in enumerate(lines) if HIDDEN[1] in l]
        if not is_check_cell(c):
            if begins or ends: problems.append(f"{path}: cell {i} has a hidden test region but calls no check (hidden tests go in check cells)")
            continue
        where = f"{path}: cell {i} ({next(l for l in lines if CHECK_CALL.match(l))})"
        if not (meta.get('grade') is True and meta.get('locked') is True and meta.get('solution') is False):
            problems.append(f"{where} is not a locked nbgrader test cell (metadata nbgrader: grade true, locked true, "
                            "solution false)")
        elif type(meta.get('points')) not in (int, float) or not meta['points'] > 0:
            problems.append(f"{where} has no points (metadata nbgrader.points must be a number above 0)")
        if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0] or ends[0] != len(lines) - 1:
            problems.append(f"{where} lacks a hidden test: end it with one {HIDDEN[0]!r} ... {HIDDEN[1]!r} region")
            continue
        shown_calls, hidden = CHECK_CALL.findall('\n'.join(lines[:begins[0]])), '\n'.join(lines[begins[0] + 1:ends[0]])
        missing = [name for name in shown_calls if name not in SEEDED_CALL.findall(hidden)]
        if missing or CHECK_CALL.findall(hidden) != SEEDED_CALL.findall(hidden):
            problems.append(f"{where}: its hidden test must call {', '.join(missing or shown_calls)} again, and "
                            "every check it calls with seed=<int>")
    problems += [f"{path}: cells {', '.join(map(str, cells))} share the grade_id {gid!r}" for gid, cells in ids.items()
                 if len(cells) > 1]
    return problems


def sync(root, write):
    "Clean the sources and write (or, if not `write`, only compare) their learner's editions. Returns the problems."
    problems, written = [], []
    for src, dst in pairs(root):
        text = src.read_text(encoding='utf-8')
        nb = read(src)
        marks = solution_cells_marked(nb, src.relative_to(root)) + check_cells_graded(nb, src.relative_to(root))
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


def shown(cell):
    "What a cell showed: its stdout, and the name and message of each error it raised."
    return stream_text(cell) + ''.join(f"{e['ename']}: {e['evalue']}\n" for e in errors(cell))


def run_pair(edition, source, root, timeout=600):
    """Execute the learner's edition `edition` in a fresh kernel (tools/nbrun.py's), each code cell twice in a row (a
    learner pressing Shift-Enter twice); then, in the same kernel after `%reset -f` (every name the edition defined is
    gone; imported modules stay loaded, as in any kernel) and a `%cd` to its folder, the source `source` the same way.
    One kernel for the two saves a kernel's start and its imports of torch and fastai. Return, for each of the two,
    (seconds, number of checks, problems, (slowest cell, its seconds))."""
    import nbformat, nbrun        # tools/ is on sys.path: this file's own folder, or put there by the caller
    scratch = nbformat.v4.new_notebook()         # every execution is appended here; the client keeps outputs by index
    results, t = [], time.time()
    with nbrun.client(scratch, edition, timeout, allow_errors=True) as client:
        try:
            with client.setup_kernel(stderr=client.kernel_log):
                for path, learner in ((edition, True), (source, False)):
                    if not learner:
                        switch = _execute(client, nbformat.v4.new_code_cell(
                            f"%reset -f\n%cd {str(Path(path).parent.resolve())!r}"))
                        if errors(switch): raise RuntimeError(f"%reset and %cd failed: {shown(switch)}")
                    results.append(_run_cells(client, path, read(path), learner, root))
        except Exception as e:
            tail = ' | '.join(nbrun.log_tail(client, 3))
            rel = Path((edition, source)[len(results)]).relative_to(root)
            results.append((time.time() - t, 0, [f"{rel}: the kernel failed: {type(e).__name__}: {e} {tail}".strip()], (None, 0)))
    if len(results) == 1: results.append((0, 0, [f"{Path(source).relative_to(root)}: not run (its learner's edition failed)"], (None, 0)))
    return results


def _execute(client, cell):
    client.nb.cells.append(cell)
    client.execute_cell(cell, len(client.nb.cells) - 1)
    return cell


def _run_cells(client, path, nb, learner, root):
    "Run the code cells of `nb` (read from `path`) in `client`'s kernel, each twice, and judge what they showed."
    from mnist_linear.checks import VERDICT
    want = 'not done yet' if learner else 'right'
    rel = Path(path).relative_to(root)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == 'code']
    problems, seconds, t = [], {}, time.time()
    for i in code:
        t_cell = time.time()
        _execute(client, nb.cells[i])
        seconds[i] = time.time() - t_cell
        twin = _execute(client, copy.deepcopy(nb.cells[i]))
        if shown(twin) != shown(nb.cells[i]):
            problems.append(f"{rel}: cell {i} shows something else when run a second time: "
                            f"{shown(nb.cells[i])[:200]!r} then {shown(twin)[:200]!r}")
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
    # As a learner runs them: under nbgrader's variable a check that is not right raises (tests/test_grading.py).
    os.environ.pop('NBGRADER_EXECUTION', None)
    both = pairs(root)
    missing = [str(dst.relative_to(root)) for _, dst in both if not dst.exists()]
    if missing: raise Problem(f"missing learner's editions: {', '.join(missing)} (run python tools/exercises.py)")
    t0, problems = time.time(), []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = [r for rs in pool.map(lambda pair: run_pair(pair[1], pair[0], root), both) for r in rs]
    jobs = [(p, learner) for src, dst in both for p, learner in ((dst, True), (src, False))]
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
    if args.check and any(re.search(r' is (stale|not clean|missing)\b', p) for p in problems):
        print("run python tools/exercises.py to clean the sources and regenerate the learner's editions")
    return 1 if problems else 0


if __name__ == '__main__': sys.exit(main())
