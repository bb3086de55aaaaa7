"""Run the pipeline and print the table of its stage times in CONTRIBUTING.md ("Performance notes"), as Markdown.

Machines differ in speed by up to 4x, so each time also appears as a ratio to a yardstick measured in
the same run: `python -c 'import torch'` (tools/nbrun.py's `yardstick`: the median of 3 runs, with the project's
Python), which tools/pipeline.sh measures itself and prints at its start; the table takes it from the log. A second table gives each notebook's times from stage 3: its first run top to
bottom (what a learner waits for), and the whole check (each cell twice, then again bottom-up).

Usage: python tools/stage_table.py              run tools/pipeline.sh (its log goes to stderr)
       python tools/stage_table.py --log FILE   read the log of an earlier run (a `make test` or CI log) instead
Make target: `make stages`.
"""
import argparse, os, re, subprocess, sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
STAGE = re.compile(r'^==> stage (.+?) (passed in|FAILED after) ([\d.]+)s\s*$')
TOTAL = re.compile(r'^All \d+ stages passed in (\d+)s')
YARDSTICK = re.compile(r"^yardstick: python -c 'import torch' took ([\d.]+)s")
NOTEBOOK = re.compile(r'^(\S+\.ipynb): (\d+) code cells.*?, first run ([\d.]+)s, whole check ([\d.]+)s')


def run_pipeline():
    "Run the pipeline, echoing its output to stderr; return its log and exit status."
    p = subprocess.Popen(['bash', str(ROOT/'tools'/'pipeline.sh')], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = []
    for line in p.stdout:
        sys.stderr.write(line); lines.append(line)
    return ''.join(lines), p.wait()


def tables(log):
    ref = next((float(m[1]) for m in map(YARDSTICK.match, log.splitlines()) if m), None)
    if ref is None: return None
    stages = [(m[1], m[2] == 'passed in', float(m[3])) for m in map(STAGE.match, log.splitlines()) if m]
    if not stages: return None
    total = next((float(m[1]) for m in map(TOTAL.match, log.splitlines()) if m), None)
    ratio = lambda s: f'{s/ref:.1f}'
    out = ['| stage | time (s) | ratio to `import torch` |', '|---|---:|---:|']
    for name, ok, s in stages:
        out.append(f"| {name}{'' if ok else ' (FAILED)'} | {s:.0f} | {ratio(s)} |")
    if total is not None: out.append(f'| **whole pipeline** | **{total:.0f}** | **{ratio(total)}** |')
    out.append('')
    out.append(f"Yardstick: `python -c 'import torch'` took {ref:.2f} s (median of 3, measured by the pipeline in the same run), "
               f"on a machine with {os.cpu_count()} CPU cores.")
    nbs = [m.groups() for m in map(NOTEBOOK.match, log.splitlines()) if m]
    if nbs:
        out += ['', '| notebook | code cells | first run, top to bottom (s) | whole check (s) |', '|---|---:|---:|---:|']
        out += [f'| {p} | {n} | {float(a):.0f} | {float(b):.0f} |' for p, n, a, b in nbs]
    return '\n'.join(out)


def main():
    ap = argparse.ArgumentParser(description='Run the pipeline and print a Markdown table of its stage times.')
    ap.add_argument('--log', help='read the log of an earlier pipeline run instead of running it')
    args = ap.parse_args()
    if args.log and not Path(args.log).is_file(): sys.exit(f"error: --log {args.log}: no such file")
    log, rc = (Path(args.log).read_text(), 0) if args.log else run_pipeline()
    table = tables(log)
    if table is None: sys.exit('error: the log holds no yardstick or no stage times (lines "yardstick: ..." and "==> stage NAME passed in Ns")')
    print(table)
    if rc: print(f'\nerror: the pipeline failed (exit status {rc}); the table shows the stages it reached', file=sys.stderr)
    sys.exit(1 if rc else 0)


if __name__ == '__main__': main()
