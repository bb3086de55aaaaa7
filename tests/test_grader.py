"""Tests of the grader's engine against issue 32: each class of mistake that was once called right is planted here
(written from the issue's words, not from the catalogue in test_mistakes.py), and each rule a verdict must keep.

The learner's code is defined the way a notebook defines it: source text run in a namespace of its own.
"""
import io, re, subprocess, sys
from contextlib import redirect_stderr, redirect_stdout

import pytest
import torch

from mnist_linear import checks
from mnist_linear.checks import *

from test_checks import define, run, status as verdict_of     # the learner's code defined as a notebook defines it


def status(out): return verdict_of(out)[1]


MSE = "def mse(preds, targets): return ((preds-targets)**2).mean()"
OPTIM = """
    class BasicOptim:
        def __init__(self, params, lr): self.params, self.lr, self.t = list(params), lr, 0
        def step(self, *args, **kwargs):
            with torch.no_grad():
                for p in self.params: {line}
            self.t += 1
        def zero_grad(self, *args, **kwargs):
            for p in self.params: p.grad = None"""
LEARNER = """
    class BasicLearner:
        def __init__(self, dls, model, opt_func, loss_func, metric):
            self.dls, self.model, self.opt_func, self.loss_func, self.metric = dls, model, opt_func, loss_func, metric
        def fit(self, epochs, lr):
            opt, accs = self.opt_func(self.model.parameters(), lr), []
            for epoch in range(epochs):
                {rebuild}
                for xb, yb in self.dls.train:
                    self.loss_func(self.model(xb), yb).backward()
                    {update}
                    opt.zero_grad()
                with torch.no_grad():
                    n = sum(len(xb) for xb, _ in self.dls.valid)
                    accs.append(sum(self.metric(self.model(xb), yb).item()*len(xb) for xb, yb in self.dls.valid)/n)
            return {result}"""
NET = """
    def make_simple_net(n_hidden=30):
        net = nn.Sequential(nn.Linear(28*28, n_hidden), nn.ReLU(), {second})
        {after}
        return net"""


def learner(rebuild='pass', update='opt.step()', result='accs'):
    return define(LEARNER.format(rebuild=rebuild, update=update, result=result))['BasicLearner']


# ---- 1. What the checks must see ---------------------------------------------------------------------------

@pytest.mark.parametrize('body,changed', [
    ("torch.set_default_dtype(torch.float64)", "default dtype to float64"),
    ("torch.set_grad_enabled(False)", "switches gradients off"),
])
def test_a_change_to_the_notebooks_world_is_wrong_and_put_back(body, changed):
    fn = define(f"def mse(preds, targets):\n    {body}\n    return ((preds-targets)**2).mean()")['mse']
    out = run(check_mse, fn)
    assert status(out) == 'wrong' and changed in out and 'Hint:' in out, out
    assert torch.get_default_dtype() == torch.float32 and torch.is_grad_enabled()


def test_switching_off_requires_grad_of_the_notebooks_weights_is_wrong():
    ns = define("""
        def linear1(xb):
            weights.requires_grad_(False); bias.requires_grad_(False)
            return xb@weights + bias""")
    mine = torch.randn(784, 1).requires_grad_()
    ns['weights'], ns['bias'] = mine, torch.zeros(1).requires_grad_()
    out = run(check_linear1, ns['linear1'])
    assert status(out) == 'wrong' and '`requires_grad`' in out, out
    assert ns['weights'] is mine and mine.requires_grad                         # the caller's tensor, put back


@pytest.mark.parametrize('kind,make', [
    ('rebuilds its optimizer each epoch', lambda: learner(rebuild='opt = self.opt_func(self.model.parameters(), lr)')),
    ('never calls opt.step()', lambda: learner(update='''with torch.no_grad():
                        for p in self.model.parameters(): p -= p.grad*lr''')),
])
def test_a_learner_right_only_with_plain_sgd_is_wrong_with_momentum(kind, make):
    out = run(check_learner, make())
    assert status(out) == 'wrong' and 'momentum' in out, (kind, out)


def test_fit_that_returns_a_tensor_is_wrong():
    out = run(check_learner, learner(result='torch.tensor(accs)'))
    assert status(out) == 'wrong' and 'list of numbers' in out, out


@pytest.mark.parametrize('line,what', [
    ("p -= p.grad*self.lr*0.99**self.t", 'step size changes'),          # the learning rate decays by 1% a step
    ("p -= (p.grad + 1e-4*p)*self.lr", 'weight decay'),                  # a weight decay of 1e-4
])
def test_drift_over_many_steps_is_wrong_under_every_seed(line, what):
    cls = define(OPTIM.format(line=line))['BasicOptim']
    for seed in (None, 1, 2, 7, 1727):
        out = run(check_optim_step, cls, seed=seed)
        assert status(out) == 'wrong' and what in out, (seed, out)


