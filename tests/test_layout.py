"""Tests of the project's layout: settings.ini + setup.py for metadata, pyproject.toml for nbdev 3 and pytest.

The nbdev 2 check (tools/nbdev2_check.sh) runs for real on scratch copies; it builds its cached
environment (.venv-nbdev2/) if it is missing, so a missing environment costs time, never a skip.
"""
import configparser, importlib.metadata, shutil, subprocess, sys, tarfile, tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import mnist_linear

ROOT = Path(__file__).parent.parent
CHECK = ROOT/'tools'/'nbdev2_check.sh'
BIN = Path(sys.executable).parent


def settings(path=ROOT):
    cp = configparser.ConfigParser(delimiters=['='])
    cp.read(Path(path)/'settings.ini', encoding='utf-8')
    return cp['DEFAULT']


def run_check(path):
    return subprocess.run(['bash', str(CHECK), str(path)], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    "A scratch copy of the notebooks and settings, with the package freshly written by nbdev 3's nbdev-export."
    d = tmp_path_factory.mktemp('exported')
    for f in ('settings.ini', 'pyproject.toml'): shutil.copy(ROOT/f, d)
    shutil.copytree(ROOT/'nbs', d/'nbs', ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
    (d/'mnist_linear').mkdir()
    shutil.copy(ROOT/'mnist_linear'/'__init__.py', d/'mnist_linear')
    r = subprocess.run([str(BIN/'nbdev-export')], cwd=d, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return d


@pytest.fixture
def repo(exported, tmp_path):
    "A copy of `exported` that a test may spoil."
    return Path(shutil.copytree(exported, tmp_path/'repo'))


def test_nbdev2_writes_what_nbdev3_writes(repo):
    mods = sorted(p.name for p in (repo/'mnist_linear').glob('*.py'))
    assert {'__init__.py', '_modidx.py', 'data.py', 'cli.py'} <= set(mods)
    r = run_check(repo)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith('nbdev 2 check passed: nbdev 2.4.14')
    assert f'same {len(mods)} files' in lines[0] and f'== {settings()["version"]}' in lines[0]


def test_check_fails_on_a_module_edited_by_hand(repo):
    with open(repo/'mnist_linear'/'data.py', 'a') as f: f.write('\nHAND_EDIT = 1\n')
    r = run_check(repo)
    assert r.returncode == 1
    assert 'mnist_linear/data.py differs from what nbdev 2 writes' in r.stdout and '-HAND_EDIT = 1' in r.stdout
    assert 'nbdev 2 check FAILED: 1 problem(s)' in r.stdout


def test_check_fails_on_a_module_no_notebook_exports(repo):
    (repo/'mnist_linear'/'leftover.py').write_text('x = 1\n')
    r = run_check(repo)
    assert r.returncode == 1 and 'mnist_linear/leftover.py is not written by nbdev 2' in r.stdout


def test_check_fails_when_the_versions_disagree(repo):
    ini = repo/'settings.ini'
    old = settings(repo)['version']
    ini.write_text(ini.read_text().replace(f'\nversion = {old}\n', '\nversion = 99.0.0\n'))
    r = run_check(repo)
    assert r.returncode == 1
    assert f"mnist_linear.__version__ is '{old}' but settings.ini's version is '99.0.0'" in r.stdout
    # nbdev 2 writes settings.ini's version into __init__.py, so that file differs too
    assert 'mnist_linear/__init__.py differs' in r.stdout and '+__version__ = "99.0.0"' in r.stdout


def test_check_fails_when_settings_ini_and_pyproject_disagree(repo):
    pp = repo/'pyproject.toml'
    pp.write_text(pp.read_text().replace('clean_ids = true', 'clean_ids = false'))
    r = run_check(repo)
    assert r.returncode == 1 and "clean_ids is 'True' in settings.ini but False in pyproject.toml" in r.stdout


def test_check_rejects_a_folder_without_settings_ini(tmp_path):
    r = run_check(tmp_path)
    assert r.returncode == 2 and r.stdout == '' and r.stderr.strip().splitlines() == [f'error: {tmp_path}/settings.ini not found: nothing to check']


def test_one_version_and_metadata_source():
    cfg = settings()
    assert mnist_linear.__version__ == cfg['version'] == importlib.metadata.version('mnist-linear')
    pp = tomllib.loads((ROOT/'pyproject.toml').read_text())
    assert 'project' not in pp, 'a [project] table would override setup.py for the fields it declares'
    assert pp['tool']['nbdev']['lib_path'] == cfg['lib_path'] == 'mnist_linear'
    eps = importlib.metadata.entry_points()
    assert {e.name: e.value for e in eps.select(group='console_scripts') if e.name.startswith('mnist-linear')} == \
        dict(s.split('=') for s in cfg['console_scripts'].split())
    assert [e.value for e in eps.select(group='nbdev', name='mnist_linear')] == ['mnist_linear._modidx:d']


@pytest.fixture(scope='module')
def sdist(tmp_path_factory):
    "An sdist built as from a fresh clone: from a copy of the files git tracks or would track (no egg-info, no build/)."
    src = tmp_path_factory.mktemp('src')
    ls = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                        capture_output=True, text=True, check=True).stdout
    for f in filter(None, ls.split('\0')):
        if (ROOT/f).is_file():  # a deleted file the index still lists is not in a clone of the next commit
            (src/f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT/f, src/f)
    assert not (src/'mnist_linear.egg-info').exists() and (src/'settings.ini').exists()
    r = subprocess.run([sys.executable, '-c', 'from setuptools import build_meta as b; print(b.build_sdist("dist"))'],
                       cwd=src, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return src/'dist'/r.stdout.split()[-1]


def test_sdist_carries_settings_ini_and_the_metadata(sdist):
    cfg = settings()
    with tarfile.open(sdist) as tf:
        top = tf.getnames()[0].split('/')[0]
        names = set(tf.getnames())
        info = tf.extractfile(f'{top}/PKG-INFO').read().decode()
    assert {f'{top}/settings.ini', f'{top}/setup.py', f'{top}/mnist_linear/_modidx.py'} <= names
    fields = [l.split(': ', 1) for l in info.splitlines() if ': ' in l and not l.startswith(' ')]
    assert ['Version', cfg['version']] in fields and ['Requires-Python', '>=' + cfg['min_python']] in fields
    reqs = [Requirement(v) for k, v in fields if k == 'Requires-Dist']
    norm = lambda rs: [str(Requirement(r)) for r in rs]
    assert [str(r) for r in reqs if not r.marker] == norm(cfg['requirements'].split())
    extra = lambda name: [f'{r.name}{r.specifier}' for r in reqs if str(r.marker) == f'extra == "{name}"']
    keys = {name: norm(cfg[f'{name}_requirements'].split()) for name in ('lab', 'dev', 'instructor')}
    assert extra('lab') == keys['lab'] and extra('instructor') == keys['instructor']
    assert extra('dev') == list(dict.fromkeys(keys['lab'] + keys['dev'] + keys['instructor']))


def test_sdist_installs(sdist, tmp_path):
    "pip builds a wheel from the sdist (setup.py reading the settings.ini it carries) and installs it."
    r = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation', '--no-index',
                        '--target', str(tmp_path/'site'), str(sdist)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    site = tmp_path/'site'
    assert (site/'mnist_linear'/'_modidx.py').exists() and (site/'mnist_linear'/'cli.py').exists()
    [ep] = site.glob('mnist_linear-*.dist-info/entry_points.txt')
    eps = ep.read_text()
    assert 'mnist-linear = mnist_linear.cli:console_main' in eps and 'mnist_linear = mnist_linear._modidx:d' in eps
    assert not any(site.glob('tests')) and not any(site.glob('nbs'))


def test_setup_py_without_settings_ini_says_so(sdist, tmp_path):
    with tarfile.open(sdist) as tf: tf.extractall(tmp_path, filter='data')
    [d] = tmp_path.iterdir()
    (d/'settings.ini').unlink()
    r = subprocess.run([sys.executable, 'setup.py', '--version'], cwd=d, capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        f'error: {d.resolve()}/settings.ini not found; setup.py reads all metadata from settings.ini']
