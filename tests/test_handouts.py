"Tests of tools/site/ (notebooks.py, handouts.py, build.py): student copies, the clean/ sync check, and self-contained HTML handouts."
import html, importlib.util, re, shutil, subprocess, sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).parent.parent
SCRIPT = ROOT/'tools'/'site'/'build.py'
sys.path.insert(0, str(SCRIPT.parent))      # the tools' modules import each other by name, as when run as scripts

from handouts import handout_html, inline_markdown, is_appendix, lesson_summary, lesson_times
from notebooks import is_hidden, lesson_title, lessons, stale_student_copies, strip_directives, student_nb, write_student_copies

from conftest import run_main

_spec = importlib.util.spec_from_file_location('site_build', SCRIPT)      # not `import build`: pip's `build` has that name
site_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_build)


def small_nb():
    return new_notebook(cells=[
        new_markdown_cell('# 98 - A small lesson\n\n> Its summary line.\n\nProse that explains the why.'),
        new_code_cell('#| default_exp small'),
        new_code_cell('#| hide\nSECRET_SETUP = 42'),
        new_markdown_cell('## Computing\n\nMore prose here.\n\n### A detail\n\nAnd a detail.'),
        new_code_cell('#| export\ndef calc_grad(x): return 2*x', outputs=[]),
        new_code_cell('calc_grad(3)', outputs=[new_output('execute_result', data={'text/plain': '6'}, execution_count=3)],
                      execution_count=3),
        new_markdown_cell('## Further research\n\n1. Write `Learner` yourself.'),
        new_markdown_cell('## Questionnaire\n\n1. What is a gradient?\n1. Why zero it?'),
    ])


def test_student_copy_keeps_code_and_headings_drops_prose_and_outputs():
    s = student_nb(small_nb())
    md = '\n'.join(c.source for c in s.cells if c.cell_type == 'markdown')
    code = [c for c in s.cells if c.cell_type == 'code']
    assert '# 98 - A small lesson' in md and '## Computing' in md and '### A detail' in md
    assert 'Prose that explains' not in md and 'More prose' not in md and 'Its summary line' not in md
    assert '1. What is a gradient?\n1. Why zero it?' in md and '1. Write `Learner` yourself.' in md
    assert [c.source for c in code] == ['SECRET_SETUP = 42', 'def calc_grad(x): return 2*x', 'calc_grad(3)']
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert not any('#|' in c.source for c in s.cells)


def test_student_copy_is_deterministic():
    assert nbformat.writes(student_nb(small_nb())) == nbformat.writes(student_nb(small_nb()))


def test_directive_helpers():
    assert strip_directives('#| export\n#|hide\nx = 1\n# a comment') == 'x = 1\n# a comment'
    assert is_hidden(new_code_cell('#| hide\nx=1')) and not is_hidden(new_code_cell('#| export\nx=1'))


def test_committed_clean_folder_is_in_sync():
    assert stale_student_copies(ROOT/'nbs', ROOT/'clean') == []
    assert sorted(p.name for p in (ROOT/'clean').glob('*.ipynb')) == [p.name for p in lessons(ROOT/'nbs')]


