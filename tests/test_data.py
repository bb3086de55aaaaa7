"Tests of `mnist_linear.data` on the real MNIST_SAMPLE, and of `install_sample` on archives built from it."
import io, os, tarfile, urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import mnist_linear.data as md
from fastai.data.external import fastai_cfg
from mnist_linear.data import (EXPECTED_COUNTS, MnistSampleError, check_sample, get_mnist_sample, install_sample,
                               load_digits, mnist_3s_7s, sample_dir)
from conftest import pack

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


def test_rows_follow_sorted_files(sample_path, data):
    for split, digit, row in [('train', 3, 0), ('train', 7, 6131), ('valid', 3, 0), ('valid', 7, 1010)]:
        first = sorted((sample_path/split/str(digit)).glob('*.png'))[0]
        expected = torch.from_numpy(np.array(Image.open(first))).float()/255
        x = data.train_x if split == 'train' else data.valid_x
        assert torch.equal(x[row].view(28, 28), expected), (split, digit)


def test_order_is_the_same_on_every_call(sample_path, data):
    again = mnist_3s_7s(sample_path)
    for a, b in zip(data, again): assert torch.equal(a, b)


def test_load_digits(sample_path):
    x = load_digits(sample_path, 'valid', 7)
    assert x.shape == (1028, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= x.min().item() and x.max().item() <= 1.0


def test_get_mnist_sample_is_the_untar_data_folder(sample_path):
    assert sample_path == sample_dir()
    assert check_sample(sample_path) == EXPECTED_COUNTS

# --- missing data ----------------------------------------------------------------------------

@pytest.fixture
def home(tmp_path, monkeypatch):
    "A temporary FASTAI_HOME (fastai caches its config, so the cache is cleared around the test)."
    monkeypatch.setenv('FASTAI_HOME', str(tmp_path/'home'))
    fastai_cfg.cache_clear()
    yield tmp_path/'home'
    monkeypatch.undo()
    fastai_cfg.cache_clear()


def test_missing_data_without_network_is_a_plain_error(home, monkeypatch):
    monkeypatch.delenv('MNIST_SAMPLE_ARCHIVE', raising=False)
    def offline(*a, **k): raise urllib.error.URLError('[Errno -2] Name or service not known')
    monkeypatch.setattr(md, 'untar_data', offline)
    with pytest.raises(MnistSampleError) as ei: get_mnist_sample()
    msg = str(ei.value)
    assert 'not installed' in msg and 'internet' in msg and 'MNIST_SAMPLE_ARCHIVE' in msg
    assert ei.value.__suppress_context__, "the urllib error must not be chained into the traceback"


def test_archive_env_installs_on_first_use(home, monkeypatch, good_archive):
    monkeypatch.setenv('MNIST_SAMPLE_ARCHIVE', str(good_archive))
    def no_download(*a, **k): raise AssertionError('must not download when MNIST_SAMPLE_ARCHIVE is set')
    monkeypatch.setattr(md, 'untar_data', no_download)
    p = get_mnist_sample()
    assert p == home/'data'/'mnist_sample'
    assert check_sample(p) == EXPECTED_COUNTS

# --- install_sample --------------------------------------------------------------------------

def files_under(p): return sorted(str(f.relative_to(p)) for f in Path(p).rglob('*'))


def assert_refused(archive, home, match):
    "The archive is refused with a clear error; nothing is installed and nothing is written outside `home`."
    outside_before = [f for f in files_under(home.parent) if not f.startswith('home')]
    with pytest.raises(MnistSampleError, match=match): install_sample(archive)
    outside_after = [f for f in files_under(home.parent) if not f.startswith('home')]
    assert outside_after == outside_before
    assert not (home/'data'/'mnist_sample').exists()
    assert list((home/'data').iterdir()) == [], 'no temporary folder may be left behind'


def test_install_good_archive(home, good_archive):
    p = install_sample(good_archive)
    assert p == home/'data'/'mnist_sample'
    assert check_sample(p) == EXPECTED_COUNTS
    assert sorted(f.name for f in (home/'data').iterdir()) == ['mnist_sample']
    # installing again replaces the folder in place
    assert install_sample(good_archive) == p and check_sample(p) == EXPECTED_COUNTS


def tiny_archive(path, add):
    "A small gzip tar; `add(tf)` adds members to it."
    with tarfile.open(path, 'w:gz') as tf: add(tf)
    return path


def add_bytes(tf, name, data=b'x', **attrs):
    ti = tarfile.TarInfo(name); ti.size = len(data)
    for k, v in attrs.items(): setattr(ti, k, v)
    tf.addfile(ti, io.BytesIO(data))


def test_refuses_parent_member(home, tmp_path):
    a = tiny_archive(tmp_path/'evil.tgz', lambda tf: (add_bytes(tf, 'mnist_sample/labels.csv'), add_bytes(tf, '../evil')))
    assert_refused(a, home, 'outside the target')
    assert not (tmp_path/'evil').exists() and not (home/'evil').exists()


def test_refuses_absolute_member(home, tmp_path):
    target = tmp_path/'abs_evil'
    a = tiny_archive(tmp_path/'abs.tgz', lambda tf: add_bytes(tf, str(target)))
    assert_refused(a, home, 'absolute path')
    assert not target.exists()


def test_refuses_symlink_member(home, tmp_path):
    def add(tf):
        ti = tarfile.TarInfo('mnist_sample/train'); ti.type = tarfile.SYMTYPE; ti.linkname = str(tmp_path)
        tf.addfile(ti)
    assert_refused(tiny_archive(tmp_path/'link.tgz', add), home, 'link or special file')


def test_refuses_device_member(home, tmp_path):
    def add(tf):
        ti = tarfile.TarInfo('mnist_sample/null'); ti.type = tarfile.CHRTYPE; ti.devmajor, ti.devminor = 1, 3
        tf.addfile(ti)
    assert_refused(tiny_archive(tmp_path/'dev.tgz', add), home, 'link or special file')


def test_refuses_member_outside_mnist_sample(home, tmp_path):
    a = tiny_archive(tmp_path/'other.tgz', lambda tf: add_bytes(tf, 'other/readme.txt'))
    assert_refused(a, home, 'not under mnist_sample')


def test_refuses_truncated_archive(home, tmp_path, good_archive):
    a = tmp_path/'truncated.tgz'
    a.write_bytes(good_archive.read_bytes()[: good_archive.stat().st_size // 2])
    assert_refused(a, home, 'truncated or corrupt')


def test_refuses_archive_with_one_image_missing(home, tmp_path, sample_path):
    gone = sorted((sample_path/'valid'/'7').glob('*.png'))[5]
    a = pack(tmp_path/'missing.tgz', sample_path, skip={f'mnist_sample/valid/7/{gone.name}'})
    assert_refused(a, home, r'valid/7 holds 1027 PNG images, expected 1028')


def test_refuses_32x32_image(home, tmp_path, sample_path):
    victim = sorted((sample_path/'train'/'3').glob('*.png'))[0]
    big = tmp_path/'big.png'
    Image.fromarray(np.zeros((32, 32), dtype=np.uint8), mode='L').save(big)
    a = pack(tmp_path/'big.tgz', sample_path, replace={f'mnist_sample/train/3/{victim.name}': big})
    assert_refused(a, home, r'train/3/\S+ is 32x32 mode L, expected 28x28')


def test_refuses_missing_archive_file(home, tmp_path):
    with pytest.raises(MnistSampleError, match='does not exist'): install_sample(tmp_path/'nope.tgz')
