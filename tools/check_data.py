"""Make sure MNIST_SAMPLE is installed before the lessons or tests run; print one line either way.

Uses `get_mnist_sample()`, so `MNIST_SAMPLE_ARCHIVE=/path/to/mnist_sample.tgz` installs from a local archive
on first use, and otherwise `untar_data` downloads it. Exits 1 with a one-line message if neither works.
"""
import sys, warnings
warnings.filterwarnings('ignore', message='.*torch.jit.script.*', category=FutureWarning)

from mnist_linear.data import MnistSampleError, check_sample, get_mnist_sample

try:
    path = get_mnist_sample()
    counts = check_sample(path)
except MnistSampleError as e:
    sys.exit(f"error: {e}")
print(f"data: {path} ({', '.join(f'{s}/{d}: {n}' for (s, d), n in counts.items())})")
