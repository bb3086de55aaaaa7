"""Tests of the answer key (answers/), its CI check (tools/site/answer_key.py), and `tools/site/build.py --answers`.

The check must pass on the repository, and must fail on each kind of damage it exists to catch: a question without
an answer, a question whose text changed, an answer that reaches a student export, a number the lesson never printed,
a missing or orphaned key file. Each damage is planted in a scratch copy of the repository.
"""
import html, importlib.util, json, re, shutil, subprocess, sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).parent.parent
TOOL = ROOT/'tools'/'site'/'answer_key.py'
BUILD = ROOT/'tools'/'site'/'build.py'
sys.path.insert(0, str(TOOL.parent))        # the tools' modules import each other by name, as when run as scripts

import answer_key as ca
from answer_key import questionnaire, read_key
from notebooks import lessons, read_lesson, student_copies
from conftest import run_main


@pytest.fixture(scope='module')
def full_check(repo_handouts):
    "The whole check on the repository, HTML handouts included (built once for the session), run once for the module."
    return ca.check(ROOT, html=True, html_dir=repo_handouts[0])


def test_the_key_passes_on_the_repository(full_check):
    probs, summary = full_check
    assert probs == [], '\n'.join(probs)
    for p in lessons(ROOT/'nbs'):
        n = len(questionnaire(read_lesson(p)))
        assert n > 0 and f'{p.stem}: {n} questions, {n} answers' in summary, p.name


def test_every_answer_is_one_per_question_and_points_to_a_section():
    for p in lessons(ROOT/'nbs'):
        questions = questionnaire(read_lesson(p))
        entries = read_key((ROOT/'answers'/f'{p.stem}.md').read_text())[1]
        assert [e.number for e in entries] == list(range(1, len(questions)+1))
        assert [e.question for e in entries] == questions
        assert all(e.answer and e.taught_lines == 1 and e.taught for e in entries)


# ------------------------------------------------------------------ a scratch repository to damage

@pytest.fixture
def repo(tmp_path):
    "A scratch copy of what the check reads: the lessons, the key, the student copies and the exercises."
    for d, pattern in [('nbs', '*.ipynb'), ('answers', '*.md'), ('clean', '*.ipynb')]:
        (tmp_path/d).mkdir()
        for f in (ROOT/d).glob(pattern): shutil.copy(f, tmp_path/d)
    if (ROOT/'exercises').is_dir(): shutil.copytree(ROOT/'exercises', tmp_path/'exercises')
    return tmp_path


def problems(repo, **kw): return ca.check(repo, html=False, **kw)[0]


def edit_nb(path, fn):
    nb = nbformat.read(path, as_version=4)
    fn(nb)
    nbformat.write(nb, path)


def questionnaire_cell(nb):
    return next(c for c in nb.cells if c.cell_type == 'markdown' and '## Questionnaire' in c.source)


def an_answer(repo, stem='03_sgd', number=1):
    return next(e for e in read_key((repo/'answers'/f'{stem}.md').read_text())[1] if e.number == number).answer


def test_scratch_copy_passes(repo):
    assert problems(repo) == []


def test_a_question_without_an_answer_is_red(repo):
    n = len(questionnaire(read_lesson(repo/'nbs'/'03_sgd.ipynb')))
    edit_nb(repo/'nbs'/'03_sgd.ipynb',
            lambda nb: setattr(questionnaire_cell(nb), 'source', questionnaire_cell(nb).source + '\n1. What is a planted question?'))
    assert problems(repo) == [f"03_sgd.md: question {n+1} has no answer: 'What is a planted question?'"]


def test_a_changed_question_is_red(repo):
    def change(nb):
        c = questionnaire_cell(nb)
        c.source = c.source.replace('1. What is a baseline,', '1. What exactly is a baseline,')
    edit_nb(repo/'nbs'/'01_pixel_similarity.ipynb', change)
    probs = problems(repo)
    assert len(probs) == 1 and probs[0].startswith('01_pixel_similarity.md: question 1 is quoted as')
    assert 'What exactly is a baseline' in probs[0]


