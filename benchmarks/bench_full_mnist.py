"""Time installing the full MNIST (mnist_png.tgz) against `tar -xzf`, and decoding its 70,000 PNGs, in one run (not a test).

Lesson 06's targets, measured side by side so that the machine's speed cancels out:
- `install_dataset('mnist', ...)`'s work (`install_archive` with the per-digit counts: tarfile unpacks with
  `filter='data'` into a temporary folder, every check, then the rename into place) against `tar -xzf` on the same archive, each into a fresh folder on the same
  file system, in alternating order, `--repeat` times; the target is at most 3x. Both write 70,000 small
  files, so the file system's speed is most of both times: the CPU-time ratio shows what our checks add;
- the cost per image of decoding all 70,000 PNGs (`mnist_all_digits`) against the cost per image of the
  sample's 14,434 (`mnist_3s_7s`); the target is at most 2x. Almost every full-MNIST PNG stores rows with
  PNG filters, which the sample's do not, so this also checks, once, that the decoded pixels are PIL's.
Run: python benchmarks/bench_full_mnist.py [--archive PATH] [--repeat N]   (PATH default: $MNIST_ARCHIVE)
"""
import os, sys, time

import numpy as np
from PIL import Image

from bench_install import bench_install, report_install, arguments, timed
from mnist_linear.data import mnist_3s_7s
from mnist_linear.digits import mnist_all_digits
from mnist_linear.files import DATASETS, get_mnist, get_mnist_sample, png_files


def pil_pixels(path, split):
    "One split's pixels, PIL file by file, in the package's order (digit by digit, sorted names)."
    return np.stack([np.asarray(Image.open(f)) for d in range(10) for f in png_files(path/split/str(d))]).reshape(-1, 784)


def main():
    args = arguments(__doc__, 'MNIST_ARCHIVE', 3)
    archive, path = args.archive, get_mnist()
    print(f"on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    report_install(archive, args.repeat, path.parent, 'install_dataset',
                   bench_install(archive, args.repeat, path.parent, 'mnist_png', DATASETS['mnist'].counts))

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
    dt, same = timed(lambda: all(np.array_equal((x*255).round().byte().numpy(), pil_pixels(path, split))
                                 for x, split in ((data.train_x, 'training'), (data.valid_x, 'testing'))))
    print(f"  bit-identical to PIL, file by file ({dt:.1f}s): {'yes' if same else 'NO'}")
    if not same: sys.exit("error: mnist_all_digits does not give PIL's pixels")


if __name__ == '__main__': main()
