"""Tests of `mnist_linear.checks`: every check says "right" for the lessons' code, "not done yet" for a stub, and
names the mistake, with its own hint, for at least three wrong implementations drawn from the mistakes learners make.

The learner's functions are defined the way a notebook defines them: source text run in a namespace of its own,
so that a book-style function reads its globals (`weights`, `dl`, `mean3`...) from there, as in an exercise notebook.
"""
import io, json, os, random, re, textwrap
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import torch

from mnist_linear import checks, checks_00_02, checks_03
from mnist_linear.checks import *
from mnist_linear.files import MnistSampleError

ROOT = Path(__file__).parent.parent
PRELUDE = "import torch\nfrom torch import nn, tensor\nimport torch.nn.functional as F\nfrom fastai.torch_core import set_seed\n"


def define(src, **names):
    "Run `src` like a notebook cell, in a fresh namespace holding `names`; return the namespace."
    ns = dict(names)
    exec(PRELUDE + textwrap.dedent(src), ns)
    return ns


run = verdict      # what `check(fn)` prints; a check that raises fails the test right here


def status(out):
    m = VERDICT.match(out)
    assert m, f"no verdict line in {out!r}"
    return m['name'], m['status']


# The lessons' own code, as the exercise sources' solutions write it.
from solutions import BOOK

# check, the name of the learner's object, the name its verdict starts with
CHECKS = [
    (check_mnist_distance, 'mnist_distance', 'mnist_distance'), (check_is_3, 'is_3', 'is_3'),
    (check_mse, 'mse', 'mse'), (check_step, 'step', 'step'),
    (check_init_params, 'init_params', 'init_params'), (check_linear1, 'linear1', 'linear1'),
    (check_mnist_loss, 'mnist_loss', 'mnist_loss'), (check_calc_grad, 'calc_grad', 'calc_grad'),
    (check_train_epoch, 'train_epoch', 'train_epoch'), (check_batch_accuracy, 'batch_accuracy', 'batch_accuracy'),
    (check_validate_epoch, 'validate_epoch', 'validate_epoch'),
    (check_optim_step, 'BasicOptim', 'BasicOptim.step'), (check_optim_zero_grad, 'BasicOptim', 'BasicOptim.zero_grad'),
    (check_simple_net, 'simple_net', 'simple_net'), (check_make_simple_net, 'make_simple_net', 'make_simple_net'),
]
ids = [c[2] for c in CHECKS]


@pytest.mark.parametrize('check,obj,name', CHECKS, ids=ids)
def test_the_lessons_code_is_right(check, obj, name):
    out = run(check, define(BOOK[obj])[obj])
    assert status(out) == (name, 'right'), out
    assert len(out.strip().splitlines()) == 1, out


STUBS = {
    'BasicOptim': """
        class BasicOptim:
            def __init__(self, params, lr): self.params, self.lr = list(params), lr
            def step(self, *args, **kwargs):
                # YOUR CODE HERE
                raise NotImplementedError()
            def zero_grad(self, *args, **kwargs):
                # YOUR CODE HERE
                raise NotImplementedError()""",
}


@pytest.mark.parametrize('check,obj,name', CHECKS, ids=ids)
def test_a_stub_is_not_done_yet(check, obj, name):
    src = STUBS.get(obj, f"def {obj}(*args, **kwargs):\n    # YOUR CODE HERE\n    raise NotImplementedError()")
    out = run(check, define(src)[obj])
    assert status(out) == (name, 'not done yet'), out
    assert out.count('\n') == 1 and 'Traceback' not in out


