"""Tests of the checks of the new exercises (lessons 00 and 06, and a `BasicLearner` of one's own for lesson 04): the
book-style solution is right, a stub is not done yet, two other correct ways are right, and each known mistake is
wrong with a hint that names it. The learner's code is defined the way a notebook defines it (see test_checks.py)."""
import textwrap

import pytest

from mnist_linear.checks import (check_stack_images, check_flatten_images, check_softmax, check_log_softmax, check_cross_entropy,
                        check_learner)
from mnist_linear.checks import VERDICT
from mnist_linear.training import mnist_loss

from test_checks import assert_never_raises, define, run, status     # the learner's code defined as a notebook defines it


LEARNER_HEAD = """
class BasicLearner:
    def __init__(self, dls, model, opt_func, loss_func, metric):
        self.dls, self.model, self.opt_func, self.loss_func, self.metric = dls, model, opt_func, loss_func, metric
    def fit(self, epochs, lr):
"""

def learner(body):
    "A `BasicLearner` whose `fit` has the body `body` (indented by 8 spaces in the source)."
    return LEARNER_HEAD + textwrap.indent(textwrap.dedent(body), ' '*8)

FIT = """
opt = self.opt_func(self.model.parameters(), lr)
accs = []
for epoch in range(epochs):
    for xb, yb in self.dls.train:
        loss = self.loss_func(self.model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
    with torch.no_grad():
        total, count = 0., 0
        for xb, yb in self.dls.valid:
            total += self.metric(self.model(xb), yb).item() * len(xb)
            count += len(xb)
    accs.append(total / count)
return accs
"""

# The book's way: the lessons' code, as the exercise sources' solutions write it.
from solutions import BOOK

# Other correct ways: each must be right too.
ALT = {
    'stack_images': ["def stack_images(images): return torch.stack(images)/255",
                     "def stack_images(images): return torch.stack([im.to(torch.float32) for im in images]).div(255.)",
                     "def stack_images(images): return torch.stack(images).float()*(1/255)"],
    'flatten_images': ["def flatten_images(x): return x.flatten(1)",
                       "def flatten_images(x): return x.reshape(len(x), -1)",
                       "def flatten_images(x): return nn.Flatten()(x)"],
    'softmax': ["def softmax(x): return torch.softmax(x, dim=-1)",
                """
        def softmax(x):
            m = x.max(-1, keepdim=True)[0].detach()
            e = torch.exp(x - m)
            return e / torch.sum(e, -1, keepdim=True)""",
                "def softmax(x): return (x - x.logsumexp(-1, keepdim=True)).exp()"],
    'log_softmax': ["def log_softmax(x): return x - x.logsumexp(dim=-1, keepdim=True)",
                    "def log_softmax(x): return F.log_softmax(x, dim=-1)",
                    """
        def log_softmax(x):
            m = x.amax(-1, keepdim=True).detach()
            return (x - m) - torch.log(torch.sum(torch.exp(x - m), -1, keepdim=True))"""],
    'cross_entropy': ["def cross_entropy(logits, targets): return F.nll_loss(log_softmax(logits), targets)",
                      """
        def cross_entropy(logits, targets):
            picked = log_softmax(logits).gather(1, targets.unsqueeze(1))
            return -picked.mean()""",
                      "def cross_entropy(logits, targets): return -log_softmax(logits)[:, targets].diag().mean()",
                      """
        def cross_entropy(logits, targets):
            one_hot = F.one_hot(targets, logits.shape[-1])
            return -(log_softmax(logits) * one_hot).sum(dim=1).mean()"""],
    'BasicLearner': [learner("""
        opt = self.opt_func(self.model.parameters(), lr=lr)
        accs = []
        for epoch in range(epochs):
            for xb, yb in self.dls.train:
                opt.zero_grad()
                self.loss_func(self.model(xb), yb).backward()
                opt.step()
            with torch.no_grad():
                preds = [(self.metric(self.model(xb), yb), len(xb)) for xb, yb in self.dls.valid]
            accs.append((sum(a*n for a, n in preds) / sum(n for _, n in preds)).item())
        return accs"""),
        """
class BasicLearner:
    def __init__(self, dls, model, opt_func, loss_func, metric):
        self.dls, self.model, self.opt_func, self.loss_func, self.metric = dls, model, opt_func, loss_func, metric
    def one_batch(self, xb, yb):
        loss = self.loss_func(self.model(xb), yb)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()
    def validate(self):
        self.model.eval()
        n, total = 0, torch.tensor(0.)
        with torch.no_grad():
            for xb, yb in self.dls.valid:
                total = total + self.metric(self.model(xb), yb) * xb.shape[0]
                n += xb.shape[0]
        self.model.train()
        return (total / n).item()
    def fit(self, epochs, lr):
        self.opt = self.opt_func(self.model.parameters(), lr)
        self.accs = []
        for epoch in range(epochs):
            for xb, yb in self.dls.train: self.one_batch(xb, yb)
            self.accs.append(self.validate())
        return self.accs"""],
}

