"""Run each notebook once, in one Jupyter kernel, and check three things from that one run.

Stage 3 of the pipeline. For every notebook (2 at a time by default):

  pass 1  every code cell runs twice in a row (but for the cells marked to run once, below).
          - The FIRST execution is the notebook's top-to-bottom run: a cell that raises stops the
            notebook (what nbdev-test checked). Its outputs, cleaned with nbdev's own `clean_nb`
            exactly like the committed copy, are compared with the committed outputs: streams,
            `text/plain`, `text/html`, `text/markdown`, errors (pixels of images are not compared,
            their text repr still is).
          - The SECOND execution fails the check if it raises, or prints anything different from
            the first (same cleaning and sanitising).
  pass 2  then every code cell (but those marked to run once) runs again, last to first, in the
          same kernel (a learner scrolling up). Any error there is a problem: the first execution had none.

Before comparing, the narrow volatile patterns in tools/output_sanitize.cfg are replaced on both
sides. The same file names the cells whose numbers may differ from one computer to another (float32
rounding, amplified by a long training run): in those cells, and only when the committed outputs are
compared with the fresh ones, the text around the numbers must still be equal, character for
character, and each number within the cell's tolerance of its committed value. The report gives the
largest difference it let through. The second run of a cell is always compared exactly: one machine
must print the same thing twice. No cell is skipped except those nbdev-test skips too (`#| eval: false`, the `tst_flags` of
the nbdev config, a `skip-execution` tag, `skip_exec` front matter: `nbdev.test.nb_test_cells`).
Display updates (fastai's progress bars and results table) are applied as Jupyter applies them:
this is nbclient's `NotebookClient`, one `async_execute_cell` at a time. Why not nbval: it ignores
`update_display_data`, so a `Learner` would be compared by its empty progress bar.

The report gives, per notebook, its code cells, the time of the first execution of all its cells
(what a learner waits for), the time of the whole check, every cell whose first execution took
longer than 5 s, and each problem with the cell's first line and a short diff. Exit status 1 on any
problem. A cell that does not print the same thing twice can make later cells' first executions
differ from the committed outputs as well: fix the first problem of a notebook first.

Cells run once: a code cell with the line `#| check: run once` among its leading `#|` lines (an nbdev
directive, which nbdev ignores and the student copies and the site leave out, as they leave out every `#|`
line) runs only in pass 1's top-to-bottom run: its outputs are still compared with the committed ones, but
it does not run a second time and pass 2 passes over it. It is for the cells that train a model for many
seconds, from a seed of their own (lessons 05 and 06): their second run proves little that the first did
not, and cost most of the check's time. The report lists every such cell under its notebook, so it stays
visible what was not run twice. Any other value of `#| check:` is a problem.

Derived editions (`--derived clean`): a student copy in clean/ is its lesson's code without the
`#|` lines, so running it proves nothing the lesson's run did not prove, unless
  1. its code cells are not exactly its lesson's code cells minus the `#|` lines, or
  2. its lesson has a cell that nbdev-test (and this check) skips: the copy lost the directive
     that skipped it, so its run executes code the lesson's run never executed.
Only the copies for which one of these holds are run (top to bottom, as nbdev-test ran them), and
copies without a lesson. Today's pipeline guarantees 1 in stage 2, and no lesson has a skipped cell,
so no copy runs. Not detected: a lesson that reads files of its own folder (nbs/), which would read
other files in clean/ (the handouts appendix did, and moved to tools/site/); no lesson does so now.

The lessons start from the last to the first (later lessons train longer), so the longest run
does not start last. A kernel's own stderr (not its cells' streams) is kept out of the report
unless the kernel itself fails (dies, hangs or will not start); after a cell that merely raises it
holds at most the noise of the kernel's shutdown. Kernels are started by tools/nbrun.py, the runner every tool shares.

Usage: python tools/check_outputs.py NOTEBOOK_OR_FOLDER... [--derived clean] [--workers 2]
                                     [--slow 5] [--sanitize tools/output_sanitize.cfg]
                                     [--save DIR] [--first-run-only]
--save DIR writes each notebook's fresh outputs (cleaned) into DIR, and --first-run-only skips the
second runs and the bottom-up pass: tools/output_spread.py uses both to measure how far the numbers
move between CPUs and thread counts.
"""
import argparse, asyncio, configparser, copy, difflib, re, sys, time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbdev.clean import clean_nb