# Wrong implementations: (object name, source, a phrase of the hint that names this mistake).
WRONG = {
    'mnist_distance': [
        ("def mnist_distance(a,b): return (a-b).abs().mean()", "Average over the last two axes only"),
        ("def mnist_distance(a,b): return (a-b).mean((-1,-2))", "take `.abs()` before the mean"),
        ("def mnist_distance(a,b): return ((a-b)**2).mean((-1,-2)).sqrt()", "root mean squared error"),
        ("def mnist_distance(a,b): return (a-b).abs().mean((1,2))", "name the axes from the end"),
    ],
    'is_3': [
        ("def is_3(x): return mnist_distance(x,mean3) > mnist_distance(x,mean7)", "the other way round"),
        ("def is_3(x): return mnist_distance(x,mean3) - mnist_distance(x,mean7)", "return the comparison itself"),
        ("def is_3(x): return mnist_distance(x,mean3).mean() < mnist_distance(x,mean7).mean()", "one True/False per image"),
    ],
    'mse': [
        ("def mse(preds, targets): return ((preds-targets)**2).mean().sqrt()", "square root of the mean squared error"),
        ("def mse(preds, targets): return (preds-targets).abs().mean()", "mean absolute difference"),
        ("def mse(preds, targets): return (preds-targets)**2", "must be a single number"),
        ("def mse(preds, targets): return ((preds-targets)**2).mean().item()", "no `.item()`"),
    ],
    'step': [
        ("""
        def step(params, lr):
            loss = mse(quad(t, params), speed)
            loss.backward()
            params -= lr * params.grad
            params.grad.zero_()
            return loss.item()""", "inside `with torch.no_grad():`"),
        ("""
        def step(params, lr):
            loss = mse(quad(t, params), speed)
            loss.backward()
            with torch.no_grad(): params = params - lr * params.grad
            return loss.item()""", "only rebinds the name"),
        ("""
        def step(params, lr):
            loss = mse(quad(t, params), speed)
            loss.backward()
            with torch.no_grad(): params -= lr * params.grad
            return loss.item()""", "reset the gradient"),
        ("""
        def step(params, lr):
            loss = mse(quad(t, params), speed)
            loss.backward()
            with torch.no_grad(): params += lr * params.grad
            params.grad.zero_()
            return loss.item()""", "went uphill"),
        ("""
        def step(params, lr):
            mse(quad(t, params), speed).backward()
            with torch.no_grad(): params -= lr * params.grad
            params.grad.zero_()
            return mse(quad(t, params), speed).item()""", "loss measured before the update"),
    ],
    'init_params': [
        ("def init_params(size, std=1.0): return torch.randn(size)*std", "finish with `.requires_grad_()`"),
        ("def init_params(size, std=1.0): return torch.randn(size, requires_grad=True)*std", "is not a leaf"),
        ("def init_params(size, std=1.0): return torch.randn(size).requires_grad_()", "`std` is ignored"),
        ("def init_params(size, std=1.0): return (torch.rand(size)*std).requires_grad_()", "standard normal"),
    ],
    'linear1': [
        ("def linear1(xb): return xb@weights", "the bias is missing"),
        ("def linear1(xb): return xb*weights + bias", "with `@`"),
        ("def linear1(xb): return (xb@weights + bias).sigmoid()", "the sigmoid belongs in the loss"),
        ("def linear1(xb): return xb@weights.data + bias.data", "no gradient"),
    ],
    'mnist_loss': [
        ("""
        def mnist_loss(predictions, targets):
            return torch.where(targets==1, 1-predictions, predictions).mean()""", "apply `.sigmoid()`"),
        ("""
        def mnist_loss(predictions, targets):
            predictions = predictions.sigmoid()
            return torch.where(targets==1, 1-predictions, predictions)""", "finish with `.mean()`"),
        ("""
        def mnist_loss(predictions, targets):
            predictions = predictions.sigmoid()
            return torch.where(targets.squeeze()==1, 1-predictions, predictions).mean()""", "(3, 3) table"),
        ("""
        def mnist_loss(predictions, targets):
            predictions = predictions.sigmoid()
            return torch.where(targets==1, predictions, 1-predictions).mean()""", "branches of `torch.where` are swapped"),
        ("""
        def mnist_loss(predictions, targets):
            predictions = predictions.sigmoid()
            return torch.where(targets==1, 1-predictions, predictions).sum()""", "the sum over the batch"),
    ],
    'calc_grad': [
        ("""
        def calc_grad(xb, yb, model):
            loss = mnist_loss(model(xb), yb)""", "call `loss.backward()`"),
        ("""
        def calc_grad(xb, yb, model):
            loss = mnist_loss(linear1(xb), yb)
            loss.backward()""", "use the `model` it was given"),
        ("""
        def calc_grad(xb, yb, model):
            with torch.no_grad(): loss = mnist_loss(model(xb), yb)
            loss.backward()""", "compute the loss outside `torch.no_grad()`"),
        ("""
        def calc_grad(xb, yb, model):
            mnist_loss(model(xb), yb).backward()
            mnist_loss(model(xb), yb).backward()""", "call `loss.backward()` once"),
    ],
    'train_epoch': [
        ("""
        def train_epoch(model, lr, params):
            for xb,yb in dl:
                calc_grad(xb, yb, model)
                with torch.no_grad():
                    for p in params: p -= p.grad*lr""", "never reset"),
        ("""
        def train_epoch(model, lr, params):
            for xb,yb in dl:
                calc_grad(xb, yb, model)
                for p in params:
                    p -= p.grad*lr
                    p.grad.zero_()""", "inside `with torch.no_grad():`"),
        ("""
        def train_epoch(model, lr, params):
            for xb,yb in dl:
                calc_grad(xb, yb, model)
                with torch.no_grad():
                    for p in params:
                        p = p - p.grad*lr
                        p.grad.zero_()""", "only rebinds the name"),
        ("""
        def train_epoch(model, lr, params):
            for xb,yb in dl:
                calc_grad(xb, yb, model)
                with torch.no_grad():
                    for p in params:
                        p = p - p.grad*lr""", "only rebinds the name"),
        ("""
        def train_epoch(model, lr, params):
            for xb,yb in dl:
                calc_grad(xb, yb, model)
                with torch.no_grad():
                    for p in params:
                        p += p.grad*lr
                        p.grad.zero_()""", "the steps go uphill"),
        ("""
        def train_epoch(model, lr, params):
            for xb,yb in dl:
                calc_grad(xb, yb, model)
                with torch.no_grad():
                    for p in (weights, bias):
                        p -= p.grad*lr
                        p.grad.zero_()""", "changed the global `weights` and `bias`"),
    ],
    'batch_accuracy': [
        ("""
        def batch_accuracy(xb, yb):
            return ((xb.sigmoid()>0) == yb).float().mean()""", "every prediction is above 0"),
        ("""
        def batch_accuracy(xb, yb):
            return ((xb>0.5) == yb).float().mean()""", "apply `.sigmoid()` first"),
        ("""
        def batch_accuracy(xb, yb):
            return ((xb.sigmoid()>0.5) == yb).mean()""", "booleans have no mean"),
        ("""
        def batch_accuracy(xb, yb):
            return ((xb.sigmoid()>0.5).flatten() == yb).float().mean()""", "table of every pair"),
        ("""
        def batch_accuracy(xb, yb):
            return ((xb.sigmoid()>0.5) == yb).float().mean().item()""", "no `.item()`"),
    ],
    'validate_epoch': [
        ("""
        def validate_epoch(model):
            train_epoch(model, 1., None)
            accs = [batch_accuracy(model(xb), yb) for xb,yb in valid_dl]
            return round(torch.stack(accs).mean().item(), 4)""", "must only measure, never train"),
        ("""
        def validate_epoch(model):
            accs = []
            for xb,yb in valid_dl:
                mnist_loss(model(xb), yb).backward()
                accs.append(batch_accuracy(model(xb), yb))
            return round(torch.stack(accs).mean().item(), 4)""", "leaves gradients behind"),
        ("""
        def validate_epoch(model):
            xs, ys = zip(*valid_dl)
            return round(batch_accuracy(model(torch.cat(xs)), torch.cat(ys)).item(), 4)""", "each batch counting the same"),
        ("""
        def validate_epoch(model):
            accs = [batch_accuracy(model(xb), yb) for xb,yb in valid_dl]
            return torch.stack(accs).mean().item()""", "`round(..., 4)`"),
        ("""
        def validate_epoch(model):
            accs = [batch_accuracy(model(xb), yb) for xb,yb in valid_dl]
            return torch.stack(accs).mean()""", "`.item()`"),
    ],
    'BasicOptim.step': [
        ("""
        class BasicOptim:
            def __init__(self,params,lr): self.params,self.lr = list(params),lr
            def step(self, *args, **kwargs):
                for p in self.params: p -= p.grad * self.lr""", "inside `with torch.no_grad():`"),
        ("""
        class BasicOptim:
            def __init__(self,params,lr): self.params,self.lr = list(params),lr
            def step(self, *args, **kwargs):
                with torch.no_grad():
                    for p in self.params: p = p - p.grad * self.lr""", "only rebinds the name"),
        ("""
        class BasicOptim:
            def __init__(self,params,lr): self.params,self.lr = list(params),lr
            def step(self, *args, **kwargs):
                with torch.no_grad():
                    for p in self.params: p -= p.grad""", "ignores the learning rate"),
        ("""
        class BasicOptim:
            def __init__(self,params,lr): self.params,self.lr = list(params),lr
            def step(self, *args, **kwargs):
                with torch.no_grad():
                    for p in self.params: p += p.grad * self.lr""", "the step goes uphill"),
    ],
    'BasicOptim.zero_grad': [
        ("""
        class BasicOptim:
            def __init__(self,params,lr): self.params,self.lr = list(params),lr
            def zero_grad(self, *args, **kwargs):
                for p in self.params: p.grad""", "are still there"),
        ("""
        class BasicOptim:
            def __init__(self,params,lr): self.params,self.lr = list(params),lr
            def zero_grad(self, *args, **kwargs):
                for p in self.params: p.data.zero_()""", "changed the parameters themselves"),
        ("""
        class BasicOptim:
            def __init__(self,params,lr): self.params,self.lr = list(params),lr
            def zero_grad(self, *args, **kwargs):
                for p in self.params: p.grad = 0""", "a tensor or None"),
        ("""
        class BasicOptim:
            def __init__(self,params,lr): self.params,self.lr = list(params),lr
            def zero_grad(self, *args, **kwargs):
                self.params = []""", "leave `self.params` as it is"),
    ],
    'simple_net': [
        ("""
        def simple_net(xb):
            res = xb@w1 + b1
            return res@w2 + b2""", "there is no ReLU between the layers"),
        ("""
        def simple_net(xb):
            res = xb@w1 + b1
            res = res.max(0)
            return res@w2 + b2""", "`res.max(0)` takes the largest value"),
        ("""
        def simple_net(xb):
            res = (xb@w1 + b1).max(tensor(0.0))
            return (res@w2 + b2).max(tensor(0.0))""", "the ReLU is applied to the output as well"),
        ("""
        def simple_net(xb):
            res = (xb@w1).max(tensor(0.0))
            return res@w2 + b2""", "bias `b1` is missing"),
    ],
    'make_simple_net': [
        ("""
        def make_simple_net(n_hidden=30):
            return nn.Sequential(nn.Linear(28*28, n_hidden), nn.Linear(n_hidden, 1))""", "there is no ReLU"),
        ("""
        def make_simple_net(n_hidden=30):
            return nn.Sequential(nn.Linear(28*28, 30), nn.ReLU(), nn.Linear(30, 1))""", "use the `n_hidden` argument"),
        ("""
        def make_simple_net(n_hidden=30):
            return nn.Sequential(nn.Linear(28*28, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 1), nn.Sigmoid())""",
         "`mnist_loss` applies the sigmoid"),
        ("""
        def make_simple_net(n_hidden=30):
            return nn.Sequential(nn.Linear(28*28, n_hidden), F.relu, nn.Linear(n_hidden, 1))""", "not the function `F.relu`"),
    ],
}

