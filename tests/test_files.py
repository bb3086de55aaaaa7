"Tests of `mnist_linear.files` (appendix 93): the datasets' table, reading PNGs ourselves, checking a folder, and installing archives built from the real MNIST_SAMPLE."
import ast, io, os, re, shutil, socket, stat, struct, tarfile, tempfile, urllib.error, zlib
from pathlib import Path

import fastdownload.core
import numpy as np
import pytest
import torch
from PIL import Image

import mnist_linear.files as mf
from fastai.data.external import fastai_cfg
from mnist_linear.data import load_digits, mnist_3s_7s
from mnist_linear.files import (DATASETS, MnistSampleError, check_folder, dataset_dir, get_dataset, get_mnist_sample,
                                install_archive, install_dataset, png_files, png_pixels, png_unfilter)
from conftest import tar_member

SAMPLE = DATASETS['mnist_sample']
PACKAGE = Path(mf.__file__).parent

# --- the table, listing and finding the sample ------------------------------------------------

def test_png_files_is_the_sorted_glob(sample_path):
    for split, digit in SAMPLE.counts:
        folder = sample_path/split/digit
        assert png_files(folder) == sorted(folder.glob('*.png'))


def test_get_mnist_sample_is_the_untar_data_folder(sample_path):
    assert sample_path == dataset_dir('mnist_sample') == get_dataset('mnist_sample')
    assert check_folder(sample_path, SAMPLE.counts) == SAMPLE.counts


def test_the_table_names_fastais_archives_and_the_environment_variables():
    assert [(d.archive, d.folder, d.env, sum(d.counts.values())) for d in DATASETS.values()] == [
        ('mnist_sample.tgz', 'mnist_sample', 'MNIST_SAMPLE_ARCHIVE', 14434), ('mnist_png.tgz', 'mnist_png', 'MNIST_ARCHIVE', 70000)]
    with pytest.raises(MnistSampleError, match=r"unknown dataset 'mnist_png': the course knows 'mnist_sample', 'mnist'"):
        get_dataset('mnist_png')


@pytest.mark.parametrize('module', ['data', 'digits'])
def test_lesson_modules_use_only_public_names_of_the_package(module):
    "A lesson module imports no `_`-name from another module of the package: appendix 93's reading API is public."
    tree = ast.parse((PACKAGE/f'{module}.py').read_text())
    imports = [(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level for a in n.names]
    assert ('files', 'read_digit_pixels') in imports and ('files', 'pixels_to_tensor') in imports
    assert [(m, name) for m, name in imports if name.startswith('_')] == []

# --- png_pixels on a real digit, re-encoded every way PNG allows --------------------------------

SIG = b'\x89PNG\r\n\x1a\n'


def chunk(kind, body): return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))


def png(scanlines, w=28, h=28, depth=8, colour=0, interlace=0, ihdr=None, idat=None):
    "A PNG file around `scanlines` (filter byte + row, for every row), or around raw `idat` bytes."
    ihdr = ihdr if ihdr is not None else struct.pack('>IIBBBBB', w, h, depth, colour, 0, 0, interlace)
    idat = idat if idat is not None else zlib.compress(scanlines)
    return SIG + chunk(b'IHDR', ihdr) + chunk(b'IDAT', idat) + chunk(b'IEND', b'')


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filtered(img, filters):
    "PNG scanlines of the 2-d uint8 array `img`, row i stored with filter `filters[i]` (0 none, 1 sub, 2 up, 3 average, 4 paeth)."
    out, prev = bytearray(), [0]*img.shape[1]
    for row, f in zip(img.tolist(), filters):
        out.append(f)
        for x, v in enumerate(row):
            a, b, c = (row[x-1] if x else 0), prev[x], (prev[x-1] if x else 0)
            pred = [0, a, b, (a + b)//2, paeth(a, b, c)][f]
            out.append((v - pred) % 256)
        prev = row
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


@pytest.fixture(scope='module')
def digit(sample_path):
    "A real 7: its file's bytes and the pixels PIL decodes from it."
    f = png_files(sample_path/'valid'/'7')[3]
    return f.read_bytes(), np.asarray(Image.open(f))


def test_png_pixels_of_a_real_file(digit):
    data, img = digit
    assert png_pixels(data) == img.tobytes()


@pytest.mark.parametrize('filters', [[1]*28, [2]*28, [3]*28, [4]*28, [i % 5 for i in range(28)]])
def test_png_pixels_undoes_every_filter_like_pil(digit, filters):
    _, img = digit
    f = png(filtered(img, filters))
    assert png_pixels(f) == img.tobytes()
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(f))), img)


