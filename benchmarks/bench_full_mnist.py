"""Time installing the full MNIST (mnist_png.tgz) against `tar -xzf`, and decoding its 70,000 PNGs, in one run (not a test).

Lesson 06's targets, measured side by side so that the machine's speed cancels out:
- `install_mnist`'s work (`install_archive` with the per-digit counts: every check, then writing the files and
  renaming the folder into place) against `tar -xzf` on the same archive, each into a fresh folder on the same
  file system, in alternating order, `--repeat` times; the target is at most 3x;
- the cost per image of decoding all 70,000 PNGs (`mnist_all_digits`) against the cost per image of the
  sample's 14,434 (`mnist_3s_7s`); the target is at most 2x.
Run: python benchmarks/bench_full_mnist.py [--archive PATH] [--repeat N]   (PATH default: $MNIST_ARCHIVE)
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time, warnings
from pathlib import Path

warnings.filterwarnings('ignore', message='.*torch.jit.script.*', category=FutureWarning)
from mnist_linear.data import get_mnist_sample, install_archive, mnist_3s_7s
from mnist_linear.digits import MNIST_COUNTS, get_mnist, mnist_all_digits


def timed(f):
    t = time.perf_counter(); r = f(); return time.perf_counter() - t, r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--archive', default=os.environ.get('MNIST_ARCHIVE'), help='mnist_png.tgz (default: $MNIST_ARCHIVE)')
    ap.add_argument('--repeat', type=int, default=3, help='rounds of each (default 3)')
    args = ap.parse_args()
    if not args.archive: sys.exit("error: say which archive: --archive PATH or MNIST_ARCHIVE=PATH")
    archive = Path(args.archive).expanduser()
    if not archive.is_file(): sys.exit(f"error: archive {archive} does not exist or is not a file")
    if args.repeat < 1: sys.exit("error: --repeat must be at least 1")
    path = get_mnist()
    print(f"on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

    tar, ours = [], []
    for i in range(args.repeat):
        runs = [('tar', lambda d: subprocess.run(['tar', '-xzf', str(archive), '-C', str(d)], check=True)),
                ('install', lambda d: install_archive(archive, 'mnist_png', MNIST_COUNTS, dest=d/'mnist_png'))]
        for name, run in (runs if i % 2 == 0 else runs[::-1]):
            d = Path(tempfile.mkdtemp(prefix='.bench-full-', dir=path.parent))
            try:
                dt, _ = timed(lambda: run(d))
                (tar if name == 'tar' else ours).append(dt)
                if len(list((d/'mnist_png'/'testing'/'7').iterdir())) != 1028: sys.exit(f"error: {name} did not unpack the archive")
            finally: shutil.rmtree(d)
    med = statistics.median
    print(f"installing {archive.name} ({archive.stat().st_size/2**20:.1f} MiB), {args.repeat} rounds:")
    print(f"  tar -xzf                       median {med(tar):.2f}s, best {min(tar):.2f}s")
    print(f"  install_mnist (every check)    median {med(ours):.2f}s, best {min(ours):.2f}s")
    print(f"  ratio install/tar: {med([o/t for o, t in zip(ours, tar)]):.1f}x (median of the rounds), "
          f"{min(ours)/min(tar):.1f}x (bests); target at most 3x")

    full, sample = [], []
    sample_path = get_mnist_sample()
    for _ in range(args.repeat):
        dt, data = timed(lambda: mnist_all_digits(path)); full.append(dt)
        dt, s = timed(lambda: mnist_3s_7s(sample_path)); sample.append(dt)
    n_full, n_sample = len(data.train_x) + len(data.valid_x), len(s.train_x) + len(s.valid_x)
    per_full, per_sample = min(full)/n_full*1e6, min(sample)/n_sample*1e6
    print(f"decoding (best of {args.repeat}): all {n_full:,} PNGs {min(full):.2f}s ({per_full:.1f} us each); "
          f"the sample's {n_sample:,} {min(sample):.2f}s ({per_sample:.1f} us each)")
    print(f"  ratio per image, full/sample: {per_full/per_sample:.2f}x; target at most 2x")


if __name__ == '__main__': main()
