"""Tests of the `mnist-linear` command.

Most tests call `main(argv)` in this process, with stdout and stderr captured: a fresh process would
spend seconds importing torch and fastai and prove nothing more. Each sub-command also runs for real,
as the installed console script in a fresh process, so that the entry point, the exit status and the
process's own output are tested end to end: `train` in `test_default_linear_run_equals_the_lesson` and
`test_bad_input_from_the_console_script`, `data` in `test_data_from_archive_installs_into_fastai_home`.
One more fresh interpreter shows that importing the command's module loads neither torch nor fastai.
"""
import contextlib, io, os, subprocess, sys, warnings
from pathlib import Path
from typing import NamedTuple

import pytest
import torch
from fastai.data.external import fastai_cfg
from PIL import Image

from mnist_linear.cli import main
from test_training import GOLDEN

SCRIPT = Path(sys.executable).parent/'mnist-linear'


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    warnings: list = []   # in-process runs: the warnings a user of the console script would see on stderr


def run(*args, env=None, cwd=None):
    "The installed console script in a fresh process."
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=900)


HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)   # Python's default filters hide these


def call(*args):
    "`main(argv)` in this process: its exit status (argparse's `SystemExit` included), stdout, stderr and visible warnings."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try: rc = main([str(a) for a in args])
        except SystemExit as e: rc = e.code
    shown = [f"{w.category.__name__}: {w.message}" for w in caught if not issubclass(w.category, HIDDEN)]
    return Result(rc, out.getvalue(), err.getvalue(), shown)


def read_history(path):
    lines = Path(path).read_text().splitlines()
    assert lines[0] == 'epoch,train_loss,valid_accuracy'
    return [tuple(float(v) for v in l.split(',')) for l in lines[1:]]


def test_console_script_is_installed():
    assert SCRIPT.exists(), 'pip install -e . declares the mnist-linear console script'


def test_default_linear_run_equals_the_lesson(tmp_path):
    "End to end: the console script, in a fresh process, with every default."
    r = run('train', '--out', tmp_path/'run')
    assert r.returncode == 0 and r.stderr == '', r.stderr
    hist = read_history(tmp_path/'run'/'history.csv')
    assert [int(h[0]) for h in hist] == list(range(20))
    assert [round(h[2], 4) for h in hist] == GOLDEN[1:21]       # the lesson's run, epoch for epoch
    assert 'final validation accuracy 0.9702 after 20 epochs; beats the pixel-similarity baseline (0.9511)' in r.stdout
    for name, min_size in [('curves.png', (600, 200)), ('weights.png', (500, 200))]:
        with Image.open(tmp_path/'run'/name) as im:
            im.verify()
        with Image.open(tmp_path/'run'/name) as im:
            assert im.format == 'PNG' and im.width >= min_size[0] and im.height >= min_size[1], (name, im.size)
    state = torch.load(tmp_path/'run'/'model.pt', weights_only=True)
    assert state['weights'].shape == (784, 1) and state['bias'].shape == (1,)


def test_net_run_equals_the_lesson_and_saves_its_state(tmp_path):
    "Two epochs of the net: the first two rows of lesson 05's Learner table (same seed, constant lr)."
    r = call('train', '--model', 'net', '--epochs', '2', '--out', tmp_path/'net')
    assert r.returncode == 0 and r.stderr == '' and r.warnings == [], (r.stderr, r.warnings)
    hist = read_history(tmp_path/'net'/'history.csv')
    assert [h[2] for h in hist] == [0.967615, 0.969578]
    assert sorted(p.name for p in (tmp_path/'net').iterdir()) == ['curves.png', 'history.csv', 'model.pt']
    state = torch.load(tmp_path/'net'/'model.pt', weights_only=True)
    assert [tuple(v.shape) for v in state.values()] == [(30, 784), (30,), (1, 30), (1,)]