@pytest.mark.parametrize('few', [0, 10**9], ids=['numpy-columns', 'python-columns'])
def test_png_unfilter_undoes_a_batch_of_mixed_filters(sample_path, few, monkeypatch):
    "Twelve real digits, each row with its own filter (all five, seeded), undone in one call: PIL's pixels, image by image; both ways of undoing Average and Paeth."
    monkeypatch.setattr(mf, '_FEW', few)
    rng = np.random.default_rng(0)
    imgs = [np.asarray(Image.open(f)) for f in png_files(sample_path/'valid'/'3')[:12]]
    rows = np.stack([np.frombuffer(filtered(img, rng.integers(0, 5, 28).tolist()), np.uint8).reshape(28, 29) for img in imgs])
    assert set(rows[:, :, 0].ravel().tolist()) == {0, 1, 2, 3, 4}
    assert np.array_equal(png_unfilter(rows), np.stack(imgs))


@pytest.mark.parametrize('few', [0, 10**9], ids=['numpy-columns', 'python-columns'])
def test_png_unfilter_breaks_paeth_ties_as_png_says(few, monkeypatch):
    "Seeded noise, not a digit: neighbours at equal distances from a + b - c are common in it, so Paeth's tie order (a, then b, then c) matters; PIL decodes the same PNGs."
    monkeypatch.setattr(mf, '_FEW', few)
    rng = np.random.default_rng(1)
    noise = [rng.integers(0, 256, (28, 28), dtype=np.uint8) for _ in range(10)]
    files = [png(filtered(img, [4, 3]*14)) for img in noise]
    rows = np.stack([np.frombuffer(mf._png_scanlines(f), np.uint8).reshape(28, 29) for f in files])
    assert np.array_equal(png_unfilter(rows), np.stack([np.asarray(Image.open(io.BytesIO(f))) for f in files]))


def test_png_pixels_reads_an_interlaced_png(digit):
    _, img = digit
    lines = b''.join(filtered(img[y0::dy, x0::dx], [i % 5 for i in range(28)]) for x0, y0, dx, dy in ADAM7)
    assert png_pixels(png(lines, interlace=1)) == img.tobytes()


def scanlines_of(img): return filtered(img, [0]*img.shape[0])


def flip_bit(data, at): b = bytearray(data); b[at] ^= 1; return bytes(b)


