"""Measure how long each lesson takes to run, and record it in nbs/lesson_times.json.

Each notebook of nbs/ named NN_topic.ipynb runs top to bottom in a fresh Jupyter kernel (nbclient),
one after the other, and its wall time from kernel start to the last cell is recorded, rounded up to
the next 5 s. A bare `python -c 'import torch'` is timed in the same run as a yardstick, so that a
reader on another machine can scale the figures. The handouts' index page and the README quote the
file; nothing in CI rewrites it (run times differ from machine to machine), but a test checks that
every lesson has an entry.

Usage: python tools/lesson_times.py [--nbs nbs] [--machine "the 2-core CI machine"]
"""
import argparse, json, math, os, subprocess, sys, time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def run_time(path, timeout=1800):
    "Seconds to run the notebook at `path` top to bottom in a fresh kernel."
    nb = nbformat.read(path, as_version=4)
    t = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute()
    return time.perf_counter() - t


def yardstick():
    "Seconds for a bare `python -c 'import torch'` (best of three)."
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, '-c', 'import torch'], check=True)
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nbs', default='nbs')
    ap.add_argument('--machine', default=f'a {os.cpu_count()}-core CPU', help='words for the machine, shown on the index page')
    args = ap.parse_args()
    nbs = sorted(Path(args.nbs).glob('[0-9][0-9]_*.ipynb'))
    if not nbs: sys.exit(f"error: no lesson notebooks (NN_topic.ipynb) in {args.nbs}")
    torch_s = yardstick()
    times = {}
    for p in nbs:
        try: s = run_time(p)
        except CellExecutionError as e: sys.exit(f"error: {p} raised while running; fix it first ({str(e).strip().splitlines()[-1]})")
        times[p.name] = 5 * math.ceil(s / 5)
        print(f"{p.name}: {s:.1f} s", flush=True)
    out = Path(args.nbs)/'lesson_times.json'
    out.write_text(json.dumps({'machine': args.machine, 'yardstick_import_torch_s': round(torch_s, 2),
                               'lessons': times}, indent=1) + '\n')
    print(f"wrote {out} (yardstick: import torch {torch_s:.2f} s)")


if __name__ == '__main__': main()
