"""Run each notebook once, in one Jupyter kernel, and check three things from that one run.

Stage 3 of the pipeline. For every notebook (2 at a time by default):

  pass 1  every code cell runs twice in a row.
          - The FIRST execution is the notebook's top-to-bottom run: a cell that raises stops the
            notebook (what nbdev-test checked). Its outputs, cleaned with nbdev's own `clean_nb`
            exactly like the committed copy, are compared with the committed outputs: streams,
            `text/plain`, `text/html`, `text/markdown`, errors (pixels of images are not compared,
            their text repr still is).
          - The SECOND execution fails the check if it raises, or prints anything different from
            the first (same cleaning and sanitising).
  pass 2  then every code cell runs again, last to first, in the same kernel (a learner scrolling
          up). Any error there is a problem: the first execution had none.

Before comparing, the narrow volatile patterns in tools/output_sanitize.cfg are replaced on both
sides; no cell is skipped except those nbdev-test skips too (`#| eval: false`, the `tst_flags` of
the nbdev config, a `skip-execution` tag, `skip_exec` front matter: `nbdev.test.nb_test_cells`).
Display updates (fastai's progress bars and results table) are applied as Jupyter applies them:
this is nbclient's `NotebookClient`, one `async_execute_cell` at a time. Why not nbval: it ignores
`update_display_data`, so a `Learner` would be compared by its empty progress bar.

The report gives, per notebook, its code cells, the time of the first execution of all its cells
(what a learner waits for), the time of the whole check, every cell whose first execution took
longer than 5 s, and each problem with the cell's first line and a short diff. Exit status 1 on any
problem. A cell that does not print the same thing twice can make later cells' first executions
differ from the committed outputs as well: fix the first problem of a notebook first.

Derived editions (`--derived clean`): a student copy in clean/ is its lesson's code without the
`#|` lines, so running it proves nothing the lesson's run did not prove, unless
  1. its code cells are not exactly its lesson's code cells minus the `#|` lines, or
  2. its lesson has a cell that nbdev-test (and this check) skips: the copy lost the directive
     that skipped it, so its run executes code the lesson's run never executed, or
  3. the lesson's run used a path inside its own folder (nbs/) that names something different in
     clean/: another file's bytes, another folder listing (an audit hook in the lesson's kernel
     records opens, directory listings, globs and file operations, except the import system's
     look-ups along sys.path). A lesson that reads the other notebooks, like the handouts
     appendix, reads the student copies when it runs from clean/.
Only the copies for which one of these holds are run (top to bottom, as nbdev-test ran them).
A copy without a lesson is run as well. Today's pipeline guarantees 1 in stage 2, and no lesson
has a skipped cell, so only copies of lessons that read their own folder run.

The lessons start from the last to the first (later lessons train longer), so the longest run
does not start last. A kernel's own stderr (not its cells' streams) is kept out of the report
unless the kernel fails.

Usage: python tools/check_outputs.py NOTEBOOK_OR_FOLDER... [--derived clean] [--workers 2]
                                     [--slow 5] [--sanitize tools/output_sanitize.cfg]
"""
import argparse, asyncio, configparser, copy, difflib, glob, json, os, re, sys, tempfile, time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbdev.clean import clean_nb

PIXELS = ('image/png', 'image/jpeg', 'image/gif', 'image/svg+xml')
DIRECTIVE = re.compile(r'^\s*#\|')
ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
PROBE_MARK = '__nb_folder_access__'