BAD = [
    (['--epochs', '0'], 'argument --epochs: must be a positive integer, got 0'),
    (['--lr', '-1'], 'argument --lr: must be a positive, finite number, got -1'),
    (['--lr', '0'], 'argument --lr: must be a positive, finite number, got 0'),
    (['--lr', 'nan'], 'argument --lr: must be a positive, finite number, got nan'),
    (['--lr', 'inf'], 'argument --lr: must be a positive, finite number, got inf'),
    (['--bs', '0'], 'argument --bs: must be a positive integer, got 0'),
    (['--model', 'cnn'], "argument --model: invalid choice: 'cnn'"),
]

@pytest.mark.parametrize('args,message', BAD, ids=[' '.join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    r = call('train', *args, '--out', tmp_path/'out')
    assert r.returncode == 2
    assert r.stderr.count('\n') == 1 and message in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr + r.stdout
    assert not (tmp_path/'out').exists()


def test_bad_input_from_the_console_script(tmp_path):
    "The same refusal from the real process: exit status 2 and one line, before anything is written."
    r = run('train', '--epochs', '0', '--out', tmp_path/'out')
    assert r.returncode == 2
    assert r.stderr == 'mnist-linear train: error: argument --epochs: must be a positive integer, got 0\n', r.stderr
    assert r.stdout == '' and not (tmp_path/'out').exists()


def test_the_command_module_loads_neither_torch_nor_fastai():
    "Arguments are checked before anything heavy is loaded: the command's module imports neither torch nor fastai."
    r = subprocess.run([sys.executable, '-c', 'import sys, mnist_linear.cli; print(sorted({"torch", "fastai"} & set(sys.modules)))'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == '[]\n', r.stdout + r.stderr


def test_out_pointing_at_a_file_is_refused(tmp_path):
    (tmp_path/'f').write_text('keep me')
    r = call('train', '--out', tmp_path/'f')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'exists and is not a folder' in r.stderr
    assert 'Traceback' not in r.stderr
    assert (tmp_path/'f').read_text() == 'keep me' and sorted(p.name for p in tmp_path.iterdir()) == ['f']


def test_a_nan_loss_stops_the_run_and_keeps_the_history(tmp_path):
    "The net at lr 1e30 overflows its weights in the first epoch; the loss becomes NaN."
    r = call('train', '--model', 'net', '--lr', '1e30', '--epochs', '3', '--out', tmp_path/'nan')
    assert r.returncode == 1
    assert 'training stopped' in r.stderr and 'nan' in r.stderr and 'Traceback' not in r.stderr
    hist = read_history(tmp_path/'nan'/'history.csv')
    assert len(hist) == 1 and hist[0][1] != hist[0][1]   # one row: epoch 0, loss NaN
    assert not (tmp_path/'nan'/'model.pt').exists()


CLOSED = 'http://127.0.0.1:9'   # a local port nothing listens on
PROXIES = ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY')


def offline_env(home):
    "An environment for a fresh process with an empty FASTAI_HOME and no way out: proxies point at a closed local port."
    env = {k: v for k, v in os.environ.items() if k not in ('MNIST_SAMPLE_ARCHIVE', 'no_proxy', 'NO_PROXY')}
    env.update(FASTAI_HOME=str(home), **{k: CLOSED for k in PROXIES})
    return env


@pytest.fixture
def offline(tmp_path, monkeypatch):
    "The same environment for this process, while one test runs (fastcore builds a new opener, so reads the proxies, per request)."
    for k in ('MNIST_SAMPLE_ARCHIVE', 'no_proxy', 'NO_PROXY'): monkeypatch.delenv(k, raising=False)
    for k in PROXIES: monkeypatch.setenv(k, CLOSED)
    monkeypatch.setenv('FASTAI_HOME', str(tmp_path/'home'))
    fastai_cfg.cache_clear()   # fastai reads FASTAI_HOME once per process and caches the answer
    yield tmp_path/'home'
    fastai_cfg.cache_clear()   # and again after, so that the next test reads the real FASTAI_HOME


def test_missing_data_without_network_exits_1_with_the_plain_message(tmp_path, offline):
    r = call('train', '--out', tmp_path/'out')
    assert r.returncode == 1
    assert 'MNIST_SAMPLE is not installed' in r.stderr and 'MNIST_SAMPLE_ARCHIVE' in r.stderr
    assert 'Traceback' not in r.stderr
    assert not (tmp_path/'out').exists()


def test_data_check_prints_the_counts():
    r = call('data', '--check')
    assert r.returncode == 0, r.stderr
    for line in ['train/3: 6131 images', 'train/7: 6265 images', 'valid/3: 1010 images', 'valid/7: 1028 images']:
        assert line in r.stdout


def test_data_from_archive_installs_into_fastai_home(tmp_path, good_archive):
    "End to end: the console script, in a fresh process, installs and checks with no network."
    r = run('data', '--from', good_archive, '--check', env=offline_env(tmp_path/'home'))
    assert r.returncode == 0, r.stderr
    assert f"installed MNIST_SAMPLE in {tmp_path/'home'/'data'/'mnist_sample'}" in r.stdout
    assert 'valid/7: 1028 images' in r.stdout


def test_data_from_a_missing_archive_is_a_plain_error(tmp_path, offline):
    r = call('data', '--from', tmp_path/'nope.tgz')
    assert r.returncode == 1 and 'does not exist' in r.stderr and 'Traceback' not in r.stderr


def test_data_from_a_truncated_archive_is_one_line_and_installs_nothing(tmp_path, offline, good_archive):
    a = tmp_path/'cut.tgz'
    a.write_bytes(good_archive.read_bytes()[:good_archive.stat().st_size//3])
    r = call('data', '--from', a)
    assert r.returncode == 1 and r.stdout == '' and len(r.stderr.splitlines()) == 1, r.stderr
    assert f'mnist-linear data: archive {a} could not be read (truncated or corrupt?)' in r.stderr and 'refusing' not in r.stderr
    assert not (offline/'data').exists() or list((offline/'data').iterdir()) == []


def test_all_digits_run_equals_lesson_06(tmp_path):
    "`--digits all`: lesson 06's linear run, epoch for epoch, plus the templates and the confusion matrix."
    from test_digits import GOLDEN as DIGITS_GOLDEN
    n = torch.get_num_threads()
    torch.set_num_threads(1)      # as the lesson ran
    try: r = call('train', '--digits', 'all', '--epochs', '2', '--out', tmp_path/'all')
    finally: torch.set_num_threads(n)
    assert r.returncode == 0 and r.stderr == '' and r.warnings == [], (r.stderr, r.warnings)
    hist = read_history(tmp_path/'all'/'history.csv')
    assert [round(h[2], 4) for h in hist] == DIGITS_GOLDEN[:2]
    assert f'final validation accuracy {DIGITS_GOLDEN[1]:.4f} after 2 epochs' in r.stdout
    assert sorted(p.name for p in (tmp_path/'all').iterdir()) == ['confusion.png', 'curves.png', 'history.csv', 'model.pt', 'templates.png']
    for name in ['confusion.png', 'templates.png']:
        with Image.open(tmp_path/'all'/name) as im: im.verify()
        with Image.open(tmp_path/'all'/name) as im: assert im.format == 'PNG' and im.width >= 500 and im.height >= 400, (name, im.size)
    state = torch.load(tmp_path/'all'/'model.pt', weights_only=True)
    assert state['weights'].shape == (784, 10) and state['bias'].shape == (10,)


def test_all_digits_with_the_net_is_refused(tmp_path):
    r = call('train', '--digits', 'all', '--model', 'net', '--out', tmp_path/'x')
    assert r.returncode == 2 and r.stdout == '' and len(r.stderr.splitlines()) == 1
    assert 'linear model of lesson 06 only' in r.stderr and not (tmp_path/'x').exists()
