"Tests of `mnist_linear.digits` on the real full MNIST: counts, softmax and cross-entropy, the golden replay, the installer."
import gzip, io, json, re, tarfile
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from fastai.torch_core import set_seed

from mnist_linear.digits import (cross_entropy, digits_accuracy, log_softmax, mnist_all_digits, softmax, train_all_digits,
                                 train_epoch_loss, validate_digits)
from mnist_linear.files import DATASETS, MnistSampleError, dataset_dir, get_mnist, install_archive, install_dataset
from mnist_linear.training import init_params, make_linear1, mnist_dls

ROOT = Path(__file__).parent.parent
MNIST_COUNTS = DATASETS['mnist'].counts
GOLDEN = [float(l) for l in (ROOT/'tests'/'golden'/'all_digits_linear_seed42.txt').read_text().splitlines()
          if l.strip() and not l.startswith('#')]


@pytest.fixture(scope='module')
def digits():
    "The real full MNIST as tensors, decoded once for this module. Missing data is a failure, never a skip."
    return mnist_all_digits()


@pytest.fixture
def one_thread():
    "Run on one thread, as the pipeline runs the lessons, so that the last digit does not depend on the core count."
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

# --- data --------------------------------------------------------------------------------------

def test_data_counts_shapes_and_dtypes(digits):
    train = [MNIST_COUNTS['training', str(d)] for d in range(10)]
    valid = [MNIST_COUNTS['testing', str(d)] for d in range(10)]
    assert train == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert valid == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert torch.bincount(digits.train_y).tolist() == train and torch.bincount(digits.valid_y).tolist() == valid
    assert digits.train_x.shape == (60000, 784) and digits.valid_x.shape == (10000, 784)
    assert digits.train_y.shape == (60000,) and digits.train_y.dtype == torch.int64
    assert digits.train_x.dtype == torch.float32
    assert 0 <= digits.train_x.min() and digits.train_x.max() <= 1 and digits.train_x.max() == 1


def test_labels_sorted_by_digit_and_images_in_file_order(digits):
    assert (digits.train_y[1:] >= digits.train_y[:-1]).all()
    path = get_mnist()
    import numpy as np
    from PIL import Image
    first_seven = sorted((path/'training'/'7').glob('*.png'))[0]
    i = sum(MNIST_COUNTS['training', str(d)] for d in range(7))
    expected = torch.from_numpy(np.array(Image.open(first_seven), dtype=np.float32)).view(-1)/255
    assert torch.equal(digits.train_x[i], expected) and digits.train_y[i] == 7


def test_the_sample_is_a_slice_of_the_full_set(digits, data):
    "MNIST_SAMPLE's 3s and 7s are the full set's, in the same order."
    threes = digits.train_x[digits.train_y == 3]
    assert torch.equal(threes, data.train_x[:len(threes)])
    sevens = digits.valid_x[digits.valid_y == 7]
    assert torch.equal(sevens, data.valid_x[-len(sevens):])


def test_get_mnist_is_the_installed_folder():
    assert get_mnist() == dataset_dir('mnist') and dataset_dir('mnist').name == 'mnist_png'

# --- softmax and cross-entropy -----------------------------------------------------------------

def test_softmax_rows_sum_to_one_and_match_torch():
    set_seed(0)
    x = torch.randn(32, 10)*5
    assert torch.allclose(softmax(x), torch.softmax(x, dim=1), atol=1e-6)
    assert torch.allclose(softmax(x).sum(dim=1), torch.ones(32))
    assert torch.allclose(log_softmax(x), torch.log_softmax(x, dim=1), atol=1e-5)


def test_cross_entropy_equals_pytorch_on_random_logits():
    set_seed(1)
    for n, c in [(1, 2), (64, 10), (256, 10), (7, 3)]:
        logits, targets = torch.randn(n, c)*3, torch.randint(0, c, (n,))
        assert torch.allclose(cross_entropy(logits, targets), F.cross_entropy(logits, targets), atol=1e-6)


def test_cross_entropy_equals_pytorch_on_extreme_logits():
    set_seed(2)
    logits, targets = torch.randn(64, 10)*1e4, torch.randint(0, 10, (64,))
    ours, theirs = cross_entropy(logits, targets), F.cross_entropy(logits, targets)
    assert torch.isfinite(ours) and torch.allclose(ours, theirs, rtol=1e-5)
    sure = torch.full((2, 10), -1e30); sure[0, 3] = sure[1, 5] = 1e30
    assert cross_entropy(sure, torch.tensor([3, 5])) == 0 == F.cross_entropy(sure, torch.tensor([3, 5]))
    assert torch.isfinite(log_softmax(sure)).all() and torch.equal(softmax(sure).sum(dim=1), torch.ones(2))


def test_cross_entropy_gradient_equals_pytorch():
    set_seed(3)
    a = (torch.randn(16, 10)*50).requires_grad_()
    b = a.detach().clone().requires_grad_()
    targets = torch.randint(0, 10, (16,))
    cross_entropy(a, targets).backward(); F.cross_entropy(b, targets).backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-6)


