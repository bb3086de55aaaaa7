"""Time 20 epochs of the linear model two ways, in one process, and print the figures (not a test).

1. the seed-verbatim loop: fastai `DataLoader` over `list(zip(x, y))`, as in fastbook and lesson 03;
2. `train_linear`, whose `TensorDL` gives the same batches by slicing the tensors.

Both start from seed 42 and produce the same accuracies; only the loader differs.
Data loading is done once, before timing. Run: python benchmarks/bench_training.py [--repeat N]
"""
import argparse, os, time

import torch
from fastai.data.load import DataLoader
from fastai.torch_core import set_seed

from mnist_linear.data import mnist_3s_7s
from mnist_linear.training import init_params, make_linear1, train_epoch_dl, train_linear, validate_epoch_dl


def verbatim(data, epochs=20, lr=1., bs=256, seed=42):
    set_seed(seed)
    weights, bias = init_params((28*28, 1)), init_params(1)
    dl = DataLoader(list(zip(data.train_x, data.train_y)), batch_size=bs, shuffle=True)
    valid_dl = DataLoader(list(zip(data.valid_x, data.valid_y)), batch_size=bs)
    model, accs = make_linear1(weights, bias), []
    for _ in range(epochs):
        train_epoch_dl(model, lr, (weights, bias), dl)
        accs.append(validate_epoch_dl(model, valid_dl))
    return accs


def timed(f):
    t = time.perf_counter(); res = f(); return time.perf_counter() - t, res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeat', type=int, default=3, help='runs of each; the best time is reported')
    args = ap.parse_args()
    t, data = timed(mnist_3s_7s)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f} "
          f"(the figures are fair only on an idle machine); loading the data took {t:.2f}s")
    tv = min(timed(lambda: verbatim(data)) for _ in range(args.repeat))
    tt = min(timed(lambda: train_linear(data=data)[0]) for _ in range(args.repeat))
    print(f"seed-verbatim loop (DataLoader over list(zip)): {tv[0]:.3f}s for 20 epochs, final accuracy {tv[1][-1]}")
    print(f"train_linear (TensorDL):                       {tt[0]:.3f}s for 20 epochs, final accuracy {tt[1][-1]}")
    print(f"ratio verbatim/train_linear: {tv[0]/tt[0]:.2f}x; same accuracies every epoch: {tv[1] == tt[1]}")


if __name__ == '__main__': main()
