"""Tests of tools/check_outputs.py, stage 3 of the pipeline: one run of each notebook must catch outputs
that are no longer true, cells that raise, cells that are not safe to run twice, and cells that raise
when a learner scrolls up; a cell marked `#| check: run once` is still compared with its committed
outputs, and listed; and it must run a student copy only when that proves something more. Also the
runner it shares with the other tools (tools/nbrun.py --inplace, the Makefile's `outputs`).

Each test runs the tool once on a folder of tiny notebooks (kernels start 2 at a time)."""
import json, re, subprocess, sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).parent.parent
TOOL = ROOT/'tools'/'check_outputs.py'


def notebook(path, cells):
    "A notebook of (source, outputs) pairs, as nbdev-clean would commit it."
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = new_notebook(cells=[new_code_cell(src, outputs=outs) for src, outs in cells])
    nb.metadata = {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}}
    nbformat.write(nb, path)
    return path


def check(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def result(text): return [new_output('execute_result', data={'text/plain': text}, execution_count=None)]
def printed(text): return [new_output('stream', name='stdout', text=text)]
def html(text): return [new_output('display_data', data={'text/html': text, 'text/plain': '<IPython.core.display.HTML object>'})]


def problems_of(out, nb):
    "The problem paragraphs the report gives for notebook `nb`."
    return [p for p in out.split('\n\n') if p.startswith(f'{nb}, cell ')]


# Like fastprogress's results table: displayed once, then updated in place (here with a time in it).
PROGRESS = ("from IPython.display import display, HTML\n"
            "h = display(HTML('<p>epoch 0</p>'), display_id=True)\n"
            "h.update(HTML('<p>epoch 1: 0.97, 00:03</p>'))")


# Like fastprogress: its stylesheet goes out once per kernel, as an HTML output holding only a <style> block.
CSS_ONCE = ("from IPython.display import display, HTML\n"
            "if not globals().get('css_sent'): display(HTML('<style>td {color: red}</style>')); css_sent = True\n"
            "display(HTML('<td>0.97</td>'))")


def test_good_notebooks_pass(tmp_path):
    notebook(tmp_path/'ok.ipynb', [('x = 1\nx+1', result('2')), ("print('hi')", printed('hi\n')),
                                   ('#| export\ndef f(a): return a+x', []), ('f(1)', result('2'))])
    notebook(tmp_path/'upd.ipynb', [(PROGRESS, html('<p>epoch 1: 0.97, 00:01</p>'))])   # times are sanitised
    # an update from a later cell reaches the display, as in Jupyter, though the cell ran twice
    notebook(tmp_path/'later.ipynb', [("from IPython.display import display, HTML\nh = display(HTML('a'), display_id=True)", html('b')),
                                      ("h.update(HTML('b'))", [])])
    # the second run shows no stylesheet: not a difference a learner sees
    notebook(tmp_path/'css.ipynb', [(CSS_ONCE, html('<style>td {color: red}</style>') + html('<td>0.97</td>'))])
    r = check(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r'ok\.ipynb: 4 code cells, first run [\d.]+s, whole check [\d.]+s, no problems', r.stdout), r.stdout
    assert '4 notebooks checked' in r.stdout and '0 problem(s)' in r.stdout


@pytest.fixture(scope='module')
def bad(tmp_path_factory):
    d = tmp_path_factory.mktemp('bad')
    nbs = dict(
        counter=notebook(d/'counter.ipynb', [('n = 0', []), ('n += 1\nprint(n)', printed('1\n')), ('n', result('1'))]),
        scroll=notebook(d/'scroll.ipynb', [('def area(w): return w*w', []), ('area(3)', result('9')),
                                           ('#| export\ndef area(w, h): return w*h', []), ('area(3, 4)', result('12'))]),
        stale=notebook(d/'stale.ipynb', [('1+1', result('3')), ("print('same')", printed('same\n'))]),
        raises=notebook(d/'raises.ipynb', [('1+1', result('2')), ('1/0', []), ('never = True', [])]),
        rerun=notebook(d/'rerun.ipynb', [('items = [1]', []), ('last = items.pop()\nlast', result('1'))]),
        upd0=notebook(d/'upd0.ipynb', [(PROGRESS, html('<p>epoch 0</p>'))]),
        css=notebook(d/'css.ipynb', [(CSS_ONCE, html('<td>0.97</td>'))]),
        tol=notebook(d/'tol.ipynb', TOLERANCE_CELLS),
        once=notebook(d/'once.ipynb', ONCE_CELLS),
        noisy=notebook(d/'noisy.ipynb', [(TO_KERNEL_LOG % 'shutdown noise' + '\n1/0', [])]),
        dies=notebook(d/'dies.ipynb', [(TO_KERNEL_LOG % 'dying now' + '\nos._exit(1)', [])]),
    )
    # the project's own patterns, and a tolerance for the cells of tol.ipynb that start '# the net'
    cfg = d/'sanitize.cfg'
    cfg.write_text((ROOT/'tools'/'output_sanitize.cfg').read_text() + TOLERANCE_CFG)
    r = check(d, '--sanitize', cfg)
    return r, nbs


TOLERANCE_CFG = '\n[net]\nnotebook: tol.ipynb\ncell: ^# the net\ntolerance: 0.001\n'
TOLERANCE_CELLS = [
    ("# the net\nprint('accuracy', 0.9682)", printed('accuracy 0.9688\n')),           # last digit: passes
    ("# the net, changed\nprint('accuracy', 0.9788)", printed('accuracy 0.9688\n')),  # 0.01: fails
    ("# the net, reworded\nprint('acc', 0.9688)", printed('accuracy 0.9688\n')),      # a word: fails
    ("print('exact', 0.9682)", printed('exact 0.9688\n')),                             # no tolerance: fails
    # within the tolerance of the committed output, but it prints something else when run again
    ("# the net, drifting\nn = globals().get('n', 0) + 1\nprint(0.5 + n*1e-4)", printed('0.5001\n')),
]


# Like a training cell: it raises if it runs a second time in one kernel, so any second run or upward re-run shows.
TRAIN_ONCE = "assert 'trained' not in globals(), 'trained twice'\ntrained = True\nprint('accuracy', 0.97)"
ONCE_CELLS = [
    ('#| check: run once\n' + TRAIN_ONCE, printed('accuracy 0.97\n')),                       # passes: run once only
    ("#| export\n#| check: run once\nprint('loss', 0.5)", printed('loss 0.4\n')),          # still compared: fails
    ("k = globals().get('k', 0) + 1\nprint(k)", printed('1\n')),                              # unmarked: still run twice
    ("#| check: twice\nprint('x')", printed('x\n')),                                          # an unknown value: fails
]


def test_bad_notebooks_fail(bad):
    r, nbs = bad
    assert r.returncode == 1
    assert f'{len(nbs)} notebooks checked' in r.stdout


def test_a_cell_that_is_not_idempotent_fails(bad):
    r, nbs = bad
    ps = problems_of(r.stdout, nbs['counter'])
    assert ps and ps[0].startswith(f"{nbs['counter']}, cell 1 ('n += 1'): run twice: the second run prints something else")
    assert '-1\n+2' in ps[0]
    # the next cell's first run sees n == 2: its output is no longer the committed one
    assert any("cell 2 ('n'): committed outputs differ" in p for p in ps)


def test_a_scroll_up_type_error_fails(bad):
    r, nbs = bad
    ps = problems_of(r.stdout, nbs['scroll'])
    assert len(ps) == 1, ps
    assert ps[0].startswith(f"{nbs['scroll']}, cell 1 ('area(3)'): re-run in reverse order")
    assert "raises TypeError: area() missing 1 required positional argument: 'h'" in ps[0]


def test_a_stale_output_fails(bad):
    r, nbs = bad
    ps = problems_of(r.stdout, nbs['stale'])
    assert len(ps) == 1 and ps[0].startswith(f"{nbs['stale']}, cell 0 ('1+1'): committed outputs differ")
    assert '-3' in ps[0] and '+2' in ps[0]


# Writes a line to the kernel process's own stderr, the log file nbrun gives it: fd 2, or, where ipykernel captures
# fd 2 for the notebook (not under pytest, whose variables the kernel inherits here), the copy it keeps of the original.
TO_KERNEL_LOG = "import os, sys\nos.write(getattr(sys.stderr, '_original_stdstream_copy', 2), b'%s\\n')"


def test_the_kernels_own_stderr_is_shown_when_the_kernel_dies_and_only_then(bad):
    r, nbs = bad
    assert "the kernel died" in problems_of(r.stdout, nbs['dies'])[0]
    assert f"{nbs['dies']}: the kernel's stderr ended with:\n    dying now" in r.stdout
    # a cell that merely raises: one problem, and whatever the kernel's log holds (at shutdown, now and then a
    # ZMQError) is not another
    ps = problems_of(r.stdout, nbs['noisy'])
    assert len(ps) == 1 and 'ZeroDivisionError' in ps[0], ps
    assert f"{nbs['noisy']}: the kernel's stderr" not in r.stdout


def test_a_cell_that_raises_fails_and_stops_the_notebook(bad):
    r, nbs = bad
    ps = problems_of(r.stdout, nbs['raises'])
    assert len(ps) == 1, ps
    assert "cell 1 ('1/0'): raises on the first run (top to bottom): ZeroDivisionError: division by zero" in ps[0]


def test_a_second_run_that_raises_fails(bad):
    r, nbs = bad
    ps = problems_of(r.stdout, nbs['rerun'])
    assert any("cell 1 ('last = items.pop()'): run twice: the second run raises IndexError: pop from empty list" in p for p in ps), ps


def test_a_display_is_compared_in_its_final_state(bad):
    r, nbs = bad
    ps = problems_of(r.stdout, nbs['upd0'])
    assert len(ps) == 1 and 'committed outputs differ' in ps[0] and '-<p>epoch 0</p>' in ps[0]


def test_cells_run_once_are_compared_listed_and_not_run_again(bad):
    r, nbs = bad
    once = nbs['once']
    ps = problems_of(r.stdout, once)
    assert re.search(rf"{re.escape(str(once))}: 4 code cells, 2 run once, first run", r.stdout), r.stdout
    assert re.search(r"cell 0 run once \(`#\| check: run once`: not run twice, not re-run upward\): assert 'trained'", r.stdout), r.stdout
    assert re.search(r"cell 1 run once .*: print\('loss', 0\.5\)", r.stdout), r.stdout
    assert not any(p.startswith(f"{once}, cell 0 ") for p in ps), ps                # neither run twice nor upward
    assert any(p.startswith(f"{once}, cell 1 (\"print('loss', 0.5)\"): committed outputs differ") for p in ps), ps
    assert any(p.startswith(f"{once}, cell 2 (\"k = globals().get('k', 0) + 1\"): run twice: the second run prints something else") for p in ps), ps
    assert any(p.startswith(f"{once}, cell 3 (\"print('x')\"): unknown `#| check: twice`") for p in ps), ps
    assert len(ps) == 3, ps


def test_a_student_copy_runs_only_when_that_proves_more(tmp_path):
    nbs, clean = tmp_path/'nbs', tmp_path/'clean'
    notebook(nbs/'10_same.ipynb', [('#| export\nx = 1', []), ('x+1', result('2'))])
    notebook(clean/'10_same.ipynb', [('x = 1', []), ('x+1', [])])
    notebook(nbs/'12_skips.ipynb', [('#| eval: false\n1/0', []), ('3', result('3'))])
    notebook(clean/'12_skips.ipynb', [('1/0', []), ('3', [])])
    notebook(nbs/'13_differs.ipynb', [('4', result('4'))])
    notebook(clean/'13_differs.ipynb', [('5', [])])
    r = check(nbs, '--derived', clean)
    out = r.stdout
    assert f'{clean/"10_same.ipynb"}: not run' in out
    assert f'{clean/"12_skips.ipynb"}: runs, because' in out and '1 cell(s) that nbdev-test skips' in out
    assert f'{clean/"13_differs.ipynb"}: runs, because its code differs' in out
    # the lesson's skipped cell is not run; the copy's is, and it raises
    assert problems_of(out, nbs/'12_skips.ipynb') == []
    assert "ZeroDivisionError" in problems_of(out, clean/'12_skips.ipynb')[0]
    assert r.returncode == 1 and '1 problem(s) in 1 notebook(s)' in out


def test_a_stylesheet_is_still_compared_with_the_committed_outputs(bad):
    r, nbs = bad
    ps = problems_of(r.stdout, nbs['css'])
    assert len(ps) == 1 and 'committed outputs differ' in ps[0] and '+<style>td {color: red}</style>' in ps[0], ps


# ------------------------------------------------------------------ tolerances for numbers (other CPUs)

sys.path.insert(0, str(ROOT/'tools'))
from check_outputs import Patterns, numbers_apart  # noqa: E402


def entries(*texts): return [('text/plain', t) for t in texts]


def test_numbers_apart_compares_numbers_and_nothing_else():
    assert numbers_apart(entries('0.9688 0.9511'), entries('0.9682 0.9511')) == pytest.approx(0.0006)
    assert numbers_apart(entries('<td>0.313309</td>'), entries('<td>0.313308</td>')) == pytest.approx(1e-6)
    assert numbers_apart(entries('(145, 8.35)'), entries('(145, 8.35)')) == 0
    assert numbers_apart(entries('loss 0.97'), entries('acc 0.97')) is None            # a word differs
    assert numbers_apart(entries('0.97 0.98'), entries('0.97')) is None                # a number is missing
    assert numbers_apart(entries('0.97'), entries('0.97', '0.1')) is None             # an output is missing
    assert numbers_apart(entries('0.955 0.9599'), entries('0.9551 0.96')) == pytest.approx(0.0001)  # round() drops zeros
    assert numbers_apart([('stream:stdout', '1')], [('stream:stderr', '1')]) is None


def test_a_tolerance_needs_a_notebook_and_a_sane_value(tmp_path):
    cfg = tmp_path/'s.cfg'
    for body, msg in [('[t]\ntolerance: 0.01\n', 'needs a notebook'), ('[t]\nnotebook: a.ipynb\ntolerance: lots\n', 'not a number'),
                      ('[t]\nnotebook: a.ipynb\ntolerance: 2\n', 'must be above 0 and below 1')]:
        cfg.write_text(body)
        with pytest.raises(ValueError, match=msg): Patterns(cfg)
    cfg.write_text('[whole]\nnotebook: a.ipynb\ntolerance: 0.001\n\n[one cell]\nnotebook: a.ipynb\ncell: ^learn\\.fit\ntolerance: 0.01\n')
    p = Patterns(cfg)
    assert p.tolerance_for(Path('nbs/a.ipynb'), 'x = 1\nlearn.fit(5)') == (0.01, 'one cell')
    assert p.tolerance_for(Path('nbs/a.ipynb'), 'print(x)') == (0.001, 'whole')
    assert p.tolerance_for(Path('nbs/b.ipynb'), 'learn.fit(5)') is None


def test_a_last_digit_passes_within_its_tolerance_and_a_real_change_fails(bad):
    r, nbs = bad
    tol = nbs['tol']
    ps = problems_of(r.stdout, tol)
    assert re.search(r"cell 0 \(# the net\): numbers 0\.0006 from the committed ones, within its tolerance 0\.001 \[net\]", r.stdout), r.stdout
    assert not any(p.startswith(f"{tol}, cell 0 ") for p in ps), ps
    assert any("cell 1 ('# the net, changed'): committed outputs differ from the first run (beyond its tolerance 0.001, [net]: numbers 0.01 apart)" in p for p in ps), ps
    assert any("cell 2 ('# the net, reworded'): committed outputs differ from the first run (in more than numbers" in p for p in ps), ps
    assert any(p.startswith(f"{tol}, cell 3 (\"print('exact', 0.9682)\"): committed outputs differ from the first run\n") for p in ps), ps
    assert any("cell 4 ('# the net, drifting'): run twice: the second run prints something else" in p for p in ps), ps
    assert len(ps) == 4, ps


# ------------------------------------------------------------------ the runner every tool shares (tools/nbrun.py)

def test_nbrun_inplace_writes_fresh_outputs_cleaned_and_never_a_failed_run(tmp_path):
    good = notebook(tmp_path/'good.ipynb', [("import os\nprint(os.path.basename(os.getcwd()))", []), ('6*7', result('0'))])
    bad = notebook(tmp_path/'bad.ipynb', [('1/0', result('stale'))])
    before = bad.read_text()
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'nbrun.py'), '--inplace', good, bad], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.strip() == f"error: {bad}: a cell raised ZeroDivisionError: division by zero; {bad} was not written", r.stderr
    assert bad.read_text() == before
    nb = json.loads(good.read_text())
    # run in the notebook's own folder, outputs fresh, cleaned as nbdev-clean cleans them (no execution counts, no metadata)
    assert [''.join(o.get('text', '')) or ''.join(o['data']['text/plain']) for c in nb['cells'] for o in c['outputs']] == [tmp_path.name + '\n', '42']
    assert all(c['execution_count'] is None and c['metadata'] == {} for c in nb['cells'])
    assert all(o.get('execution_count') is None for c in nb['cells'] for o in c['outputs'])


def test_nbrun_refuses_what_is_not_a_notebook(tmp_path):
    (tmp_path/'notes.txt').write_text('x')
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'nbrun.py'), '--inplace', tmp_path/'notes.txt', tmp_path/'none.ipynb'],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and r.stderr.strip() == f"error: not a notebook file: {tmp_path/'notes.txt'}, {tmp_path/'none.ipynb'}", r.stderr