CASES = [(check, name, src, hint) for check, obj, name in CHECKS for src, hint in WRONG[name]]


def test_every_check_has_at_least_three_known_mistakes():
    assert {name for _, _, name in CHECKS} == set(WRONG)
    assert all(len(WRONG[name]) >= 3 for name in WRONG)


@pytest.mark.parametrize('check,name,src,hint', CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_a_known_mistake_is_wrong_with_its_hint(check, name, src, hint):
    obj = name.split('.')[0]
    out = run(check, define(src)[obj])
    assert status(out) == (name, 'wrong'), out
    assert 'Hint:' in out and hint.lower() in out.lower(), out
    assert 'Traceback' not in out
    assert len(out.strip().splitlines()) <= 3, out


# The SGD notebook's final run, built from book-style functions; a wrong one makes it miss the lesson's numbers.
SGD_RUN = """
from mnist_linear.training import mnist_dls
def sgd_run(epochs=21, lr=1.):
    global weights, bias, dl, valid_dl
    set_seed(42)
    weights, bias = init_params((28*28,1)), init_params(1)
    dl, valid_dl = mnist_dls(data)
    accs = []
    for _ in range(epochs):
        train_epoch(linear1, lr, (weights, bias))
        accs.append(validate_epoch(linear1))
    return accs
"""
SGD_PARTS = ['init_params', 'linear1', 'mnist_loss', 'calc_grad', 'train_epoch', 'batch_accuracy', 'validate_epoch']


def sgd_namespace(data, **replace):
    srcs = [replace.get(name, BOOK[name]) for name in SGD_PARTS]
    return define('\n'.join(textwrap.dedent(s) for s in srcs) + SGD_RUN, data=data)


def test_sgd_run_with_the_lessons_code_reproduces_the_lesson(data):
    out = run(check_sgd_run, sgd_namespace(data)['sgd_run'])
    assert status(out) == ('sgd_run', 'right'), out
    accs = checks._lesson_run()
    assert f"{accs[0]} after one epoch and {accs[-1]} after 21" in out


@pytest.mark.parametrize('part,src', [
    ('train_epoch', WRONG['train_epoch'][0][0]),          # gradients never reset
    ('batch_accuracy', WRONG['batch_accuracy'][0][0]),    # thresholded at 0 after the sigmoid
    ('validate_epoch', WRONG['validate_epoch'][2][0]),    # the accuracy over all images, not per batch
], ids=['no-reset', 'threshold-0', 'exact-accuracy'])
def test_sgd_run_with_a_mistake_misses_the_lesson_and_names_the_function(data, part, src):
    out = run(check_sgd_run, sgd_namespace(data, **{part: src})['sgd_run'])
    assert status(out) == ('sgd_run', 'wrong'), out
    assert re.search(r'after 1 epoch: [\d.]+ vs [\d.]+', out), out
    assert f"Hint: Your `{part}` is where to look: `check_{part}` says it is wrong." in out, out


def test_while_grading_the_diagnosis_of_sgd_run_raises_only_its_own_verdict(data, monkeypatch):
    "The checks that `check_sgd_run` runs to find the culprit never raise themselves: one verdict, one CheckFailed."
    monkeypatch.setenv('NBGRADER_EXECUTION', 'autograde')
    buf = io.StringIO()
    with redirect_stdout(buf), pytest.raises(checks.CheckFailed, match='sgd_run is wrong'):
        check_sgd_run(sgd_namespace(data, train_epoch=WRONG['train_epoch'][0][0])['sgd_run'])
    assert "Your `train_epoch` is where to look" in buf.getvalue() and len(buf.getvalue().splitlines()) == 2
    assert os.environ['NBGRADER_EXECUTION'] == 'autograde' and checks._inner['depth'] == 0


def test_sgd_run_that_raises_names_the_function_too(data):
    out = run(check_sgd_run, sgd_namespace(data, linear1="def linear1(xb): return xb@weights + bias.item()")['sgd_run'])
    assert status(out) == ('sgd_run', 'wrong') and "Your `linear1` is where to look" in out, out


def test_sgd_run_not_done_names_the_first_unfinished_function(data):
    stub = "def init_params(size, std=1.0):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    out = run(check_sgd_run, sgd_namespace(data, init_params=stub)['sgd_run'])
    assert out == "sgd_run: not done yet (init_params still raises NotImplementedError).\n"


def test_not_done_names_a_method():
    out = run(check_optim_step, define(STUBS['BasicOptim'])['BasicOptim'])
    assert out == "BasicOptim.step: not done yet (it still raises NotImplementedError).\n"


def assert_never_raises(check, name):
    "Not a function, a function that raises, a function that returns text: a verdict each time, never an exception."
    for fn in (None, 42, define("def f(*args, **kwargs): raise ValueError('boom')")['f'],
               define("def f(*args, **kwargs): return 'text'")['f']):
        out = run(check, fn)
        assert status(out) == (name, 'wrong'), out
        assert 'Traceback' not in out


@pytest.mark.parametrize('check,obj,name', CHECKS, ids=ids)
def test_checks_never_raise(check, obj, name):
    assert_never_raises(check, name)


def test_an_exception_is_reported_by_type_and_message_and_debug_adds_the_traceback():
    boom = define("""
        def mnist_loss(predictions, targets):
            raise ValueError('boom')""")['mnist_loss']
    out = run(check_mnist_loss, boom)
    assert out.splitlines()[0] == ("mnist_loss: wrong. mnist_loss((3, 1) float32, (3, 1) int64) raised ValueError: boom")
    assert 'debug=True' in out and 'Traceback' not in out
    out = run(check_mnist_loss, boom, debug=True)
    assert 'Traceback (most recent call last)' in out and out.rstrip().endswith('ValueError: boom')
    assert 'in mnist_loss' in out                    # the learner's own function is in the traceback


def test_a_check_that_cannot_run_says_so(monkeypatch):
    def missing(): raise MnistSampleError("MNIST_SAMPLE is not installed")
    monkeypatch.setattr(checks_03, '_data', missing)
    out = run(check_linear1, define(BOOK['linear1'])['linear1'])
    assert out == "linear1: could not be checked: MnistSampleError: MNIST_SAMPLE is not installed\n"
    assert VERDICT.match(out) is None                # so tools/exercises.py --run counts it as a failure
    monkeypatch.setenv('NBGRADER_EXECUTION', 'autograde')      # grading: no points, and the learner is not blamed
    buf = io.StringIO()
    with redirect_stdout(buf), pytest.raises(checks.CheckFailed) as e: check_linear1(define(BOOK['linear1'])['linear1'])
    assert buf.getvalue() == out and 'could not be checked' in str(e.value) and 'is wrong' not in str(e.value)


def test_lent_globals_are_put_back_even_when_the_learners_code_fails():
    ns = define("def linear1(xb): return xb@weights + bias", weights='mine')
    run(check_linear1, ns['linear1'])
    assert ns['weights'] == 'mine' and 'bias' not in ns
    ns = define(WRONG['train_epoch'][1][0], dl='my loader', calc_grad='mine')     # raises inside the check
    run(check_train_epoch, ns['train_epoch'])
    assert ns['dl'] == 'my loader' and ns['calc_grad'] == 'mine' and 'mnist_loss' not in ns


def test_checks_leave_the_random_state_alone():
    random.seed(3); torch.manual_seed(3)
    before = random.getstate(), torch.get_rng_state()
    run(check_init_params, define(BOOK['init_params'])['init_params'])
    run(check_train_epoch, define(BOOK['train_epoch'])['train_epoch'])
    assert random.getstate() == before[0] and torch.equal(torch.get_rng_state(), before[1])


@pytest.mark.parametrize('check,obj,name', CHECKS, ids=ids)
def test_the_lessons_code_is_right_on_the_hidden_tests_inputs(check, obj, name):
    "`seed=` draws other toy inputs (nbgrader's hidden tests use it); the lessons' code stays right on them."
    for seed in (5, 1234):
        out = run(check, define(BOOK[obj])[obj], seed=seed)
        assert status(out) == (name, 'right'), (seed, out)


def test_a_hard_coded_run_passes_the_visible_check_but_not_the_hidden_one(data):
    "The lesson's 21 accuracies typed in: the hidden test's other epochs and learning rate catch it."
    want = list(checks._lesson_run())
    fake = define(f"def sgd_run(epochs=21, lr=1.): return {want!r}")['sgd_run']
    assert status(run(check_sgd_run, fake)) == ('sgd_run', 'right')
    assert status(run(check_sgd_run, fake, seed=1937)) == ('sgd_run', 'wrong')
    const = define("def validate_epoch(model): return 0.5476")['validate_epoch']     # lesson 03's first number
    assert status(run(check_validate_epoch, const)) == ('validate_epoch', 'wrong')


def test_the_toy_inputs_tell_the_known_mistakes_apart():
    "Each known mistake in batch_accuracy gives its own number on the toy batch, so each gets its own hint."
    raw, yb = torch.tensor(checks_03._ACC_RAW)[:, None], torch.tensor(checks_03._ACC_TARGETS)[:, None]
    right = checks_03._ref_accuracy(raw, yb)
    results = [r for r, _ in checks_03._acc_mistakes(raw, yb) if r.dim() == 0]
    same = [r for r in results if abs(r.item() - right.item()) < 1e-6]
    assert len(same) == 1                # rounding to 4 places, which only the real data shows (its own test)
    results = [right] + [r for r in results if abs(r.item() - right.item()) >= 1e-6]
    assert len({round(r.item(), 4) for r in results}) == len(results)
    # validate_epoch's toy batches: rounding, cutting off, the all-images accuracy and each prefix differ
    ks, ns = (3, 6, 4, 2), (7, 7, 7, 3)
    accs = [k/n for k, n in zip(ks, ns)]
    mean = sum(accs)/len(accs)
    others = [int(mean*1e4)/1e4, sum(ks)/sum(ns)] + [sum(accs[:i])/i for i in range(1, 4)]
    assert all(abs(round(mean, 4) - o) > 5e-5 for o in others)
    batches = checks_03._score_batches(ks, ns)
    assert [int(((x > 0) == y).sum()) for x, y in batches] == list(ks)


def test_a_check_returns_nothing_so_a_cell_shows_only_its_verdict():
    buf = io.StringIO()
    with redirect_stdout(buf): result = check_mse(define(BOOK['mse'])['mse'])
    assert result is None and status(buf.getvalue()) == ('mse', 'right')


def test_while_nbgrader_grades_a_check_that_is_not_right_raises_after_its_verdict(monkeypatch):
    monkeypatch.setenv('NBGRADER_EXECUTION', 'autograde')
    assert run(check_mse, define(BOOK['mse'])['mse']).startswith('mse: right.')       # right: nothing raised
    buf = io.StringIO()
    wrong = define("def mse(preds, targets): return ((preds-targets)**2).sum()")['mse']
    with redirect_stdout(buf), pytest.raises(checks.CheckFailed) as e: check_mse(wrong)
    assert status(buf.getvalue()) == ('mse', 'wrong') and 'Hint:' in buf.getvalue()
    assert isinstance(e.value, AssertionError) and e.value._render_traceback_() == [
        "CheckFailed: mse is wrong, so this test cell scores no points."]
    stub = define("def mse(preds, targets): raise NotImplementedError()")['mse']
    with redirect_stdout(io.StringIO()), pytest.raises(checks.CheckFailed, match='not done yet'): check_mse(stub)
    monkeypatch.delenv('NBGRADER_EXECUTION')
    assert status(run(check_mse, wrong)) == ('mse', 'wrong')                           # a learner's run: no exception


def test_a_slow_function_gets_a_line_saying_the_check_still_runs_it(monkeypatch):
    monkeypatch.setattr(checks, 'SLOW_SECONDS', 0.2)
    slow = define("""
        import time
        def mse(preds, targets):
            time.sleep(0.5)
            return ((preds-targets)**2).mean()""")['mse']
    err = io.StringIO()
    with redirect_stderr(err): out = run(check_mse, slow)
    assert err.getvalue().count('still running your `mse`') == 1, err.getvalue()   # said once, not once per call
    assert status(out) == ('mse', 'right') and 'still running' not in out          # on stderr: the verdict is the first line
    with redirect_stderr(err): assert 'still running' not in run(check_mse, define(BOOK['mse'])['mse'])


def test_ctrl_c_in_the_learners_code_stops_the_check_with_one_line(monkeypatch):
    stuck = define("def mse(preds, targets): raise KeyboardInterrupt")['mse']
    out = run(check_mse, stuck)
    assert status(out) == ('mse', 'stopped') and len(out.strip().splitlines()) == 1, out
    assert 'Traceback' not in out
    monkeypatch.setenv('NBGRADER_EXECUTION', 'autograde')
    with redirect_stdout(io.StringIO()), pytest.raises(checks.CheckFailed, match='stopped'): check_mse(stuck)


def test_package_modules_hold_no_solution_markers():
    markers = ['BEGIN ' + 'SOLUTION', 'END ' + 'SOLUTION']
    mods = sorted((ROOT/'mnist_linear').glob('*.py'))
    assert any(p.name == 'checks.py' for p in mods)
    for p in mods:
        text = p.read_text()
        assert not any(m in text for m in markers), f"{p.name} contains a solution marker"


def test_rollercoaster_data_is_lesson_02s():
    "The check's rollercoaster is the lesson's: the same first loss and one step, as lesson 02 printed them."
    nb = json.loads((ROOT/'nbs'/'02_gradients.ipynb').read_text())
    printed = '\n'.join(''.join(o.get('text', '')) for c in nb['cells'] if c['cell_type'] == 'code' for o in c['outputs'])
    m = re.search(r'after  0 steps: loss +([\d.]+)\nafter  1 steps: loss +([\d.]+)', printed)
    assert m, "lesson 02 no longer prints the loss before and after its first step"
    t, speed = rollercoaster_data()
    params = checks_00_02._params0().requires_grad_()
    before = checks_00_02._ref_step(params, 1e-5, t, speed)
    after = checks_00_02._ref_mse(checks_00_02._quad(t, params), speed).item()
    assert (f"{before:.1f}", f"{after:.1f}") == m.groups()


# ---------------------------------------------------------------- the exercise notebooks and tools/exercises.py

import shutil, subprocess, sys
import nbformat
from conftest import run_main

TOOL = ROOT/'tools'/'exercises.py'
SOURCES = sorted((ROOT/'exercises'/'solutions').glob('[0-9][0-9]_*.ipynb'))
MARKS = ('### BEGIN ' + 'SOLUTION', '### END ' + 'SOLUTION')


def tool(*args, **kwargs):
    "tools/exercises.py as a separate process, as the pipeline runs it."
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=300, **kwargs)


