"Shared fixtures: the real MNIST_SAMPLE (never synthetic), and archives built from it."
import tarfile
from pathlib import Path

import pytest

from mnist_linear.data import get_mnist_sample, mnist_3s_7s


@pytest.fixture(scope='session')
def sample_path() -> Path:
    "The installed MNIST_SAMPLE folder. Missing data is a failure, never a skip."
    return get_mnist_sample()


@pytest.fixture(scope='session')
def data(sample_path):
    "The real 3s-and-7s tensors, decoded once for the whole test session."
    return mnist_3s_7s(sample_path)


def pack(dest, folder, skip=(), replace=None, compresslevel=1):
    "Tar `folder` as `mnist_sample/...` into `dest`, leaving out members in `skip` and swapping in `replace` {arcname: path}."
    replace = replace or {}
    with tarfile.open(dest, 'w:gz', compresslevel=compresslevel) as tf:
        for f in sorted(Path(folder).rglob('*')):
            arc = 'mnist_sample/' + f.relative_to(folder).as_posix()
            if arc in skip: continue
            tf.add(replace.get(arc, f), arcname=arc, recursive=False)
    return dest


@pytest.fixture(scope='session')
def good_archive(sample_path, tmp_path_factory):
    "A tgz of the installed real sample, laid out like fastai's mnist_sample.tgz."
    return pack(tmp_path_factory.mktemp('archives')/'mnist_sample.tgz', sample_path)