def test_a_question_spread_over_two_lines_is_one_question():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        '## Further research\n\n1. Not a question.\n\n## Questionnaire\n\nIntro line.\n\n1. First,\n   continued.\n1. Second?\n'
        '\n## Later\n\n1. Not one either.')])
    assert questionnaire(nb) == ['First, continued.', 'Second?']


def test_two_answers_to_one_question_and_a_surplus_answer_are_red(repo):
    key = repo/'answers'/'02_gradients.md'
    text = key.read_text()
    first = text[text.index('## 1. '):text.index('## 2. ')]
    n = len(questionnaire(read_lesson(repo/'nbs'/'02_gradients.ipynb')))
    key.write_text(text.replace('## 2. ', first + '## 2. ', 1) + '\n' + first.replace('## 1. ', f'## {n+1}. ', 1))
    probs = problems(repo)
    assert '02_gradients.md: question 1 has 2 answers; exactly one, please' in probs
    assert f'02_gradients.md: answer {n+1} has no question (02_gradients.ipynb has {n})' in probs


def test_a_missing_key_and_a_key_without_a_lesson_are_red(repo):
    (repo/'answers'/'01_pixel_similarity.md').rename(repo/'answers'/'07_gone.md')
    probs = problems(repo)
    assert any(p.startswith('07_gone.md: a key for a lesson that does not exist') for p in probs)
    assert any(p.startswith('01_pixel_similarity.ipynb has no answer key') for p in probs)


def test_a_pointer_to_a_missing_section_is_red(repo):
    key = repo/'answers'/'00_data.md'
    key.write_text(key.read_text().replace('[Downloading MNIST_SAMPLE](', '[Downloading MNIST](', 1))
    assert problems(repo) == ["00_data.md: answer 1 points to the section 'Downloading MNIST', which is not a heading of 00_data.ipynb"]


def test_a_number_the_lesson_never_printed_is_red(repo):
    printed = ca.lesson_numbers(read_lesson(repo/'nbs'/'03_sgd.ipynb'))
    assert '0.9702' in printed and not ca.number_in('0.9713', printed)
    key = repo/'answers'/'03_sgd.md'
    text = key.read_text()
    assert '0.9702' in text
    key.write_text(text.replace('0.9702', '0.9713'))
    probs = problems(repo)
    assert probs and all(re.search(r'quotes 0\.9713, which 03_sgd\.ipynb(, \w+\.ipynb)* neither print nor state', p) for p in probs)


def test_a_number_from_another_lesson_needs_a_link_to_that_lesson(repo):
    key = repo/'answers'/'03_sgd.md'
    text = key.read_text()
    link = ', [Stepping with a learning rate](../nbs/02_gradients.ipynb)'
    entry = next(e for e in read_key(text)[1] if '24.7670' in e.answer)          # a number lesson 02 printed
    assert link[2:] in ''.join(f'[{t}]({u})' for t, u in entry.taught)
    assert not ca.number_in('24.7670', ca.lesson_numbers(read_lesson(repo/'nbs'/'03_sgd.ipynb')))
    start = text.index(f'## {entry.number}. ')
    text = text[:start] + text[start:].replace(link, '', 1)                      # that answer's link, not another's
    key.write_text(text)
    assert problems(repo) == [f'03_sgd.md: answer {entry.number} quotes 1.1, 1.3947, 24.7670, which 03_sgd.ipynb neither print nor state']   # 0.05 is lesson 03's too: its loss 0.0457


def test_numbers_match_by_value_or_as_printed_decimals_rounded():
    printed = {'0.98233562707901', '6,131', '3.55e-05', '0.4955', '2720.3'}
    assert ca.number_in('0.9823', printed) and ca.number_in('0.98', printed)
    assert ca.number_in('6131', printed) and ca.number_in('3.55e-05', printed) and ca.number_in('2720.3', printed)
    assert not ca.number_in('0.5', printed)           # rounding is only trusted to two places or more
    assert not ca.number_in('0.9824', printed) and not ca.number_in('6130', printed)
    text = 'After 40 epochs, 0.9823 and 12,396 rows; 28x28 pixels.\n\n```python\nlearn.fit(40, 0.123)\n```\n'
    assert ca.answer_numbers(text) == ['0.9823', '12,396']


