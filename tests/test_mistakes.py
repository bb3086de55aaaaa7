"""A catalogue of the implementations a learner might write for each exercise, and what its check must say.

Each WRONG entry is a realistic mistake: the check must call it wrong, with a hint that names the mistake (one of
the entry's keywords), in at most three lines and without a traceback. Each RIGHT entry differs from the model
solution but follows the exercise's own instructions: the check must call it right, in one line.

The catalogue was written from the exercises, the lessons and the reference modules, without reading the checks,
so that it is not tuned to them. Every implementation is defined in a fresh namespace, as a learner's cell would
define it, and handed to the check; the check lends the globals it reads (`weights`, `dl`, `mean3`, ...)."""
import contextlib, io, os
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import pytest

from solutions import BOOK

from mnist_linear.checks import (VERDICT, check_batch_accuracy, check_calc_grad, check_init_params, check_is_3,
                                 check_linear1, check_make_simple_net, check_mnist_distance, check_mnist_loss, check_mse,
                                 check_optim_step, check_optim_zero_grad, check_sgd_run, check_simple_net, check_step,
                                 check_train_epoch, check_validate_epoch,
                                 check_stack_images, check_flatten_images, check_learner, check_softmax,
                                 check_log_softmax, check_cross_entropy)

PRELUDE = ("import torch\nfrom torch import nn, tensor\nimport torch.nn.functional as F\n"
           "from fastai.torch_core import set_seed\n")

# check -> (the name the learner's cell defines, the name in the verdict line)
CHECKS = {
    check_mnist_distance: ('mnist_distance', 'mnist_distance'), check_is_3: ('is_3', 'is_3'),
    check_mse: ('mse', 'mse'), check_step: ('step', 'step'),
    check_init_params: ('init_params', 'init_params'), check_linear1: ('linear1', 'linear1'),
    check_mnist_loss: ('mnist_loss', 'mnist_loss'), check_calc_grad: ('calc_grad', 'calc_grad'),
    check_train_epoch: ('train_epoch', 'train_epoch'), check_batch_accuracy: ('batch_accuracy', 'batch_accuracy'),
    check_validate_epoch: ('validate_epoch', 'validate_epoch'), check_sgd_run: ('sgd_run', 'sgd_run'),
    check_optim_step: ('BasicOptim', 'BasicOptim.step'), check_optim_zero_grad: ('BasicOptim', 'BasicOptim.zero_grad'),
    check_simple_net: ('simple_net', 'simple_net'), check_make_simple_net: ('make_simple_net', 'make_simple_net'),
    check_stack_images: ('stack_images', 'stack_images'), check_flatten_images: ('flatten_images', 'flatten_images'),
    check_learner: ('BasicLearner', 'BasicLearner'), check_softmax: ('softmax', 'softmax'),
    check_log_softmax: ('log_softmax', 'log_softmax'), check_cross_entropy: ('cross_entropy', 'cross_entropy'),
}


@dataclass
class Entry:
    check: object
    slug: str
    why: str
    src: str
    keys: tuple = ()       # for a WRONG entry: a good hint holds at least one of these (case-insensitive)
    env: tuple = ()        # notebook globals the cell's namespace holds besides the prelude: 'data', 'dl'
    seed: int = None       # run the check as a hidden test does, `check(fn, seed=...)`

    @property
    def id(self): return f"{self.check.__name__.removeprefix('check_')}-{self.slug}"


WRONG, RIGHT = [], []

def wrong(check, slug, why, keys, src, env=(), seed=None):
    assert 1 <= len(keys) <= 3 and all(k == k.lower() for k in keys), slug
    WRONG.append(Entry(check, slug, why, src, tuple(keys), tuple(env), seed))

def right(check, slug, why, src, env=()):
    RIGHT.append(Entry(check, slug, why, src, (), tuple(env)))


@lru_cache(maxsize=None)
def _data():
    from mnist_linear.data import mnist_3s_7s
    return mnist_3s_7s()

def _env(names):
    "The notebook's globals that a cell may read besides its own definitions."
    from fastai.torch_core import set_seed
    from mnist_linear.training import mnist_dls
    env = {}
    if 'data' in names: env['data'] = _data()
    if 'dl' in names:
        set_seed(42)
        env['dl'], env['valid_dl'] = mnist_dls(_data())
    return env

def define(entry):
    "Run the entry's cell in a fresh namespace, as a notebook would, and return what it defines."
    ns = _env(entry.env)
    exec(compile(PRELUDE + entry.src, f'<{entry.id}>', 'exec'), ns)
    return ns[CHECKS[entry.check][0]]

def run_check(entry):
    "The check's printed output (stdout and stderr) for the entry, as a learner's notebook shows it (not nbgrader's)."
    obj, buf = define(entry), io.StringIO()
    grading = os.environ.pop('NBGRADER_EXECUTION', None)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            if entry.seed is None: entry.check(obj)
            else: entry.check(obj, seed=entry.seed)
    finally:
        if grading is not None: os.environ['NBGRADER_EXECUTION'] = grading
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# Lesson 01: mnist_distance(a, b), is_3(x)

IN_PLACE = ('in place', 'in-place', 'unchanged')
NO_GRAD = ('gradient', 'backward', 'detach')
AXES = ('axes', 'axis', 'last two')
ONE_IMAGE = ('one image', 'single', 'shape')

C = check_mnist_distance
wrong(C, 'no-axes', 'mean over every axis: one number for a whole stack', AXES,
      "def mnist_distance(a, b): return (a-b).abs().mean()")
wrong(C, 'first-axes', 'mean over the first two axes: right for two images, wrong for a stack', AXES,
      "def mnist_distance(a, b): return (a-b).abs().mean((0,1))")
wrong(C, 'axes-1-2', 'axes 1 and 2: right for a stack, fails for one image', ('axes', 'axis', 'one image'),
      "def mnist_distance(a, b): return (a-b).abs().mean((1,2))")
wrong(C, 'squared', 'squared differences instead of absolute ones', ('absolute', 'abs', 'squar'),
      "def mnist_distance(a, b): return ((a-b)**2).mean((-1,-2))")
wrong(C, 'rmse', "the root mean squared error, the lesson's other distance", ('absolute', 'squar', 'root'),
      "def mnist_distance(a, b): return ((a-b)**2).mean((-1,-2)).sqrt()")
wrong(C, 'abs-after-mean', 'the absolute value of the mean difference: dark and light pixels cancel',
      ('absolute', 'abs', 'before'),
      "def mnist_distance(a, b): return (a-b).mean((-1,-2)).abs()")
wrong(C, 'sum', 'a sum over the pixels instead of a mean', ('mean', 'sum'),
      "def mnist_distance(a, b): return (a-b).abs().sum((-1,-2))")
wrong(C, 'keepdim', 'keepdim=True: shape (N, 1, 1) instead of (N,)', ('shape', 'keepdim'),
      "def mnist_distance(a, b): return (a-b).abs().mean((-1,-2), keepdim=True)")
wrong(C, 'l1-loss', "F.l1_loss, which the lesson shows for two images, averages a whole stack into one number",
      AXES,
      "def mnist_distance(a, b): return F.l1_loss(a, b)")
wrong(C, 'loop-over-a', 'a loop over the first axis: right for a stack, rows of one image for a single image', ONE_IMAGE,
      "def mnist_distance(a, b): return torch.stack([(x-b).abs().mean() for x in a])")
wrong(C, 'flat-rows', 'flattened to rows of 784: shape (1,) for one image instead of ()', ONE_IMAGE,
      "def mnist_distance(a, b): return (a-b).abs().view(-1, 28*28).mean(1)")
wrong(C, 'sub-in-place', '`a -= b` overwrites the stack the lesson passes in', IN_PLACE,
      "def mnist_distance(a, b):\n    a -= b\n    return a.abs().mean((-1,-2))")
wrong(C, 'sub_-abs_', 'sub_ and abs_ overwrite the first argument', IN_PLACE,
      "def mnist_distance(a, b): return a.sub_(b).abs_().mean((-1,-2))")
wrong(C, 'tolist', 'a Python list (or float) instead of a tensor', ('tensor', 'list'),
      "def mnist_distance(a, b): return (a-b).abs().mean((-1,-2)).tolist()")
wrong(C, 'no-return', 'the distance computed but not returned', ('return', 'none'),
      "def mnist_distance(a, b):\n    (a-b).abs().mean((-1,-2))")
wrong(C, 'mean-two-ints', '.mean(-1, -2): the axes not in a tuple', ('axes', 'axis', 'tuple'),
      "def mnist_distance(a, b): return (a-b).abs().mean(-1, -2)")
right(C, 'b-minus-a', 'the other order of subtraction, the axes named the other way round',
      "def mnist_distance(a, b): return (b-a).abs().mean(dim=(-2,-1))")
right(C, 'mean-twice', 'the mean of the row means (rows have equal length)',
      "def mnist_distance(a, b): return (a-b).abs().mean(-1).mean(-1)")
right(C, 'flatten-last-two', 'the last two axes flattened into one, then averaged',
      "def mnist_distance(a, b): return torch.abs(a - b).flatten(-2).mean(-1)")

C = check_is_3
wrong(C, 'reversed', 'the comparison the wrong way round: True where x is closer to mean7', ('revers', 'other way', 'swap'),
      "def is_3(x): return mnist_distance(x, mean3) > mnist_distance(x, mean7)")
wrong(C, 'float', 'returns 0/1 floats; the lesson applies ~ to the result, which needs booleans', ('bool',),
      "def is_3(x): return (mnist_distance(x, mean3) < mnist_distance(x, mean7)).float()")
wrong(C, 'difference', 'returns the difference of the distances, not a boolean', ('bool', 'compare', 'true'),
      "def is_3(x): return mnist_distance(x, mean7) - mnist_distance(x, mean3)")
wrong(C, 'loop-over-x', 'a loop over x: right for a stack, 28 answers (one per row) for one image', ONE_IMAGE,
      "def is_3(x): return torch.stack([mnist_distance(i, mean3) < mnist_distance(i, mean7) for i in x])")
wrong(C, 'item', '.item(): a Python bool for one image, fails for a stack', ('stack', 'per image', 'item'),
      "def is_3(x): return (mnist_distance(x, mean3) < mnist_distance(x, mean7)).item()")
wrong(C, 'mean-of-stack', 'compares the mean distance of the whole stack: one answer for all images',
      ('per image', 'each image', 'stack'),
      "def is_3(x): return mnist_distance(x, mean3).mean() < mnist_distance(x, mean7).mean()")
wrong(C, 'squared-distance', 'its own squared distance instead of mnist_distance', ('mnist_distance', 'absolute', 'squar'),
      "def is_3(x): return ((x-mean3)**2).mean((-1,-2)) < ((x-mean7)**2).mean((-1,-2))")
wrong(C, 'threshold', 'a fixed threshold on the distance to mean3; mean7 never read', ('mean7', 'compare'),
      "def is_3(x): return mnist_distance(x, mean3) < 0.15")
wrong(C, 'view-stack', 'x.view(-1, 28, 28) first: shape (1,) for one image instead of one boolean', ONE_IMAGE,
      "def is_3(x):\n    x = x.view(-1, 28, 28)\n    return mnist_distance(x, mean3) < mnist_distance(x, mean7)")
wrong(C, 'no-return', 'the comparison made but not returned', ('return', 'none'),
      "def is_3(x):\n    mnist_distance(x, mean3) < mnist_distance(x, mean7)")
right(C, 'named-distances', 'the two distances in variables first',
      "def is_3(x):\n    d3 = mnist_distance(x, mean3)\n    d7 = mnist_distance(x, mean7)\n    return d3 < d7")
right(C, 'greater-than', 'the same comparison written from the other side',
      "def is_3(x): return mnist_distance(x, mean7) > mnist_distance(x, mean3)")
right(C, 'torch-lt', 'torch.lt',
      "def is_3(x): return torch.lt(mnist_distance(x, mean3), mnist_distance(x, mean7))")
right(C, 'difference-positive', 'the difference compared with 0 (exact for floats)',
      "def is_3(x): return (mnist_distance(x, mean7) - mnist_distance(x, mean3)) > 0")


# ---------------------------------------------------------------------------------------------------------------
# Lesson 02: mse(preds, targets), step(params, lr)

