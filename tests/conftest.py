"Shared fixtures: the real MNIST_SAMPLE (never synthetic), and archives built from it once per session."
import gzip, io, os, shutil, tarfile
from pathlib import Path

import pytest

from mnist_linear.data import mnist_3s_7s
from mnist_linear.files import get_mnist_sample


# The pipeline runs the tests in two processes, a file at a time (`--dist loadfile`), handing out the files in the order
# they are collected (`--no-loadscope-reorder`: pytest-xdist would otherwise hand out the files with the most tests
# first). Taken alphabetically, a long file that comes late runs alone at the end while the other process waits.
# Longest first, the two finish together: these files took 9 s to 60 s each (`--durations=0`, summed per file, on the
# 2-core machine); the others follow in their usual order.
LONGEST_FIRST = ['test_classroom.py', 'test_exercises_run.py', 'test_site.py', 'test_grading.py', 'test_cli.py', 'test_mistakes.py',
                 'test_handouts.py', 'test_checks.py', 'test_check_outputs.py', 'test_files.py']


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))      # stable: each file keeps its own order


@pytest.fixture(scope='session')
def sample_path() -> Path:
    "The installed MNIST_SAMPLE folder. Missing data is a failure, never a skip."
    return get_mnist_sample()


@pytest.fixture(scope='session')
def data(sample_path):
    "The real 3s-and-7s tensors, decoded once for the whole test session."
    return mnist_3s_7s(sample_path)


def run_main(main, argv):
    """A command's `main(argv)` in this process, giving what a separate process would: returncode, stdout, stderr.
    argparse's exit counts as a return code. For tests where a new process proves nothing more."""
    import types
    from contextlib import redirect_stderr, redirect_stdout
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try: rc = main(argv)
        except SystemExit as e: rc = e.code
    return types.SimpleNamespace(returncode=rc, stdout=out.getvalue(), stderr=err.getvalue())


def tar_member(name, data=b'', **attrs) -> bytes:
    "The bytes of one tar member (header and padded data), ready to splice into an uncompressed tar."
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime, ti.mode = len(data), 1577836800, 0o644
    for k, v in attrs.items(): setattr(ti, k, v)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tf:
        tf.addfile(ti, io.BytesIO(data) if ti.isfile() else None)
        end = tf.offset
    return buf.getvalue()[:end]


class SampleTar:
    """The real sample folder as an uncompressed tar in memory, laid out like fastai's `mnist_sample.tgz`
    (`mnist_sample/` first, then every folder and file in sorted order), with the byte span of each member.
    Bad variants are made by splicing these bytes: no file is read again and nothing is re-packed."""
    def __init__(self, folder):
        folder, buf = Path(folder), io.BytesIO()
        self.spans, self.data = {}, {}
        with tarfile.open(fileobj=buf, mode='w') as tf:
            for f in [folder] + sorted(folder.rglob('*')):
                arc = 'mnist_sample' + ('/' + f.relative_to(folder).as_posix() if f != folder else '')
                ti = tf.gettarinfo(f, arcname=arc)
                ti.uid = ti.gid = 0; ti.uname = ti.gname = ''; ti.mtime = 1577836800    # as in the real archive: no pax headers
                start = tf.offset
                if ti.isfile():
                    self.data[arc] = f.read_bytes()
                    tf.addfile(ti, io.BytesIO(self.data[arc]))
                else: tf.addfile(ti)
                self.spans[arc] = (start, tf.offset)
            self.end = tf.offset
        self.tar = buf.getvalue()

    def names(self, prefix): return [n for n in self.spans if n.startswith(prefix)]

    def variant(self, skip=(), replace=None, after=None) -> bytes:
        "The tar without the members in `skip`, with `replace` {name: member bytes} swapped in and `after` {name: member bytes} inserted after a member."
        replace, after, parts, pos = replace or {}, after or {}, [], 0
        for name, (start, end) in self.spans.items():
            if name in skip or name in replace or name in after:
                parts.append(self.tar[pos:start])
                if name in replace: parts.append(replace[name])
                elif name not in skip: parts.append(self.tar[start:end])
                if name in after: parts.append(after[name])
                pos = end
        parts.append(self.tar[pos:])
        return b''.join(parts)

    def write(self, dest, tar_bytes=None, compresslevel=1) -> Path:
        "Write `tar_bytes` (default: the good tar) gzipped into `dest`: a quick compression level, the same format."
        Path(dest).write_bytes(gzip.compress(self.tar if tar_bytes is None else tar_bytes, compresslevel=compresslevel, mtime=0))
        return Path(dest)


@pytest.fixture(scope='session')
def repo_handouts(tmp_path_factory):
    """The repository's HTML handouts: (folder, pages), shared by test_handouts and test_answers. Built once per
    pytest run: under pytest-xdist, the first worker to ask builds them in the run's shared temporary folder,
    under a lock, and the others read that folder."""
    from filelock import FileLock
    import sys; sys.path.insert(0, str(Path(__file__).parent.parent/'tools'/'site'))
    from handouts import build_handouts         # tools/site/handouts.py
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'): shared = shared.parent        # the folder all workers' folders are in
    dest, done = shared/'repo_handouts', shared/'repo_handouts.done'
    with FileLock(str(shared/'repo_handouts.lock')):
        if not done.exists():
            shutil.rmtree(dest, ignore_errors=True)
            pages = build_handouts(Path(__file__).parent.parent/'nbs', dest)
            done.write_text('\n'.join(str(Path(p).relative_to(dest)) for p in pages))
    return dest, [dest/name for name in done.read_text().splitlines()]


@pytest.fixture(scope='session')
def sample_tar(sample_path) -> SampleTar:
    "The real sample as a tar in memory, built once per test session."
    return SampleTar(sample_path)


@pytest.fixture(scope='session')
def good_archive(sample_tar, tmp_path_factory) -> Path:
    "A tgz of the installed real sample, laid out like fastai's mnist_sample.tgz, written once per session."
    return sample_tar.write(tmp_path_factory.mktemp('archives')/'mnist_sample.tgz')


def browser_tools():
    """(node, chromium): the programs the browser tests need. Missing ones fail the test with what to install; they never
    skip it. `CHROMIUM` names another Chromium or Chrome than Debian's /usr/bin/chromium."""
    node = shutil.which('node')
    if node is None: pytest.fail("node is not installed: the browser tests need Node.js (tests/test_drawing.py's docstring)")
    chromium = os.environ.get('CHROMIUM', '/usr/bin/chromium')
    if not Path(chromium).exists():
        pytest.fail(f"{chromium} is missing: install Debian's Chromium (apt-get install chromium), or set CHROMIUM")
    root = Path(__file__).resolve().parent.parent
    for package in ('playwright-core', 'axe-core'):
        if not (root/'node_modules'/package).is_dir():
            pytest.fail(f'node_modules/{package} is missing: run `npm ci` in the repository (package.json)')
    return node, chromium