# Installed in each lesson's kernel before its first cell: records every path inside the notebook's
# folder that the notebook's code opens, lists, globs, creates, renames or removes. Leaves no name
# behind in the user namespace.
PROBE_SETUP = r'''
def __nb_folder_watch(folder):
    import os, sys, types
    folder = os.path.realpath(folder)
    seen = set()
    events = {'open', 'os.listdir', 'os.scandir', 'glob.glob/2', 'os.mkdir', 'os.remove', 'os.rename',
              'os.rmdir', 'shutil.copyfile', 'shutil.rmtree', 'shutil.move'}
    def hook(event, args):
        if event not in events: return
        try:
            p = args[0] if args else None
            if p is None and event in ('os.listdir', 'os.scandir'): p = '.'
            if p is None or isinstance(p, int): return
            caller = sys._getframe(1).f_code.co_filename
            # Left out: the import system's look-ups along sys.path, where the kernel puts the notebook's
            # folder (importlib, importlib.metadata, pkgutil), and glob's own reads (its glob.glob/2
            # event names the pattern).
            if (caller.startswith('<frozen ') or os.sep + 'importlib' in caller
                    or caller.endswith((os.sep + 'pkgutil.py', os.sep + 'glob.py'))): return
            p = os.fsdecode(p)
            if event == 'glob.glob/2' and args[2] is not None: p = os.path.join(os.fsdecode(args[2]), p)
            p = os.path.realpath(p)
            if p == folder or p.startswith(folder + os.sep): seen.add(os.path.relpath(p, folder))
        except Exception: pass
    sys.addaudithook(hook)
    m = types.ModuleType('_nb_folder_watch'); m.seen = seen; sys.modules['_nb_folder_watch'] = m
__nb_folder_watch(%r); del __nb_folder_watch
'''
PROBE_READ = f"import _nb_folder_watch, json; print({PROBE_MARK!r}, json.dumps(sorted(_nb_folder_watch.seen)))"


class Patterns:
    """The sanitising patterns of output_sanitize.cfg: `subs` replace volatile text on both sides of every
    comparison; `once` match the text/html of an output that a kernel sends only the first time (a
    stylesheet), left out only when a cell's second run is compared with its first."""
    def __init__(self, path):
        cp = configparser.ConfigParser(interpolation=None)
        cp.read(path)
        self.subs, self.once = [], []
        for s in cp.sections():
            rx = re.compile(cp[s]['regex'])
            if cp[s].get('drop_output_in', '').strip() == 'run-twice': self.once.append(rx)
            else: self.subs.append((rx, cp[s].get('replace', '')))

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
        self.slow, self.found, self.folder_access, self.failed_to_run = [], [], None, False

    def problem(self, key, i, src, what, detail=''):
        "Record a problem of cell `i`; `key` orders the report: pass 1 by cell (first run, second run, committed), then pass 2."
        self.found.append((key, f"{self.path}, cell {i} ({first_line(src)!r}): {what}" + (f"\n{detail}" if detail else '')))

    def fail(self, text): self.found.append(((9,), text))

    @property
    def problems(self): return [t for _, t in sorted(self.found, key=lambda kt: kt[0])]


def error_text(e):
    if isinstance(e, CellExecutionError): return f"{e.ename}: {e.evalue}"
    if isinstance(e, CellTimeoutError): return 'timed out'
    if isinstance(e, DeadKernelError): return 'the kernel died'
    return f"{type(e).__name__}: {e}"


def traceback_tail(e, n=12):
    "The last `n` lines of the kernel's traceback, without nbclient's copy of the cell's source."
    tb = ANSI.sub('', getattr(e, 'traceback', '') or str(e)).strip().splitlines()
    bars = [k for k, l in enumerate(tb) if l.strip() == '------------------']
    if len(bars) >= 2: tb = tb[bars[1]+1:]
    tb = [l for l in tb if l.strip()]
    return '\n'.join('    ' + l for l in tb[-n:])