C = check_mse
wrong(C, 'rmse', "the book's root mean squared error", ('sqrt', 'root'),
      "def mse(preds, targets): return ((preds-targets)**2).mean().sqrt()")
wrong(C, 'sum', 'a sum of the squares instead of their mean', ('sum', 'mean'),
      "def mse(preds, targets): return ((preds-targets)**2).sum()")
wrong(C, 'absolute', 'the mean absolute error', ('absolute', 'abs', 'squar'),
      "def mse(preds, targets): return (preds-targets).abs().mean()")
wrong(C, 'square-of-mean', 'the square of the mean difference', ('squar', 'order', 'before'),
      "def mse(preds, targets): return (preds-targets).mean()**2")
wrong(C, 'item', 'a Python number: backward() cannot follow it', ('gradient', 'backward', 'item'),
      "def mse(preds, targets): return ((preds-targets)**2).mean().item()")
wrong(C, 'detach', 'detached from the parameters', NO_GRAD,
      "def mse(preds, targets): return ((preds-targets)**2).mean().detach()")
wrong(C, 'tensor-of-item', 'a new tensor made from the number: no gradient', NO_GRAD,
      "def mse(preds, targets): return torch.tensor(((preds-targets)**2).mean().item())")
wrong(C, 'no-grad', 'computed under torch.no_grad()', NO_GRAD,
      "def mse(preds, targets):\n    with torch.no_grad(): return ((preds-targets)**2).mean()")
wrong(C, 'column-broadcast', 'preds made a column: (N, 1) minus (N,) broadcasts to (N, N)', ('shape', 'broadcast'),
      "def mse(preds, targets): return ((preds.view(-1, 1) - targets)**2).mean()")
wrong(C, 'alias-in-place', '`diff = preds; diff -= targets` overwrites the predictions', IN_PLACE,
      "def mse(preds, targets):\n    diff = preds\n    diff -= targets\n    return (diff**2).mean()")
wrong(C, 'targets-sub_', 'targets.sub_ overwrites the measured speeds', IN_PLACE,
      "def mse(preds, targets): return (targets.sub_(preds)**2).mean()")
wrong(C, 'no-return', 'the loss computed but not returned', ('return', 'none'),
      "def mse(preds, targets):\n    loss = ((preds-targets)**2).mean()")
wrong(C, 'xor', '^ is exclusive or in Python, not a power', ('**', 'xor', 'power'),
      "def mse(preds, targets): return ((preds-targets)^2).mean()")
right(C, 'f-mse-loss', "PyTorch's F.mse_loss",
      "def mse(preds, targets): return F.mse_loss(preds, targets)")
right(C, 'pow', 'pow(2)',
      "def mse(preds, targets): return (preds - targets).pow(2).mean()")
right(C, 'square-over-numel', 'd*d summed, over numel()',
      "def mse(preds, targets):\n    d = preds - targets\n    return (d*d).sum() / d.numel()")

STEP_OK = """def step(params, lr):
    loss = mse(quad(t, params), speed)
    loss.backward()
    with torch.no_grad(): params -= lr * params.grad
    params.grad.zero_()
    return loss.item()"""
C = check_step
wrong(C, 'hard-lr', 'the learning rate hard-coded as 1e-5, the lesson\'s value', ('lr', 'learning rate'),
      STEP_OK.replace('lr * params.grad', '1e-5 * params.grad'))
wrong(C, 'no-zero', 'the gradient is never cleared, so the steps add up', ('zero', 'reset', 'accumulat'),
      STEP_OK.replace('    params.grad.zero_()\n', ''))
wrong(C, 'zero-before-update', 'the gradient is cleared before the update, so params never move', ('zero', 'before', 'order'),
      """def step(params, lr):
    loss = mse(quad(t, params), speed)
    loss.backward()
    params.grad.zero_()
    with torch.no_grad(): params -= lr * params.grad
    return loss.item()""")
wrong(C, 'loss-after-update', 'returns the loss after the update instead of before', ('before', 'after'),
      """def step(params, lr):
    loss = mse(quad(t, params), speed)
    loss.backward()
    with torch.no_grad(): params -= lr * params.grad
    params.grad.zero_()
    return mse(quad(t, params), speed).item()""")
wrong(C, 'returns-tensor', 'returns the loss tensor, not a Python number', ('python number', 'item', 'float'),
      STEP_OK.replace('return loss.item()', 'return loss'))
wrong(C, 'wrong-sign', 'moves with the gradient, uphill', ('sign', 'uphill', 'subtract'),
      STEP_OK.replace('params -= lr', 'params += lr'))
wrong(C, 'rebind', '`params = params - ...` makes a new tensor; the caller\'s params never move',
      ('in place', 'in-place', 'rebind'),
      STEP_OK.replace('params -= lr * params.grad', 'params = params - lr * params.grad'))
wrong(C, 'no-no-grad', 'the update outside torch.no_grad(): a leaf that requires grad cannot change in place',
      ('no_grad', 'no grad', 'leaf'),
      STEP_OK.replace('with torch.no_grad(): params', 'params'))
wrong(C, 'no-backward', 'backward() is never called, so there is no gradient', ('backward',),
      STEP_OK.replace('    loss.backward()\n', ''))
wrong(C, 'own-rmse', 'its own loss with .sqrt() instead of mse', ('mse', 'sqrt', 'root'),
      STEP_OK.replace('mse(quad(t, params), speed)', '((quad(t, params) - speed)**2).mean().sqrt()'))
wrong(C, 'pass', 'an empty body: returns None and changes nothing', ('nothing', 'empty', 'return the loss'),
      "def step(params, lr):\n    pass")
right(C, 'data-grad-none', "lesson 04's p.data update, and the gradient set to None",
      """def step(params, lr):
    loss = mse(quad(t, params), speed)
    loss.backward()
    params.data -= lr * params.grad.data
    params.grad = None
    return loss.item()""")
right(C, 'sub_-float', 'sub_ under no_grad, float() for the number',
      """def step(params, lr):
    preds = quad(t, params)
    loss = mse(preds, speed)
    loss.backward()
    with torch.no_grad():
        params.sub_(params.grad * lr)
        params.grad.zero_()
    return float(loss)""")
right(C, 'add_-alpha', 'add_ with alpha=-lr',
      """def step(params, lr):
    loss = mse(quad(t, params), speed)
    loss.backward()
    with torch.no_grad(): params.add_(params.grad, alpha=-lr)
    params.grad = None
    return loss.item()""")


# ---------------------------------------------------------------------------------------------------------------
# Lesson 03: init_params, linear1, mnist_loss, calc_grad, train_epoch, batch_accuracy, validate_epoch, sgd_run

C = check_init_params
LEAF = ('leaf', 'multiply first', 'then mark')
wrong(C, 'requires-grad-in-randn', 'requires_grad=True before the multiplication: the result is not a leaf', LEAF,
      "def init_params(size, std=1.0): return torch.randn(size, requires_grad=True)*std")
wrong(C, 'mark-then-scale', 'requires_grad_() before the multiplication: the result is not a leaf', LEAF,
      "def init_params(size, std=1.0): return torch.randn(size).requires_grad_()*std")
wrong(C, 'no-std', 'std is ignored', ('std',),
      "def init_params(size, std=1.0): return torch.randn(size).requires_grad_()")
wrong(C, 'std-squared', 'multiplied by the variance std**2 instead of std', ('std', 'variance'),
      "def init_params(size, std=1.0): return (torch.randn(size)*std**2).requires_grad_()")
wrong(C, 'uniform', 'torch.rand: uniform in [0, 1) instead of normal', ('randn', 'normal', 'uniform'),
      "def init_params(size, std=1.0): return (torch.rand(size)*std).requires_grad_()")
wrong(C, 'no-requires-grad', 'never marked as requiring gradients', ('requires_grad', 'require'),
      "def init_params(size, std=1.0): return torch.randn(size)*std")
wrong(C, 'zeros', 'zeros instead of random numbers', ('random', 'randn', 'zero'),
      "def init_params(size, std=1.0): return torch.zeros(size).requires_grad_()")
wrong(C, 'hard-size', "the size hard-coded as the lesson's weights (28*28, 1)", ('size', 'shape'),
      "def init_params(size, std=1.0): return (torch.randn(28*28, 1)*std).requires_grad_()")
wrong(C, 'star-size', 'torch.randn(*size): fails for init_params(1), the bias', ('size', 'int', 'tuple'),
      "def init_params(size, std=1.0): return (torch.randn(*size)*std).requires_grad_()")
wrong(C, 'seed-inside', 'set_seed(42) inside: every call draws the same numbers, the bias equals the first weight',
      ('seed',),
      "def init_params(size, std=1.0):\n    set_seed(42)\n    return (torch.randn(size)*std).requires_grad_()")
wrong(C, 'float64', 'double precision: float32 images cannot be multiplied by it', ('dtype', 'float', 'double'),
      "def init_params(size, std=1.0): return (torch.randn(size, dtype=torch.float64)*std).requires_grad_()")
wrong(C, 'torch-normal', 'torch.normal(0., std, size): the same draws as randn*std, but fails for init_params(1)',
      ('size', 'int', 'tuple'),
      "def init_params(size, std=1.0): return torch.normal(0., std, size).requires_grad_()")
wrong(C, 'no-return', 'the tensor made but not returned', ('return', 'none'),
      "def init_params(size, std=1.0):\n    (torch.randn(size)*std).requires_grad_()")
right(C, 'mul_-fresh', 'mul_ in place on the freshly drawn tensor, then marked',
      "def init_params(size, std=1.0): return torch.randn(size).mul_(std).requires_grad_()")
right(C, 'attribute', 'requires_grad set as an attribute on the finished tensor',
      "def init_params(size, std=1.0):\n    p = torch.randn(size) * std\n    p.requires_grad = True\n    return p")
right(C, 'std-first-mul', 'std on the left, mul()',
      "def init_params(size, std=1.0): return (std * torch.randn(size)).requires_grad_(True)")
right(C, 'parameter', 'nn.Parameter: a leaf tensor that requires gradients',
      "def init_params(size, std=1.0): return nn.Parameter(torch.randn(size)*std)")

C = check_linear1
wrong(C, 'no-bias', 'the bias is left out', ('bias',),
      "def linear1(xb): return xb@weights")
wrong(C, 'bias-item', 'bias.item(): the right numbers, but the bias gets no gradient', NO_GRAD[:2] + ('bias',),
      "def linear1(xb): return xb@weights + bias.item()")
wrong(C, 'weights-detach', 'weights.detach(): the weights get no gradient', NO_GRAD,
      "def linear1(xb): return xb@weights.detach() + bias")
wrong(C, 'weights-data', 'weights.data: the weights get no gradient', NO_GRAD,
      "def linear1(xb): return xb@weights.data + bias")
wrong(C, 'no-grad', 'computed under torch.no_grad()', NO_GRAD,
      "def linear1(xb):\n    with torch.no_grad(): return xb@weights + bias")
wrong(C, 'torch-tensor-copy', 'torch.tensor() around the result copies it without its history', NO_GRAD,
      "def linear1(xb): return torch.tensor(xb@weights + bias)")
wrong(C, 'whole-batch-sum', "the lesson's one-image formula: the whole batch summed into one number",
      ('batch', 'each image', 'per image'),
      "def linear1(xb): return (xb*weights.T).sum() + bias")
wrong(C, 'no-column', 'summed per row without keepdim: shape (N,) instead of (N, 1)', ('shape', 'column', '(n, 1)'),
      "def linear1(xb): return (xb*weights.T).sum(1) + bias")
wrong(C, 'sigmoid', 'sigmoid applied: probabilities instead of raw outputs', ('sigmoid', 'raw'),
      "def linear1(xb): return torch.sigmoid(xb@weights + bias)")
wrong(C, 'weights-first', 'weights@xb: the product in the wrong order', ('order', 'batch first', 'xb@weights'),
      "def linear1(xb): return weights@xb + bias")
wrong(C, 'hard-batch-256', 'view(256, 784): the batch size hard-coded, fails for a shorter batch',
      ('256', 'batch size', 'size'),
      "def linear1(xb): return xb.view(256, 28*28)@weights + bias")
wrong(C, 'xb-in-place', '`xb *= weights.T` overwrites the batch of images', IN_PLACE,
      "def linear1(xb):\n    xb *= weights.T\n    return xb.sum(1, keepdim=True) + bias")
