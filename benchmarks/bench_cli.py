"""Time `mnist-linear train` cold, from process start to its final line, and say where the time goes (not a test).

For each model it runs the real console script in a fresh process (`--quiet`, into a temporary folder) and
reports the wall time. To split it up, it also times, each in a fresh process: the imports the command needs,
decoding the PNGs (`mnist_3s_7s`), and the training call alone. What remains is the baseline, plots and saving.
Run: python benchmarks/bench_cli.py [--repeat N]
"""
import argparse, json, subprocess, sys, tempfile, time
from pathlib import Path

BIN = Path(sys.executable).parent

PHASES = r'''
import json, time, warnings
warnings.filterwarnings('ignore', message='.*torch.jit.script.*', category=FutureWarning)
t0 = time.perf_counter()
import torch
from mnist_linear.data import get_mnist_sample, mnist_3s_7s
from mnist_linear.baseline import baseline_accuracy
from mnist_linear.training import train_linear
if MODEL == 'net': from mnist_linear.net import train_net
t1 = time.perf_counter()
data = mnist_3s_7s(get_mnist_sample())
t2 = time.perf_counter()
if MODEL == 'linear': train_linear(data=data)
else: train_net(data=data)
t3 = time.perf_counter()
print(json.dumps(dict(imports=t1-t0, data=t2-t1, training=t3-t2)))
'''


def cold(model, out):
    t = time.perf_counter()
    r = subprocess.run([str(BIN/'mnist-linear'), 'train', '--model', model, '--quiet', '--out', str(out)], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode: sys.exit(f"error: mnist-linear train --model {model} failed: {r.stderr.strip()}")
    return wall, r.stdout.strip()


def phases(model):
    r = subprocess.run([sys.executable, '-c', f"MODEL={model!r}\n" + PHASES], capture_output=True, text=True)
    if r.returncode: sys.exit(f"error: timing the phases failed: {r.stderr.strip()[-500:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeat', type=int, default=1, help='cold runs per model; the best is reported')
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for model in ('linear', 'net'):
            runs = [cold(model, Path(tmp)/f'{model}{i}') for i in range(args.repeat)]
            wall, line = min(runs)
            ph = phases(model)
            rest = wall - sum(ph.values())
            print(f"mnist-linear train --model {model}: {wall:.1f}s cold, process start to final line")
            print(f"  imports {ph['imports']:.1f}s, data {ph['data']:.1f}s, training {ph['training']:.1f}s, "
                  f"the rest (interpreter start, baseline, plots, saving) {rest:.1f}s")
            print(f"  its final line: {line}")


if __name__ == '__main__': main()