STUBS = {
    'BasicLearner': learner("# YOUR CODE HERE\nraise NotImplementedError()"),
}

# Known mistakes: (source, a phrase of the hint that names the mistake).
WRONG = {
    'stack_images': [
        ("def stack_images(images): return torch.stack(images).float()", "divide by 255"),
        ("def stack_images(images): return torch.stack(images).float()/256", "full ink is exactly 1"),
        ("""
        def stack_images(images):
            s = torch.stack(images).float()
            return s/s.max()""", "not by the largest pixel of these images"),
        ("def stack_images(images): return torch.cat(images).float()/255", "`torch.stack` adds a new first axis"),
        ("def stack_images(images): return torch.tensor(images).float()/255", "`torch.stack(images)` piles them"),
        ("def stack_images(images): return torch.stack(images)//255", "fractions are lost"),
        ("def stack_images(images): return torch.stack(images).double()/255", "float32"),
        ("def stack_images(images): return (torch.stack(images).float()/255).squeeze()", "don't squeeze"),
        ("""
        def stack_images(images):
            for i in range(len(images)): images[i] = images[i].float()/255
            return torch.stack(images)""", "leave the list unchanged"),
        ("""
        def stack_images(images):
            s = torch.stack(images).float()/255
            return (s - s.mean())/s.std()""", "normalises the pixels"),
        ("def stack_images(images): return 1 - torch.stack(images).float()/255", "black and white are swapped"),
        ("def stack_images(images): return torch.stack(images, dim=-1).float()/255", "stacked along another axis"),
        ("def stack_images(images): return (torch.stack(images)/255).long()", "fractions are lost"),
    ],
    'flatten_images': [
        ("def flatten_images(x): return x.view(28*28, -1)", "rows first"),
        ("def flatten_images(x): return x.view(-1)", "one long vector"),
        ("def flatten_images(x): return x.flatten()", "one long vector"),
        ("def flatten_images(x): return x.view(-1, 28)", "a row must hold all 784 pixels"),
        ("def flatten_images(x): return x.transpose(1, 2).reshape(-1, 28*28)", "column order"),
        ("def flatten_images(x): return x.view(-1, 28*28).T", "one column per image"),
        ("def flatten_images(x): return x.view(-1, 28*28)/255", "already between 0 and 1"),
        ("def flatten_images(x): return x.view(-1, 28*28).squeeze()", "don't squeeze"),
        ("def flatten_images(x): return x.resize_(len(x), 28*28)", "don't change `x` in place"),
        ("def flatten_images(x): return x.sum(1)", "keep every pixel"),
        ("def flatten_images(x): return x.flatten(2)", "shape (N, 784)"),
    ],
    'softmax': [
        ("""
        def softmax(x):
            e = x.exp()
            return e / e.sum(dim=-1, keepdim=True)""", "subtract each row's maximum first"),
        ("""
        def softmax(x):
            e = (x - x.max()).exp()
            return e / e.sum(dim=-1, keepdim=True)""", "not the largest number of the whole batch"),
        ("""
        def softmax(x):
            e = (x - x.max(dim=-1, keepdim=True).values).exp()
            return e / e.sum()""", "sum over the whole batch"),
        ("""
        def softmax(x):
            e = (x - x.max(dim=-1, keepdim=True).values).exp()
            return e / e.sum(dim=-1)""", "keepdim=True"),
        ("""
        def softmax(x):
            e = (x - x.max(dim=0, keepdim=True).values).exp()
            return e / e.sum(dim=0, keepdim=True)""", "each column adds up to 1"),
        ("""
        def softmax(x):
            e = (x - x.max(dim=1, keepdim=True).values).exp()
            return e / e.sum(dim=1, keepdim=True)""", "`dim=-1`"),
        ("""
        def softmax(x):
            e = (x - x.max(dim=-1, keepdim=True)).exp()
            return e / e.sum(dim=-1, keepdim=True)""", "take `.values`"),
        ("""
        def softmax(x):
            x -= x.max(dim=-1, keepdim=True).values
            e = x.exp()
            return e / e.sum(dim=-1, keepdim=True)""", "change the caller's tensor in place"),
        ("""
        def softmax(x):
            e = (x - x.max(dim=-1, keepdim=True).values).exp()
            return e / e.sum(dim=-1, keepdim=True).detach()""", "cut off from autograd"),
        ("""
        def softmax(x):
            e = (x.detach() - x.detach().max(dim=-1, keepdim=True).values).exp()
            return e / e.sum(dim=-1, keepdim=True)""", "carry gradients"),
        ("""
        def softmax(x):
            e = (x - x.max(dim=-1, keepdim=True).values).exp_()
            e /= e.sum(dim=-1, keepdim=True)
            return e""", "an in-place operation"),
        ("def softmax(x): return torch.sigmoid(x)", "that is the sigmoid"),
        ("""
        def softmax(x):
            e = (x - x.max(dim=-1).values).exp()
            return e / e.sum(dim=-1, keepdim=True)""", "keepdim=True"),
        ("""
        def softmax(x):
            e = (x - x.mean(dim=-1, keepdim=True)).exp()
            return e / e.sum(dim=-1, keepdim=True)""", "subtract each row's maximum first"),
        ("def softmax(x): return (x - x.max(dim=-1, keepdim=True).values).exp()", "divide each by its row's sum"),
    ],
    'log_softmax': [
        ("def log_softmax(x): return x.softmax(dim=-1).log()", "never take the log of a probability"),
        ("""
        def log_softmax(x):
            e = x.exp()
            return (e / e.sum(dim=-1, keepdim=True)).log()""", "log-sum-exp trick"),
        ("def log_softmax(x): return x - x.exp().sum(dim=-1, keepdim=True).log()", "`exp` overflows"),
        ("""
        def log_softmax(x):
            m = x.max(dim=-1, keepdim=True).values
            return x - (x - m).exp().sum(dim=-1, keepdim=True).log()""", "you left out `m`"),
        ("""
        def log_softmax(x):
            m = x.max(dim=-1, keepdim=True).values
            return x + m - (x - m).exp().sum(dim=-1, keepdim=True).log()""", "`m` has the wrong sign"),
        ("""
        def log_softmax(x):
            m = x.max()
            return x - m - (x - m).exp().sum(dim=-1, keepdim=True).log()""", "each row's own maximum"),
        ("""
        def log_softmax(x):
            m = x.max(dim=-1, keepdim=True).values
            return x - m - (x - m).exp().sum(dim=-1).log()""", "keepdim=True"),
        ("""
        def log_softmax(x):
            m = x.max(dim=0, keepdim=True).values
            return x - m - (x - m).exp().sum(dim=0, keepdim=True).log()""", "`dim=-1`"),
        ("""
        def log_softmax(x):
            m = x.max(dim=-1, keepdim=True).values
            return m + (x - m).exp().sum(dim=-1, keepdim=True).log() - x""", "the sign is flipped"),
        ("def log_softmax(x): return torch.log(softmax(x))", "never take the log of a probability"),
        ("def log_softmax(x): return x - x.logsumexp(dim=-1)", "keepdim=True"),
        ("""
        def log_softmax(x):
            m = x.max(dim=-1, keepdim=True).values
            return x - m - x.exp().sum(dim=-1, keepdim=True).log()""", "take the `exp` of `x - m`"),
        ("""
        def log_softmax(x):
            m = x.max(dim=-1, keepdim=True).values
            return x - m - (x - m).exp().sum(dim=-1, keepdim=True)""", "the log is missing"),
        ("""
        def log_softmax(x):
            m = x.max(dim=-1, keepdim=True).values
            return x - m - torch.log10((x - m).exp().sum(dim=-1, keepdim=True))""", "natural log"),
        ("""
        def log_softmax(x):
            x -= x.max(dim=-1, keepdim=True).values
            return x - x.exp().sum(dim=-1, keepdim=True).log()""", "`x -= m` changes the caller's tensor in place"),
        ("""
        def log_softmax(x):
            m = x.max(dim=-1, keepdim=True).values
            return torch.tensor((x - m - (x - m).exp().sum(dim=-1, keepdim=True).log()).tolist())""", "carry gradients"),
    ],
    'cross_entropy': [
        ("def cross_entropy(logits, targets): return log_softmax(logits)[torch.arange(len(targets)), targets].mean()",
         "the minus sign is missing"),
        ("def cross_entropy(logits, targets): return -log_softmax(logits)[torch.arange(len(targets)), targets].sum()",
         "the sum over the batch"),
        ("def cross_entropy(logits, targets): return -log_softmax(logits)[torch.arange(len(targets)), targets]",
         "finish with `.mean()`"),
        ("def cross_entropy(logits, targets): return -log_softmax(logits)[:, targets].mean()", "an (N, N) table"),
        ("def cross_entropy(logits, targets): return -softmax(logits)[torch.arange(len(targets)), targets].mean()",
         "take its log"),
        ("def cross_entropy(logits, targets): return -softmax(logits)[torch.arange(len(targets)), targets].log().mean()",
         "not `softmax(logits).log()`"),
        ("def cross_entropy(logits, targets): return -logits[torch.arange(len(targets)), targets].mean()",
         "uses the raw logits"),
        ("def cross_entropy(logits, targets): return -log_softmax(logits).mean()", "every class"),
        ("def cross_entropy(logits, targets): return -log_softmax(logits)[torch.arange(len(targets)), targets].mean().item()",
         "no `.item()`"),
        ("def cross_entropy(logits, targets): return -torch.log_softmax(logits, 0)[range(len(targets)), targets].mean()",
         "log-softmax of each column"),
        ("def cross_entropy(logits, targets): return -log_softmax(logits).gather(1, targets).mean()", "targets.unsqueeze(1)"),
        ("def cross_entropy(logits, targets): return -(log_softmax(logits) * targets).sum(1).mean()", "not rows of one-hot"),
        ("def cross_entropy(logits, targets): return F.nll_loss(logits, targets)", "uses the raw logits"),
        ("def cross_entropy(logits, targets): return (1 - softmax(logits)[range(len(targets)), targets]).mean()",
         "`mnist_loss`'s idea"),
        ("""
        def cross_entropy(logits, targets):
            with torch.no_grad(): lsm = log_softmax(logits)
            return -lsm[torch.arange(len(targets)), targets].mean()""", "carry gradients"),
    ],
    'BasicLearner': [
        (learner(FIT.replace("        opt.zero_grad()\n", "")), "never reset"),
        (learner(FIT.replace("        opt.step()\n", "")), "never changed"),
        (learner(FIT.replace("total += self.metric(self.model(xb), yb).item() * len(xb)",
                             "total += self.metric(self.model(xb), yb).item()").replace("count += len(xb)", "count += 1")),
         "each batch counting the same"),
        (learner(FIT.replace("self.dls.train", "self.dls.valid")), "trains on the validation set"),
        (learner(FIT.replace("in self.dls.valid", "in self.dls.train")), "measured on the training set"),
        (learner(FIT.replace("self.opt_func(self.model.parameters(), lr)", "self.opt_func(self.model.parameters(), 1.)")),
         "pass fit's learning rate"),
        (learner(FIT.replace("self.loss_func(", "mnist_loss(")), "the loss function it was given"),
        (learner(FIT.replace("accs.append(total / count)", "accs.append(round(total / count, 4))")), "don't round"),
        (learner(FIT.replace("return accs", "return accs[-1]")), "one per epoch"),
        (learner(FIT.replace("for xb, yb in self.dls.train:", "for xb, yb in dls.train:")), "the loaders it was given"),
        (learner(FIT.replace("        opt.step()\n        opt.zero_grad()\n", "        opt.zero_grad()\n        opt.step()\n")),
         "`opt.zero_grad()` only after the step"),
        (learner(FIT.replace("return accs", "")), "returns nothing"),
        (learner(FIT.replace("for xb, yb in self.dls.train:", "for xb, yb in self.dls:")), "holds two loaders"),
        (learner(FIT.replace("count += len(xb)", "count += self.dls.valid.bs")), "count the images of each batch"),
        (learner(FIT.replace("        loss.backward()\n", "        loss.backward()\n        self.loss_func(self.model(xb), yb).backward()\n")),
         "twice as far"),
        (learner(FIT.replace("accs.append(total / count)", "accs.append(100 * total / count)")), "not a percentage"),
        (learner(FIT.replace("for xb, yb in self.dls.train:", "for xb, yb in list(self.dls.train)[:-1]:")), "was left out"),
        (learner(FIT.replace("loss = self.loss_func(self.model(xb), yb)", "loss = self.loss_func(self.model(xb.view(-1, 28*28)), yb)")),
         "as the loader gives it"),
        (learner(FIT.replace("for xb, yb in self.dls.valid:", "for xb, yb in [(data.valid_x, data.valid_y)]:")), "global `data`"),
    ],
}