BAD_PNGS = {
    'not a png':        (lambda d, img: b'GIF89a' + d[6:], 'is not a PNG file'),
    'truncated':        (lambda d, img: d[:100], 'is truncated'),
    'one bit flipped':  (lambda d, img: flip_bit(d, 60), "checksum of its 'IDAT' chunk is wrong"),
    'header bit':       (lambda d, img: flip_bit(d, 20), "checksum of its 'IHDR' chunk is wrong"),
    'no IHDR first':    (lambda d, img: SIG + chunk(b'tEXt', b'a\0b') + d[8:], 'does not start with an IHDR'),
    '32x32':            (lambda d, img: png(scanlines_of(np.zeros((32, 32), np.uint8)), 32, 32), 'is 32x32 8-bit greyscale, expected 28x28 8-bit greyscale'),
    'RGB':              (lambda d, img: png(scanlines_of(np.repeat(img, 3, 1)), colour=2), 'is 28x28 8-bit RGB, expected'),
    '16-bit':           (lambda d, img: png(scanlines_of(np.repeat(img, 2, 1)), depth=16), 'is 28x28 16-bit greyscale, expected'),
    '4-bit (PIL: L)':   (lambda d, img: png(scanlines_of(img[:, :14]//16), depth=4), 'is 28x28 4-bit greyscale, expected'),
    'pixels missing':   (lambda d, img: png(scanlines_of(img[:27])), 'holds 783 bytes of pixel data, expected 812'),
    'pixels too many':  (lambda d, img: png(scanlines_of(np.zeros((2000, 28), np.uint8))), 'holds 1624 bytes of pixel data, expected 812'),
    'not zlib':         (lambda d, img: png(b'', idat=b'not zlib data'), 'does not decompress'),
    'unknown filter':   (lambda d, img: png(b'\x07' + scanlines_of(img)[1:]), 'a row has filter type 7; PNG has types 0 to 4'),
    'unknown method':   (lambda d, img: png(b'', ihdr=struct.pack('>IIBBBBB', 28, 28, 8, 0, 1, 0, 0)), 'unknown compression'),
}


@pytest.mark.parametrize('case', BAD_PNGS)
def test_png_pixels_refuses(digit, case):
    make, message = BAD_PNGS[case]
    with pytest.raises(ValueError, match=re.escape(message)): png_pixels(make(*digit))


def copy_some(sample_path, dest, split='valid', digit='7', n=5):
    "A small folder of real PNGs: the first `n` of `split/digit`."
    (dest/split/digit).mkdir(parents=True)
    for f in png_files(sample_path/split/digit)[:n]: shutil.copy2(f, dest/split/digit/f.name)
    return dest


def test_check_folder_names_a_corrupt_or_missing_file(sample_path, tmp_path):
    p = copy_some(sample_path, tmp_path/'s')
    assert check_folder(p, {('valid', '7'): 5}) == {('valid', '7'): 5}
    (p/'valid'/'7'/'notes.txt').write_text('not an image')          # a file that is not a PNG is not counted
    assert check_folder(p, {('valid', '7'): 5}) == {('valid', '7'): 5}
    victim = png_files(p/'valid'/'7')[2]
    victim.write_bytes(flip_bit(victim.read_bytes(), 60))
    with pytest.raises(MnistSampleError, match=rf"valid/7/{victim.name} is corrupt"): check_folder(p, {('valid', '7'): 5})
    victim.unlink()
    with pytest.raises(MnistSampleError, match=r'valid/7 holds 4 PNG images, expected 5'): check_folder(p, {('valid', '7'): 5})
    with pytest.raises(MnistSampleError, match=r's/valid/3 is missing: expected 3 images of 3s'): check_folder(p, {('valid', '3'): 3})


def test_a_changed_png_is_never_served_stale(sample_path, tmp_path):
    "Nothing decoded is kept between calls: a file replaced by another of the same size and mtime is read again."
    p = copy_some(sample_path, tmp_path/'s', n=200)
    files = png_files(p/'valid'/'7')
    by_size = {}
    for f in files: by_size.setdefault(f.stat().st_size, []).append(f)
    a, b = next(fs for fs in by_size.values() if len(fs) >= 2 and fs[0].read_bytes() != fs[1].read_bytes())[:2]
    before = load_digits(p, 'valid', 7)
    st = a.stat()
    a.write_bytes(b.read_bytes())
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert a.stat().st_size == st.st_size and a.stat().st_mtime_ns == st.st_mtime_ns
    after = load_digits(p, 'valid', 7)
    i, j = files.index(a), files.index(b)
    assert not torch.equal(before[i], after[i]) and torch.equal(after[i], after[j])
    a.write_bytes(b'not a png')
    with pytest.raises(MnistSampleError, match=rf'valid/7/{a.name} is not a PNG file'): load_digits(p, 'valid', 7)

# --- missing data ----------------------------------------------------------------------------

@pytest.fixture
def home(tmp_path, monkeypatch):
    "A temporary FASTAI_HOME (fastai caches its config, so the cache is cleared around the test)."
    monkeypatch.setenv('FASTAI_HOME', str(tmp_path/'home'))
    fastai_cfg.cache_clear()
    yield tmp_path/'home'
    monkeypatch.undo()
    fastai_cfg.cache_clear()


@pytest.mark.parametrize('failure, reason, name, title', [
    (ConnectionRefusedError(111, 'Connection refused'), 'Connection refused', 'mnist_sample', 'MNIST_SAMPLE'),
    (socket.gaierror(-2, 'Name or service not known'), 'Name or service not known', 'mnist_sample', 'MNIST_SAMPLE'),
    (TimeoutError('timed out'), 'timed out', 'mnist_sample', 'MNIST_SAMPLE'),
    (TimeoutError('timed out'), 'timed out', 'mnist', 'the full MNIST')])
def test_missing_data_without_network_is_one_clean_sentence(home, monkeypatch, capfd, failure, reason, name, title):
    "fastai's real untar_data runs, progress bar and all, until the download itself fails."
    ds = DATASETS[name]
    monkeypatch.delenv(ds.env, raising=False)
    def offline(*a, **k): raise urllib.error.URLError(failure)
    monkeypatch.setattr(fastdownload.core, 'urlsave', offline)
    with pytest.raises(MnistSampleError) as ei: get_dataset(name)
    msg = str(ei.value)
    assert msg.startswith(f"{title} is not installed at {home/'data'/ds.folder} and could not be downloaded ({reason}): ")
    assert 'internet' in msg and f'{ds.env}=/path/to/{ds.archive}' in msg
    assert f"`mnist_linear.files.install_dataset('{name}', '/path/to/{ds.archive}')`" in msg
    assert callable(getattr(mf, 'install_dataset')), 'the message names a function that exists where it says'
    assert ('mnist-linear data --from' in msg) == (name == 'mnist_sample'), 'the command installs the sample only' 
    assert msg.endswith('.') and '\n' not in msg and '\r' not in msg
    assert ei.value.__suppress_context__, "the urllib error must not be chained into the traceback"
    out, err = capfd.readouterr()
    assert (out, err) == ('', ''), 'nothing else is printed: no stray progress-bar character'


def test_a_working_download_still_shows_its_progress_bar(home, monkeypatch, capfd):
    "Only fastprogress's one-character console test is dropped; the bar itself reaches the console."
    monkeypatch.delenv('MNIST_SAMPLE_ARCHIVE', raising=False)
    def fake_download(url, dest, reporthook=None, timeout=None):
        for i in range(3): reporthook(i, 1000, 3000)
        raise urllib.error.URLError(ConnectionResetError(104, 'Connection reset by peer'))
    monkeypatch.setattr(fastdownload.core, 'urlsave', fake_download)
    with pytest.raises(MnistSampleError, match=r'\(Connection reset by peer\)'): get_mnist_sample()
    out, _ = capfd.readouterr()
    assert out.startswith('\r |---') and '|█████' in out and '[1000/3000' in out


# --- installing ------------------------------------------------------------------------------

def files_under(p): return sorted(str(f.relative_to(p)) for f in Path(p).rglob('*'))


def assert_refused(archive, home, match, counts=None):
    """The archive is refused with a clear error; nothing is installed and nothing is written outside `home`. With
    `counts`, it is installed as a small sample holding those counts (`FEW`), else as the real one (`install_dataset`)."""
    outside_before = [f for f in files_under(home.parent) if not f.startswith('home')]
    with pytest.raises(MnistSampleError, match=match) as ei:
        if counts: install_archive(archive, 'mnist_sample', counts)
        else: install_dataset('mnist_sample', archive)
    e = ei.value
    assert '\n' not in str(e) and e.__cause__ is None and (e.__context__ is None or e.__suppress_context__), 'one line, no chained traceback'
    outside_after = [f for f in files_under(home.parent) if not f.startswith('home')]
    assert outside_after == outside_before
    assert not (home/'data').exists() or list((home/'data').iterdir()) == [], 'nothing, not even a temporary folder, is left behind'


# Most refusals are shown on a small sample of real images, laid out like the real one: the same installer checks
# them (`install_dataset` is `install_archive` with the table's counts), without unpacking 14,434 files each time.
FEW = {('valid', '3'): 4, ('valid', '7'): 4}


def few(sample_tar, skip=(), replace=None, after=None) -> bytes:
    "An uncompressed tar of the first real images of each folder in `FEW`, without `skip`, with `replace` {name: member bytes} swapped in and `after` {name: member bytes} inserted after a member."
    replace, after, parts = replace or {}, after or {}, []
    for (split, digit), n in FEW.items():
        for name in sample_tar.names(f'mnist_sample/{split}/{digit}/')[:n]:
            if name not in skip: parts.append(replace.get(name) or tar_member(name, sample_tar.data[name]))
            if name in after: parts.append(after[name])
    return b''.join(parts) + bytes(1024)


def few_names(sample_tar, folder): return sample_tar.names(f'mnist_sample/{folder}/')[:FEW[tuple(folder.split('/'))]]


def test_archive_env_installs_on_first_use_and_install_dataset_replaces_it(home, monkeypatch, good_archive, data):
    "Two full installs of the real sample, in one test: each writes 14,434 files."
    monkeypatch.setenv('MNIST_SAMPLE_ARCHIVE', str(good_archive))
    def no_download(*a, **k): raise AssertionError('must not download when MNIST_SAMPLE_ARCHIVE is set')
    monkeypatch.setattr(mf, 'untar_data', no_download)
    p = get_mnist_sample()
    assert p == home/'data'/'mnist_sample'
    assert check_folder(p, SAMPLE.counts) == SAMPLE.counts
    assert sorted(f.name for f in (home/'data').iterdir()) == ['mnist_sample']
    assert all(torch.equal(a, b) for a, b in zip(mnist_3s_7s(p), data)), 'the installed images are the real ones'
    # installing again replaces the folder in place
    assert install_dataset('mnist_sample', good_archive) == p and check_folder(p, SAMPLE.counts) == SAMPLE.counts
    assert sorted(f.name for f in (home/'data').iterdir()) == ['mnist_sample']


def test_install_works_in_a_temporary_folder_beside_the_target(home, tmp_path, sample_tar, monkeypatch):
    made = []
    def spy(*a, **k):
        made.append(Path(tempfile_mkdtemp(*a, **k))); return str(made[-1])
    tempfile_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, 'mkdtemp', spy)
    sevens = sample_tar.names('mnist_sample/valid/7/')
    a = sample_tar.write(tmp_path/'small.tgz', sample_tar.variant(skip=set(sample_tar.names('mnist_sample/train/'))
                                                                  | set(sample_tar.names('mnist_sample/valid/3'))))
    assert install_archive(a, 'mnist_sample', {('valid', '7'): len(sevens)}) == home/'data'/'mnist_sample'
    assert [m.parent for m in made] == [home/'data'] and not made[0].exists()


def test_install_archive_takes_another_layout(home, tmp_path, sample_tar, data):
    "The full MNIST's layout (mnist_png/training/<digit>/, testing/<digit>/), here with a few real images."
    threes, sevens = sample_tar.names('mnist_sample/train/3/')[:6], sample_tar.names('mnist_sample/valid/7/')[:4]
    members = [tar_member(n.replace('mnist_sample/train/', 'mnist_png/training/'), sample_tar.data[n]) for n in threes]
    members += [tar_member(n.replace('mnist_sample/valid/', 'mnist_png/testing/'), sample_tar.data[n]) for n in sevens]
    a = sample_tar.write(tmp_path/'mnist_png.tgz', b''.join(members) + bytes(1024))
    spec = {('training', '3'): 6, ('testing', '7'): 4}
    dest = install_archive(a, 'mnist_png', spec, dest=tmp_path/'elsewhere'/'mnist_png')
    assert dest == tmp_path/'elsewhere'/'mnist_png' and check_folder(dest, spec) == spec
    assert torch.equal(load_digits(dest, 'training', 3).view(-1, 784), data.train_x[:6])
    assert torch.equal(load_digits(dest, 'testing', 7).view(-1, 784), data.valid_x[1010:1014])
    assert not (home/'data'/'mnist_png').exists()
    assert install_archive(a, 'mnist_png', spec) == home/'data'/'mnist_png'    # by default into fastai's data folder
    with pytest.raises(MnistSampleError, match='not under mnist_sample/'): install_dataset('mnist_sample', a)


@pytest.mark.parametrize('fmt, mode', [
    (tarfile.USTAR_FORMAT, 'w:gz'),      # a long path split into ustar's prefix and name
    (tarfile.USTAR_FORMAT, 'w'),         # not compressed
    (tarfile.GNU_FORMAT, 'w:gz'),        # GNU's extra header for a long name
    (tarfile.PAX_FORMAT, 'w:gz'),        # pax headers (fractional mtimes)
    (tarfile.USTAR_FORMAT, 'w:bz2'),     # other compressions
    (tarfile.USTAR_FORMAT, 'w:xz')])
def test_every_tar_format_installs(tmp_path, sample_tar, fmt, mode):
    "Python's tarfile reads every format and compression; what is installed is the archive's bytes."
    a, members = tmp_path/'a.tar', {}
    with tarfile.open(a, mode, format=fmt) as tf:
        for i, name in enumerate(sample_tar.names('mnist_sample/valid/7/')[:3]):
            arc = name if i else 'mnist_sample/' + 'd'*120 + '/7.png'
            members[arc] = sample_tar.data[name]
            ti = tarfile.TarInfo(arc); ti.size, ti.mtime = len(members[arc]), 1577836800.5
            tf.addfile(ti, io.BytesIO(members[arc]))
    dest = install_archive(a, 'mnist_sample', {('valid', '7'): 2}, dest=tmp_path/'data'/'mnist_sample')
    assert {str(f.relative_to(dest.parent)): f.read_bytes() for f in dest.rglob('*') if f.is_file()} == members
    assert sorted(p.name for p in (tmp_path/'data').iterdir()) == ['mnist_sample']


def test_unpacks_with_tarfiles_data_filter(tmp_path, sample_tar):
    "PEP 706's 'data' filter is on: a set-user-ID, world-writable member is installed as plain data."
    name = sample_tar.names('mnist_sample/valid/7/')[0]
    a = sample_tar.write(tmp_path/'modes.tgz', tar_member(name, sample_tar.data[name], mode=0o4777) + bytes(1024))
    dest = install_archive(a, 'mnist_sample', {('valid', '7'): 1}, dest=tmp_path/'data'/'mnist_sample')
    mode = (dest.parent/name).stat().st_mode
    assert stat.S_ISREG(mode) and mode & (stat.S_ISUID | stat.S_IWOTH | stat.S_IWGRP) == 0, oct(mode)


def test_a_refused_archive_leaves_the_installed_data_alone(tmp_path, sample_tar):
    "A link planted after some images were unpacked: the temporary folder goes, the installed folder stays as it was."
    sevens = sample_tar.names('mnist_sample/valid/7/')[:3]
    good = sample_tar.write(tmp_path/'good.tgz', b''.join(tar_member(n, sample_tar.data[n]) for n in sevens) + bytes(1024))
    dest = install_archive(good, 'mnist_sample', {('valid', '7'): 3}, dest=tmp_path/'data'/'mnist_sample')
    before = {f: f.read_bytes() for f in dest.rglob('*')if f.is_file()}
    evil = b''.join(tar_member(n.replace('/7/', '/3/'), sample_tar.data[n]) for n in sevens)
    evil += tar_member('mnist_sample/valid/7/link.png', type=tarfile.SYMTYPE, linkname='/etc/passwd') + bytes(1024)
    with pytest.raises(MnistSampleError, match="'mnist_sample/valid/7/link.png' is a link or special file; refusing to install"):
        install_archive(sample_tar.write(tmp_path/'evil.tgz', evil), 'mnist_sample', {('valid', '7'): 3}, dest=dest)
    assert {f: f.read_bytes() for f in dest.rglob('*') if f.is_file()} == before
    assert sorted(p.name for p in (tmp_path/'data').iterdir()) == ['mnist_sample'], 'no temporary folder is left'


def test_an_unwritable_target_is_one_line(tmp_path, sample_tar):
    "The data folder's parent is a file: the error says so in one line, and the file is untouched."
    name = sample_tar.names('mnist_sample/valid/7/')[0]
    a = sample_tar.write(tmp_path/'one.tgz', tar_member(name, sample_tar.data[name]) + bytes(1024))
    (tmp_path/'file').write_bytes(b'x')
    with pytest.raises(MnistSampleError, match=rf"^could not install {re.escape(str(a))} into {re.escape(str(tmp_path/'file'/'data'/'mnist_sample'))}: ") as ei:
        install_archive(a, 'mnist_sample', {('valid', '7'): 1}, dest=tmp_path/'file'/'data'/'mnist_sample')
    assert '\n' not in str(ei.value) and (tmp_path/'file').read_bytes() == b'x'


def test_refuses_parent_member(home, tmp_path, sample_tar):
    a = sample_tar.write(tmp_path/'evil.tgz', tar_member('mnist_sample/labels.csv', b'x') + tar_member('../evil', b'x') + bytes(1024))
    assert_refused(a, home, 'outside the target')
    assert not (tmp_path/'evil').exists() and not (home/'evil').exists()


def test_refuses_absolute_member(home, tmp_path, sample_tar):
    target = tmp_path/'abs_evil'
    a = sample_tar.write(tmp_path/'abs.tgz', tar_member(str(target), b'x') + bytes(1024))
    assert_refused(a, home, 'absolute path')
    assert not target.exists()


@pytest.mark.parametrize('kind, attrs', [
    ('symlink', dict(type=tarfile.SYMTYPE, linkname='/etc')),
    ('hard link', dict(type=tarfile.LNKTYPE, linkname='mnist_sample/labels.csv')),
    ('device', dict(type=tarfile.CHRTYPE, devmajor=1, devminor=3)),
    ('fifo', dict(type=tarfile.FIFOTYPE))])
def test_refuses_links_and_special_files(home, tmp_path, sample_tar, kind, attrs):
    "Planted right after the first image."
    first = few_names(sample_tar, 'valid/3')[0]
    a = sample_tar.write(tmp_path/'special.tgz', few(sample_tar, after={first: tar_member('mnist_sample/valid/3/x.png', **attrs)}))
    assert_refused(a, home, 'link or special file', FEW)


def test_refuses_member_outside_mnist_sample(home, tmp_path, sample_tar):
    "In the real archive, after its first member."
    a = sample_tar.write(tmp_path/'other.tgz', sample_tar.variant(after={'mnist_sample/labels.csv': tar_member('other/readme.txt', b'x')}))
    assert_refused(a, home, 'not under mnist_sample')


def test_refuses_an_empty_archive(home, tmp_path, sample_tar):
    "Only the end-of-archive marker: a tar with no members."
    assert_refused(sample_tar.write(tmp_path/'empty.tgz', bytes(1024)), home, 'holds no mnist_sample/ folder')


def test_refuses_an_archive_without_the_folder(home, tmp_path, sample_tar):
    "`mnist_sample` is there, but as a file."
    assert_refused(sample_tar.write(tmp_path/'file.tgz', tar_member('mnist_sample', b'x') + bytes(1024)), home, 'holds no mnist_sample/ folder')


@pytest.mark.parametrize('compress', [True, False])
def test_refuses_truncated_archive(home, tmp_path, good_archive, sample_tar, compress):
    "The real archive cut half way, gzipped; or a small one, not compressed, cut in the middle of an image's bytes."
    a = tmp_path/'truncated.tgz'
    if compress: a.write_bytes(good_archive.read_bytes()[: good_archive.stat().st_size // 2])
    else: a.write_bytes(few(sample_tar)[: len(tar_member(few_names(sample_tar, 'valid/3')[0], b'')) + 100])
    assert_refused(a, home, r'could not be read \(truncated or corrupt\?\)', None if compress else FEW)


@pytest.mark.parametrize('what', ['a PNG', 'nothing'])
def test_refuses_a_file_that_is_not_an_archive(home, tmp_path, digit, what):
    a = tmp_path/'digit.tgz'
    a.write_bytes(digit[0] if what == 'a PNG' else b'')
    assert_refused(a, home, 'could not be read: it is not a tar archive, or it is empty, truncated or corrupt$')


def test_refuses_archive_with_one_image_missing(home, tmp_path, sample_tar):
    gone = few_names(sample_tar, 'valid/7')[2]
    a = sample_tar.write(tmp_path/'missing.tgz', few(sample_tar, skip={gone}))
    assert_refused(a, home, r'valid/7 holds 3 PNG images, expected 4', FEW)


def test_refuses_archive_with_a_folder_missing(home, tmp_path, sample_tar):
    a = sample_tar.write(tmp_path/'nofolder.tgz', few(sample_tar, skip=set(few_names(sample_tar, 'valid/3'))))
    assert_refused(a, home, r'mnist_sample/valid/3 is missing', FEW)


def test_refuses_32x32_image(home, tmp_path, sample_tar):
    victim = few_names(sample_tar, 'valid/3')[0]
    big = io.BytesIO()
    Image.fromarray(np.zeros((32, 32), dtype=np.uint8), mode='L').save(big, format='PNG')
    a = sample_tar.write(tmp_path/'big.tgz', few(sample_tar, replace={victim: tar_member(victim, big.getvalue())}))
    assert_refused(a, home, rf"valid/3/{Path(victim).name} is 32x32 8-bit greyscale, expected 28x28 8-bit greyscale", FEW)


def test_refuses_a_corrupt_image(home, tmp_path, sample_tar):
    "One flipped bit in one real image, the last one of the archive."
    victim = few_names(sample_tar, 'valid/7')[-1]
    a = sample_tar.write(tmp_path/'corrupt.tgz', few(sample_tar, replace={victim: tar_member(victim, flip_bit(sample_tar.data[victim], 60))}))
    assert_refused(a, home, rf"valid/7/{Path(victim).name} is corrupt \(the checksum", FEW)


def test_refuses_an_image_with_an_unknown_row_filter(home, tmp_path, sample_tar, digit):
    "A well-formed PNG (every checksum right) whose 5th row has filter type 5: the install checks every filter byte, not only the chunks."
    victim = few_names(sample_tar, 'valid/3')[3]
    lines = bytearray(filtered(digit[1], [i % 5 for i in range(28)]))
    lines[4*29] = 5
    a = sample_tar.write(tmp_path/'filter.tgz', few(sample_tar, replace={victim: tar_member(victim, png(bytes(lines)))}))
    assert_refused(a, home, rf"valid/3/{Path(victim).name} is corrupt \(a row has filter type 5; PNG has types 0 to 4\)", FEW)


def test_refuses_a_member_twice(home, tmp_path, sample_tar):
    first = few_names(sample_tar, 'valid/3')[0]
    a = sample_tar.write(tmp_path/'twice.tgz', few(sample_tar, after={first: tar_member(first, sample_tar.data[first])}))
    assert_refused(a, home, rf"{first!r} appears twice", FEW)


def test_refuses_a_damaged_header(home, tmp_path, sample_tar):
    "A flipped bit in a member's header: tarfile takes the bad checksum for the end of the archive; the counts catch it."
    tar = few(sample_tar)
    start = sum(len(tar_member(n, sample_tar.data[n])) for n in few_names(sample_tar, 'valid/3'))      # the first 7's header
    a = sample_tar.write(tmp_path/'header.tgz', flip_bit(tar, start + 30))
    assert_refused(a, home, r'mnist_sample/valid/7 is missing: expected 4 images of 7s', FEW)


def test_refuses_missing_archive_file(home, tmp_path):
    with pytest.raises(MnistSampleError, match='does not exist'): install_dataset('mnist_sample', tmp_path/'nope.tgz')
