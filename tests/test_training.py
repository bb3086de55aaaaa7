"Tests of `mnist_linear.training`: the 20-epoch replay against a golden list, and the pieces of the SGD loop (with `TensorDL`, the loader `mnist_dls` takes from `mnist_linear.files`)."
import json, math, re
from pathlib import Path

import pytest
import torch
from fastai.data.load import DataLoader
from fastai.torch_core import set_seed

from mnist_linear.files import TensorDL
from mnist_linear.training import (batch_accuracy, calc_grad, init_params, make_linear1, mnist_dls, mnist_loss,
                                   train_epoch_dl, train_linear, validate_epoch_dl)

ROOT = Path(__file__).parent.parent
GOLDEN = [float(l) for l in (ROOT/'tests'/'golden'/'linear_sgd_seed42.txt').read_text().splitlines()
          if l.strip() and not l.startswith('#')]

# --- the replay --------------------------------------------------------------------------------

def test_golden_file_has_the_notebook_shape():
    assert len(GOLDEN) == 22  # init, 1 epoch, 20 more


def test_replay_the_notebook_sequence(data):
    "Exactly the notebook's steps, with the book's DataLoader over list(zip(x, y))."
    set_seed(42)
    weights, bias = init_params((28*28, 1)), init_params(1)
    dl = DataLoader(list(zip(data.train_x, data.train_y)), batch_size=256, shuffle=True)
    valid_dl = DataLoader(list(zip(data.valid_x, data.valid_y)), batch_size=256)
    model = make_linear1(weights, bias)
    accs = [validate_epoch_dl(model, valid_dl)]
    for _ in range(21):
        train_epoch_dl(model, 1., (weights, bias), dl)
        accs.append(validate_epoch_dl(model, valid_dl))
    assert accs == GOLDEN
    # a band that holds on any CPU, whatever the last digit
    assert accs[-1] >= 0.96
    assert sum(accs[-5:])/5 > sum(accs[1:6])/5


def test_train_linear_reproduces_the_golden_run(data):
    accs, (weights, bias) = train_linear(epochs=21, data=data)
    assert accs == GOLDEN[1:]
    assert weights.shape == (784, 1) and bias.shape == (1,)


def test_committed_notebook_prints_the_golden_numbers():
    "The committed outputs of nbs/03_sgd.ipynb and the golden file must not drift apart."
    nb = json.loads((ROOT/'nbs'/'03_sgd.ipynb').read_text())
    code = [c for c in nb['cells'] if c['cell_type'] == 'code']
    def output_of(pred):
        cell = next(c for c in code if pred(''.join(c['source'])))
        return ''.join(''.join(o.get('text', '')) or ''.join(o.get('data', {}).get('text/plain', '')) for o in cell['outputs'])
    assert float(output_of(lambda s: s.rstrip().endswith('acc_init'))) == GOLDEN[0]
    assert float(output_of(lambda s: s.rstrip().endswith('acc_1'))) == GOLDEN[1]
    printed = [float(v) for v in output_of(lambda s: s.startswith('# Key result')).split()]
    assert printed == GOLDEN[1:]


def test_same_seed_same_run_different_seed_different_weights(data):
    a_accs, (a_w, a_b) = train_linear(epochs=2, data=data)
    b_accs, (b_w, b_b) = train_linear(epochs=2, data=data)
    assert a_accs == b_accs
    assert torch.equal(a_w, b_w) and torch.equal(a_b, b_b)
    _, (c_w, _) = train_linear(epochs=2, seed=1, data=data)
    assert not torch.equal(a_w, c_w)


def test_train_linear_calls_back_after_every_epoch(data):
    seen = []
    accs, _ = train_linear(epochs=2, data=data, cb=lambda *a: seen.append(a))
    assert [s[0] for s in seen] == [0, 1]
    assert [s[2] for s in seen] == accs
    assert all(isinstance(s[1], float) and 0 < s[1] < 1 for s in seen)

# --- the pieces --------------------------------------------------------------------------------

def test_init_params():
    set_seed(0)
    p = init_params((3, 2), std=0.5)
    assert p.shape == (3, 2) and p.requires_grad and p.is_leaf


