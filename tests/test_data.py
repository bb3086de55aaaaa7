"Tests of `mnist_linear.data` on the real MNIST_SAMPLE: the tensors every lesson uses, in their fixed order."
import numpy as np
import torch
from PIL import Image

from mnist_linear.data import load_digits, mnist_3s_7s

# --- the real data ---------------------------------------------------------------------------

def test_counts_and_shapes(data):
    assert data.train_x.shape == (6131 + 6265, 784)
    assert data.valid_x.shape == (1010 + 1028, 784)
    assert data.train_y.shape == (12396, 1)
    assert data.valid_y.shape == (2038, 1)


def test_dtype_and_range(data):
    for x in (data.train_x, data.valid_x):
        assert x.dtype == torch.float32
        assert x.min().item() == 0.0 and x.max().item() == 1.0
    # a real digit has ink: no all-blank rows
    assert (data.train_x.sum(1) > 0).all()


def test_label_convention_3s_first(data):
    "1 for a 3, 0 for a 7, 3s first: the book's convention."
    assert data.train_y[:, 0].tolist() == [1]*6131 + [0]*6265
    assert data.valid_y[:, 0].tolist() == [1]*1010 + [0]*1028


def test_every_row_is_what_pil_decodes(sample_path, data):
    "Bit for bit the tensors of the book's way: PIL decodes each sorted file, stack, float, divide by 255."
    for split, x in (('train', data.train_x), ('valid', data.valid_x)):
        files = [f for d in (3, 7) for f in sorted((sample_path/split/str(d)).glob('*.png'))]
        expected = torch.from_numpy(np.stack([np.asarray(Image.open(f)) for f in files])).float()/255
        assert torch.equal(x, expected.view(-1, 784)), split


def test_order_is_the_same_on_every_call(sample_path, data):
    again = mnist_3s_7s(sample_path)
    for a, b in zip(data, again): assert torch.equal(a, b)


def test_load_digits(sample_path):
    x = load_digits(sample_path, 'valid', 7)
    assert x.shape == (1028, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= x.min().item() and x.max().item() <= 1.0