wrong(C, 'no-return', 'the outputs computed but not returned', ('return', 'none'),
      "def linear1(xb):\n    preds = xb@weights + bias")
right(C, 'view-784', 'xb.view(-1, 28*28) first, as the lesson flattens images',
      "def linear1(xb): return xb.view(-1, 28*28)@weights + bias")
right(C, 'matmul', 'torch.matmul, bias first',
      "def linear1(xb): return bias + torch.matmul(xb, weights)")
right(C, 'elementwise-keepdim', 'the weighted sum written out per row, keeping the column',
      "def linear1(xb): return (xb*weights.T).sum(1, keepdim=True) + bias")
right(C, 'bias-index', 'bias[0]: indexing keeps the gradient',
      "def linear1(xb): return xb@weights + bias[0]")
right(C, 'add_-on-product', 'add_ in place on the fresh product xb@weights, not on an input',
      "def linear1(xb): return (xb@weights).add_(bias)")
right(C, 'reshape-len', 'reshape(len(xb), -1)',
      "def linear1(xb): return xb.reshape(len(xb), -1)@weights + bias")

LOSS_OK = """def mnist_loss(predictions, targets):
    predictions = predictions.sigmoid()
    return torch.where(targets==1, 1-predictions, predictions).mean()"""
C = check_mnist_loss
wrong(C, 'no-sigmoid', 'raw outputs used as if they were between 0 and 1', ('sigmoid',),
      LOSS_OK.replace('    predictions = predictions.sigmoid()\n', ''))
wrong(C, 'swapped-branches', 'the two branches of torch.where swapped', ('swap', 'revers', 'branch'),
      LOSS_OK.replace('1-predictions, predictions', 'predictions, 1-predictions'))
wrong(C, 'sum', 'a sum over the batch instead of the mean', ('sum', 'mean'),
      LOSS_OK.replace(').mean()', ').sum()'))
wrong(C, 'no-mean', 'one loss per image, not their mean', ('mean', 'single', 'one number'),
      LOSS_OK.replace(').mean()', ')'))
wrong(C, 'item', 'a Python number: backward() cannot follow it', ('gradient', 'backward', 'item'),
      LOSS_OK.replace(').mean()', ').mean().item()'))
wrong(C, 'detach', 'detached from the model', NO_GRAD,
      LOSS_OK.replace(').mean()', ').mean().detach()'))
wrong(C, 'sigmoid-in-place', "sigmoid_() overwrites the model's output: a Learner's metric then sees sigmoids",
      IN_PLACE,
      LOSS_OK.replace('predictions.sigmoid()', 'predictions.sigmoid_()'))
wrong(C, 'flat-broadcast', 'predictions flattened to (N,) against (N, 1) targets: torch.where broadcasts to (N, N)',
      ('shape', 'broadcast'),
      LOSS_OK.replace('predictions.sigmoid()', 'predictions.sigmoid().view(-1)'))
wrong(C, 'sigmoid-after-where', 'the sigmoid applied after torch.where', ('sigmoid', 'order', 'before'),
      "def mnist_loss(predictions, targets):\n"
      "    return torch.where(targets==1, 1-predictions, predictions).sigmoid().mean()")
wrong(C, 'log-loss', 'the log (cross-entropy) loss instead of the distance', ('log', 'entropy', 'distance'),
      "def mnist_loss(predictions, targets):\n    p = predictions.sigmoid()\n"
      "    return -torch.where(targets==1, p.log(), (1-p).log()).mean()")
wrong(C, 'int-condition', 'torch.where(targets, ...): the 0/1 integer targets are not a boolean condition',
      ('bool', '==', 'condition'),
      LOSS_OK.replace('targets==1,', 'targets,'))
wrong(C, 'no-return', 'the loss computed but not returned', ('return', 'none'),
      LOSS_OK.replace('    return torch.where', '    loss = torch.where'))
wrong(C, 'rounded-predictions', 'sigmoid rounded to 0/1: the loss no longer changes smoothly, no gradient',
      ('round', 'gradient', 'smooth'),
      LOSS_OK.replace('predictions.sigmoid()', 'predictions.sigmoid().round()'))
wrong(C, 'sigmoid-discarded', 'predictions.sigmoid() computed and thrown away: the raw outputs are used',
      ('sigmoid',),
      LOSS_OK.replace('    predictions = predictions.sigmoid()', '    predictions.sigmoid()'))
right(C, 'abs-distance', 'the distance |sigmoid - target|, the same for 0/1 targets',
      "def mnist_loss(predictions, targets): return (predictions.sigmoid() - targets).abs().mean()")
right(C, 'blend', 't*(1-p) + (1-t)*p',
      "def mnist_loss(predictions, targets):\n    p = torch.sigmoid(predictions)\n"
      "    return (targets*(1-p) + (1-targets)*p).mean()")
right(C, 'sum-over-len', 'the sum over the batch divided by its length',
      "def mnist_loss(predictions, targets):\n    p = predictions.sigmoid()\n"
      "    return torch.where(targets==1, 1-p, p).sum() / len(targets)")
right(C, 'one-minus-where', '1 minus the where of the swapped branches: the same numbers',
      "def mnist_loss(predictions, targets):\n    p = predictions.sigmoid()\n"
      "    return 1 - torch.where(targets==1, p, 1-p).mean()")
right(C, 'f-l1-loss', 'F.l1_loss between the sigmoid and the targets',
      "def mnist_loss(predictions, targets): return F.l1_loss(predictions.sigmoid(), targets.float())")
right(C, 'bool-condition', 'targets.bool() as the condition',
      "def mnist_loss(predictions, targets):\n    p = torch.sigmoid(predictions)\n"
      "    return torch.where(targets.bool(), 1-p, p).mean()")

CALC_OK = """def calc_grad(xb, yb, model):
    preds = model(xb)
    loss = mnist_loss(preds, yb)
    loss.backward()"""
C = check_calc_grad
wrong(C, 'no-backward', 'the loss is computed but backward() never called', ('backward',),
      CALC_OK.replace('    loss.backward()', '    return loss'))
wrong(C, 'item-then-backward', 'loss.item() before backward(): a float has no backward', ('item', 'backward', 'tensor'),
      CALC_OK.replace('mnist_loss(preds, yb)', 'mnist_loss(preds, yb).item()'))
wrong(C, 'swapped-args', 'mnist_loss(yb, preds): targets and predictions swapped', ('order', 'argument', 'swap'),
      CALC_OK.replace('mnist_loss(preds, yb)', 'mnist_loss(yb, preds)'))
wrong(C, 'double-sigmoid', 'sigmoid applied before mnist_loss, which applies it again', ('sigmoid', 'twice', 'raw'),
      CALC_OK.replace('preds = model(xb)', 'preds = model(xb).sigmoid()'))
wrong(C, 'no-grad', 'the predictions made under torch.no_grad()', ('no_grad', 'no grad', 'gradient'),
      CALC_OK.replace('    preds = model(xb)', '    with torch.no_grad(): preds = model(xb)'))
wrong(C, 'detach', 'the predictions detached', NO_GRAD,
      CALC_OK.replace('preds = model(xb)', 'preds = model(xb).detach()'))
wrong(C, 'own-mse', 'a squared error on the raw outputs instead of mnist_loss', ('mnist_loss',),
      "def calc_grad(xb, yb, model): ((model(xb) - yb)**2).mean().backward()")
wrong(C, 'pass', 'an empty body: no gradient at all', ('nothing', 'backward', 'empty'),
      "def calc_grad(xb, yb, model):\n    pass")
wrong(C, 'squeezed-preds', 'predictions squeezed to (N,) against (N, 1) targets: (N, N) broadcast',
      ('shape', 'broadcast', 'squeeze'),
      CALC_OK.replace('preds = model(xb)', 'preds = model(xb).squeeze()'))
wrong(C, 'backward-no-call', 'loss.backward without parentheses: never called', ('backward()', 'parenthes', 'call'),
      CALC_OK.replace('loss.backward()', 'loss.backward'))
right(C, 'one-line', 'one line',
      "def calc_grad(xb, yb, model): mnist_loss(model(xb), yb).backward()")
right(C, 'returns-loss', 'returns the loss, which the exercise allows',
      CALC_OK + "\n    return loss")
right(C, 'returns-float', 'returns the loss as a number after backward()',
      CALC_OK + "\n    return loss.item()")
right(C, 'autograd-backward', 'torch.autograd.backward(loss)',
      "def calc_grad(xb, yb, model):\n    loss = mnist_loss(model(xb), yb)\n    torch.autograd.backward(loss)")

TRAIN_OK = """def train_epoch(model, lr, params):
    for xb,yb in dl:
        calc_grad(xb, yb, model)
        with torch.no_grad():
            for p in params:
                p -= p.grad*lr
                p.grad.zero_()"""
C = check_train_epoch
wrong(C, 'zero-before-update', 'the gradient zeroed before the update, so nothing moves', ('zero', 'before', 'order'),
      TRAIN_OK.replace("                p -= p.grad*lr\n                p.grad.zero_()",
                       "                p.grad.zero_()\n                p -= p.grad*lr"))
wrong(C, 'no-zero', 'the gradients never reset: they add up over the batches', ('zero', 'reset', 'accumulat'),
      TRAIN_OK.replace("\n                p.grad.zero_()", ""))
wrong(C, 'hard-lr', "the learning rate hard-coded as the lesson's 1.", ('lr', 'learning rate'),
      TRAIN_OK.replace('p.grad*lr', 'p.grad*1.'))
wrong(C, 'wrong-sign', 'moves with the gradient', ('sign', 'uphill', 'subtract'),
      TRAIN_OK.replace('p -= p.grad*lr', 'p += p.grad*lr'))
wrong(C, 'three-batches', 'stops after three batches', ('every batch', 'each batch', 'batches'),
      """def train_epoch(model, lr, params):
    for i, (xb,yb) in enumerate(dl):
        if i == 3: break
        calc_grad(xb, yb, model)
        with torch.no_grad():
            for p in params:
                p -= p.grad*lr
                p.grad.zero_()""")
wrong(C, 'update-after-loop', 'the update dedented out of the batch loop: one step per epoch',
      ('every batch', 'each batch', 'batches'),
      """def train_epoch(model, lr, params):
    for xb,yb in dl:
        calc_grad(xb, yb, model)
    with torch.no_grad():
        for p in params:
            p -= p.grad*lr
            p.grad.zero_()""")
wrong(C, 'rebind', '`p = p - ...` rebinds the loop variable; the parameters never move', ('in place', 'in-place', 'rebind'),
      TRAIN_OK.replace('p -= p.grad*lr', 'p = p - p.grad*lr'))
wrong(C, 'no-no-grad', 'the update outside torch.no_grad()', ('no_grad', 'no grad', 'leaf'),
      """def train_epoch(model, lr, params):
    for xb,yb in dl:
        calc_grad(xb, yb, model)
        for p in params:
            p -= p.grad*lr
            p.grad.zero_()""")
wrong(C, 'no-grad-around-all', 'torch.no_grad() around the whole loop: calc_grad cannot compute gradients',
      ('no_grad', 'no grad', 'gradient'),
      """def train_epoch(model, lr, params):
    with torch.no_grad():
        for xb,yb in dl:
            calc_grad(xb, yb, model)
            for p in params:
                p -= p.grad*lr
                p.grad.zero_()""")
wrong(C, 'pass', 'an empty body: the parameters never change', ('nothing', 'unchanged', 'no gradient'),
      "def train_epoch(model, lr, params):\n    pass")
wrong(C, 'reads-valid-dl', "trains on the notebook's validation loader valid_dl instead of dl",
      ('train on', 'valid_dl', 'validation'),
      TRAIN_OK.replace('in dl:', 'in valid_dl:'), env=('dl',))
wrong(C, 'model-parameters', 'model.parameters() instead of the params it was given: a plain function has none',
      ('params',),
      TRAIN_OK.replace('for p in params:', 'for p in model.parameters():'))
wrong(C, 'zero_-no-call', 'p.grad.zero_ without parentheses: the gradients are never reset',
      ('zero', 'reset', 'accumulat'),
      TRAIN_OK.replace('p.grad.zero_()', 'p.grad.zero_'))
right(C, 'data-grad-none', "p.data updated, the gradient set to None",
      """def train_epoch(model, lr, params):
    for xb,yb in dl:
        calc_grad(xb, yb, model)
        for p in params:
            p.data -= lr * p.grad.data
            p.grad = None""")
