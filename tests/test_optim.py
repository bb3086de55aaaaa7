"Tests of `mnist_linear.optim`: BasicOptim against PyTorch's and fastai's SGD, train_model_opt, and the Learner's metric."
import pytest
import torch
from torch import nn
from fastai.optimizer import SGD
from fastai.torch_core import set_seed

from mnist_linear.optim import BasicOptim, mnist_learner, train_epoch_opt, train_model_opt
from mnist_linear.training import mnist_dls


def run(data, make_opt, epochs=3, lr=1.):
    "Same init and same batches for every optimizer: seed 42, nn.Linear, the course's loaders."
    set_seed(42)
    model = nn.Linear(28*28, 1)
    dl, valid_dl = mnist_dls(data)
    opt = make_opt(model.parameters(), lr)
    for _ in range(epochs): train_epoch_opt(model, opt, dl)
    return [p.detach().clone() for p in model.parameters()]


@pytest.fixture(scope='module')
def basic_params(data): return run(data, lambda ps, lr: BasicOptim(ps, lr))


def test_basic_optim_steps_like_torch_sgd(data, basic_params):
    torch_params = run(data, lambda ps, lr: torch.optim.SGD(ps, lr=lr))
    for a, b in zip(basic_params, torch_params, strict=True): assert torch.allclose(a, b, atol=1e-6, rtol=0)


def test_basic_optim_steps_like_fastai_sgd(data, basic_params):
    fastai_params = run(data, lambda ps, lr: SGD(ps, lr))
    for a, b in zip(basic_params, fastai_params, strict=True): assert torch.allclose(a, b, atol=1e-6, rtol=0)


def test_basic_optim_step_and_zero_grad():
    p = torch.tensor([1., 2.], requires_grad=True)
    (p*torch.tensor([3., 4.])).sum().backward()
    opt = BasicOptim([p], lr=0.5)
    opt.step()
    assert torch.equal(p.detach(), torch.tensor([1-1.5, 2-2.]))
    opt.zero_grad()
    assert p.grad is None


def test_train_model_linear_20_epochs(data):
    set_seed(42)
    model = nn.Linear(28*28, 1)
    dl, valid_dl = mnist_dls(data)
    accs = train_model_opt(model, 20, BasicOptim(model.parameters(), 1.), dl, valid_dl)
    assert len(accs) == 20
    assert accs[-1] >= 0.96


def test_learner_metric_is_the_exact_per_sample_accuracy(data):
    set_seed(42)
    learn = mnist_learner(nn.Linear(28*28, 1), data)
    with learn.no_bar(), learn.no_logging(): learn.fit(2, lr=1.)
    with torch.no_grad():
        exact = ((learn.model(data.valid_x).sigmoid() > 0.5) == data.valid_y).float().mean().item()
    assert learn.recorder.values[-1][2] == pytest.approx(exact, abs=1e-6)