def test_digits_accuracy():
    preds = torch.tensor([[0., 1, 2], [5, 1, 0], [0, 9, 1], [1, 0, 0]])
    assert digits_accuracy(preds, torch.tensor([2, 0, 2, 0])).item() == 0.75

# --- the lesson's run --------------------------------------------------------------------------

def test_golden_file_has_the_lesson_shape():
    assert len(GOLDEN) == 10


def test_replay_the_lesson_steps(digits, one_thread):
    "The lesson's walkthrough, step by step, for the first two epochs."
    set_seed(42)
    w, b = init_params((28*28, 10), std=0.01), init_params(10, std=0.01)
    dl, _ = mnist_dls(digits)
    model = make_linear1(w, b)
    accs = []
    for _ in range(2):
        train_epoch_loss(model, 1., (w, b), dl)
        accs.append(validate_digits(model, digits.valid_x, digits.valid_y))
    assert accs == GOLDEN[:2]


def test_train_all_digits_reproduces_the_golden_run(digits, one_thread):
    accs, (weights, bias) = train_all_digits(data=digits)
    assert accs == GOLDEN
    assert weights.shape == (784, 10) and bias.shape == (10,)
    assert accs[-1] >= 0.91      # a band that holds on any CPU, whatever the last digit


def test_committed_notebook_prints_the_golden_numbers():
    "The committed outputs of nbs/06_all_digits.ipynb and the golden file must not drift apart."
    nb = json.loads((ROOT/'nbs'/'06_all_digits.ipynb').read_text())
    code = lambda c: re.sub(r'^#\|.*\n', '', ''.join(c['source']), flags=re.M)        # without its `#|` lines
    cell = next(c for c in nb['cells'] if c['cell_type'] == 'code' and code(c).startswith('# Key result: the linear'))
    text = ''.join(''.join(o.get('text', '')) for o in cell['outputs'])
    assert [float(v) for v in text.splitlines()[0].split()] == GOLDEN


def test_same_seed_same_run_other_seed_other_weights(digits):
    a_accs, (a_w, a_b) = train_all_digits(epochs=1, data=digits)
    b_accs, (b_w, b_b) = train_all_digits(epochs=1, data=digits)
    c_accs, (c_w, _) = train_all_digits(epochs=1, data=digits, seed=7)
    assert a_accs == b_accs and torch.equal(a_w, b_w) and torch.equal(a_b, b_b)
    assert not torch.equal(a_w, c_w)


def test_callback_sees_every_epoch(digits):
    seen = []
    accs, _ = train_all_digits(epochs=2, data=digits, cb=lambda e, loss, acc: seen.append((e, acc)))
    assert [e for e, _ in seen] == [0, 1] and [a for _, a in seen] == accs

# --- the installer -----------------------------------------------------------------------------

def _tgz(tmp_path, members) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tf:
        for name, data in members:
            ti = tarfile.TarInfo(name); ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    p = tmp_path/'mnist_png.tgz'
    p.write_bytes(gzip.compress(buf.getvalue(), compresslevel=1))
    return p


def test_install_mnist_refuses_a_bad_archive_and_leaves_the_data_alone(tmp_path):
    "Cheap archives with one real PNG each, installed over the real full MNIST: every refusal leaves it as it was."
    dest = dataset_dir('mnist')
    before = sorted(p.name for p in dest.iterdir())
    png = next((dest/'training'/'0').iterdir()).read_bytes()
    small = {('training', '0'): 1}
    with pytest.raises(MnistSampleError, match='refusing to install'):
        install_archive(_tgz(tmp_path, [('../evil.png', png)]), 'mnist_png', small, dest=dest)
    with pytest.raises(MnistSampleError, match='training/0 holds 2 PNG images, expected 1; refusing to install'):
        install_archive(_tgz(tmp_path, [('mnist_png/training/0/1.png', png), ('mnist_png/training/0/2.png', png)]), 'mnist_png', small, dest=dest)
    with pytest.raises(MnistSampleError, match='training/0/1.png is truncated; refusing to install'):
        install_archive(_tgz(tmp_path, [('mnist_png/training/0/1.png', png[:50])]), 'mnist_png', small, dest=dest)
    with pytest.raises(MnistSampleError, match='training/0 holds 1 PNG images, expected 5923'):
        install_dataset('mnist', _tgz(tmp_path, [('mnist_png/training/0/1.png', png)]))
    with pytest.raises(MnistSampleError, match='does not exist'):
        install_dataset('mnist', tmp_path/'missing.tgz')
    assert sorted(p.name for p in dest.iterdir()) == before
    assert sorted(p.name for p in dest.parent.iterdir() if p.name.startswith('.mnist_png')) == [], 'no temporary folder is left'
    assert len(list((dest/'training'/'0').iterdir())) == 5923