class Checker(NotebookClient):
    """One kernel for one notebook. The working notebook holds one slot per execution: the notebook's
    own cells take the first executions (so later display updates reach them, as in Jupyter), then a
    slot per second execution, a slot per reverse-order execution, and one for the folder probe."""

    def create_kernel_manager(self):
        "Talk to the kernel over Unix sockets in a private folder (no TCP ports, no warning about them)."
        km = super().create_kernel_manager()
        if os.name == 'posix' and getattr(self, 'ipc_dir', None): km.transport, km.ip = 'ipc', str(Path(self.ipc_dir)/'kernel')
        return km

    async def check(self, res, ref, cells, patterns, compare, twice, reverse, slow, probe):
        n_all = len(ref.cells)
        work = self.nb
        for c in work.cells:
            if c.cell_type == 'code': c.outputs, c.execution_count = [], None
        second = {i: n_all + k for k, i in enumerate(cells)}
        backwards = {i: n_all + len(cells) + k for k, i in enumerate(cells)}
        for i in cells: work.cells.append(copy.deepcopy(work.cells[i]))
        for i in cells: work.cells.append(copy.deepcopy(work.cells[i]))
        probe_slot = len(work.cells)
        work.cells.append(nbformat.v4.new_code_cell(''))
        self.reset_execution_trackers()
        t_all = time.monotonic()
        first_outputs, done = {}, []
        # the kernel process's own stderr (not the cells' streams) goes to a file, shown if the kernel fails
        async with self.async_setup_kernel(stderr=self.kernel_log):
            if probe: await self.run_hidden(probe_slot, PROBE_SETUP % str(Path(res.path).parent.resolve()))
            for i in cells:
                src = ref.cells[i].source
                t = time.monotonic()
                try: await self.async_execute_cell(work.cells[i], i, execution_count=self.code_cells_executed + 1)
                except Exception as e:
                    res.problem((0, i, 0), i, src, f"raises on the first run (top to bottom): {error_text(e)}", traceback_tail(e))
                    res.failed_to_run = True
                    break
                finally:
                    dt = time.monotonic() - t
                    res.first_run_s += dt
                if dt > slow: res.slow.append((i, first_line(src), dt))
                done.append(i)
                if not twice: continue
                j = second[i]
                try: await self.async_execute_cell(work.cells[j], j, execution_count=self.code_cells_executed + 1)
                except Exception as e:
                    res.problem((0, i, 1), i, src, f"run twice: the second run raises {error_text(e)}", traceback_tail(e, 6))
                    if isinstance(e, (DeadKernelError, CellTimeoutError)): res.failed_to_run = True; break
                    continue
                self.share_display_ids(j, i)
                a, b = cleaned([work.cells[i].outputs, work.cells[j].outputs])
                a, b = comparable(a, patterns, run_twice=True), comparable(b, patterns, run_twice=True)
                if a != b: res.problem((0, i, 1), i, src, 'run twice: the second run prints something else', short_diff(a, b, 'first run', 'second run'))
            # Outputs as they stand after pass 1: what Jupyter shows after running the notebook top to bottom.
            first_outputs = {i: copy.deepcopy(work.cells[i].outputs) for i in done}
            if reverse and not res.failed_to_run:
                for pos, i in enumerate(reversed(cells)):
                    k = backwards[i]
                    try: await self.async_execute_cell(work.cells[k], k, execution_count=self.code_cells_executed + 1)
                    except Exception as e:
                        after = f"after re-running the {pos} cell(s) below it, last first" if pos else 'the first cell of that pass'
                        res.problem((1, pos), i, ref.cells[i].source, f"re-run in reverse order ({after}) raises {error_text(e)}",
                                    traceback_tail(e, 6))
                        if isinstance(e, (DeadKernelError, CellTimeoutError)): break
            if probe: res.folder_access = await self.read_probe(probe_slot)
        res.total_s = time.monotonic() - t_all
        if compare:
            fresh = copy.deepcopy(ref)
            for c in fresh.cells:
                if c.cell_type == 'code': c.outputs = []
            for i, outs in first_outputs.items(): fresh.cells[i].outputs = outs
            clean_nb(fresh)
            for i in done:
                want, got = comparable(ref.cells[i].outputs, patterns), comparable(fresh.cells[i].outputs, patterns)
                if want != got: res.problem((0, i, 2), i, ref.cells[i].source, 'committed outputs differ from the first run',
                                            short_diff(want, got, 'committed', 'first run'))

    def share_display_ids(self, j, i):
        """After the second execution (slot `j`) of cell `i`: a later cell that updates a display the cell
        created updates the handle of the second execution; in Jupyter that display is the cell's only
        output, so apply the update to the first execution's outputs too."""
        n = len(self.nb.cells[i].outputs)
        for cell_map in self._display_id_map.values():
            for idx in cell_map.get(j, []):
                if idx < n and idx not in cell_map.setdefault(i, []): cell_map[i].append(idx)

    async def run_hidden(self, slot, code):
        cell = self.nb.cells[slot]
        cell.source, cell.outputs = code, []
        await self.async_execute_cell(cell, slot, store_history=False)
        return cell.outputs

    async def read_probe(self, slot):
        try: outs = await self.run_hidden(slot, PROBE_READ)
        except Exception: return None
        text = ''.join(o.get('text', '') for o in outs if o['output_type'] == 'stream')
        m = re.search(re.escape(PROBE_MARK) + r' (.*)', text)
        return json.loads(m.group(1)) if m else None