CHECKS = [(check_stack_images, 'stack_images', 'stack_images'), (check_flatten_images, 'flatten_images', 'flatten_images'),
          (check_softmax, 'softmax', 'softmax'), (check_log_softmax, 'log_softmax', 'log_softmax'),
          (check_cross_entropy, 'cross_entropy', 'cross_entropy'), (check_learner, 'BasicLearner', 'BasicLearner')]
ids = [c[2] for c in CHECKS]
EXTRA = {'BasicLearner': dict(mnist_loss=mnist_loss)}        # what a lesson 04 notebook has at hand


@pytest.mark.parametrize('check,obj,name', CHECKS, ids=ids)
def test_the_lessons_code_is_right(check, obj, name):
    out = run(check, define(BOOK[obj])[obj])
    assert status(out) == (name, 'right'), out
    assert len(out.strip().splitlines()) == 1, out


@pytest.mark.parametrize('check,obj,name', CHECKS, ids=ids)
def test_another_correct_way_is_right(check, obj, name):
    for src in ALT[obj]:
        out = run(check, define(src)[obj])
        assert status(out) == (name, 'right'), src + '\n' + out


@pytest.mark.parametrize('check,obj,name', CHECKS, ids=ids)
def test_the_lessons_code_is_right_on_other_inputs(check, obj, name):
    "A hidden test's seed changes the inputs; the right code stays right (one seed for the Learner, whose run is slow)."
    for seed in ([1234] if obj == 'BasicLearner' else [1, 7, 1234, 9999]):
        out = run(check, define(BOOK[obj])[obj], seed=seed)
        assert status(out) == (name, 'right'), out