import nbrun                  # tools/ is on sys.path: this file's own folder

PIXELS = ('image/png', 'image/jpeg', 'image/gif', 'image/svg+xml')
DIRECTIVE = re.compile(r'^\s*#\|')
CHECK_DIRECTIVE = re.compile(r'^\s*#\|\s*check\s*:\s*(.*?)\s*$')
RUN_ONCE = 'run once'
ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')


# A number as outputs print it: 0.9688, -6.2330, 145, 1e-05, 3.55e-05.
NUMBER = re.compile(r'([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)')


class Patterns:
    """The sections of output_sanitize.cfg: `subs` replace volatile text on both sides of every
    comparison; `once` match the text/html of an output that a kernel sends only the first time (a
    stylesheet), left out only when a cell's second run is compared with its first; `tolerances`,
    (notebook name, cell regex or None, tolerance, section name): the cells whose numbers may differ
    from their committed values by up to the tolerance."""
    def __init__(self, path):
        cp = configparser.ConfigParser(interpolation=None)
        if not cp.read(path): raise ValueError(f"{path}: cannot read it")
        self.subs, self.once, self.tolerances = [], [], []
        for s in cp.sections():
            sec = cp[s]
            if 'tolerance' in sec:
                if 'notebook' not in sec: raise ValueError(f"{path}, [{s}]: a tolerance needs a notebook")
                try: tol = float(sec['tolerance'])
                except ValueError: raise ValueError(f"{path}, [{s}]: tolerance {sec['tolerance']!r} is not a number") from None
                if not 0 < tol < 1: raise ValueError(f"{path}, [{s}]: tolerance {tol:g} must be above 0 and below 1")
                cell = sec.get('cell', '').strip()
                self.tolerances.append((sec['notebook'].strip(), re.compile(cell, re.M) if cell else None, tol, s))
                continue
            rx = re.compile(sec['regex'])
            if sec.get('drop_output_in', '').strip() == 'run-twice': self.once.append(rx)
            else: self.subs.append((rx, sec.get('replace', '')))

    def tolerance_for(self, path, src):
        "The (tolerance, section) that applies to the cell with source `src` in notebook `path`, or None."
        hits = [(tol, s) for nb, rx, tol, s in self.tolerances if nb == Path(path).name and (rx is None or rx.search(src))]
        return max(hits) if hits else None

    def once_only(self, o):
        html = o.get('data', {}).get('text/html')
        if html is None: return False
        html = html if isinstance(html, str) else ''.join(html)
        return any(rx.fullmatch(html) for rx in self.once)


def comparable(outputs, patterns, run_twice=False):
    """The text of `outputs` in order: consecutive streams of one name joined, one entry per text MIME type.
    With `run_twice`, outputs a kernel sends only once are left out."""
    res = []
    for o in outputs:
        if run_twice and patterns.once_only(o): continue
        kind = o['output_type']
        if kind == 'stream':
            key = 'stream:' + o['name']
            if res and res[-1][0] == key: res[-1] = (key, res[-1][1] + o['text'])
            else: res.append((key, o['text']))
        elif kind in ('display_data', 'execute_result'):
            res += [(mime, v if isinstance(v, str) else ''.join(v)) for mime, v in sorted(o['data'].items()) if mime not in PIXELS]
        elif kind == 'error': res.append(('error', f"{o['ename']}: {o['evalue']}"))
    def clean(s):
        for rx, rep in patterns.subs: s = rx.sub(rep, s)
        return s
    return [(k, clean(v)) for k, v in res]


def numbers_apart(want, got):
    """The largest difference between the numbers of two comparable() lists that are equal except for their
    numbers, or None where anything but a number differs (a word, a space, how many numbers there are)."""
    if len(want) != len(got): return None
    worst = 0.0
    for (k1, v1), (k2, v2) in zip(want, got):
        if k1 != k2: return None
        a, b = NUMBER.split(v1), NUMBER.split(v2)
        if len(a) != len(b) or a[0::2] != b[0::2]: return None
        for x, y in zip(a[1::2], b[1::2]):
            if x != y: worst = max(worst, abs(float(x) - float(y)))
    return worst