right(C, 'reset-in-own-loop', 'the update and the reset in two loops, the reset by None',
      """def train_epoch(model, lr, params):
    for xb,yb in dl:
        calc_grad(xb, yb, model)
        with torch.no_grad():
            for p in params: p -= lr * p.grad
        for p in params: p.grad = None""")
right(C, 'sub_', 'sub_ under no_grad',
      """def train_epoch(model, lr, params):
    for xb, yb in dl:
        calc_grad(xb, yb, model)
        with torch.no_grad():
            for p in params:
                p.sub_(lr * p.grad)
                p.grad.zero_()""")

ACC_OK = """def batch_accuracy(xb, yb):
    preds = xb.sigmoid()
    correct = (preds>0.5) == yb
    return correct.float().mean()"""
C = check_batch_accuracy
wrong(C, 'raw-half', 'raw outputs compared with 0.5, no sigmoid', ('sigmoid', 'raw'),
      ACC_OK.replace('xb.sigmoid()', 'xb'))
wrong(C, 'item', 'a Python number instead of a tensor', ('tensor', 'item', 'python'),
      ACC_OK.replace('.mean()', '.mean().item()'))
wrong(C, 'count', 'the number of right answers instead of their share', ('sum', 'mean', 'share'),
      ACC_OK.replace('.float().mean()', '.float().sum()'))
wrong(C, 'no-mean', 'one 0/1 per image, not their mean', ('mean', 'share', 'single'),
      ACC_OK.replace('return correct.float().mean()', 'return correct.float()'))
wrong(C, 'flat-broadcast', 'predictions flattened to (N,) against (N, 1) targets: an (N, N) comparison',
      ('shape', 'broadcast'),
      ACC_OK.replace('(preds>0.5) == yb', '(preds>0.5).view(-1) == yb'))
wrong(C, 'reversed', 'a 3 counted where the sigmoid is below 0.5', ('revers', 'wrong way', 'flip'),
      ACC_OK.replace('preds>0.5', 'preds<0.5'))
wrong(C, 'ignores-targets', 'the share called a 3, never compared with the targets', ('target', 'yb', 'agree'),
      ACC_OK.replace('(preds>0.5) == yb', '(preds>0.5)'))
wrong(C, 'rounded', 'rounded to 4 places inside: the average of rounded accuracies is off', ('round',),
      ACC_OK.replace('correct.float().mean()', 'correct.float().mean().round(decimals=4)'))
wrong(C, 'floor-division', 'integer floor division: 0 unless every answer is right', ('float', 'division', 'integer'),
      ACC_OK.replace('correct.float().mean()', 'correct.sum() // len(yb)'))
wrong(C, 'hard-256', 'divided by 256, the batch size: wrong for the last, shorter batch', ('256', 'batch size', 'len'),
      ACC_OK.replace('correct.float().mean()', 'correct.float().sum() / 256'))
wrong(C, 'bool-mean', 'mean() of the booleans without .float(): an error', ('float',),
      ACC_OK.replace('correct.float().mean()', 'correct.mean()'))
wrong(C, 'no-return', 'the share computed but not returned', ('return', 'none'),
      ACC_OK.replace('return correct', 'acc = correct'))
wrong(C, 'mean-no-call', '.mean without parentheses: returns the method', ('mean()', 'parenthes', 'method'),
      ACC_OK.replace('correct.float().mean()', 'correct.float().mean'))
right(C, 'raw-above-zero', 'raw output > 0, the same as sigmoid > 0.5 (as lesson 03 measures it first)',
      "def batch_accuracy(xb, yb): return ((xb > 0) == yb).float().mean()")
right(C, 'sigmoid-in-place', "sigmoid_() on the model's output, which is used for nothing afterwards",
      ACC_OK.replace('xb.sigmoid()', 'xb.sigmoid_()'))
right(C, 'bool-targets', 'compared with yb.bool(); the share as sum over len',
      "def batch_accuracy(xb, yb):\n    correct = (torch.sigmoid(xb) > 0.5) == yb.bool()\n"
      "    return correct.sum() / len(yb)")
right(C, 'round-sigmoid', 'torch.round of the sigmoid (0.5 rounds to 0, as > 0.5 says)',
      "def batch_accuracy(xb, yb): return (xb.sigmoid().round() == yb).float().mean()")

VALID_OK = """def validate_epoch(model):
    accs = [batch_accuracy(model(xb), yb) for xb,yb in valid_dl]
    return round(torch.stack(accs).mean().item(), 4)"""
C = check_validate_epoch
wrong(C, 'three-batches', 'only the first three batches', ('every batch', 'each batch', 'batches'),
      """def validate_epoch(model):
    accs = []
    for i, (xb,yb) in enumerate(valid_dl):
        if i == 3: break
        accs.append(batch_accuracy(model(xb), yb))
    return round(torch.stack(accs).mean().item(), 4)""")
wrong(C, 'drop-last-batch', 'the last, shorter batch left out', ('every batch', 'each batch', 'last'),
      VALID_OK.replace('for xb,yb in valid_dl]', 'for xb,yb in list(valid_dl)[:-1]]'))
wrong(C, 'truncated', 'cut to 4 places instead of rounded', ('round', 'truncat'),
      VALID_OK.replace('round(torch.stack(accs).mean().item(), 4)',
                       'int(torch.stack(accs).mean().item() * 10000) / 10000'))
wrong(C, 'not-rounded', 'not rounded at all', ('round', '4 places', 'four'),
      VALID_OK.replace('round(torch.stack(accs).mean().item(), 4)', 'torch.stack(accs).mean().item()'))
wrong(C, 'round-2', 'rounded to 2 places', ('round', '4 places', 'four'),
      VALID_OK.replace('.item(), 4)', '.item(), 2)'))
wrong(C, 'returns-tensor', 'a rounded tensor instead of a Python number', ('python number', 'item', 'float'),
      VALID_OK.replace('round(torch.stack(accs).mean().item(), 4)', 'torch.stack(accs).mean().round(decimals=4)'))
wrong(C, 'image-weighted', 'every image counted once (the exact accuracy), not every batch the same',
      ('each batch', 'weigh', 'equal'),
      """def validate_epoch(model):
    preds = torch.cat([model(xb) for xb,yb in valid_dl])
    targets = torch.cat([yb for xb,yb in valid_dl])
    return round(batch_accuracy(preds, targets).item(), 4)""")
wrong(C, 'sum', 'the batch accuracies summed, not averaged', ('mean', 'sum', 'average'),
      VALID_OK.replace('.mean().item()', '.sum().item()'))
wrong(C, 'double-sigmoid', 'sigmoid applied before batch_accuracy, which applies it again', ('sigmoid', 'twice', 'raw'),
      VALID_OK.replace('batch_accuracy(model(xb), yb)', 'batch_accuracy(model(xb).sigmoid(), yb)'))
wrong(C, 'swapped-args', 'batch_accuracy(yb, preds): arguments swapped', ('order', 'argument', 'swap'),
      VALID_OK.replace('batch_accuracy(model(xb), yb)', 'batch_accuracy(yb, model(xb))'))
wrong(C, 'reads-train-dl', "reads the notebook's training loader dl instead of valid_dl", ('valid_dl', 'validation', 'training'),
      VALID_OK.replace('in valid_dl]', 'in dl]'), env=('dl',))
wrong(C, 'pass', 'an empty body: returns None', ('none', 'nothing', 'empty'),
      "def validate_epoch(model):\n    pass")
wrong(C, 'rounds-each-batch', 'each batch rounded, the mean not: more than 4 places, and off',
      ('round',),
      """def validate_epoch(model):
    accs = [round(batch_accuracy(model(xb), yb).item(), 4) for xb,yb in valid_dl]
    return sum(accs) / len(accs)""")
wrong(C, 'hard-coded', "the lesson's printed 0.5476 returned whatever the model", ('hard-coded', 'valid_dl', 'model'),
      "def validate_epoch(model): return 0.5476", seed=1)
right(C, 'no-grad', 'under torch.no_grad(), as the exported version',
      """def validate_epoch(model):
    with torch.no_grad():
        accs = [batch_accuracy(model(xb), yb) for xb,yb in valid_dl]
    return round(torch.stack(accs).mean().item(), 4)""")
right(C, 'python-floats', 'Python floats summed and divided',
      """def validate_epoch(model):
    accs = [batch_accuracy(model(xb), yb).item() for xb, yb in valid_dl]
    return round(sum(accs) / len(accs), 4)""")
right(C, 'loop-tensor', 'a loop, tensor mean, float()',
      """def validate_epoch(model):
    accs = []
    for xb, yb in valid_dl:
        preds = model(xb)
        accs.append(batch_accuracy(preds, yb))
    return round(float(torch.stack(accs).mean()), 4)""")

# sgd_run: the exercise's given run, built from all seven of the learner's functions; one function is wrong.
SGD_FUNCS = {
    'init_params': "def init_params(size, std=1.0): return (torch.randn(size)*std).requires_grad_()",
    'linear1': "def linear1(xb): return xb@weights + bias",
    'mnist_loss': LOSS_OK, 'calc_grad': CALC_OK, 'train_epoch': TRAIN_OK, 'batch_accuracy': ACC_OK,
    'validate_epoch': VALID_OK,
}
SGD_RUN = """from mnist_linear.training import mnist_dls
def sgd_run(epochs=21, lr=1.):
    global weights, bias, dl, valid_dl
    set_seed(42)
    weights, bias = init_params((28*28,1)), init_params(1)
    dl, valid_dl = mnist_dls(data)
    accs = []
    for epoch in range(epochs):
        train_epoch(linear1, lr, (weights, bias))
        accs.append(validate_epoch(linear1))
    return accs"""

def sgd_src(**replace):
    "The seven functions (the model solutions unless replaced) and the given sgd_run, as one notebook."
    assert set(replace) <= set(SGD_FUNCS), replace
    return '\n\n'.join([replace.get(k, v) for k, v in SGD_FUNCS.items()] + [SGD_RUN])

C = check_sgd_run
wrong(C, 'linear1-bias-item', 'linear1 adds bias.item(): the bias never trains', ('linear1', 'bias'),
      sgd_src(linear1="def linear1(xb): return xb@weights + bias.item()"), env=('data',))
wrong(C, 'train-epoch-no-zero', 'train_epoch never resets the gradients', ('train_epoch', 'zero', 'reset'),
      sgd_src(train_epoch=TRAIN_OK.replace("\n                p.grad.zero_()", "")), env=('data',))
wrong(C, 'validate-truncated', 'validate_epoch truncates instead of rounding', ('validate_epoch', 'round'),
      sgd_src(validate_epoch=VALID_OK.replace('round(torch.stack(accs).mean().item(), 4)',
                                              'int(torch.stack(accs).mean().item() * 10000) / 10000')), env=('data',))
wrong(C, 'loss-no-sigmoid', 'mnist_loss without the sigmoid', ('mnist_loss', 'sigmoid'),
      sgd_src(mnist_loss=LOSS_OK.replace('    predictions = predictions.sigmoid()\n', '')), env=('data',))
wrong(C, 'init-uniform', 'init_params draws uniform numbers', ('init_params', 'randn', 'normal'),
      sgd_src(init_params="def init_params(size, std=1.0): return (torch.rand(size)*std).requires_grad_()"),
      env=('data',))
wrong(C, 'accuracy-count', 'batch_accuracy counts instead of averaging', ('batch_accuracy', 'mean', 'share'),
      sgd_src(batch_accuracy=ACC_OK.replace('.float().mean()', '.float().sum()')), env=('data',))
wrong(C, 'calc-grad-swapped', 'calc_grad passes targets and predictions the wrong way round',
      ('calc_grad', 'order', 'swap'),
      sgd_src(calc_grad=CALC_OK.replace('mnist_loss(preds, yb)', 'mnist_loss(yb, preds)')), env=('data',))
wrong(C, 'hard-coded', "the lesson's printed accuracies copied into sgd_run: caught by a hidden test's seed",
      ('hard-coded', 'hard coded', 'your own functions'),
      "def sgd_run(epochs=21, lr=1.):\n"
      "    return [0.8791, 0.9325, 0.9437, 0.9536, 0.9589, 0.9599, 0.9614, 0.9614, 0.9633, 0.9629, 0.9648,\n"
      "            0.9643, 0.9653, 0.9663, 0.9672, 0.9672, 0.9677, 0.9692, 0.9697, 0.9702, 0.9702][:epochs]",
      seed=1)
