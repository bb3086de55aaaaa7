"Tests of the `mnist-linear` console script, run for real in a subprocess."
import os, subprocess, sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from test_training import GOLDEN

SCRIPT = Path(sys.executable).parent/'mnist-linear'


def run(*args, env=None, cwd=None):
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=900)


def read_history(path):
    lines = Path(path).read_text().splitlines()
    assert lines[0] == 'epoch,train_loss,valid_accuracy'
    return [tuple(float(v) for v in l.split(',')) for l in lines[1:]]


def test_console_script_is_installed():
    assert SCRIPT.exists(), 'pip install -e . declares the mnist-linear console script'


def test_default_linear_run_equals_the_lesson(tmp_path):
    r = run('train', '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr
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
    "Two epochs of the net: the first two rows of lesson 04's Learner table (same seed, constant lr)."
    r = run('train', '--model', 'net', '--epochs', '2', '--out', tmp_path/'net')
    assert r.returncode == 0, r.stderr
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
    r = run('train', *args, '--out', tmp_path/'out')
    assert r.returncode == 2
    assert r.stderr.count('\n') == 1 and message in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr + r.stdout
    assert not (tmp_path/'out').exists()


def test_out_pointing_at_a_file_is_refused(tmp_path):
    (tmp_path/'f').write_text('keep me')
    r = run('train', '--out', tmp_path/'f')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'exists and is not a folder' in r.stderr
    assert 'Traceback' not in r.stderr
    assert (tmp_path/'f').read_text() == 'keep me' and sorted(p.name for p in tmp_path.iterdir()) == ['f']


def test_a_nan_loss_stops_the_run_and_keeps_the_history(tmp_path):
    "The net at lr 1e30 overflows its weights in the first epoch; the loss becomes NaN."
    r = run('train', '--model', 'net', '--lr', '1e30', '--epochs', '3', '--out', tmp_path/'nan')
    assert r.returncode == 1
    assert 'training stopped' in r.stderr and 'nan' in r.stderr and 'Traceback' not in r.stderr
    hist = read_history(tmp_path/'nan'/'history.csv')
    assert len(hist) == 1 and hist[0][1] != hist[0][1]   # one row: epoch 0, loss NaN
    assert not (tmp_path/'nan'/'model.pt').exists()


def offline_env(home):
    "An environment with an empty FASTAI_HOME and no way out: proxies point at a closed local port."
    env = {k: v for k, v in os.environ.items() if k not in ('MNIST_SAMPLE_ARCHIVE', 'no_proxy', 'NO_PROXY')}
    env.update(FASTAI_HOME=str(home), http_proxy='http://127.0.0.1:9', https_proxy='http://127.0.0.1:9',
               HTTP_PROXY='http://127.0.0.1:9', HTTPS_PROXY='http://127.0.0.1:9')
    return env


def test_missing_data_without_network_exits_1_with_the_plain_message(tmp_path):
    r = run('train', '--out', tmp_path/'out', env=offline_env(tmp_path/'home'))
    assert r.returncode == 1
    assert 'MNIST_SAMPLE is not installed' in r.stderr and 'MNIST_SAMPLE_ARCHIVE' in r.stderr
    assert 'Traceback' not in r.stderr
    assert not (tmp_path/'out').exists()


def test_data_check_prints_the_counts():
    r = run('data', '--check')
    assert r.returncode == 0, r.stderr
    for line in ['train/3: 6131 images', 'train/7: 6265 images', 'valid/3: 1010 images', 'valid/7: 1028 images']:
        assert line in r.stdout


def test_data_from_archive_installs_into_fastai_home(tmp_path, good_archive):
    r = run('data', '--from', good_archive, '--check', env=offline_env(tmp_path/'home'))
    assert r.returncode == 0, r.stderr
    assert f"installed MNIST_SAMPLE in {tmp_path/'home'/'data'/'mnist_sample'}" in r.stdout
    assert 'valid/7: 1028 images' in r.stdout


def test_data_from_a_missing_archive_is_a_plain_error(tmp_path):
    r = run('data', '--from', tmp_path/'nope.tgz', env=offline_env(tmp_path/'home'))
    assert r.returncode == 1 and 'does not exist' in r.stderr and 'Traceback' not in r.stderr