def tool_here(*args):
    "tools/exercises.py's `main(args)` in this process (conftest's `run_main`)."
    import importlib.util
    spec = importlib.util.spec_from_file_location('exercises_tool', TOOL)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return run_main(mod.main, list(args))


def test_an_exercise_notebook_per_lesson_with_the_issues_exercises():
    assert [p.name for p in SOURCES] == ['00_data.ipynb', '01_pixel_similarity.ipynb', '02_gradients.ipynb', '03_sgd.ipynb',
                                         '04_optimizer.ipynb', '05_neural_net.ipynb', '06_all_digits.ipynb']
    calls = ' '.join(c.source for p in SOURCES for c in nbformat.read(p, as_version=4).cells if c.cell_type == 'code')
    for fn in ['mnist_distance', 'is_3', 'mse', 'step', 'init_params', 'linear1', 'mnist_loss', 'calc_grad', 'train_epoch',
               'batch_accuracy', 'validate_epoch', 'sgd_run', 'simple_net', 'make_simple_net', 'stack_images',
               'flatten_images', 'softmax', 'log_softmax', 'cross_entropy']:
        assert f"check_{fn}({fn})" in calls, fn
    assert 'check_optim_step(BasicOptim)' in calls and 'check_optim_zero_grad(BasicOptim)' in calls
    assert 'check_learner(BasicLearner)' in calls