right(C, 'alternatives', 'right alternatives of several functions together',
      sgd_src(linear1="def linear1(xb): return xb.view(-1, 28*28)@weights + bias",
              train_epoch="""def train_epoch(model, lr, params):
    for xb,yb in dl:
        calc_grad(xb, yb, model)
        for p in params:
            p.data -= lr * p.grad.data
            p.grad = None""",
              batch_accuracy="def batch_accuracy(xb, yb): return ((xb > 0) == yb).float().mean()"), env=('data',))
right(C, 'more-alternatives', 'other right alternatives together',
      sgd_src(init_params="def init_params(size, std=1.0):\n    p = torch.randn(size) * std\n"
                          "    p.requires_grad = True\n    return p",
              mnist_loss="def mnist_loss(predictions, targets): return (predictions.sigmoid() - targets).abs().mean()",
              calc_grad="def calc_grad(xb, yb, model): mnist_loss(model(xb), yb).backward()",
              validate_epoch="""def validate_epoch(model):
    with torch.no_grad(): accs = [batch_accuracy(model(xb), yb).item() for xb, yb in valid_dl]
    return round(sum(accs) / len(accs), 4)"""), env=('data',))


# ---------------------------------------------------------------------------------------------------------------
# Lesson 04: BasicOptim.step, BasicOptim.zero_grad

STEP_BODY = "        with torch.no_grad():\n            for p in self.params: p -= p.grad * self.lr"
ZERO_BODY = "        for p in self.params: p.grad = None"

def optim(step=STEP_BODY, zero_grad=ZERO_BODY):
    "The exercise's class with the given bodies of its two methods."
    return ("class BasicOptim:\n"
            "    def __init__(self, params, lr): self.params, self.lr = list(params), lr\n\n"
            f"    def step(self, *args, **kwargs):\n{step}\n\n"
            f"    def zero_grad(self, *args, **kwargs):\n{zero_grad}\n")

C = check_optim_step
wrong(C, 'skips-bias', 'only the weights move: `w, b = self.params` and b is forgotten',
      ('bias', 'every parameter', 'each parameter'),
      optim(step="        w, b = self.params\n        with torch.no_grad(): w -= w.grad * self.lr"))
wrong(C, 'hard-lr', 'the learning rate hard-coded as 1., the value in lesson 04', ('lr', 'learning rate'),
      optim(step=STEP_BODY.replace('self.lr', '1.')))
wrong(C, 'wrong-sign', 'moves with the gradient', ('sign', 'uphill', 'subtract'),
      optim(step=STEP_BODY.replace('p -= ', 'p += ')))
wrong(C, 'rebind', '`p = p - ...` rebinds the loop variable; the parameters never move', ('in place', 'in-place', 'rebind'),
      optim(step=STEP_BODY.replace('p -= p.grad * self.lr', 'p = p - p.grad * self.lr')))
wrong(C, 'rebind-list', 'a new list of new tensors in self.params; the model keeps its old parameters',
      ('in place', 'in-place', 'rebind'),
      optim(step="        with torch.no_grad(): self.params = [p - p.grad * self.lr for p in self.params]"))
wrong(C, 'no-no-grad', 'the update outside torch.no_grad()', ('no_grad', 'no grad', 'leaf'),
      optim(step="        for p in self.params: p -= p.grad * self.lr"))
wrong(C, 'zero-before-update', 'the gradient zeroed in step before the update: nothing moves', ('zero', 'before', 'order'),
      optim(step="        with torch.no_grad():\n            for p in self.params:\n"
                 "                p.grad.zero_()\n                p -= p.grad * self.lr"))
wrong(C, 'pass', 'an empty body: nothing moves', ('nothing', 'empty', 'self.params'),
      optim(step="        pass"))
right(C, 'lesson-data', "the lesson's own p.data version",
      optim(step="        for p in self.params: p.data -= p.grad.data * self.lr"))
right(C, 'data-assign', 'p.data replaced by a new tensor: the parameter object stays, its values change',
      optim(step="        for p in self.params: p.data = p.data - self.lr * p.grad"))
right(C, 'sub_', 'sub_ under no_grad',
      optim(step="        with torch.no_grad():\n            for p in self.params: p.sub_(self.lr * p.grad)"))
right(C, 'add_-alpha', 'add_ with alpha=-lr',
      optim(step="        with torch.no_grad():\n            for p in self.params: p.add_(p.grad, alpha=-self.lr)"))
right(C, 'detach-sub_', 'sub_ on p.detach(), which shares p\'s storage',
      optim(step="        for p in self.params: p.detach().sub_(p.grad * self.lr)"))

C = check_optim_zero_grad
wrong(C, 'pass', 'an empty body: the gradients stay', ('nothing', 'still', 'p.grad = none'),
      optim(zero_grad="        pass"))
wrong(C, 'first-only', 'only the first parameter cleared', ('every parameter', 'each parameter', 'bias'),
      optim(zero_grad="        self.params[0].grad = None"))
wrong(C, 'rebind-local', 'a local name set to None; p.grad untouched', ('p.grad', 'rebind', 'name'),
      optim(zero_grad="        for p in self.params:\n            g = p.grad\n            g = None"))
wrong(C, 'clears-list', 'self.params emptied instead of the gradients: the next step moves nothing',
      ('self.params', 'list'),
      optim(zero_grad="        self.params = []"))
wrong(C, 'no-effect', '`p.grad * 0` computed and thrown away', ('still', 'in place', 'p.grad = none'),
      optim(zero_grad="        for p in self.params: p.grad * 0"))
wrong(C, 'zeros-params', 'the parameters themselves set to zero, not their gradients', ('parameters themselves', 'not the parameters', 'weights'),
      optim(zero_grad="        with torch.no_grad():\n            for p in self.params: p.zero_()"))
wrong(C, 'requires-grad-off', 'requires_grad switched off: the next backward() gives no gradient', ('requires_grad',),
      optim(zero_grad="        for p in self.params: p.requires_grad_(False)"))
wrong(C, 'zero_-no-call', 'p.grad.zero_ without parentheses: nothing happens', ('zero_()', 'parenthes', 'still'),
      optim(zero_grad="        for p in self.params: p.grad.zero_"))
right(C, 'guarded-zero_', 'zeroed in place where a gradient exists',
      optim(zero_grad="        for p in self.params:\n            if p.grad is not None: p.grad.zero_()"))
right(C, 'zeros-like', 'a fresh tensor of zeros',
      optim(zero_grad="        for p in self.params: p.grad = torch.zeros_like(p)"))
right(C, 'del', 'del p.grad, which sets it to None',
      optim(zero_grad="        for p in self.params: del p.grad"))


# ---------------------------------------------------------------------------------------------------------------
# Lesson 05: simple_net(xb), make_simple_net(n_hidden=30)

NET_OK = """def simple_net(xb):
    res = xb@w1 + b1
    res = res.max(torch.tensor(0.0))
    res = res@w2 + b2
    return res"""
C = check_simple_net
wrong(C, 'no-relu', 'no ReLU: two linear layers are one linear layer', ('relu',),
      NET_OK.replace('    res = res.max(torch.tensor(0.0))\n', ''))
wrong(C, 'relu-at-end', 'a ReLU after the second layer too: no negative outputs', ('relu', 'end', 'raw'),
      NET_OK.replace('res = res@w2 + b2', 'res = (res@w2 + b2).max(torch.tensor(0.0))'))
wrong(C, 'sigmoid-at-end', 'a sigmoid on the output instead of raw outputs', ('sigmoid', 'raw'),
      NET_OK.replace('res = res@w2 + b2', 'res = (res@w2 + b2).sigmoid()'))
wrong(C, 'no-b1', 'the first bias left out', ('bias', 'b1'),
      NET_OK.replace('xb@w1 + b1', 'xb@w1'))
wrong(C, 'no-b2', 'the second bias left out', ('bias', 'b2'),
      NET_OK.replace('res@w2 + b2', 'res@w2'))
wrong(C, 'bias-after-relu', 'b1 added after the ReLU', ('bias', 'order', 'before'),
      NET_OK.replace('xb@w1 + b1', 'xb@w1').replace('res.max(torch.tensor(0.0))', 'res.max(torch.tensor(0.0)) + b1'))
wrong(C, 'clamp-max', 'clamp(max=0): keeps the negative numbers, zeroes the positive', ('relu', 'negative', 'min'),
      NET_OK.replace('res.max(torch.tensor(0.0))', 'res.clamp(max=0)'))
wrong(C, 'no-grad', 'computed under torch.no_grad()', NO_GRAD,
      "def simple_net(xb):\n    with torch.no_grad():\n        res = xb@w1 + b1\n"
      "        res = res.max(torch.tensor(0.0))\n        return res@w2 + b2")
wrong(C, 'w1-detach', 'w1.detach(): the first layer gets no gradient', NO_GRAD,
      NET_OK.replace('xb@w1', 'xb@w1.detach()'))
wrong(C, 'b2-item', 'b2.item(): the last bias gets no gradient', NO_GRAD[:2] + ('b2',),
      NET_OK.replace('+ b2', '+ b2.item()'))
wrong(C, 'squeeze', 'squeezed to shape (N,) instead of (N, 1)', ('shape', 'column', '(n, 1)'),
      NET_OK.replace('return res', 'return res.squeeze()'))
wrong(C, 'b1-for-b2', 'b1 added at the end instead of b2: (N, 1) + (30,) broadcasts to (N, 30)', ('b2', 'shape', 'bias'),
      NET_OK.replace('res@w2 + b2', 'res@w2 + b1'))
wrong(C, 'no-return', 'the output computed but not returned', ('return', 'none'),
      NET_OK.replace('    return res', '    res = res'))
wrong(C, 'max-dim-0', 'res.max(0): the maximum along axis 0 (values and indices), not a ReLU',
      ('relu', 'clamp', 'tensor(0.0)'),
      NET_OK.replace('res.max(torch.tensor(0.0))', 'res.max(0).values'))
wrong(C, 'leaky-relu', 'a leaky ReLU: negative numbers shrink instead of becoming 0', ('leaky', 'negative'),
      NET_OK.replace('res.max(torch.tensor(0.0))', 'F.leaky_relu(res)'))
wrong(C, 'relu-discarded', 'the ReLU computed and thrown away: two linear layers in a row', ('relu',),
      NET_OK.replace('    res = res.max(torch.tensor(0.0))', '    res.max(torch.tensor(0.0))'))
right(C, 'f-relu', 'F.relu',
      NET_OK.replace('res.max(torch.tensor(0.0))', 'F.relu(res)'))
right(C, 'clamp-min', 'clamp(min=0)',
      NET_OK.replace('res.max(torch.tensor(0.0))', 'res.clamp(min=0)'))
right(C, 'view-784', 'xb.view(-1, 28*28) first',
      NET_OK.replace('xb@w1', 'xb.view(-1, 28*28)@w1'))
right(C, 'f-linear', 'F.linear with the transposed weights, one line',
      "def simple_net(xb): return F.linear(F.linear(xb, w1.T, b1).relu(), w2.T, b2)")
right(C, 'mask', 'multiplied by the mask of the positive numbers',
      NET_OK.replace('res.max(torch.tensor(0.0))', 'res * (res > 0)'))
right(C, 'relu_-intermediate', "relu_() in place on the first layer's output, a fresh tensor",
      "def simple_net(xb):\n    h = xb@w1 + b1\n    h.relu_()\n    return h@w2 + b2")

C = check_make_simple_net
wrong(C, 'hard-30', 'n_hidden ignored: always 30 hidden units', ('n_hidden', 'hidden'),
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Linear(28*28, 30), nn.ReLU(), nn.Linear(30, 1))")
wrong(C, 'no-relu', 'no ReLU module', ('relu',),
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Linear(28*28, n_hidden), nn.Linear(n_hidden, 1))")
wrong(C, 'tanh', 'nn.Tanh instead of nn.ReLU', ('relu', 'tanh'),
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Linear(28*28, n_hidden), nn.Tanh(), nn.Linear(n_hidden, 1))")
wrong(C, 'sigmoid-at-end', 'a sigmoid module on the output', ('sigmoid', 'raw'),
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Linear(28*28, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 1), nn.Sigmoid())")
wrong(C, 'relu-at-end', 'a second ReLU after the last layer', ('relu', 'end', 'raw'),
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Linear(28*28, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 1), nn.ReLU())")
wrong(C, 'created-in-reverse', 'the second layer created first: different starting weights from the same seed',
      ('order', 'creat', 'seed'),
      "def make_simple_net(n_hidden=30):\n    out = nn.Linear(n_hidden, 1)\n    hidden = nn.Linear(28*28, n_hidden)\n"
      "    return nn.Sequential(hidden, nn.ReLU(), out)")