@pytest.mark.parametrize('line', ["p -= p.grad*self.lr", "p.add_(p.grad, alpha=-self.lr)", "p.sub_(self.lr*p.grad)"])
def test_a_step_written_another_right_way_is_right_under_every_seed(line):
    cls = define(OPTIM.format(line=line))['BasicOptim']
    for seed in (None, 1, 1727):
        assert status(run(check_optim_step, cls, seed=seed)) == 'right'


def test_a_sigmoid_that_overflows_is_wrong_where_outputs_are_large():
    naive = """
        def mnist_loss(predictions, targets):
            predictions = torch.exp(predictions)/(1 + torch.exp(predictions))
            return torch.where(targets==1, 1-predictions, predictions).mean()"""
    out = run(check_mnist_loss, define(naive)['mnist_loss'])
    assert status(out) == 'wrong' and 'overflows' in out, out
    acc = """
        def batch_accuracy(xb, yb):
            preds = xb.exp()/(1 + xb.exp())
            return ((preds>0.5) == yb).float().mean()"""
    out = run(check_batch_accuracy, define(acc)['batch_accuracy'])
    assert status(out) == 'wrong' and 'overflows' in out, out
    safe = """
        def mnist_loss(predictions, targets):
            predictions = 1/(1 + torch.exp(-predictions))
            return torch.where(targets==1, 1-predictions, predictions).mean()"""
    assert status(run(check_mnist_loss, define(safe)['mnist_loss'])) == 'right'


@pytest.mark.parametrize('second,after,words', [
    ("nn.Linear(30, 1)", "", "make_simple_net(10)"),                               # hard-coded width, never run at 10
    ("nn.Linear(n_hidden, 1)", "net[0].requires_grad_(False)", "get no gradient"),    # a frozen first layer
    ("nn.Linear(n_hidden, 1)", "net[2].bias.requires_grad_(False)", "get no gradient"),
])
def test_every_part_of_every_net_built_is_run_and_trained(second, after, words):
    out = run(check_make_simple_net, define(NET.format(second=second, after=after))['make_simple_net'])
    assert status(out) == 'wrong' and words in out, out


def test_a_lazy_net_is_the_learners_mistake_not_the_checks():
    lazy = "def make_simple_net(n_hidden=30): return nn.Sequential(nn.LazyLinear(n_hidden), nn.ReLU(), nn.LazyLinear(1))"
    out = run(check_make_simple_net, define(lazy)['make_simple_net'])
    assert status(out) == 'wrong' and 'LazyLinear' in out, out


# ---- 2. Verdicts that never lie ------------------------------------------------------------------------------

def test_a_step_that_resets_the_gradient_first_is_right():
    early = """
        def step(params, lr):
            if params.grad is not None: params.grad.zero_()
            loss = mse(quad(t, params), speed)
            loss.backward()
            with torch.no_grad(): params -= lr * params.grad
            return loss.item()"""
    assert status(run(check_step, define(early)['step'])) == 'right'


def test_an_is_3_with_its_means_as_default_arguments_is_right():
    ns = define("def mnist_distance(a,b): return (a-b).abs().mean((-1,-2))",
                mean3=torch.full((28, 28), 0.3), mean7=torch.full((28, 28), 0.6))
    exec("def is_3(x, mean3=mean3, mean7=mean7): return mnist_distance(x, mean3) < mnist_distance(x, mean7)", ns)
    assert status(run(check_is_3, ns['is_3'])) == 'right'


def test_the_fallback_hint_describes_the_difference():
    out = run(check_mnist_distance, define("def mnist_distance(a,b): return (a-b).abs().mean((-1,-2)).double()")['mnist_distance'])
    assert status(out) == 'right' or 'dtype float64' in out, out
    ignores = define("def mnist_distance(a,b): return (a-mean3).abs().mean((-1,-2))", mean3=torch.rand(28, 28))
    out = run(check_mnist_distance, ignores['mnist_distance'])
    assert status(out) == 'wrong' and 'ignores its argument `b`' in out and 'global `mean3`' in out, out
    order = define("def mnist_distance(a,b): return (a-b).abs().mean((-1,-2)).flip(0)")['mnist_distance']
    out = run(check_mnist_distance, order)
    assert status(out) == 'wrong' and 'in another order' in out, out


@pytest.mark.parametrize('raise_', ["raise SystemExit(1)", "import sys; sys.exit()", "raise GeneratorExit",
                                    "class Odd(BaseException): pass\n    raise Odd('odd')"])