def test_the_learners_editions_are_in_sync():
    r = tool('--check')
    assert r.returncode == 0, r.stdout + r.stderr
    assert '7 exercise notebooks' in r.stdout


@pytest.mark.parametrize('src', SOURCES, ids=[p.stem for p in SOURCES])
def test_a_learners_edition_has_a_stub_for_each_solution_and_no_solution_code(src):
    source = nbformat.read(src, as_version=4)
    edition = nbformat.read(src.parent.parent/src.name, as_version=4)
    assert [c.cell_type for c in source.cells] == [c.cell_type for c in edition.cells]
    for s, e in zip(source.cells, edition.cells):
        regions = re.findall(r'### BEGIN SOLUTION\n(.*?)\n *### END SOLUTION', s.source, re.S)
        assert not any(m in e.source for m in MARKS)
        if e.cell_type == 'code':
            assert e.source.count('# YOUR CODE HERE\n') == e.source.count('raise NotImplementedError()') == len(regions)
        if regions: assert s.metadata['nbgrader']['solution'] is True
        for region in regions:
            for line in region.splitlines(): assert line not in e.source.splitlines(), line
        hidden = re.findall(r'\n?### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS', s.source, re.S)
        for block in hidden:
            for line in block.strip().splitlines(): assert line not in e.source.splitlines(), line
        if not regions: assert re.sub(r'\n?### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS', '', s.source, flags=re.S) == e.source
        if e.cell_type == 'code': assert e.outputs == [] and e.execution_count is None


