"""Run notebooks: the one runner every tool here uses, and the one yardstick their timings are scaled by.

A notebook runs in a fresh Jupyter kernel (nbclient's `NotebookClient`, kernel "python3"), started in the
notebook's own folder with this process's environment (PATH, PYTHONPATH, OMP_NUM_THREADS, FASTAI_HOME, ... are
passed on), its cells executed one at a time, so that display updates (fastai's progress bars and results table)
are applied as Jupyter applies them. The kernel talks to us over Unix sockets in a private temporary folder (no TCP
port, no warning about ports), and its own stderr (not its cells' streams) goes to a log file, whose tail `log_tail`
gives when the kernel fails. Outputs are cleaned with nbdev's own `clean_nb`, as nbdev-clean commits them.

Users: tools/check_outputs.py (stage 3 of the pipeline), tools/exercises.py --run (and tests/test_exercises_run.py),
tools/lesson_times.py (`make times`), tools/run_lessons.py (`make lessons`) and the command line below (`make outputs`).
Tools import each other by module name (`import nbrun`): Python puts a script's own folder first on sys.path; code
outside tools/ (the tests) puts tools/ on sys.path first and imports them the same way.

    python tools/nbrun.py --inplace NOTEBOOK...   execute each notebook top to bottom in a fresh kernel, one after
                                                  the other, and write it back with its new outputs, cleaned as
                                                  nbdev-clean cleans it. A notebook whose cell raises is not
                                                  written; the command stops there with a one-line error (exit 1).
"""
import argparse, os, statistics, subprocess, sys, tempfile, time
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

TIMEOUT = 1800          # seconds per cell


class Client(NotebookClient):
    "nbclient's `NotebookClient`, its kernel on Unix sockets in the folder `ipc_dir` (set by `client`)."
    ipc_dir = None

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if os.name == 'posix' and self.ipc_dir: km.transport, km.ip = 'ipc', str(Path(self.ipc_dir)/'kernel')
        return km


@contextmanager
def client(nb, path, timeout=TIMEOUT, cls=Client, **kwargs):
    """A `Client` (or subclass `cls`) for the notebook `nb` read from `path`: its kernel starts in `path`'s folder, and
    writes its own stderr to the file `c.kernel_log` (pass `stderr=c.kernel_log` to `setup_kernel` or
    `async_setup_kernel`, as `execute` does). `kwargs` go to `NotebookClient` (allow_errors, ...)."""
    with tempfile.TemporaryDirectory(prefix='nbrun-') as d, open(Path(d)/'kernel_stderr.log', 'w') as log:
        c = cls(nb, timeout=timeout, kernel_name='python3', store_widget_state=False,
                   resources={'metadata': {'path': str(Path(path).parent)}}, **kwargs)
        c.ipc_dir, c.kernel_log = d, log
        yield c


def log_tail(c, n=15):
    "The last `n` lines of the kernel's own stderr."
    c.kernel_log.flush()
    return Path(c.kernel_log.name).read_text(errors='replace').splitlines()[-n:]


def execute(path, timeout=TIMEOUT):
    """Run the notebook at `path` top to bottom in a fresh kernel; return it with its outputs, and the seconds from the
    kernel's start to the end of its last cell. Raises nbclient's `CellExecutionError` when a cell raises."""
    nb = nbformat.read(path, as_version=4)
    with client(nb, path, timeout) as c:
        t = time.perf_counter()
        c.execute(stderr=c.kernel_log)
        return nb, time.perf_counter() - t


def write_clean(nb, path):
    "Write `nb` to `path` as nbdev-clean leaves it (nbdev's own clean, with the project's settings)."
    from nbdev.clean import nbdev_clean
    nbformat.write(nb, path)
    nbdev_clean(fname=str(path))


def error_text(e):
    "One line for an exception of a run: a cell's exception name and message, a timeout, a dead kernel, or other."
    if isinstance(e, CellExecutionError): return f"{e.ename}: {e.evalue}"
    if isinstance(e, CellTimeoutError): return 'timed out'
    if isinstance(e, DeadKernelError): return 'the kernel died'
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def yardstick(python=sys.executable, n=3):
    """Median wall time, in seconds, of `python -c 'import torch'` run `n` times: machines differ in speed by up to 4x,
    so the project's timings come with this figure measured in the same run. Raises `CalledProcessError` if it fails."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([str(python), '-c', 'import torch'], check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description='Execute notebooks in fresh kernels and write them back with their outputs, cleaned.')
    ap.add_argument('--inplace', action='store_true', required=True, help='write each notebook back (the only mode)')
    ap.add_argument('notebooks', nargs='+', type=Path)
    ap.add_argument('--timeout', type=int, default=TIMEOUT, help=f'seconds per cell (default {TIMEOUT})')
    args = ap.parse_args(argv)
    bad = [str(p) for p in args.notebooks if p.suffix != '.ipynb' or not p.is_file()]
    if bad: sys.exit(f"error: not a notebook file: {', '.join(bad)}")
    for p in args.notebooks:
        try: nb, s = execute(p, args.timeout)
        except CellExecutionError as e: sys.exit(f"error: {p}: a cell raised {error_text(e)}; {p} was not written")
        except Exception as e: sys.exit(f"error: {p}: {error_text(e)}; {p} was not written")
        write_clean(nb, p)
        print(f"{p}: executed in {s:.1f}s, written", flush=True)


if __name__ == '__main__': main()