wrong(C, 'no-bias', 'bias=False on the layers', ('bias',),
      "def make_simple_net(n_hidden=30):\n    return nn.Sequential(nn.Linear(28*28, n_hidden, bias=False), nn.ReLU(),\n"
      "                         nn.Linear(n_hidden, 1, bias=False))")
wrong(C, 'seed-inside', 'set_seed(42) inside: the caller\'s seed is overridden', ('seed',),
      "def make_simple_net(n_hidden=30):\n    set_seed(42)\n"
      "    return nn.Sequential(nn.Linear(28*28, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 1))")
wrong(C, 'input-28', 'nn.Linear(28, ...): 28 inputs instead of 784', ('784', 'input', '28*28'),
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Linear(28, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 1))")
wrong(C, 'two-outputs', 'two outputs instead of one', ('output', 'one', '1)'),
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Linear(28*28, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 2))")
wrong(C, 'list', 'a list of the layers, not a module', ('sequential', 'module'),
      "def make_simple_net(n_hidden=30):\n    return [nn.Linear(28*28, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 1)]")
wrong(C, 'relu-class', 'nn.ReLU without parentheses: the class, not a module', ('relu()', 'instance', 'parenthes'),
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Linear(28*28, n_hidden), nn.ReLU, nn.Linear(n_hidden, 1))")
wrong(C, 'functional-relu', 'F.relu, a function, inside nn.Sequential, which takes modules', ('module', 'nn.relu', 'relu()'),
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Linear(28*28, n_hidden), F.relu, nn.Linear(n_hidden, 1))")
wrong(C, 'no-return', 'the net built but not returned', ('return', 'none'),
      "def make_simple_net(n_hidden=30):\n"
      "    net = nn.Sequential(nn.Linear(28*28, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 1))")
wrong(C, 'leaky-relu', 'nn.LeakyReLU instead of nn.ReLU', ('leaky',),
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Linear(28*28, n_hidden), nn.LeakyReLU(), nn.Linear(n_hidden, 1))")
right(C, 'nested', 'a Sequential inside the Sequential, same creation order',
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Sequential(nn.Linear(28*28, n_hidden), nn.ReLU()), nn.Linear(n_hidden, 1))")
right(C, 'named', 'named layers from an OrderedDict',
      "from collections import OrderedDict\ndef make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(OrderedDict(hidden=nn.Linear(28*28, n_hidden), relu=nn.ReLU(),\n"
      "                                     out=nn.Linear(n_hidden, 1)))")
right(C, 'subclass', 'a subclass of nn.Sequential',
      "class SimpleNet(nn.Sequential):\n    def __init__(self, n_hidden=30):\n"
      "        super().__init__(nn.Linear(28*28, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 1))\n"
      "def make_simple_net(n_hidden=30): return SimpleNet(n_hidden)")
right(C, 'relu-inplace', 'nn.ReLU(inplace=True), on the first layer\'s fresh output',
      "def make_simple_net(n_hidden=30):\n"
      "    return nn.Sequential(nn.Linear(28*28, n_hidden), nn.ReLU(inplace=True), nn.Linear(n_hidden, 1))")
right(C, 'unpacked-list', 'layers built in a list, in order, then unpacked',
      "def make_simple_net(n_hidden=30):\n    layers = [nn.Linear(28*28, n_hidden)]\n    layers.append(nn.ReLU())\n"
      "    layers.append(nn.Linear(n_hidden, 1))\n    return nn.Sequential(*layers)")


# ---------------------------------------------------------------------------------------------------------------
# Lesson 00: stack_images(images), flatten_images(x)

def _sub(src, old, new):
    "src with `old` replaced by `new`; `old` must occur, so that a mistake is never silently the model solution."
    assert old in src, (old, src)
    return src.replace(old, new)

INTS = ('float', 'integer', 'dtype')
C = check_stack_images
wrong(C, 'no-255', 'floats from 0 to 255: never divided by 255', ('255', 'scale', 'between 0 and 1'),
      "def stack_images(images): return torch.stack(images).float()")
wrong(C, 'divide-by-max', 'divided by the largest pixel of the stack: right only when some pixel is 255', ('255', 'max'),
      "def stack_images(images):\n    x = torch.stack(images).float()\n    return x / x.max()")
wrong(C, 'per-image-max', "each image divided by its own largest pixel: a faint image is stretched to 1", ('255', 'max'),
      "def stack_images(images):\n    x = torch.stack(images).float()\n    return x / x.amax(dim=(1, 2), keepdim=True)")
wrong(C, 'divide-256', 'divided by 256: a pixel of 255 is not 1', ('255', '256'),
      "def stack_images(images): return torch.stack(images).float()/256")
wrong(C, 'cat', 'torch.cat joins the rows: shape (N*28, 28) instead of (N, 28, 28)', ('stack', 'cat', 'shape'),
      "def stack_images(images): return torch.cat(images).float()/255")
wrong(C, 'stack-dim-1', 'stacked along axis 1: shape (28, N, 28)', ('dim', 'axis', 'shape'),
      "def stack_images(images): return torch.stack(images, dim=1).float()/255")
wrong(C, 'stack-dim-last', 'stacked along the last axis: shape (28, 28, N)', ('dim', 'axis', 'shape'),
      "def stack_images(images): return torch.stack(images, -1).float()/255")
wrong(C, 'float64', 'double precision instead of float32', ('float32', 'dtype', 'double'),
      "def stack_images(images): return torch.stack(images).double()/255")
wrong(C, 'floor-division', '// 255: integers, 1 only where a pixel is 255 and 0 elsewhere', INTS,
      "def stack_images(images): return torch.stack(images)//255")
wrong(C, 'inverted', '1 - pixel/255: the ink as 0 and the paper as 1', ('invert', 'ink', 'revers'),
      "def stack_images(images): return 1 - torch.stack(images).float()/255")
wrong(C, 'mean-image', "the average image (the next lesson's mean3) instead of the stack", ('mean', 'shape', 'stack'),
      "def stack_images(images): return torch.stack(images).float().mean(0)/255")
wrong(C, 'list', 'a list of scaled images, never stacked into one tensor', ('tensor', 'list', 'stack'),
      "def stack_images(images): return [im.float()/255 for im in images]")
wrong(C, 'torch-tensor', 'torch.tensor(images): a list of tensors cannot be made into one tensor that way',
      ('stack',),
      "def stack_images(images): return torch.tensor(images).float()/255")
wrong(C, 'squeeze', 'squeezed: a list of one image gives (28, 28) instead of (1, 28, 28)', ONE_IMAGE,
      "def stack_images(images): return torch.stack(images).squeeze().float()/255")
wrong(C, 'replaces-list-items', "each item of the learner's list replaced by its scaled image", IN_PLACE,
      "def stack_images(images):\n    for i in range(len(images)): images[i] = images[i].float()/255\n"
      "    return torch.stack(images)")
right(C, 'true-division', '/ on the integers: true division gives float32 already',
      "def stack_images(images): return torch.stack(images)/255")
right(C, 'scale-each-then-stack', 'each image scaled first, then stacked',
      "def stack_images(images): return torch.stack([im.float()/255 for im in images])")
right(C, 'to-div_', 'to(torch.float32), then div_ in place on the fresh stack',
      "def stack_images(images): return torch.stack(images, dim=0).to(torch.float32).div_(255.)")
right(C, 'unsqueeze-cat', 'each image given an axis in front, then concatenated',
      "def stack_images(images): return torch.cat([im.unsqueeze(0) for im in images]).float()/255")
right(C, 'times-reciprocal', 'multiplied by 1/255 (the same up to rounding in the last bit)',
      "def stack_images(images): return torch.stack(images).float() * (1/255)")

C = check_flatten_images
ROWS = ('shape', 'row', '(n, 784)')
wrong(C, 'view-784-first', 'view(28*28, -1): shape (784, N), and the pixels of different images mixed', ROWS,
      "def flatten_images(x): return x.view(28*28, -1)")
wrong(C, 'transposed', 'one column per image: the right rows, transposed', ('shape', 'transpos', '(n, 784)'),
      "def flatten_images(x): return x.view(-1, 28*28).T")
wrong(C, 'flatten-all', 'flatten() makes one vector of N*784 numbers', ('shape', 'row', 'one row per image'),
      "def flatten_images(x): return x.flatten()")
wrong(C, 'column-order', 'transposed before the reshape: each image read column by column', ('order', 'transpos', 'column'),
      "def flatten_images(x): return x.transpose(1, 2).reshape(-1, 28*28)")
wrong(C, 'view-28', 'view(-1, 28): rows of 28 pixels instead of 784', ('shape', '784', '28*28'),
      "def flatten_images(x): return x.view(-1, 28)")
wrong(C, 'squeeze', 'squeezed: a stack of one image gives (784,) instead of (1, 784)', ONE_IMAGE,
      "def flatten_images(x): return x.view(-1, 28*28).squeeze()")
wrong(C, 'hard-6131', "the lesson's 6,131 threes hard-coded as the number of images", ('6131', 'number of images', 'len'),
      "def flatten_images(x): return x.view(6131, 28*28)")
wrong(C, 'divided-again', 'the pixels divided by 255 a second time', ('255', 'pixel', 'value'),
      "def flatten_images(x): return x.view(-1, 28*28)/255")
wrong(C, 'resize_', "resize_ changes the shape of the learner's stack itself", IN_PLACE,
      "def flatten_images(x): return x.resize_(len(x), 28*28)")
wrong(C, 'tolist', 'a nested Python list instead of a tensor', ('tensor', 'list'),
      "def flatten_images(x): return x.view(-1, 28*28).tolist()")
right(C, 'flatten-1', 'flatten(1): every axis after the first into one',
      "def flatten_images(x): return x.flatten(1)")
right(C, 'reshape-len', 'reshape(len(x), -1)',
      "def flatten_images(x): return x.reshape(len(x), -1)")
right(C, 'view-shape-0', 'view with the number of images read from the shape',
      "def flatten_images(x): return x.view(x.shape[0], 28*28)")
right(C, 'stack-of-flat', 'each image flattened, then stacked again (a copy with the same numbers)',
      "def flatten_images(x): return torch.stack([im.flatten() for im in x])")


# ---------------------------------------------------------------------------------------------------------------
# Lesson 04: BasicLearner(dls, model, opt_func, loss_func, metric).fit(epochs, lr)

LEARN_INIT = """class BasicLearner:
    def __init__(self, dls, model, opt_func, loss_func, metric):
        self.dls, self.model, self.opt_func, self.loss_func, self.metric = dls, model, opt_func, loss_func, metric

"""
LEARN_OK = LEARN_INIT + """    def fit(self, epochs, lr):
        opt = self.opt_func(self.model.parameters(), lr)
        values = []
        for epoch in range(epochs):
            for xb, yb in self.dls.train:
                loss = self.loss_func(self.model(xb), yb)
                loss.backward()
                opt.step()
                opt.zero_grad()
            total, count = 0., 0
            with torch.no_grad():
                for xb, yb in self.dls.valid:
                    total += self.metric(self.model(xb), yb).item() * len(xb)
                    count += len(xb)
            values.append(total / count)
        return values"""
C = check_learner
wrong(C, 'no-zero-grad', 'the gradients never reset: they add up over the batches', ('zero', 'reset', 'accumulat'),
      _sub(LEARN_OK, "                opt.zero_grad()\n", ""))
wrong(C, 'zero-before-step', 'the gradients reset between backward() and the step: nothing moves', ('zero', 'before', 'order'),
      _sub(LEARN_OK, "                opt.step()\n                opt.zero_grad()",
           "                opt.zero_grad()\n                opt.step()"))
wrong(C, 'no-step', 'the optimizer never steps: the model stays as it started', ('step',),
      _sub(LEARN_OK, "                opt.step()\n", ""))