def test_sync_check_fails_when_a_lesson_changes_and_clean_is_stale(tmp_path):
    "The script in a real process first (as pipeline stage 2 runs it), then its `main` in this process."
    main = site_build.main
    only_nbs = lambda d, names: [n for n in names if not n.endswith('.ipynb')]
    shutil.copytree(ROOT/'nbs', tmp_path/'nbs', ignore=only_nbs); shutil.copytree(ROOT/'clean', tmp_path/'clean', ignore=only_nbs)
    r = subprocess.run([sys.executable, str(SCRIPT), '--nbs', 'nbs', '--clean', 'clean', '--check'], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0 and 'clean/ is up to date' in r.stdout, r.stdout + r.stderr
    check = lambda: run_main(main, ['--nbs', str(tmp_path/'nbs'), '--clean', str(tmp_path/'clean'), '--check'])
    nb = nbformat.read(tmp_path/'nbs'/'03_sgd.ipynb', as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == 'code' and 'def calc_grad' in c.source)
    cell.source = cell.source.replace('loss.backward()', 'loss.backward()  # changed')
    nbformat.write(nb, tmp_path/'nbs'/'03_sgd.ipynb')
    r = check()
    assert r.returncode == 1 and '03_sgd.ipynb' in r.stdout
    write_student_copies(tmp_path/'nbs', tmp_path/'clean')
    assert check().returncode == 0
    assert '# changed' in (tmp_path/'clean'/'03_sgd.ipynb').read_text()


def page_text(page): return html.unescape(re.sub(r'<[^>]+>', '', page))


def test_handout_of_a_small_notebook_hides_hidden_cells():
    page = handout_html(small_nb(), '98 - A small lesson', 'the footer')
    text = page_text(page)
    assert 'SECRET_SETUP' not in text and 'default_exp' not in text and '#|' not in text
    assert 'def calc_grad' in text and 'Prose that explains the why.' in text and 'the footer' in text


@pytest.fixture(scope='module')
def handouts(repo_handouts): return repo_handouts


def test_every_lesson_has_a_handout_and_the_index_links_them_in_order(handouts):
    dest, pages = handouts
    names = [p.stem for p in lessons(ROOT/'nbs')]
    site_files = ['lab.css', 'site.css', 'site.js', 'search-index.js', 'clean', 'exercises']     # the site's own, and the lessons' notebooks
    assert sorted(p.name for p in dest.iterdir()) == sorted(['index.html'] + [f'{n}.html' for n in names] + site_files)
    index = (dest/'index.html').read_text()
    main = index[index.index('<main'):index.index('</main>')]                     # the sidebar lists them too
    assert re.findall(r'href="([^"]+)\.html"', main) == names
    nav = index[index.index('<nav class="site-nav"'):index.index('</nav>')]
    assert re.findall(r'href="([^"]+)\.html"', nav) == ['index'] + names


@pytest.mark.parametrize('lesson', [p.stem for p in lessons(ROOT/'nbs')])
def test_handout_is_self_contained_and_true_to_its_lesson(handouts, lesson):
    dest, _ = handouts
    import mnist_linear
    nb = nbformat.read(ROOT/'nbs'/f'{lesson}.ipynb', as_version=4)
    page = (dest/f'{lesson}.html').read_text()
    title = next(l[2:] for c in nb.cells if c.cell_type == 'markdown' for l in c.source.splitlines() if l.startswith('# '))
    assert f'<title>{html.escape(title, quote=False)}</title>' in page and title in page_text(page)
    assert '<script src="http' not in page and '<link href="http' not in page
    assert not re.search(r'<(script|link|img)\b[^>]*(src|href)="(https?:)?//', page)
    assert f'mnist-linear {mnist_linear.__version__}' in page
    head = page[:page.index('</head>')]
    assert head.count('<link rel="stylesheet" href="lab.css">') == 1 and '<style' not in head     # the lab styles once, in lab.css
    plots = any('image/png' in o.get('data', {}) for c in nb.cells if c.cell_type == 'code' for o in c.outputs)
    if plots: assert 'data:image/png;base64' in page
    # no hidden-cell source: every line of a hidden cell that no visible cell shares is absent
    visible = {l.strip() for c in nb.cells if c.cell_type == 'code' and not is_hidden(c) for l in c.source.splitlines()}
    text = page_text(page)
    for c in nb.cells:
        if c.cell_type == 'code' and is_hidden(c):
            for line in strip_directives(c.source).splitlines():
                if line.strip() and line.strip() not in visible: assert line.strip() not in text, line


def test_a_figure_gets_its_alt_line_as_alt_text():
    nb = small_nb()
    png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg=='
    nb.cells += [new_code_cell('#| alt: A dot, "small" & black\nplt.plot()', outputs=[new_output('display_data', data={'image/png': png})]),
                 new_code_cell('plt.plot()', outputs=[new_output('display_data', data={'image/png': png[:-4] + 'AAA='})])]
    page = handout_html(nb, '98 - A small lesson', 'the footer')
    alts = re.findall(r'<img alt="([^"]*)"', page)
    assert alts == ['A dot, &quot;small&quot; &amp; black', 'No description has been provided for this image']
    assert '#| alt' not in page


def test_lesson_07_figures_carry_their_alt_text(handouts):
    "Lesson 07's figures all have `#| alt:` lines (issue 24 asks the same of every lesson), and its page shows them."
    dest, _ = handouts
    nb = nbformat.read(ROOT/'nbs'/'07_draw_a_digit.ipynb', as_version=4)
    want = [m and m[1] for c in nb.cells if c.cell_type == 'code' and any('image/png' in o.get('data', {}) for o in c.outputs)
            for m in [re.search(r'^#\|\s*alt:\s*(.*\S)', c.source, re.M)]]
    assert len(want) == 4 and None not in want, want
    assert re.findall(r'<img alt="([^"]*)"', (dest/'07_draw_a_digit.html').read_text()) == [html.escape(a) for a in want]


def test_index_renders_titles_and_summaries_and_gives_run_times(handouts):
    dest, _ = handouts
    index = (dest/'index.html').read_text()
    assert '`' not in index                                   # Markdown rendered, no literal backticks
    assert '<code>Learner</code>' in index                    # lesson 04's title: "Optimizers and the `Learner`"
    text = page_text(index)
    times = lesson_times(ROOT/'nbs')['lessons']
    for p in lessons(ROOT/'nbs'):
        nb = nbformat.read(p, as_version=4)
        assert page_text(inline_markdown(lesson_title(nb))) in text
        summary = lesson_summary(nb)
        assert summary and page_text(inline_markdown(summary)) in text, p.name
        assert f'{page_text(inline_markdown(lesson_title(nb)))} (runs in about {times[p.name]} s)' in text, p.name
    # the appendix (90 and up) comes after every lesson, under its own heading
    main = index[index.index('<main'):]
    head = main.index('Appendix, for instructors and maintainers')
    for p in lessons(ROOT/'nbs'):
        assert (main.index(f'href="{p.stem}.html"') > head) == is_appendix(p), p.name


def test_inline_markdown():
    assert inline_markdown('The `Learner` and *SGD*') == 'The <code>Learner</code> and <em>SGD</em>'
    assert lesson_summary(small_nb()) == 'Its summary line.'


def test_every_lesson_has_a_measured_run_time():
    "nbs/lesson_times.json (written by tools/lesson_times.py) must cover every lesson: a new lesson needs measuring."
    rec = lesson_times(ROOT/'nbs')
    assert sorted(rec['lessons']) == [p.name for p in lessons(ROOT/'nbs')]
    assert all(isinstance(s, int) and s > 0 for s in rec['lessons'].values())
    assert rec['yardstick_import_torch_s'] > 0 and rec['machine']


def test_bad_input_gets_one_line_and_writes_nothing(tmp_path):
    (tmp_path/'a_file').write_text('not a folder')
    for argv, words in [(['--bogus'], 'unrecognized arguments'),
                        (['--nbs', str(tmp_path/'nowhere')], 'no lesson notebooks'),
                        (['--html', str(tmp_path/'a_file'), '--clean', str(tmp_path/'clean')], 'is a file, not a folder'),
                        (['--check', '--answers', str(tmp_path/'key')], 'do not go together'),
                        (['--answers', str(tmp_path/'a_file'), '--html', str(tmp_path/'site')], 'is a file, not a folder')]:
        r = run_main(site_build.main, ['--nbs', str(ROOT/'nbs')] + argv if argv[0] != '--nbs' else argv)
        assert r.returncode == 2 and r.stderr.count('\n') == 1 and words in r.stderr and not r.stdout, (argv, r.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a_file']


def test_site_css_carries_the_dark_theme():
    from handouts import site_css
    css = site_css()
    assert 'DARK_THEME' not in css and '--jp-layout-color0' in css[css.index('prefers-color-scheme: dark'):]