def test_mnist_loss_by_hand():
    loss = mnist_loss(torch.tensor([[0.], [2.]]), torch.tensor([[1], [0]]))
    assert math.isclose(loss.item(), (0.5 + torch.sigmoid(torch.tensor(2.)).item())/2, rel_tol=1e-6)


def test_mnist_loss_gradient_through_linear1_is_analytic():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 784, generator=g, dtype=torch.float64)
    y = torch.tensor([[1], [0], [1], [1], [0], [0]])
    w = (torch.randn(784, 1, generator=g, dtype=torch.float64)*0.05).requires_grad_()
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    mnist_loss(make_linear1(w, b)(x), y).backward()
    # d/dz of mean(where(y==1, 1-s(z), s(z))) is s(z)(1-s(z)) * (1 if y==0 else -1) / N
    with torch.no_grad():
        s = torch.sigmoid(x@w + b)
        dz = s*(1-s)*torch.where(y == 1, -1., 1.).double()/len(x)
    assert torch.allclose(w.grad, x.T@dz)
    assert torch.allclose(b.grad, dz.sum(0))


def test_calc_grad_accumulates():
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(4, 784, generator=g), torch.tensor([[1], [0], [0], [1]])
    w, b = init_params((784, 1)), init_params(1)
    model = make_linear1(w, b)
    calc_grad(x, y, model)
    once_w, once_b = w.grad.clone(), b.grad.clone()
    calc_grad(x, y, model)
    assert torch.allclose(w.grad, 2*once_w) and torch.allclose(b.grad, 2*once_b)


def test_batch_accuracy_by_hand():
    acts = torch.tensor([[2.], [-1.], [0.5], [-3.]])     # sigmoid > 0.5 where the activation > 0
    targets = torch.tensor([[1], [1], [0], [0]])
    assert batch_accuracy(acts, targets).item() == 0.5


def test_validate_epoch_averages_batches_unweighted():
    x = torch.tensor([[1.], [-1.], [1.], [1.], [-1.]])   # the model below returns x itself
    y = torch.tensor([[1], [1], [1], [0], [0]])          # correct: 1, 0, 1, 0, 1 -> exactly 0.6
    valid_dl = TensorDL(x, y, bs=2)                        # batches of 2, 2 and an uneven 1
    assert [len(xb) for xb, _ in valid_dl] == [2, 2, 1]
    assert validate_epoch_dl(lambda xb: xb, valid_dl) == round((0.5 + 0.5 + 1.0)/3, 4)   # 0.6667, not 0.6


def test_train_epoch_steps_against_the_gradient():
    x = torch.tensor([[1.], [1.]]); y = torch.tensor([[1], [1]])
    w, b = torch.zeros(1, 1, requires_grad=True), torch.zeros(1, requires_grad=True)
    loss = train_epoch_dl(make_linear1(w, b), 0.5, (w, b), [(x, y)])
    # at z = 0 the loss is 0.5 and dloss/dz = -sigmoid'(0) = -0.25, so each parameter rises by 0.5*0.25
    assert loss == 0.5
    assert torch.allclose(w, torch.tensor([[0.125]])) and torch.allclose(b, torch.tensor([0.125]))
    assert w.grad.abs().sum() == 0 and b.grad.abs().sum() == 0


def test_tensor_dl_gives_the_book_loaders_batches(data):
    x, y = data.valid_x, data.valid_y
    set_seed(3); book = DataLoader(list(zip(x, y)), batch_size=256, shuffle=True)
    set_seed(3); fast = TensorDL(x, y, bs=256, shuffle=True)
    for _ in range(2):
        for (xa, ya), (xf, yf) in zip(book, fast, strict=True):
            assert torch.equal(xa, xf) and torch.equal(ya, yf)


def test_mnist_dls(data):
    dl, valid_dl = mnist_dls(data, bs=100)
    assert dl.shuffle and not valid_dl.shuffle
    assert len(dl) == math.ceil(12396/100) and len(valid_dl) == math.ceil(2038/100)
    xb, yb = next(iter(valid_dl))
    assert torch.equal(xb, data.valid_x[:100]) and torch.equal(yb, data.valid_y[:100])