wrong(C, 'validates-on-train', 'the metric measured on the training loader', ('dls.valid', 'validation', 'valid'),
      _sub(LEARN_OK, "in self.dls.valid:", "in self.dls.train:"))
wrong(C, 'per-batch-mean', 'each batch counted once instead of each image: the last, shorter batch weighs too much',
      ('each image', 'per image', 'weight'),
      LEARN_INIT + """    def fit(self, epochs, lr):
        opt = self.opt_func(self.model.parameters(), lr)
        values = []
        for epoch in range(epochs):
            for xb, yb in self.dls.train:
                loss = self.loss_func(self.model(xb), yb)
                loss.backward()
                opt.step()
                opt.zero_grad()
            with torch.no_grad():
                accs = [self.metric(self.model(xb), yb).item() for xb, yb in self.dls.valid]
            values.append(sum(accs) / len(accs))
        return values""")
wrong(C, 'batch-size-weight', "every batch weighted by the loader's batch size: the last batch has fewer images",
      ('last', 'len(xb)', 'number of images'),
      _sub(_sub(LEARN_OK, ".item() * len(xb)", ".item() * self.dls.valid.bs"),
           "count += len(xb)", "count += self.dls.valid.bs"))
wrong(C, 'running-total', 'total and count set once before the epochs: each value averages all epochs so far',
      ('reset', 'each epoch', 'every epoch'),
      _sub(_sub(LEARN_OK, "        values = []\n", "        values = []\n        total, count = 0., 0\n"),
           "            total, count = 0., 0\n", ""))
wrong(C, 'all-under-no-grad', 'the whole fit under torch.no_grad(): backward() has nothing to follow',
      ('no_grad', 'no grad', 'gradient'),
      LEARN_INIT + """    def fit(self, epochs, lr):
        opt = self.opt_func(self.model.parameters(), lr)
        values = []
        with torch.no_grad():
            for epoch in range(epochs):
                for xb, yb in self.dls.train:
                    loss = self.loss_func(self.model(xb), yb)
                    loss.backward()
                    opt.step()
                    opt.zero_grad()
                total, count = 0., 0
                for xb, yb in self.dls.valid:
                    total += self.metric(self.model(xb), yb).item() * len(xb)
                    count += len(xb)
                values.append(total / count)
        return values""")
wrong(C, 'global-dls', "fit reads the notebook's `dls`, the one the learner tried it on, instead of self.dls",
      ('self.dls', 'global'),
      "from fastai.data.core import DataLoaders\nfrom fastai.optimizer import SGD\n"
      "from mnist_linear.training import batch_accuracy, mnist_dls, mnist_loss\n"
      + LEARN_OK.replace("self.dls.", "dls.") +
      "\nset_seed(42)\ndls = DataLoaders(*mnist_dls(data))\n"
      "BasicLearner(dls, nn.Linear(28*28,1), SGD, mnist_loss, batch_accuracy).fit(1, 1.)", env=('data',))
wrong(C, 'no-return', 'the values collected but not returned', ('return', 'none'),
      _sub(LEARN_OK, "        return values", "        self.values = values"))
wrong(C, 'last-only', "only the last epoch's value, not one per epoch", ('list', 'each epoch', 'every epoch'),
      _sub(LEARN_OK, "        return values", "        return values[-1]"))
wrong(C, 'rounded', 'each value rounded to 4 places, as validate_epoch does', ('round',),
      _sub(LEARN_OK, "values.append(total / count)", "values.append(round(total / count, 4))"))
wrong(C, 'tensors', 'the metric kept as tensors: a list of tensors instead of Python numbers',
      ('python number', 'item', 'float'),
      _sub(LEARN_OK, "self.metric(self.model(xb), yb).item() * len(xb)", "self.metric(self.model(xb), yb) * len(xb)"))
wrong(C, 'hard-lr', "the learning rate hard-coded as the lesson's 1.", ('lr', 'learning rate'),
      _sub(LEARN_OK, "self.model.parameters(), lr)", "self.model.parameters(), 1.)"))
wrong(C, 'loss-args-swapped', 'loss_func(targets, predictions): the arguments the wrong way round',
      ('order', 'argument', 'swap'),
      _sub(LEARN_OK, "self.loss_func(self.model(xb), yb)", "self.loss_func(yb, self.model(xb))"))
wrong(C, 'sigmoid-before-metric', 'sigmoid applied before the metric, which applies it itself', ('sigmoid', 'twice', 'raw'),
      _sub(LEARN_OK, "self.metric(self.model(xb), yb)", "self.metric(self.model(xb).sigmoid(), yb)"))
right(C, 'zero-grad-first', 'the gradients reset before each forward pass instead of after the step',
      LEARN_INIT + """    def fit(self, epochs, lr):
        opt = self.opt_func(self.model.parameters(), lr)
        values = []
        for epoch in range(epochs):
            for xb, yb in self.dls.train:
                opt.zero_grad()
                self.loss_func(self.model(xb), yb).backward()
                opt.step()
            total, count = 0., 0
            with torch.no_grad():
                for xb, yb in self.dls.valid:
                    total += self.metric(self.model(xb), yb).item() * len(xb)
                    count += len(xb)
            values.append(total / count)
        return values""")
right(C, 'metric-on-all', 'the metric once on all the predictions of the epoch: each image counted once',
      LEARN_INIT + """    def fit(self, epochs, lr):
        opt = self.opt_func(self.model.parameters(), lr)
        values = []
        for epoch in range(epochs):
            for xb, yb in self.dls.train:
                loss = self.loss_func(self.model(xb), yb)
                loss.backward()
                opt.step()
                opt.zero_grad()
            with torch.no_grad():
                preds, targs = zip(*[(self.model(xb), yb) for xb, yb in self.dls.valid])
                values.append(float(self.metric(torch.cat(preds), torch.cat(targs))))
        return values""")
right(C, 'methods', "the book's layout: a method per batch, per epoch and for validation; tensor sums, inference_mode",
      LEARN_INIT + """    def one_batch(self, xb, yb):
        self.loss_func(self.model(xb), yb).backward()
        self.opt.step()
        self.opt.zero_grad()

    def validate(self):
        total, n = torch.tensor(0.), 0
        with torch.inference_mode():
            for xb, yb in self.dls.valid:
                total += self.metric(self.model(xb), yb) * len(yb)
                n += len(yb)
        return (total / n).item()

    def fit(self, epochs, lr):
        self.opt = self.opt_func(self.model.parameters(), lr)
        res = []
        for _ in range(epochs):
            for xb, yb in self.dls.train: self.one_batch(xb, yb)
            res.append(self.validate())
        return res""")
# Not in the catalogue: the optimizer built anew in every epoch. It breaks step 1 of the exercise ("build the
# optimizer once"), but fastai's SGD without momentum keeps no state, so it gives the same numbers as the lesson
# (measured: equal to the last bit). A check may call it right or, for that reason only, wrong.


# ---------------------------------------------------------------------------------------------------------------
# Lesson 06: softmax(x), log_softmax(x), cross_entropy(logits, targets)

SM_OK = """def softmax(x):
    e = (x - x.max(dim=-1, keepdim=True).values).exp()
    return e / e.sum(dim=-1, keepdim=True)"""
C = check_softmax
PER_ROW = ('each row', "row's", 'per row')
KEEPDIM = ('keepdim', 'broadcast', 'shape')
wrong(C, 'not-normalised', 'the exponentials never divided by their sum', ('sum', 'divide', 'normalis'),
      "def softmax(x): return (x - x.max(dim=-1, keepdim=True).values).exp()")
wrong(C, 'sum-dim-0', 'normalised over the first axis: columns add up to 1, not rows', ('dim', 'axis', 'row'),
      _sub(SM_OK, "e.sum(dim=-1, keepdim=True)", "e.sum(dim=0, keepdim=True)"))
wrong(C, 'sum-all', 'divided by the sum of the whole batch: right for one row only', ('each row', 'dim', 'row'),
      _sub(SM_OK, "e.sum(dim=-1, keepdim=True)", "e.sum()"))
wrong(C, 'sum-no-keepdim', 'the sum without keepdim: (N, C) / (N,) does not line up with the rows', KEEPDIM,
      _sub(SM_OK, "e.sum(dim=-1, keepdim=True)", "e.sum(dim=-1)"))
wrong(C, 'max-no-keepdim', 'the maximum without keepdim: (N, C) - (N,) does not line up with the rows', KEEPDIM,
      _sub(SM_OK, "x.max(dim=-1, keepdim=True).values", "x.max(dim=-1).values"))
wrong(C, 'no-max', 'exp of the raw activations: overflows to inf, nan for large activations', ('max', 'overflow', 'nan'),
      "def softmax(x): return x.exp() / x.exp().sum(dim=-1, keepdim=True)")
wrong(C, 'min-subtracted', "each row's smallest activation subtracted: still overflows", ('max', 'largest', 'min'),
      _sub(SM_OK, "x.max(dim=-1, keepdim=True).values", "x.min(dim=-1, keepdim=True).values"))
wrong(C, 'global-max', 'the largest activation of the whole batch subtracted: a row far below it underflows to 0/0',
      PER_ROW, _sub(SM_OK, "x.max(dim=-1, keepdim=True).values", "x.max()"))
wrong(C, 'max-no-values', 'x.max(dim) returns values and indices; subtracting it fails', ('values', 'indices'),
      _sub(SM_OK, "x.max(dim=-1, keepdim=True).values", "x.max(dim=-1, keepdim=True)"))
wrong(C, 'dim-1', 'dim=1 hard-coded: fails for a single row of shape (C,)', ('dim=-1', 'last', 'one row'),
      "def softmax(x):\n    e = (x - x.max(dim=1, keepdim=True).values).exp()\n    return e / e.sum(dim=1, keepdim=True)")
wrong(C, 'sigmoid', 'a sigmoid of each activation: the rows do not add up to 1', ('sigmoid', 'exp', 'sum'),
      "def softmax(x): return torch.sigmoid(x)")
wrong(C, 'detach', 'detached: no gradient flows back to x', NO_GRAD,
      _sub(SM_OK, "return e / e.sum(dim=-1, keepdim=True)", "return (e / e.sum(dim=-1, keepdim=True)).detach()"))
wrong(C, 'no-grad', 'computed under torch.no_grad()', NO_GRAD,
      "def softmax(x):\n    with torch.no_grad():\n        e = (x - x.max(dim=-1, keepdim=True).values).exp()\n"
      "        return e / e.sum(dim=-1, keepdim=True)")
wrong(C, 'x-in-place', '`x -= ...` overwrites the activations passed in', IN_PLACE,
      "def softmax(x):\n    x -= x.max(dim=-1, keepdim=True).values\n    e = x.exp()\n    return e / e.sum(dim=-1, keepdim=True)")
wrong(C, 'exp_-div_', 'exp_ then /= in place on the intermediate: backward() needs the value exp_ produced',
      ('in place', 'in-place', 'backward'),
      "def softmax(x):\n    e = (x - x.max(dim=-1, keepdim=True).values).exp_()\n    e /= e.sum(dim=-1, keepdim=True)\n"
      "    return e")
right(C, 'amax-functions', 'amax, torch.exp, torch.sum',
      "def softmax(x):\n    e = torch.exp(x - torch.amax(x, dim=-1, keepdim=True))\n    return e / torch.sum(e, -1, keepdim=True)")
right(C, 'max-detached', 'the maximum detached: softmax does not change with a shift, so the gradient is the same',
      "def softmax(x):\n    m = x.max(-1, keepdim=True)[0].detach()\n    e = (x - m).exp()\n    return e.div(e.sum(-1, keepdim=True))")
right(C, 'unsqueeze', 'the maximum and the sum made columns with unsqueeze(-1) instead of keepdim',
      "def softmax(x):\n    e = (x - x.max(-1).values.unsqueeze(-1)).exp()\n    return e / e.sum(-1).unsqueeze(-1)")

LSM_OK = """def log_softmax(x):
    m = x.max(dim=-1, keepdim=True).values
    return x - m - (x - m).exp().sum(dim=-1, keepdim=True).log()"""
SOFTMAX_CELL = SM_OK + "\n\n"
C = check_log_softmax
wrong(C, 'log-of-softmax', 'the log of softmax(x): -inf where a probability rounds to 0', ('log-sum-exp', 'logsumexp', 'inf'),
      SOFTMAX_CELL + "def log_softmax(x): return softmax(x).log()")
