"Tests of tools/check_outputs.py, stage 4 of the pipeline: it must catch outputs that are no longer true."
import subprocess, sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).parent.parent
TOOL = ROOT/'tools'/'check_outputs.py'


def notebook(path, cells):
    "A notebook of (source, outputs) pairs, as nbdev-clean would commit it."
    nb = new_notebook(cells=[new_code_cell(src, outputs=outs) for src, outs in cells])
    nb.metadata = {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}}
    nbformat.write(nb, path)
    return path


def check(path):
    return subprocess.run([sys.executable, str(TOOL), str(path)], capture_output=True, text=True, cwd=ROOT)


def result(text): return [new_output('execute_result', data={'text/plain': text}, execution_count=None)]


def test_true_outputs_pass(tmp_path):
    nb = notebook(tmp_path/'ok.ipynb', [('1+1', result('2')), ("print('hi')", [new_output('stream', name='stdout', text='hi\n')])])
    r = check(nb)
    assert r.returncode == 0, r.stdout
    assert '0 with outputs that are no longer true' in r.stdout


def test_a_stale_output_fails(tmp_path):
    nb = notebook(tmp_path/'stale.ipynb', [('1+1', result('3'))])
    r = check(nb)
    assert r.returncode == 1
    assert "cell 0 ('1+1'): outputs differ" in r.stdout and '-3' in r.stdout and '+2' in r.stdout


def test_display_updates_are_compared_in_their_final_state(tmp_path):
    "Like fastprogress's results table: display once, then update in place."
    src = ("from IPython.display import display, HTML\n"
           "h = display(HTML('<p>epoch 0</p>'), display_id=True)\n"
           "h.update(HTML('<p>epoch 1: 0.97, 00:03</p>'))")
    final = [new_output('display_data', data={'text/html': '<p>epoch 1: 0.97, 00:01</p>',
                                               'text/plain': '<IPython.core.display.HTML object>'})]
    assert check(notebook(tmp_path/'upd.ipynb', [(src, final)])).returncode == 0   # times are sanitised
    first = [new_output('display_data', data={'text/html': '<p>epoch 0</p>',
                                               'text/plain': '<IPython.core.display.HTML object>'})]
    assert check(notebook(tmp_path/'upd0.ipynb', [(src, first)])).returncode == 1


def test_a_cell_that_raises_fails(tmp_path):
    r = check(notebook(tmp_path/'err.ipynb', [('1/0', [])]))
    assert r.returncode == 1 and 'ZeroDivisionError' in r.stdout