def show(entries): return ''.join(f'--- {k}\n{v}\n' for k, v in entries).splitlines(keepends=True)


def short_diff(a, b, name_a, name_b, max_lines=40):
    lines = list(difflib.unified_diff(show(a), show(b), name_a, name_b, n=1))
    if len(lines) > max_lines: lines = lines[:max_lines] + [f'... ({len(lines) - max_lines} more diff lines)\n']
    return ''.join(l if l.endswith('\n') else l + '\n' for l in lines).rstrip('\n')


def first_line(src):
    "The cell's first line that is neither blank nor an nbdev directive."
    return next((l.strip() for l in src.splitlines() if l.strip() and not DIRECTIVE.match(l)), '')


def code_without_directives(src):
    return '\n'.join(l for l in src.splitlines() if not DIRECTIVE.match(l)).strip('\n')


def cleaned(cells_outputs):
    "Each list of outputs as nbdev-clean would commit it."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('', outputs=copy.deepcopy(o)) for o in cells_outputs])
    clean_nb(nb)
    return [c.outputs for c in nb.cells]


def evaluated(path):
    "Indices of the cells nbdev-test runs in the notebook at `path`, and the number it leaves out."
    from nbdev.config import get_config
    from nbdev.test import nb_test_cells
    flags = get_config().get('tst_flags') or []
    if isinstance(flags, str): flags = flags.split()
    run = {c.idx_ for c in nb_test_cells(path, flags)}
    nb = nbformat.read(path, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == 'code']
    return sorted(run & set(code)), len(set(code) - run)


class Result:
    def __init__(self, path):
        self.path, self.code_cells, self.skipped = path, 0, 0
        self.first_run_s = self.total_s = 0.0
        self.slow, self.found, self.failed_to_run = [], [], False
        self.kernel_failed = False    # the kernel itself died, hung or would not start: its own stderr is worth showing
        self.once = []     # (cell, first line): cells marked `#| check: run once`
        self.within = []   # (cell, first line, largest difference, tolerance, section): numbers let through

    def problem(self, key, i, src, what, detail=''):
        "Record a problem of cell `i`; `key` orders the report: pass 1 by cell (first run, second run, committed), then pass 2."
        self.found.append((key, f"{self.path}, cell {i} ({first_line(src)!r}): {what}" + (f"\n{detail}" if detail else '')))

    def fail(self, text): self.found.append(((9,), text))

    @property
    def problems(self): return [t for _, t in sorted(self.found, key=lambda kt: kt[0])]


def traceback_tail(e, n=12):
    "The last `n` lines of the kernel's traceback, without nbclient's copy of the cell's source."
    tb = ANSI.sub('', getattr(e, 'traceback', '') or str(e)).strip().splitlines()
    bars = [k for k, l in enumerate(tb) if l.strip() == '------------------']
    if len(bars) >= 2: tb = tb[bars[1]+1:]
    tb = [l for l in tb if l.strip()]
    return '\n'.join('    ' + l for l in tb[-n:])


def check_directive(src):
    "The value of the cell's `#| check:` line among its leading `#|` lines (as nbdev reads directives), or None."
    for line in src.splitlines():
        if not line.strip(): continue
        if not DIRECTIVE.match(line): return None
        m = CHECK_DIRECTIVE.match(line)
        if m: return m[1]
    return None


