"""Time `mnist-linear train` cold, against a bare `import torch` measured side by side, and say where the time goes (not a test).

These machines differ in speed by up to 4x from one session to the next, so the figure that travels is
a ratio. Each round starts fresh processes, one after the other: the yardstick
`python -c 'import torch'`, then the console script `mnist-linear train --quiet` (into a temporary
folder) for each model asked for. Both are timed from process start to exit, which for the command
is its final line. The best of the rounds is reported for each, and the ratio of the bests.

The load average is printed with the figures, because the ratio is only fair on an idle machine. On
a busy one torch's OpenMP threads, which by default spin while they wait for work, take the cores
from the threads that have work, and training slows down many times more than importing does
(the pipeline runs with `OMP_NUM_THREADS=1`; `OMP_WAIT_POLICY=PASSIVE` instead makes waiting threads
sleep, bit-identical results, slower when idle, far faster when busy).

A last fresh process per model splits one run into phases, calling the same functions in the same
order as `mnist_linear.cli.train`: imports, data, training, and the rest (baseline, pictures, saving).
Run: python benchmarks/bench_cli.py [--repeat N] [--model linear|net|both]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

BIN = Path(sys.executable).parent
YARDSTICK = [sys.executable, '-c', 'import torch']
TARGET = 2.4   # issue 16: cold start at most 2.4x the yardstick

PHASES = r'''
import json, sys, tempfile, time
from pathlib import Path
model, out, t = sys.argv[1], Path(tempfile.mkdtemp()), {}
t0 = time.perf_counter()
import torch
from fastai.torch_core import set_seed
from mnist_linear.cli import plot_curves, plot_weights
from mnist_linear.data import mnist_3s_7s
from mnist_linear.files import get_mnist_sample
from mnist_linear.baseline import baseline_accuracy
from mnist_linear.training import init_params, train_linear
if model == 'net': from mnist_linear.net import train_net
t['imports'] = time.perf_counter() - t0; t0 = time.perf_counter()
data = mnist_3s_7s(get_mnist_sample())
t['data'] = time.perf_counter() - t0; t0 = time.perf_counter()
rows = []
if model == 'linear':
    _, (w, b) = train_linear(data=data, cb=lambda *r: rows.append(r)); state = {'weights': w.detach(), 'bias': b.detach()}
else:
    accs, _ = train_net(data=data); rows = [(i, 0., a) for i, a in enumerate(accs)]; state = {}
t['training'] = time.perf_counter() - t0; t0 = time.perf_counter()
torch.save(state, out/'model.pt')
plot_curves(rows, out/'curves.png', model)
if model == 'linear':
    set_seed(42); plot_weights(w, init_params((28*28, 1)), out/'weights.png')
baseline_accuracy(data)
t['rest'] = time.perf_counter() - t0
print(json.dumps(t))
'''


def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode: sys.exit(f"error: {' '.join(map(str, cmd))} failed: {r.stderr.strip()[-500:]}")
    return wall, r.stdout.strip()


def phases(model):
    wall, out = timed([sys.executable, '-c', PHASES, model])
    return wall, json.loads(out.splitlines()[-1])


def load(): return os.getloadavg()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeat', type=int, default=5, help='rounds; the best time of each is reported (default 5)')
    ap.add_argument('--model', choices=['linear', 'net', 'both'], default='linear', help='which command to time (default linear)')
    args = ap.parse_args()
    models = ['linear', 'net'] if args.model == 'both' else [args.model]
    print(f"{os.cpu_count()} CPUs; load average {load():.2f} before")
    yard, cold, line = [], {m: [] for m in models}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            yard.append(timed(YARDSTICK)[0])
            for m in models:
                wall, line[m] = timed([str(BIN/'mnist-linear'), 'train', '--model', m, '--quiet', '--out', str(Path(tmp)/f'{m}{i}')])
                cold[m].append(wall)
    y = min(yard)
    print(f"load average {load():.2f} after {args.repeat} rounds")
    print(f"yardstick, python -c 'import torch': best {y:.2f}s, median {statistics.median(yard):.2f}s")
    for m in models:
        c = min(cold[m])
        print(f"mnist-linear train --model {m}: best {c:.2f}s, median {statistics.median(cold[m]):.2f}s, process start to final line; "
              f"{c/y:.2f}x the yardstick" + (f" (target at most {TARGET}x)" if m == 'linear' else ''))
        print(f"  its final line: {line[m]}")
    for m in models:
        wall, ph = phases(m)
        print(f"one run of {m}, by phase: " + ', '.join(f"{k} {v:.2f}s" for k, v in ph.items())
              + f"; interpreter start and exit {wall - sum(ph.values()):.2f}s")


if __name__ == '__main__': main()