# ------------------------------------------------------------------ leaks

def plant(text):
    "An answer as a careless author might paste it: reflowed, and with Markdown emphasis."
    words = text.split()
    return '\n'.join(' '.join(words[i:i+7]) for i in range(0, len(words), 7)).replace('weights', '**weights**')


def test_an_answer_pasted_below_its_question_in_the_lesson_is_red(repo):
    answer = an_answer(repo)
    edit_nb(repo/'nbs'/'03_sgd.ipynb', lambda nb: nb.cells.append(nbformat.v4.new_markdown_cell(plant(answer))))
    probs = problems(repo)
    assert len(probs) == 1 and probs[0].startswith('03_sgd.md: answer 1 appears in nbs/03_sgd.ipynb, '
                                                   'clean/03_sgd.ipynb (as generated now) ("...'), probs


def test_an_answer_in_a_committed_student_copy_is_red(repo):
    (repo/'clean').mkdir(exist_ok=True)
    copy = repo/'clean'/'03_sgd.ipynb'
    copy.write_text(student_copies(repo/'nbs')['03_sgd.ipynb'])
    edit_nb(copy, lambda nb: nb.cells.append(nbformat.v4.new_markdown_cell(plant(an_answer(repo)))))
    probs = problems(repo)
    assert len(probs) == 1 and probs[0].startswith('03_sgd.md: answer 1 appears in clean/03_sgd.ipynb ("...'), probs


def test_an_answer_in_an_exercise_edition_is_red_but_not_in_the_solutions(repo):
    ex = repo/'exercises'
    (ex/'solutions').mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(plant(an_answer(repo, '02_gradients', 3)))])
    nbformat.write(nb, ex/'solutions'/'98_planted.ipynb')
    assert problems(repo) == []
    nbformat.write(nb, ex/'98_planted.ipynb')
    probs = problems(repo)
    assert len(probs) == 1 and probs[0].startswith('02_gradients.md: answer 3 appears in exercises/98_planted.ipynb')


def test_an_answer_in_an_html_handout_is_red(repo, tmp_path):
    pages = tmp_path/'pages'; pages.mkdir()
    words = an_answer(repo, '05_neural_net', 11).split()
    body = ' '.join(f'<span class="w{i}">{html.escape(w)}</span>' + ('\n' if i % 5 == 4 else '') for i, w in enumerate(words))
    (pages/'05_neural_net.html').write_text(f'<html><style>p{{}}</style><body><p>{body}</p></body></html>')
    probs = ca.check(repo, html=True, html_dir=pages)[0]
    assert len(probs) == 1 and probs[0].startswith('05_neural_net.md: answer 11 appears in HTML handout 05_neural_net.html')


def test_every_answer_must_be_recognisable_by_the_leak_test(repo):
    key = repo/'answers'/'90_cli.md'
    text = key.read_text()
    start, end = text.index('## 4. '), text.index('## 5. ')
    entry = text[start:end]
    short = entry.split('\n\n')[0] + '\n\nExit status `2`, `1`, `1`, `0`.\n\n' + entry.rstrip().split('\n\n')[-1] + '\n\n'
    key.write_text(text[:start] + short + text[end:])
    assert problems(repo) == ['90_cli.md: answer 4 has no run of 8 words outside code, so a leak of it could not be '
                              'recognised: give it at least one plain sentence']


def test_prose_runs_leave_out_code_and_numbers():
    runs = ca.prose_runs('Call `learn.fit(40, 0.1)` now, then 0.9823 is\nprinted\n\n```python\nx = 1\n```\nat [the end](../nbs/x.ipynb).')
    assert runs == [['call'], ['now', 'then'], ['is', 'printed'], ['at', 'the', 'end']]