@pytest.mark.parametrize('check,obj,name', CHECKS, ids=ids)
def test_a_stub_is_not_done_yet(check, obj, name):
    src = STUBS.get(obj, f"def {obj}(*args, **kwargs):\n    # YOUR CODE HERE\n    raise NotImplementedError()")
    out = run(check, define(src)[obj])
    assert status(out) == (name, 'not done yet'), out
    assert out.count('\n') == 1 and 'Traceback' not in out


CASES = [(check, name, src, hint) for check, obj, name in CHECKS for src, hint in WRONG[obj]]


def test_every_new_check_has_at_least_six_known_mistakes_and_two_other_right_ways():
    assert all(len(WRONG[obj]) >= 6 and len(ALT[obj]) >= 2 for _, obj, _ in CHECKS)


@pytest.mark.parametrize('check,name,src,hint', CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_a_known_mistake_is_wrong_with_its_hint(check, name, src, hint):
    out = run(check, define(src, **EXTRA.get(name, {}))[name])
    assert status(out) == (name, 'wrong'), out
    assert 'Hint:' in out and hint.lower() in out.lower(), out
    assert 'Traceback' not in out
    assert len(out.strip().splitlines()) <= 2, out


@pytest.mark.parametrize('check,obj,name', CHECKS, ids=ids)
def test_checks_never_raise(check, obj, name):
    assert_never_raises(check, name)


def test_the_new_exercises_are_graded_cells_of_their_sources():
    "Lessons 00 and 06 have exercise sources, and lesson 04's ends with the `BasicLearner` exercise: each check a graded cell."
    import json
    from pathlib import Path
    src = Path(__file__).parent.parent/'exercises'/'solutions'
    want = {'00_data': {'check_stack_images(stack_images)': 1, 'check_flatten_images(flatten_images)': 1},
            '06_all_digits': {'check_softmax(softmax)': 2, 'check_log_softmax(log_softmax)': 3,
                              'check_cross_entropy(cross_entropy)': 2},
            '04_optimizer': {'check_learner(BasicLearner)': 3}}
    for name, calls in want.items():
        cells = json.loads((src/f'{name}.ipynb').read_text())['cells']
        graded = {''.join(c['source']).splitlines()[0]: c['metadata']['nbgrader'].get('points') for c in cells
                  if c['metadata'].get('nbgrader', {}).get('grade')}
        for call, points in calls.items():
            assert graded.get(call) == points, (name, call, graded)
