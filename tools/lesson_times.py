"""Measure how long each lesson takes to run, and record it in nbs/lesson_times.json.

Each notebook of nbs/ named NN_topic.ipynb runs top to bottom in a fresh Jupyter kernel (tools/nbrun.py),
one after the other, and its wall time from kernel start to the last cell is recorded, rounded up to
the next 5 s. The yardstick, `python -c 'import torch'` (tools/nbrun.py's `yardstick`: the median of 3),
is timed in the same run, so that a reader on another machine can scale the figures. The site's index
page and the README quote the file; nothing in CI rewrites it (run times differ from machine to
machine), but a test checks that every lesson has an entry.

Usage: python tools/lesson_times.py [--nbs nbs] [--machine "the 2-core CI machine"]
"""
import argparse, json, math, os, sys
from pathlib import Path

import nbrun                  # tools/ is on sys.path: this file's own folder


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nbs', default='nbs')
    ap.add_argument('--machine', default=f'a {os.cpu_count()}-core CPU', help='words for the machine, shown on the index page')
    args = ap.parse_args()
    nbs = sorted(Path(args.nbs).glob('[0-9][0-9]_*.ipynb'))
    if not nbs: sys.exit(f"error: no lesson notebooks (NN_topic.ipynb) in {args.nbs}")
    torch_s = nbrun.yardstick()
    times = {}
    for p in nbs:
        try: _, s = nbrun.execute(p)
        except Exception as e: sys.exit(f"error: {p} did not run to the end; fix it first ({nbrun.error_text(e)})")
        times[p.name] = 5 * math.ceil(s / 5)
        print(f"{p.name}: {s:.1f} s", flush=True)
    out = Path(args.nbs)/'lesson_times.json'
    out.write_text(json.dumps({'machine': args.machine, 'yardstick_import_torch_s': round(torch_s, 2),
                               'lessons': times}, indent=1) + '\n')
    print(f"wrote {out} (yardstick: import torch {torch_s:.2f} s)")


if __name__ == '__main__': main()