# ------------------------------------------------------------------ the command line

def run_tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=300)


def in_process(main, argv):
    r = run_main(main, argv)
    return r.returncode, r.stdout, r.stderr


def test_tool_exit_statuses(repo):
    "One real process (the script as CI runs it), then the other statuses in this process: a new process proves nothing more."
    r = run_tool('--root', str(repo), '--no-html')
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1].startswith('answer_key: the answer key is complete')
    (repo/'answers'/'00_data.md').unlink()
    rc, out, err = in_process(ca.main, ['--root', str(repo), '--no-html'])
    assert rc == 1 and 'PROBLEM 00_data.ipynb has no answer key' in out
    rc, out, err = in_process(ca.main, ['--root', str(repo/'nowhere')])
    assert rc == 2 and err.count('\n') == 1 and 'no nbs/ folder' in err and not out
    rc, out, err = in_process(ca.main, ['--bogus'])
    assert rc == 2 and err.count('\n') == 1


def handouts(repo, *args):
    return subprocess.run([sys.executable, str(BUILD), '--nbs', 'nbs', '--clean', 'clean', '--html', '_handouts', *args],
                          cwd=repo, capture_output=True, text=True, timeout=300)


def test_answers_export_writes_the_key_and_nothing_else(repo):
    shutil.rmtree(repo/'clean')
    r = handouts(repo, '--answers', 'key')
    assert r.returncode == 0, r.stderr
    assert not (repo/'clean').exists() and not (repo/'_handouts').exists()
    names = sorted(p.name for p in (repo/'key').iterdir())
    assert names == sorted(['index.html'] + [f'{p.stem}_answers.html' for p in lessons(repo/'nbs')])
    index = (repo/'key'/'index.html').read_text()
    assert re.findall(r'href="([^"]+)_answers\.html"', index) == [p.stem for p in lessons(repo/'nbs')]
    for p in lessons(repo/'nbs'):
        page = (repo/'key'/f'{p.stem}_answers.html').read_text()
        assert 'name="robots" content="noindex"' in page and '<script' not in page
        assert not re.search(r'(src|href)="(https?:)?//', page)
        text = html.unescape(re.sub(r'<[^>]+>', '', page))
        entries = read_key((repo/'answers'/f'{p.stem}.md').read_text())[1]
        assert page.count('<section id="q') == len(entries) == len(questionnaire(read_lesson(p)))
        for e in entries:
            first_words = ' '.join(ca.prose_runs(e.answer)[0][:4])
            assert first_words in ' '.join(ca._WORD.findall(text.lower())), (p.name, e.number)
        assert '../nbs/' not in page


def test_answers_export_refuses_student_folders_and_a_stale_key(repo, monkeypatch):
    "In this process (`test_answers_export_writes_the_key_and_nothing_else` runs the real script)."
    spec = importlib.util.spec_from_file_location('site_build', BUILD)     # not `import build`: pip's `build` has that name
    site_build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(site_build)
    main = site_build.main
    monkeypatch.chdir(repo)
    run = lambda dest: in_process(main, ['--nbs', 'nbs', '--clean', 'clean', '--html', '_handouts', '--answers', dest])
    for dest in ('_handouts', 'clean', 'nbs'):
        rc, out, err = run(dest)
        assert rc == 2 and err.count('\n') == 1 and 'folder of its own' in err, dest
    (repo/'given').mkdir()
    (repo/'given'/'03_sgd.html').write_text('a student handout')
    rc, out, err = run('given')
    assert rc == 2 and 'holds student handouts' in err
    assert sorted(p.name for p in (repo/'given').iterdir()) == ['03_sgd.html']
    key, n = repo/'answers'/'03_sgd.md', len(questionnaire(read_lesson(repo/'nbs'/'03_sgd.ipynb')))
    key.write_text(key.read_text().replace(f'## {n}. ', f'## {n+1}. ', 1))
    rc, out, err = run('key')
    assert rc == 1 and err.count('\n') == 1 and f'question {n} has no answer' in err
    assert not (repo/'key').exists()