class Checker(nbrun.Client):
    """One kernel for one notebook. The working notebook holds one slot per execution: the notebook's
    own cells take the first executions (so later display updates reach them, as in Jupyter), then a
    slot per second execution and a slot per reverse-order execution."""

    async def check(self, res, ref, cells, patterns, compare, twice, reverse, slow, save=None):
        n_all = len(ref.cells)
        work = self.nb
        for c in work.cells:
            if c.cell_type == 'code': c.outputs, c.execution_count = [], None
        second = {i: n_all + k for k, i in enumerate(cells)}
        backwards = {i: n_all + len(cells) + k for k, i in enumerate(cells)}
        for i in cells: work.cells.append(copy.deepcopy(work.cells[i]))
        for i in cells: work.cells.append(copy.deepcopy(work.cells[i]))
        once = set()
        for i in cells:
            mark = check_directive(ref.cells[i].source)
            if mark is None: continue
            if mark == RUN_ONCE: once.add(i); res.once.append((i, first_line(ref.cells[i].source)))
            else: res.problem((0, i, 0), i, ref.cells[i].source, f"unknown `#| check: {mark}` (the only one is `#| check: {RUN_ONCE}`)")
        self.reset_execution_trackers()
        t_all = time.monotonic()
        first_outputs, done = {}, []
        # the kernel process's own stderr (not the cells' streams) goes to a file, shown if the kernel fails
        async with self.async_setup_kernel(stderr=self.kernel_log):
            for i in cells:
                src = ref.cells[i].source
                t = time.monotonic()
                try: await self.async_execute_cell(work.cells[i], i, execution_count=self.code_cells_executed + 1)
                except Exception as e:
                    res.problem((0, i, 0), i, src, f"raises on the first run (top to bottom): {nbrun.error_text(e)}", traceback_tail(e))
                    res.failed_to_run = True
                    res.kernel_failed = isinstance(e, (DeadKernelError, CellTimeoutError))
                    break
                finally:
                    dt = time.monotonic() - t
                    res.first_run_s += dt
                if dt > slow: res.slow.append((i, first_line(src), dt))
                done.append(i)
                if not twice or i in once: continue
                j = second[i]
                try: await self.async_execute_cell(work.cells[j], j, execution_count=self.code_cells_executed + 1)
                except Exception as e:
                    res.problem((0, i, 1), i, src, f"run twice: the second run raises {nbrun.error_text(e)}", traceback_tail(e, 6))
                    if isinstance(e, (DeadKernelError, CellTimeoutError)): res.failed_to_run = res.kernel_failed = True; break
                    continue
                self.share_display_ids(j, i)
                a, b = cleaned([work.cells[i].outputs, work.cells[j].outputs])
                a, b = comparable(a, patterns, run_twice=True), comparable(b, patterns, run_twice=True)
                if a != b: res.problem((0, i, 1), i, src, 'run twice: the second run prints something else', short_diff(a, b, 'first run', 'second run'))
            # Outputs as they stand after pass 1: what Jupyter shows after running the notebook top to bottom.
            first_outputs = {i: copy.deepcopy(work.cells[i].outputs) for i in done}
            if reverse and not res.failed_to_run:
                for pos, i in enumerate(c for c in reversed(cells) if c not in once):
                    k = backwards[i]
                    try: await self.async_execute_cell(work.cells[k], k, execution_count=self.code_cells_executed + 1)
                    except Exception as e:
                        after = f"after re-running the {pos} cell(s) below it, last first" if pos else 'the first cell of that pass'
                        res.problem((1, pos), i, ref.cells[i].source, f"re-run in reverse order ({after}) raises {nbrun.error_text(e)}",
                                    traceback_tail(e, 6))
                        if isinstance(e, (DeadKernelError, CellTimeoutError)): break
        res.total_s = time.monotonic() - t_all
        if compare:
            fresh = copy.deepcopy(ref)
            for c in fresh.cells:
                if c.cell_type == 'code': c.outputs = []
            for i, outs in first_outputs.items(): fresh.cells[i].outputs = outs
            clean_nb(fresh)
            if save is not None: nbformat.write(fresh, Path(save)/Path(res.path).name)
            for i in done:
                want, got = comparable(ref.cells[i].outputs, patterns), comparable(fresh.cells[i].outputs, patterns)
                if want == got: continue
                src = ref.cells[i].source
                tol = patterns.tolerance_for(res.path, src)
                apart = numbers_apart(want, got) if tol else None
                if apart is not None and apart <= tol[0] * (1 + 1e-9):
                    res.within.append((i, first_line(src), apart, *tol)); continue
                why = 'committed outputs differ from the first run'
                if tol: why += (f" (beyond its tolerance {tol[0]:g}, [{tol[1]}]: numbers {apart:.3g} apart)" if apart is not None
                                else f" (in more than numbers, which its tolerance [{tol[1]}] does not cover)")
                res.problem((0, i, 2), i, src, why, short_diff(want, got, 'committed', 'first run'))

    def share_display_ids(self, j, i):
        """After the second execution (slot `j`) of cell `i`: a later cell that updates a display the cell
        created updates the handle of the second execution; in Jupyter that display is the cell's only
        output, so apply the update to the first execution's outputs too."""
        n = len(self.nb.cells[i].outputs)
        for cell_map in self._display_id_map.values():
            for idx in cell_map.get(j, []):
                if idx < n and idx not in cell_map.setdefault(i, []): cell_map[i].append(idx)