def test_nothing_escapes_a_check(raise_):
    out = run(check_mse, define(f"def mse(preds, targets):\n    {raise_}")['mse'])
    assert status(out) == 'wrong' and len(out.strip().splitlines()) == 2, out


def test_ctrl_c_keeps_its_one_line():
    out = run(check_mse, define("def mse(preds, targets): raise KeyboardInterrupt")['mse'])
    assert status(out) == 'stopped' and len(out.strip().splitlines()) == 1


def test_a_function_that_turns_gradients_off_is_the_learners_not_could_not_be_checked():
    fn = define("""
        @torch.no_grad()
        def linear1(xb): return xb@weights + bias""")['linear1']
    assert status(run(check_linear1, fn)) == 'wrong'
    leaves = define("""
        def linear1(xb):
            torch.set_grad_enabled(False)
            return xb@weights + bias""")['linear1']
    out = run(check_linear1, leaves)
    assert status(out) == 'wrong' and 'could not be checked' not in out, out


@pytest.mark.parametrize('check,imported', [
    (check_mnist_loss, 'from mnist_linear.training import mnist_loss as fn'),
    (check_batch_accuracy, 'from mnist_linear.training import batch_accuracy as fn'),
    (check_softmax, 'from mnist_linear.digits import softmax as fn'),
    (check_optim_step, 'from mnist_linear.optim import BasicOptim as fn'),
    (check_optim_zero_grad, 'from mnist_linear.optim import BasicOptim as fn'),
    (check_make_simple_net, 'from mnist_linear.net import make_simple_net as fn'),
    (check_cross_entropy, 'from torch.nn.functional import cross_entropy as fn'),
    (check_softmax, 'from torch import softmax as fn'),
    (check_mnist_distance, 'from mnist_linear.baseline import mnist_distance as fn'),
])
def test_the_courses_own_function_is_not_the_learners(check, imported):
    fn = define(imported)['fn']
    for seed in (None, 1727):
        out = run(check, fn, seed=seed)
        assert status(out) == 'wrong' and 'not your' in out and 'written in this notebook' in out, out
    sub = define("from mnist_linear.optim import BasicOptim as B\nclass BasicOptim(B): pass")['BasicOptim']
    assert status(run(check_optim_step, sub)) == 'wrong'                  # a subclass that writes nothing of its own


def test_hidden_tests_stay_hidden():
    "Every known mistake of every check, and right code, under a hidden seed: no line names that seed or the lesson's."
    import test_checks, test_checks_new
    cases = [(c, n.split('.')[0], src) for c, n, src, _ in test_checks.CASES + test_checks_new.CASES]
    cases += [(check_make_simple_net, 'make_simple_net', NET.format(second="nn.Linear(n_hidden, 1)", after="")),
              (check_init_params, 'init_params', "def init_params(size, std=1.0): return torch.randn(size).requires_grad_()")]
    for check, obj, src in cases:
        out = run(check, define(src)[obj], seed=1727)
        assert not re.search(r"1727|seed-42|seed 42|set_seed\(42\)|as in the lesson", out), out


def test_the_still_running_notice_never_changes_a_result_even_with_both_cpus_busy(monkeypatch):
    """The notice's path runs for certain: the learner's function waits until the notice has been given. Two
    processes keep both CPUs busy meanwhile. The verdict, its line on stdout and the grade are those of a quiet run."""
    quiet = run(check_mse, define(MSE)['mse'])
    monkeypatch.setattr(checks, 'SLOW_SECONDS', 0.01)
    waits = define("""
        import time
        def mse(preds, targets):
            t0 = time.time()
            while not said['said'] and time.time() - t0 < 30: time.sleep(0.01)
            return ((preds-targets)**2).mean()""", said=checks._slow)['mse']
    busy = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(2)]
    try:
        err = io.StringIO()
        with redirect_stderr(err): loud = run(check_mse, waits)
        monkeypatch.setenv('NBGRADER_EXECUTION', 'autograde')
        with redirect_stderr(io.StringIO()): graded = run(check_mse, waits)            # right: raises nothing
    finally:
        for p in busy: p.kill(); p.wait()
    assert 'still running your `mse`' in err.getvalue()
    assert loud == quiet == graded and status(loud) == 'right', (loud, quiet)


def test_no_notice_where_outputs_are_committed(monkeypatch):
    "The appendices set `SLOW_SECONDS = None`: their committed outputs never hold the notice, however slow the machine."
    monkeypatch.setattr(checks, 'SLOW_SECONDS', None)
    slow = define("import time\ndef mse(preds, targets):\n    time.sleep(0.05)\n    return ((preds-targets)**2).mean()")['mse']
    err = io.StringIO()
    with redirect_stderr(err): out = run(check_mse, slow)
    assert status(out) == 'right' and err.getvalue() == ''
