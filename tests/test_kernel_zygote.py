"Tests of tools/kernel_zygote.py: kernels forked from the zygote are fresh kernels, and odd requests fall back."
import importlib.util, os, subprocess, sys, time
from pathlib import Path

import pytest
from jupyter_client import KernelManager

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('kernel_zygote', ROOT/'tools'/'kernel_zygote.py')
kz = importlib.util.module_from_spec(spec); spec.loader.exec_module(kz)


@pytest.fixture(scope='module')
def zygote(tmp_path_factory):
    "A zygote of our own on a socket in a temporary folder; its stderr is returned for the tests to read."
    d = tmp_path_factory.mktemp('zygote')
    sock, log = d/'z.sock', d/'log'
    env = {k: v for k, v in os.environ.items() if k != kz.ENV}
    p = subprocess.Popen([sys.executable, str(ROOT/'tools'/'kernel_zygote.py'), 'serve', str(sock)],
                         stderr=open(log, 'w'), env=env)
    for _ in range(600):
        if sock.exists(): break
        assert p.poll() is None, log.read_text()
        time.sleep(0.1)
    yield sock, log
    p.terminate(); p.wait(10)


def run(code, sock, cwd, **env):
    "Start a kernel through the zygote's kernel spec (with `env` added), run `code`, return its stdout and the kernel's pid."
    old = {k: os.environ.get(k) for k in [kz.ENV, *env]}
    os.environ.update({kz.ENV: str(sock), **env})
    km = KernelManager(kernel_name='python3')
    km._kernel_spec = kz.kernel_spec()
    try:
        km.start_kernel(cwd=str(cwd))
        kc = km.client(); kc.start_channels(); kc.wait_for_ready(timeout=60)
        out = []
        kc.execute_interactive(code, timeout=60,
                               output_hook=lambda m: out.append(m['content'].get('text', '')) if m['msg_type'] == 'stream' else None)
        kc.stop_channels()
        return ''.join(out)
    finally:
        km.shutdown_kernel(now=True)
        for k, v in old.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v


PROBE = ("import sys; preloaded = 'torch' in sys.modules\n"
         "import os, random, numpy, torch, pandas\n"
         "print(os.getpid(), os.getcwd(), random.random(), numpy.random.rand(), torch.rand(1).item(), torch.initial_seed(),\n"
         "      preloaded, pandas.get_option('display.max_columns'), os.environ.get('ZYGOTE_TEST'))")


def test_forked_kernels_are_fresh(zygote, tmp_path):
    sock, log = zygote
    a = run(PROBE, sock, tmp_path, ZYGOTE_TEST='a').split()
    b = run(PROBE, sock, ROOT, ZYGOTE_TEST='b').split()
    assert 'not forking' not in log.read_text(), log.read_text()
    assert a[0] != b[0] and int(a[0]) != os.getpid()                      # new processes
    assert (a[1], b[1]) == (str(tmp_path), str(ROOT))                     # each in the folder it was asked for
    assert all(x != y for x, y in zip(a[2:6], b[2:6]))                     # random, numpy, torch: reseeded, not shared
    assert a[6] == 'True' and a[7] == b[7] == '20'                         # torch preloaded; pandas as in any kernel
    assert (a[8], b[8]) == ('a', 'b')                                      # each its own environment


def test_notebook_aware_libraries_are_imported_in_the_kernel(zygote, tmp_path):
    sock, _ = zygote
    out = run("import sys; before = 'fastprogress' in sys.modules\n"
              "from fastprogress.fastprogress import progress_bar, NBProgressBar\n"
              "print(before, progress_bar is NBProgressBar)", sock, tmp_path)
    assert out.split() == ['False', 'True']                                 # HTML progress bars, as in any kernel


def test_other_import_time_settings_start_an_ordinary_kernel(zygote, tmp_path):
    sock, log = zygote
    out = run("import sys; print('torch' in sys.modules)", sock, tmp_path, ATEN_CPU_CAPABILITY='default')
    assert out.split() == ['False']                                         # not forked: nothing preloaded
    assert 'ATEN_CPU_CAPABILITY differ' in log.read_text()


def test_without_a_zygote_the_kernel_is_ordinary(tmp_path):
    out = run("import sys; print('torch' in sys.modules)", tmp_path/'nothing.sock', tmp_path)
    assert out.split() == ['False']