async def check_notebook(path, patterns, args, compare=True, twice=True, reverse=True):
    res = Result(path)
    try:
        ref = nbformat.read(path, as_version=4)
        cells, res.skipped = evaluated(path)
    except Exception as e:
        res.fail(f"{path}: cannot read the notebook: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        res.failed_to_run = True
        return res
    res.code_cells = sum(c.cell_type == 'code' for c in ref.cells)
    with nbrun.client(copy.deepcopy(ref), path, args.timeout, cls=Checker) as client:
        try: await client.check(res, ref, cells, patterns, compare, twice and not args.first_run_only,
                                reverse and not args.first_run_only, args.slow, save=args.save if compare else None)
        except Exception as e:
            res.fail(f"{path}: the kernel failed: {nbrun.error_text(e)}")
            res.failed_to_run = res.kernel_failed = True
        # Only when the kernel itself failed: after a cell merely raised, the tail holds at most the noise of the
        # kernel's shutdown (now and then a ZMQError), which is no problem of the notebook's.
        tail = nbrun.log_tail(client) if res.kernel_failed else []
        if tail: res.fail(f"{path}: the kernel's stderr ended with:\n" + '\n'.join('    ' + l for l in tail))
    return res


def notebooks_in(paths):
    res = []
    for p in map(Path, paths):
        if p.is_dir(): res += sorted(f for f in p.glob('*.ipynb') if not f.name.startswith(('_', '.')))
        elif p.exists(): res.append(p)
        else: sys.exit(f"error: no such notebook or folder: {p}")
    return res


def why_run_copy(copy_path, lesson_res, lessons):
    """The reason the student copy at `copy_path` must run, or None when its lesson's run proves all it would.
    `lessons` maps a lesson's file name to its path."""
    lesson = lessons.get(copy_path.name)
    if lesson is None: return 'it has no lesson in the checked folders'
    try: cp, ls = nbformat.read(copy_path, as_version=4), nbformat.read(lesson, as_version=4)
    except Exception as e: return f"it cannot be read: {e}"
    want = [s for s in (code_without_directives(c.source) for c in ls.cells if c.cell_type == 'code') if s]
    have = [c.source.strip('\n') for c in cp.cells if c.cell_type == 'code' and c.source.strip()]
    if want != have:
        k = next((k for k, (a, b) in enumerate(zip(want, have)) if a != b), min(len(want), len(have)))
        return f"its code differs from {lesson}'s without the `#|` lines (from code cell {k})"
    if lesson_res.skipped: return f"{lesson} has {lesson_res.skipped} cell(s) that nbdev-test skips, and the copy lost the directives"
    return None


def report(results, wall, slow):
    for r in results:
        status = 'no problems' if not r.problems else f"{len(r.problems)} problem(s)"
        skipped = f", {r.skipped} skipped as nbdev-test skips them" if r.skipped else ''
        skipped += f", {len(r.once)} run once" if r.once else ''
        print(f"{r.path}: {r.code_cells} code cells{skipped}, first run {r.first_run_s:.1f}s, whole check {r.total_s:.1f}s, {status}")
        for i, line, dt in r.slow: print(f"    slow cell {i} ({dt:.1f}s > {slow:g}s): {line[:90]}")
        for i, line in r.once: print(f"    cell {i} run once (`#| check: {RUN_ONCE}`: not run twice, not re-run upward): {line[:70]}")
        for i, line, apart, tol, sec in r.within:
            print(f"    cell {i} ({line[:60]}): numbers {apart:.3g} from the committed ones, within its tolerance {tol:g} [{sec}]")
    failures = [p for r in results for p in r.problems]
    for f in failures: print('\n' + f)
    bad = sum(bool(r.problems) for r in results)
    print(f"\n{len(results)} notebooks checked in {wall:.0f}s (wall), {len(failures)} problem(s) in {bad} notebook(s)")
    return 1 if failures else 0


async def main_async(args):
    patterns = Patterns(args.sanitize)
    nbs = notebooks_in(args.paths)
    if not nbs: sys.exit(f"error: no notebooks found in {' '.join(args.paths)}")
    derived = []
    for d in args.derived or []:
        if not Path(d).is_dir(): sys.exit(f"error: --derived {d}: no such folder")
        derived += sorted(Path(d).glob('*.ipynb'))
    lessons = {p.name: p for p in nbs}
    sem = asyncio.Semaphore(args.workers)
    t0 = time.monotonic()

    async def one(path, **kw):
        async with sem:
            r = await check_notebook(path, patterns, args, **kw)
        print(f"  done {path} in {r.total_s:.0f}s" + (f" ({len(r.problems)} problem(s))" if r.problems else ''), flush=True)
        return r

    # Start the longest runs first, so that one of them does not start last and finish alone: with no
    # timings at hand, the lessons from the last to the first (later lessons train longer), then the rest.
    def lesson_number(p):
        m = re.match(r'(\d+)_', p.name)
        return int(m[1]) if m and int(m[1]) < 90 else -1
    order = sorted(nbs, key=lambda p: -lesson_number(p))
    results = await asyncio.gather(*(one(p) for p in order))
    results.sort(key=lambda r: nbs.index(r.path))
    copies = []
    if derived:
        by_name = {r.path.name: r for r in results}
        print()
        for c in derived:
            lr = by_name.get(c.name)
            if lr is not None and lr.failed_to_run:
                print(f"{c}: not run, its lesson does not run"); continue
            why = why_run_copy(c, lr, lessons) if lr is not None else 'it has no lesson in the checked folders'
            print(f"{c}: " + (f"runs, because {why}" if why else "not run: same code as its lesson, no cell skipped"))
            if why: copies.append(c)
        results += await asyncio.gather(*(one(c, compare=False, twice=False, reverse=False) for c in copies))
    print()
    return report(results, time.monotonic() - t0, args.slow)


def main():
    ap = argparse.ArgumentParser(description='Run each notebook once: committed outputs true, every cell safe to run twice and to re-run from the bottom up.')
    ap.add_argument('paths', nargs='+', help='notebooks, or folders of notebooks')
    ap.add_argument('--derived', action='append', metavar='DIR', help='folder of derived copies (clean/): run only those whose run proves something more')
    ap.add_argument('--workers', type=int, default=2, help='notebooks run at once (default 2)')
    ap.add_argument('--slow', type=float, default=5.0, help='list cells whose first run takes longer, in seconds (default 5)')
    ap.add_argument('--sanitize', default=str(Path(__file__).with_name('output_sanitize.cfg')))
    ap.add_argument('--timeout', type=int, default=900, help='seconds per cell (default 900)')
    ap.add_argument('--save', metavar='DIR', help='also write each fresh notebook, cleaned, into DIR (tools/output_spread.py reads them)')
    ap.add_argument('--first-run-only', action='store_true', help='skip the second run of each cell and the bottom-up pass (for measuring)')
    args = ap.parse_args()
    if args.workers < 1: sys.exit('error: --workers must be at least 1')
    if not Path(args.sanitize).is_file(): sys.exit(f"error: --sanitize {args.sanitize}: no such file")
    try: Patterns(args.sanitize)
    except (ValueError, re.error, configparser.Error) as e: sys.exit(f"error: --sanitize: {e}")
    if args.save:
        if Path(args.save).exists() and not Path(args.save).is_dir(): sys.exit(f"error: --save {args.save}: not a folder")
        Path(args.save).mkdir(parents=True, exist_ok=True)
    sys.exit(asyncio.run(main_async(args)))


if __name__ == '__main__': main()