def test_a_stale_unclean_or_orphan_notebook_fails_the_check(tmp_path):
    shutil.copytree(ROOT/'exercises', tmp_path/'exercises')
    ed = tmp_path/'exercises'/'02_gradients.ipynb'
    ed.write_text(ed.read_text().replace('raise NotImplementedError()', 'pass'))
    src = tmp_path/'exercises'/'solutions'/'04_optimizer.ipynb'
    nb = json.loads(src.read_text())
    nb['cells'][0]['metadata']['collapsed'] = True                    # metadata noise that nbdev-clean removes
    src.write_text(json.dumps(nb, indent=1))
    shutil.copy(tmp_path/'exercises'/'01_pixel_similarity.ipynb', tmp_path/'exercises'/'09_extra.ipynb')
    r = tool_here('--check', '--root', str(tmp_path))
    assert r.returncode == 1
    assert 'exercises/02_gradients.ipynb is stale' in r.stdout
    assert 'exercises/solutions/04_optimizer.ipynb is not clean' in r.stdout
    assert 'exercises/09_extra.ipynb has no source' in r.stdout
    r = tool_here('--root', str(tmp_path))                               # regenerate: cleans the source, rewrites the edition
    assert r.returncode == 1 and 'exercises/09_extra.ipynb has no source' in r.stdout
    (tmp_path/'exercises'/'09_extra.ipynb').unlink()
    r = tool_here('--check', '--root', str(tmp_path))
    assert r.returncode == 0, r.stdout
    assert ed.read_text() == (ROOT/'exercises'/'02_gradients.ipynb').read_text()
    assert src.read_text() == (ROOT/'exercises'/'solutions'/'04_optimizer.ipynb').read_text()