async def check_notebook(path, patterns, args, compare=True, twice=True, reverse=True, probe=False):
    res = Result(path)
    try:
        ref = nbformat.read(path, as_version=4)
        cells, res.skipped = evaluated(path)
    except Exception as e:
        res.fail(f"{path}: cannot read the notebook: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        res.failed_to_run = True
        return res
    res.code_cells = sum(c.cell_type == 'code' for c in ref.cells)
    client = Checker(copy.deepcopy(ref), timeout=args.timeout, kernel_name='python3',
                     resources={'metadata': {'path': str(path.parent)}})
    with tempfile.TemporaryDirectory(prefix='check_outputs-') as client.ipc_dir:
        log = Path(client.ipc_dir)/'kernel_stderr.log'
        with open(log, 'w') as client.kernel_log:
            try: await client.check(res, ref, cells, patterns, compare, twice, reverse, args.slow, probe)
            except Exception as e:
                res.fail(f"{path}: the kernel failed: {error_text(e)}")
                res.failed_to_run = True
        if res.failed_to_run and log.stat().st_size:
            res.fail(f"{path}: the kernel's stderr ended with:\n" + '\n'.join('    ' + l for l in log.read_text().splitlines()[-15:]))
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
    if lesson_res.folder_access is None: return f"the run of {lesson} could not tell which files it touched"
    touched = [p for p in lesson_res.folder_access if differs(p, lesson.parent, copy_path.parent)]
    if touched:
        return (f"{lesson}'s run used paths of its own folder that name other things in {copy_path.parent}/: "
                + ', '.join(touched[:8]) + (f' and {len(touched) - 8} more' if len(touched) > 8 else ''))
    return None


def differs(pattern, a, b):
    """Does the relative path or glob `pattern` name different things in folders `a` and `b`? Compares the
    names it matches, the bytes of matched files and the entries of matched folders."""
    def state(root):
        res = []
        for m in sorted(glob.glob(pattern, root_dir=root)):
            p = Path(root)/m
            if p.is_dir(): res.append((m, sorted(q.name for q in p.iterdir())))
            elif p.is_file(): res.append((m, p.read_bytes()))
            else: res.append((m, None))
        return res
    return state(a) != state(b)


def report(results, wall, slow):
    for r in results:
        status = 'no problems' if not r.problems else f"{len(r.problems)} problem(s)"
        skipped = f", {r.skipped} skipped as nbdev-test skips them" if r.skipped else ''
        print(f"{r.path}: {r.code_cells} code cells{skipped}, first run {r.first_run_s:.1f}s, whole check {r.total_s:.1f}s, {status}")
        for i, line, dt in r.slow: print(f"    slow cell {i} ({dt:.1f}s > {slow:g}s): {line[:90]}")
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
    results = await asyncio.gather(*(one(p, probe=bool(derived)) for p in order))
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
            print(f"{c}: " + (f"runs, because {why}" if why else "not run: same code as its lesson, no cell skipped, no path of the lesson's folder used that differs here"))
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
    args = ap.parse_args()
    if args.workers < 1: sys.exit('error: --workers must be at least 1')
    if not Path(args.sanitize).is_file(): sys.exit(f"error: --sanitize {args.sanitize}: no such file")
    sys.exit(asyncio.run(main_async(args)))


if __name__ == '__main__': main()