wrong(C, 'no-max', 'log-sum-exp without subtracting the maximum: exp overflows', ('max', 'overflow', 'inf'),
      "def log_softmax(x): return x - x.exp().sum(dim=-1, keepdim=True).log()")
wrong(C, 'plus-lse', 'the log of the sum added instead of subtracted', ('sign', 'minus', 'subtract'),
      _sub(LSM_OK, "return x - m - (x - m)", "return x - m + (x - m)"))
wrong(C, 'negated', 'the log-sum-exp minus x: minus the log-softmax', ('sign', 'minus', 'negative'),
      "def log_softmax(x):\n    m = x.max(dim=-1, keepdim=True).values\n"
      "    return m + (x - m).exp().sum(dim=-1, keepdim=True).log() - x")
wrong(C, 'sum-dim-0', 'the exponentials summed over the first axis', ('dim', 'axis', 'row'),
      _sub(LSM_OK, ".exp().sum(dim=-1, keepdim=True)", ".exp().sum(dim=0, keepdim=True)"))
wrong(C, 'm-not-added-back', 'the maximum subtracted inside the log but never added back: off by m', ('m +', 'max', 'largest'),
      "def log_softmax(x):\n    m = x.max(dim=-1, keepdim=True).values\n"
      "    return x - (x - m).exp().sum(dim=-1, keepdim=True).log()")
wrong(C, 'sum-no-keepdim', 'the sum without keepdim: (N, C) - (N,) does not line up with the rows', KEEPDIM,
      _sub(LSM_OK, ".exp().sum(dim=-1, keepdim=True)", ".exp().sum(dim=-1)"))
wrong(C, 'global-max', 'the largest activation of the whole batch: a row far below it gives log(0)', PER_ROW,
      _sub(LSM_OK, "x.max(dim=-1, keepdim=True).values", "x.max()"))
wrong(C, 'log10', 'log10 instead of the natural log', ('log10', 'natural'),
      _sub(LSM_OK, ".log()", ".log10()"))
wrong(C, 'no-log', 'softmax itself: the log never taken', ('log',),
      "def log_softmax(x):\n    e = (x - x.max(dim=-1, keepdim=True).values).exp()\n    return e / e.sum(dim=-1, keepdim=True)")
wrong(C, 'max-no-values', 'x.max(dim) returns values and indices; subtracting it fails', ('values', 'indices'),
      _sub(LSM_OK, "x.max(dim=-1, keepdim=True).values", "x.max(dim=-1, keepdim=True)"))
wrong(C, 'detach', 'detached: no gradient flows back to x', NO_GRAD,
      _sub(LSM_OK, "return x - m - (x - m).exp().sum(dim=-1, keepdim=True).log()",
           "return (x - m - (x - m).exp().sum(dim=-1, keepdim=True).log()).detach()"))
wrong(C, 'x-in-place', '`x -= m` overwrites the activations passed in', IN_PLACE,
      "def log_softmax(x):\n    x -= x.max(dim=-1, keepdim=True).values\n    return x - x.exp().sum(dim=-1, keepdim=True).log()")
right(C, 'lse-formula', 'the log-sum-exp written as in the exercise, m + log(sum(exp(x - m))), then x minus it',
      "def log_softmax(x):\n    m = x.max(-1, keepdim=True)[0]\n"
      "    lse = m + torch.log(torch.sum(torch.exp(x - m), dim=-1, keepdim=True))\n    return x - lse")
right(C, 'max-detached', 'the maximum detached: the result does not depend on it, so the gradient is the same',
      "def log_softmax(x):\n    m = x.amax(dim=-1, keepdim=True).detach()\n    s = x - m\n"
      "    return s - s.exp().sum(-1, keepdim=True).log()")
right(C, 'torch-logsumexp', "torch.logsumexp, PyTorch's log-sum-exp with the same trick",
      "def log_softmax(x): return x - torch.logsumexp(x, dim=-1, keepdim=True)")

CE_OK = """def cross_entropy(logits, targets):
    return -log_softmax(logits)[torch.arange(len(targets)), targets].mean()"""
C = check_cross_entropy
wrong(C, 'no-minus', 'the mean log-probability without the minus sign: negative, and maximised', ('minus', 'sign', 'negative'),
      _sub(CE_OK, "return -log_softmax", "return log_softmax"))
wrong(C, 'column-index', 'x[:, targets]: every row at every target, an (N, N) block', ('arange', 'each row', 'index'),
      "def cross_entropy(logits, targets): return -log_softmax(logits)[:, targets].mean()")
wrong(C, 'index-swapped', 'the targets used as row numbers and the row numbers as classes', ('arange', 'index', 'row'),
      _sub(CE_OK, "[torch.arange(len(targets)), targets]", "[targets, torch.arange(len(targets))]"))
wrong(C, 'sum', 'the sum over the rows instead of the mean', ('sum', 'mean'),
      _sub(CE_OK, ".mean()", ".sum()"))
wrong(C, 'no-mean', 'one loss per row, not their mean', ('mean', 'single', 'one number'),
      _sub(CE_OK, ".mean()", ""))
wrong(C, 'mean-every-entry', 'the one-hot product averaged over every entry: divided by N*C instead of N',
      ('mean', 'row', 'class'),
      "def cross_entropy(logits, targets):\n"
      "    return -(log_softmax(logits) * F.one_hot(targets, logits.shape[1])).mean()")
wrong(C, 'softmax', "the probabilities (from the learner's softmax) instead of their log", ('log_softmax', 'log'),
      SOFTMAX_CELL + "def cross_entropy(logits, targets):\n"
      "    return -softmax(logits)[torch.arange(len(targets)), targets].mean()")
wrong(C, 'raw-logits', 'the raw activations picked, log_softmax never taken', ('log_softmax',),
      "def cross_entropy(logits, targets): return -logits[torch.arange(len(targets)), targets].mean()")
wrong(C, 'item', 'a Python number: backward() cannot follow it', ('item', 'backward', 'gradient'),
      _sub(CE_OK, ".mean()", ".mean().item()"))
wrong(C, 'detach', 'detached: no gradient flows back to the logits', NO_GRAD,
      _sub(CE_OK, ".mean()", ".mean().detach()"))
wrong(C, 'max-not-target', "each row's largest log-probability instead of the target's", ('target',),
      "def cross_entropy(logits, targets): return -log_softmax(logits).max(dim=1).values.mean()")
wrong(C, 'transposed', 'log_softmax of the transposed logits: over the images instead of the classes',
      ('transpos', 'row', 'dim'),
      _sub(CE_OK, "log_softmax(logits)", "log_softmax(logits.T)"))
wrong(C, 'gather-no-unsqueeze', 'gather with the (N,) targets: gather needs an (N, 1) index', ('unsqueeze', 'shape', 'gather'),
      "def cross_entropy(logits, targets): return -log_softmax(logits).gather(1, targets).mean()")
wrong(C, 'logits-in-place', '`logits -= ...` for stability overwrites the activations passed in', IN_PLACE,
      "def cross_entropy(logits, targets):\n    logits -= logits.max(dim=1, keepdim=True).values\n"
      "    return -log_softmax(logits)[torch.arange(len(targets)), targets].mean()")
right(C, 'gather', 'gather with the targets as a column',
      "def cross_entropy(logits, targets):\n    return -log_softmax(logits).gather(1, targets.unsqueeze(1)).mean()")
right(C, 'one-hot', 'the one-hot targets times the log-probabilities, summed per row, then averaged',
      "def cross_entropy(logits, targets):\n"
      "    return -(log_softmax(logits) * F.one_hot(targets, logits.shape[-1])).sum(-1).mean()")
right(C, 'nll-loss', "F.nll_loss on the learner's log_softmax: PyTorch's pick-and-average",
      "def cross_entropy(logits, targets): return F.nll_loss(log_softmax(logits), targets)")
right(C, 'range-index', 'range(len(targets)) as the row index, the minus after the mean',
      "def cross_entropy(logits, targets):\n    lsm = log_softmax(logits)\n"
      "    return -(lsm[range(len(targets)), targets].mean())")
right(C, 'diagonal', 'x[:, targets] then its diagonal: the same entries, the long way',
      "def cross_entropy(logits, targets): return -log_softmax(logits)[:, targets].diag().mean()")


# The model solutions of the exercises (read from exercises/solutions/): right before any mistake, and still right after all of them (a learner's
# in-place mistake must not spoil what a check keeps for the next call).
MODEL = {check: BOOK[name] for check, name in [
    (check_mnist_distance, 'mnist_distance'), (check_is_3, 'is_3'), (check_mse, 'mse'), (check_step, 'step'),
    (check_init_params, 'init_params'), (check_linear1, 'linear1'), (check_mnist_loss, 'mnist_loss'),
    (check_calc_grad, 'calc_grad'), (check_train_epoch, 'train_epoch'), (check_batch_accuracy, 'batch_accuracy'),
    (check_validate_epoch, 'validate_epoch'), (check_optim_step, 'BasicOptim'), (check_optim_zero_grad, 'BasicOptim'),
    (check_simple_net, 'simple_net'), (check_make_simple_net, 'make_simple_net'), (check_stack_images, 'stack_images'),
    (check_flatten_images, 'flatten_images'), (check_learner, 'BasicLearner'), (check_softmax, 'softmax'),
    (check_log_softmax, 'log_softmax'), (check_cross_entropy, 'cross_entropy')]}
MODEL[check_sgd_run] = sgd_src()
MODELS = [Entry(c, 'model-solution', 'the model solution', src, env=('data',) if c is check_sgd_run else ())
          for c, src in MODEL.items()]


# ---------------------------------------------------------------------------------------------------------------
# The tests

def _verdict(out, entry):
    lines = out.strip('\n').splitlines()
    assert lines, f"{entry.id}: the check printed nothing"
    m = VERDICT.match(lines[0])
    assert m, f"{entry.id}: the first line is not a verdict: {lines[0]!r}"
    assert m['name'] == CHECKS[entry.check][1], f"{entry.id}: the verdict names {m['name']!r}"
    return m['status'], lines


@pytest.mark.parametrize('entry', WRONG, ids=[e.id for e in WRONG])
def test_wrong_is_called_wrong_with_a_hint_that_names_the_mistake(entry):
    out = run_check(entry)
    assert 'Traceback' not in out, f"{entry.id}: a traceback:\n{out}"
    status, lines = _verdict(out, entry)
    assert status == 'wrong', f"{entry.id} ({entry.why}) is called {status}:\n{out}"
    assert len(lines) <= 3, f"{entry.id}: {len(lines)} lines:\n{out}"
    hints = [l for l in lines[1:] if l.strip().startswith('Hint:')]
    assert hints, f"{entry.id} ({entry.why}): no hint:\n{out}"
    assert any(k in hints[0].lower() for k in entry.keys), \
        f"{entry.id} ({entry.why}): the hint names none of {entry.keys}:\n{out}"


@pytest.mark.parametrize('entry', RIGHT, ids=[e.id for e in RIGHT])
def test_right_is_called_right_in_one_line(entry):
    out = run_check(entry)
    status, lines = _verdict(out, entry)
    assert status == 'right' and len(lines) == 1, f"{entry.id} ({entry.why}) is called {status}:\n{out}"


def test_every_check_has_a_catalogue():
    ids = [e.id for e in WRONG + RIGHT]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    n_wrong, n_right = Counter(e.check for e in WRONG), Counter(e.check for e in RIGHT)
    assert set(MODEL) == set(CHECKS)
    for check in CHECKS:
        assert n_wrong[check] >= 6, (check.__name__, n_wrong[check])
        assert n_right[check] >= 2, (check.__name__, n_right[check])


@pytest.mark.parametrize('entry', MODELS, ids=[e.id for e in MODELS])
def test_model_solutions_are_still_right_after_every_mistake(entry):
    """The mistakes that change their inputs in place have not spoilt anything the check keeps (its cached data):
    they run first, in this same process, whatever order pytest-xdist gives the tests."""
    for e in WRONG:
        if e.check is entry.check and e.keys == IN_PLACE: run_check(e)
    out = run_check(entry)
    status, lines = _verdict(out, entry)
    assert status == 'right' and len(lines) == 1, f"{entry.id} is called {status} after the catalogue ran:\n{out}"