def test_a_solution_outside_a_solution_cell_is_refused(tmp_path):
    shutil.copytree(ROOT/'exercises', tmp_path/'exercises')
    src = tmp_path/'exercises'/'solutions'/'01_pixel_similarity.ipynb'
    nb = json.loads(src.read_text())
    cell = next(c for c in nb['cells'] if MARKS[0] in ''.join(c['source']))
    del cell['metadata']['nbgrader']
    src.write_text(json.dumps(nb, indent=1))
    r = tool_here('--check', '--root', str(tmp_path))
    assert r.returncode == 1 and 'is not marked as a solution cell' in r.stdout


@pytest.mark.parametrize('args', [['--bogus'], ['--check', '--run'], ['--workers', '0', '--run'], ['--root', '/no/such/dir']])
def test_bad_input_gets_one_line_on_stderr(args):
    r = tool(*args) if args == ["--bogus"] else tool_here(*args)      # one real process; the rest in this one
    assert r.returncode == 2 and r.stdout == ''
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith('error: ') and 'Traceback' not in r.stderr


# nbgrader's generate_assignment releasing exactly our editions: tests/test_grading.py, in its grading flow.


def test_every_section_an_exercise_points_to_is_a_heading_of_its_lesson():
    for src in SOURCES:
        headings = {l.lstrip('#').strip() for c in nbformat.read(ROOT/'nbs'/src.name, as_version=4).cells
                    if c.cell_type == 'markdown' for l in c.source.splitlines() if l.startswith('#')}
        text = '\n'.join(c.source for c in nbformat.read(src, as_version=4).cells if c.cell_type == 'markdown')
        refs = [r for sentence in re.findall(r'Reread (.*?)(?:\.\s|\.$)', text.replace('\n', ' '), re.S)
                for r in re.findall(r'\*([^*]+)\*', sentence)]
        assert refs, src.name
        missing = [r for r in refs if r not in headings]
        assert not missing, f"{src.name} points to sections that lesson {src.stem} does not have: {missing}"
