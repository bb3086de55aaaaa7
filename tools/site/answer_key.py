#!/usr/bin/env python
"""The answer key: read it, check it against the lessons, and write it as HTML for instructors (an instructor tool, not
part of the `mnist_linear` package).

    python tools/site/answer_key.py [--root DIR] [--no-html]     # the check CI runs (tests/test_answers.py)
    python tools/site/build.py --answers KEYDIR --html SITEDIR    # the key as HTML pages, linked to the site

Every lesson ends with a questionnaire; an instructor who grades it, or a learner who has tried it, needs a key, and the
key must never sit where a learner would stumble on it (below its question, in a student copy, in a handout). So it lives
in answers/, one Markdown file per lesson (answers/03_sgd.md answers nbs/03_sgd.ipynb), which no export reads: a
separate folder fails safe, where answers in tagged cells would need every export to remember to strip them, and a
notebook per lesson would only add JSON noise to diffs. Each file quotes every question word for word under a heading of
its own number, gives one answer, and ends it with a `Taught in:` line of links to the lesson's sections:

    # Answers: 03 - Training a linear classifier with SGD

    ## 1. What are the seven steps of the training loop, in order?

    (the answer, in a few sentences)

    Taught in: [From a fixed rule to a model that learns](../nbs/03_sgd.ipynb)

`questionnaire` reads a lesson's questions (the numbered items under its `Questionnaire` heading, each joined into one
line), `read_key` a key file. `key_problems` lists, one line each, what is wrong, and `build.py --answers` writes nothing
while it lists anything:

- a lesson has no key, or a key has no lesson; the key's title is not "Answers: " and the lesson's title;
- a numbered question has no answer, or more than one; an answer has no question; the key does not quote a question
  word for word (a question changed or was added);
- an answer is empty, or its `Taught in:` line is missing or names a section the lesson lacks.

`check` (this file's command line, which CI runs) adds:

- a number that an answer quotes is not one its lesson prints or states in its prose (or a lesson that the answer's
  `Taught in:` line links to, for an answer that cites another lesson). Checked are decimals (0.9702, 1e-5, 3.55e-05)
  and whole numbers of three digits or more (784, 6,131); a decimal may also be a printed number rounded (0.9823 for
  0.98233562707901). Numbers inside fenced code blocks are not checked;
- an answer leaks: any run of LEAK_WORDS words of an answer's prose (outside code) appears in something a learner sees.
  Those are the lessons themselves (nbs/*.ipynb, cells and outputs), the student copies (clean/*.ipynb as committed,
  and as `build.py` would write them now), the HTML handouts (built with `build_handouts` into a temporary folder;
  `--no-html` skips them, for a quick run while writing answers), and every file under exercises/ if it exists, except
  exercises/solutions/ (the instructor's sources, which hold the solutions and are no student export). Text is compared
  as lower-case words, so line breaks, Markdown and HTML markup do not hide a leak. Every answer must have at least one
  such run, so that the check can recognise it.

The check writes nothing. Exit status 0 when all is well, 1 when there are problems, 2 on bad input.

The HTML pages (`build_answers`): one per lesson with each question, its answer and the sections that teach it, and an
index; self-contained like the handouts (inline style, no scripts), with a `noindex` tag. Answers are rendered by mistune
with HTML escaped; links to ../nbs/ become the section's name in italics (with its lesson's number when it is another
lesson), or, given the site's folder, a link to that section's place on the site.
"""
import html, json, re, sys, tempfile, time
from pathlib import Path
from typing import NamedTuple

import mistune
from nbconvert.filters.strings import add_anchor

import mnist_linear
from handouts import build_handouts, html_text, inline_markdown
from notebooks import HEADING, Parser, joined, lesson_title, lessons, read_lesson, student_copies


# ------------------------------------------------------------------ reading the key and the questionnaires

_ITEM = re.compile(r'^\d+\.\s+(.*)')
_KEY_ENTRY = re.compile(r'^##\s+(\d+)\.\s+(.*\S)\s*$')
_TAUGHT = re.compile(r'^Taught in:(.*)$')
_LINK = re.compile(r'\[([^\]]+)\]\(([^)\s]+)\)')

def questionnaire(nb):
    "The questions of the notebook's `Questionnaire` section, in order, each joined into one line."
    questions, level, in_item, blank = [], None, False, False
    for c in nb['cells']:
        if c['cell_type'] != 'markdown': continue
        in_item = blank = False
        for line in joined(c['source']).splitlines():
            if m := HEADING.match(line):
                n = len(m.group(1))
                if level is not None and n <= level: level = None
                if level is None and m.group(2).strip().lower() == 'questionnaire': level = n
                in_item = False
                continue
            if level is None: continue
            if not line.strip(): blank = True; continue
            if m := _ITEM.match(line): questions.append(m.group(1)); in_item = True
            elif in_item and (line[0].isspace() or not blank): questions[-1] += ' ' + line
            else: in_item = False
            blank = False
    return [' '.join(q.split()) for q in questions]

class KeyEntry(NamedTuple):
    "One answer of a key: the question's number and text as quoted, the answer (Markdown), and its `Taught in:` links."
    number: int
    question: str
    answer: str
    taught: list        # [(section heading, link target)]
    taught_lines: int   # how many `Taught in:` lines the answer has (one is right)

def read_key(text):
    "Parse an answer key in Markdown: its `# ` title, then one `KeyEntry` per `## N. question` heading."
    title, raw, fence = '', [], False
    for line in text.splitlines():
        if line.lstrip().startswith(('```', '~~~')): fence = not fence
        m = None if fence else _KEY_ENTRY.match(line)
        if m: raw.append((int(m.group(1)), ' '.join(m.group(2).split()), [])); continue
        if raw: raw[-1][2].append(line)
        elif not title and line.startswith('# '): title = line[2:].strip()
    entries = []
    for n, q, lines in raw:
        taught = [l for l in lines if _TAUGHT.match(l)]
        answer = '\n'.join(l for l in lines if not _TAUGHT.match(l)).strip()
        entries.append(KeyEntry(n, q, answer, [lk for l in taught for lk in _LINK.findall(l)], len(taught)))
    return title, entries

def key_file(lesson, key_path='answers'):
    "The answer key of lesson `lesson` (`NN_topic.ipynb`): `key_path/NN_topic.md`."
    return Path(key_path)/f'{Path(lesson).stem}.md'

def section_titles(nb):
    "The text of every markdown heading of `nb`, whitespace collapsed."
    return {' '.join(m.group(2).split()) for c in nb['cells'] if c['cell_type'] == 'markdown'
            for l in joined(c['source']).splitlines() if (m := HEADING.match(l))}

def _entry_problems(name, e, nbs):
    "What is wrong with the answer `e` of key `name`, given `nbs` {lesson stem: notebook}."
    where = f"{name}: answer {e.number}"
    if not e.answer: yield f"{where} is empty"
    if e.taught_lines != 1 or not e.taught:
        yield f"{where} needs exactly one 'Taught in:' line, with links like [Section heading](../nbs/NN_topic.ipynb)"
    for text, target in e.taught:
        stem = Path(target).stem
        if stem not in nbs or Path(target).parent.name != 'nbs' or Path(target).suffix != '.ipynb':
            yield f"{where} links to {target}, which is not a lesson (expected ../nbs/NN_topic.ipynb)"
        elif ' '.join(text.split()) not in section_titles(nbs[stem]):
            yield f"{where} points to the section {text!r}, which is not a heading of {stem}.ipynb"

def key_problems(nbs_path='nbs', key_path='answers'):
    "Everything wrong with the answer key in `key_path` for the lessons of `nbs_path`, one line each; empty when complete."
    probs, nbs = [], {p.stem: read_lesson(p) for p in lessons(nbs_path)}
    keys = {p.stem: p for p in sorted(Path(key_path).glob('[0-9][0-9]_*.md'))}
    for stem in sorted(set(keys) - set(nbs)):
        probs.append(f"{keys[stem].name}: a key for a lesson that does not exist ({stem}.ipynb); delete or rename it")
    for stem, nb in nbs.items():
        questions, name = questionnaire(nb), f'{stem}.md'
        if not questions:
            probs.append(f"{stem}.ipynb has no numbered questions under a 'Questionnaire' heading"); continue
        if stem not in keys:
            probs.append(f"{stem}.ipynb has no answer key: write {Path(key_path).name}/{stem}.md with an answer to each of its {len(questions)} questions")
            continue
        title, entries = read_key(keys[stem].read_text())
        if title != f'Answers: {lesson_title(nb)}':
            probs.append(f"{name}: its title should be '# Answers: {lesson_title(nb)}', not {title!r}")
        numbers = [e.number for e in entries]
        if numbers != sorted(numbers): probs.append(f"{name}: the answers are not in the order of their numbers")
        for i, q in enumerate(questions, 1):
            mine = [e for e in entries if e.number == i]
            if not mine:
                probs.append(f"{name}: question {i} has no answer: {q!r}")
                continue
            if len(mine) > 1: probs.append(f"{name}: question {i} has {len(mine)} answers; exactly one, please")
            if mine[0].question != q:
                probs.append(f"{name}: question {i} is quoted as {mine[0].question!r}, but the lesson asks {q!r}")
        for e in entries:
            if not 1 <= e.number <= len(questions):
                probs.append(f"{name}: answer {e.number} has no question ({stem}.ipynb has {len(questions)})")
            probs.extend(_entry_problems(name, e, nbs))
    return probs

# ------------------------------------------------------------------ the instructor's pages

_KEY_MARKDOWN = mistune.create_markdown(escape=True, plugins=['table', 'strikethrough'])
_NBS_LINK = re.compile(r'\[([^\]]+)\]\(\.\./nbs/[^)\s]+\)')
_KEY_STYLE = ('body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.45} '
              'h2{font-size:1.1em;margin-top:2em} .taught{color:#555;font-size:0.9em} '
              '.banner{background:#fff3cd;border:1px solid #e0c97f;padding:0.6em 1em} '
              'pre{background:#f6f6f6;padding:0.6em;overflow-x:auto} code{background:#f6f6f6}')

def _markdown(text, inline=False):
    "`text` rendered as HTML by mistune, with any HTML in it escaped; `inline` drops the surrounding paragraph."
    return inline_markdown(text, _KEY_MARKDOWN) if inline else _KEY_MARKDOWN(text).strip()

def heading_id(text):
    "The id that nbconvert gives a Markdown heading `text` in a handout (its own `add_anchor` makes it)."
    return re.search(r'id="([^"]*)"', add_anchor(f'<h2>{_markdown(text, inline=True)}</h2>'))[1]

def answers_html(nb, key_text, footer, stem=None, site=None):
    """A self-contained HTML page of the answer key `key_text` for lesson `nb` (named `stem`): questions, answers, sections.
    With `site` (the handouts' folder, relative to this page's), each `Taught in:` section links to its place there."""
    title = _markdown(f'Answers: {lesson_title(nb)}', inline=True)
    parts = []
    def section(text, t):
        name = f'<em>{_markdown(text, inline=True)}</em>'
        if site is not None: name = f'<a href="{html.escape(site)}/{Path(t).stem}.html#{html.escape(heading_id(text))}">{name}</a>'
        return name + ('' if Path(t).stem == stem else f' (lesson {Path(t).stem[:2]})')
    for e in read_key(key_text)[1]:
        where = ', '.join(section(text, t) for text, t in e.taught)
        answer = _markdown(_NBS_LINK.sub(r'*\1*', e.answer))
        parts.append(f'<section id="q{e.number}">\n<h2>{e.number}. {_markdown(e.question, inline=True)}</h2>\n'
                     f'{answer}\n<p class="taught">Taught in: {where}</p>\n</section>')
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">\n'
            f'<title>{html.escape(re.sub("<[^>]+>", "", title))}</title>\n<style>{_KEY_STYLE}</style></head>\n<body>\n'
            '<nav aria-label="Answer key"><a href="index.html">All answer keys</a>' +
            (f' · <a href="{html.escape(site)}/index.html">The lessons</a>' if site is not None else '') + '</nav>\n<main>\n'
            '<p class="banner">Answer key, for instructors, and for learners who have already tried the questions.</p>\n'
            f'<h1>{title}</h1>\n' + '\n'.join(parts) + '\n</main>' +
            f'\n<footer style="margin-top:2em;color:#666;font-size:0.9em">{html.escape(footer)}</footer>\n</body></html>\n')

def build_answers(nbs_path='nbs', key_path='answers', dest='_answers', site=None):
    """Write one answer page per lesson (`NN_topic_answers.html`) and an `index.html` into `dest`; return the paths written.
    `site`: the folder of the handouts' site, relative to `dest` (its pages are linked from each `Taught in:` line)."""
    dest = Path(dest); dest.mkdir(parents=True, exist_ok=True)
    footer = f"mnist-linear {mnist_linear.__version__}: the answer key"
    items, written = [], []
    for p in lessons(nbs_path):
        nb = read_lesson(p)
        out = dest/f'{p.stem}_answers.html'
        out.write_text(answers_html(nb, key_file(p, key_path).read_text(), f"{footer} for {p.name}, from {key_file(p, 'answers')}.", p.stem, site))
        items.append(f'<li><a href="{out.name}">{_markdown(lesson_title(nb), inline=True)}</a> '
                     f'({len(questionnaire(nb))} questions)</li>')
        written.append(out)
    index = dest/'index.html'
    index.write_text('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">\n'
                     f'<title>mnist-linear: answer key</title>\n<style>{_KEY_STYLE}</style></head>\n<body>\n'
                     '<p class="banner">Answer key, for instructors, and for learners who have already tried the questions.</p>\n'
                     + (f'<nav aria-label="Course"><a href="{html.escape(site)}/index.html">The lessons</a></nav>\n' if site is not None else '') +
                     '<main>\n<h1>mnist-linear: answer key</h1>\n<ul>\n' + '\n'.join(items) + '\n</ul>\n</main>\n'
                     f'<footer style="margin-top:2em;color:#666;font-size:0.9em">{html.escape(footer)}.</footer>\n</body></html>\n')
    return [index] + written


# ------------------------------------------------------------------ the check: numbers and leaks

LEAK_WORDS = 8
_WORD = re.compile(r'[a-z0-9]+')
_NUM = re.compile(r'(?<![\w.])(\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?!\w)')
_FENCE = re.compile(r'^(```|~~~).*?^\1[ \t]*$', re.S | re.M)
_CODE_SPAN = re.compile(r'(`+)(?:(?!\1).)+?\1', re.S)
_LINK_TARGET = re.compile(r'\]\([^)\s]*\)')


def output_texts(cell):
    "The text of a code cell's outputs: streams, plain text, HTML (as text), Markdown, errors."
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream': yield joined(o.get('text', ''))
        elif o.get('output_type') == 'error': yield f"{o.get('ename', '')}: {o.get('evalue', '')}"
        else:
            d = o.get('data', {})
            for mime in ('text/plain', 'text/markdown'):
                if mime in d: yield joined(d[mime])
            if 'text/html' in d: yield html_text(joined(d['text/html']))


def notebook_text(nb):
    "Everything a reader of notebook `nb` (a dict) sees: every cell's source and its outputs' text."
    parts = []
    for c in nb.get('cells', []):
        parts.append(joined(c.get('source', '')))
        if c.get('cell_type') == 'code': parts.extend(output_texts(c))
    return '\n'.join(parts)


def lesson_numbers(nb):
    "The numbers a lesson prints or states: tokens of its markdown cells and of its outputs (not of its code)."
    texts = []
    for c in nb['cells']:
        if c['cell_type'] == 'markdown': texts.append(joined(c['source']))
        elif c['cell_type'] == 'code': texts.extend(output_texts(c))
    return set(_NUM.findall('\n'.join(texts)))


def _checked(tok):
    "Is `tok` a number the key must take from its lesson: a decimal, or a whole number of 3 digits or more?"
    t = tok.replace(',', '')
    return any(ch in t for ch in '.eE') or int(t) >= 100


def number_in(tok, printed):
    "Is the number `tok` among `printed` (token strings), by value, or as a printed decimal rounded to its places?"
    v = float(tok.replace(',', ''))
    values = {float(p.replace(',', '')) for p in printed}
    if v in values: return True
    if '.' in tok and not any(ch in tok for ch in 'eE'):
        places = len(tok.split('.')[1])
        if places >= 2:
            return any('.' in p and 'e' not in p.lower() and len(p.split('.')[1]) > places
                       and f'{float(p):.{places}f}' == tok for p in printed)
    return False


def answer_numbers(answer):
    "The numbers an answer quotes, outside fenced code blocks, that must come from its lesson."
    return [t for t in _NUM.findall(_FENCE.sub(' ', answer)) if _checked(t)]


def prose_runs(answer):
    """The answer's prose as lists of words. Fenced blocks, code spans and numbers are left out, and each one breaks
    the prose into separate runs: code and numbers are shared with the lesson by design (the numbers must be)."""
    text = _LINK_TARGET.sub(']', _FENCE.sub('\n\x00\n', answer))
    runs = []
    for seg in _CODE_SPAN.sub('\x00', text).split('\x00'):
        run = []
        for w in _WORD.findall(seg.lower()) + ['0']:
            if w.isdigit():
                if run: runs.append(run)
                run = []
            else: run.append(w)
    return runs


def shingles(words, n=LEAK_WORDS):
    return {' '.join(words[i:i+n]) for i in range(len(words)-n+1)}


def learner_texts(root, html=True, html_dir=None):
    "{name: text} of everything a learner sees (see the module docstring's check); `html_dir` uses handouts already built there."
    root, texts = Path(root), {}
    for p in sorted((root/'nbs').glob('*.ipynb')): texts[f'nbs/{p.name}'] = notebook_text(json.loads(p.read_text()))
    for p in sorted((root/'clean').glob('*.ipynb')): texts[f'clean/{p.name}'] = notebook_text(json.loads(p.read_text()))
    for name, text in student_copies(root/'nbs').items(): texts[f'clean/{name} (as generated now)'] = notebook_text(json.loads(text))
    ex = root/'exercises'
    if ex.is_dir():
        for p in sorted(f for f in ex.rglob('*') if f.is_file() and 'solutions' not in f.relative_to(ex).parts):
            raw = p.read_text(errors='replace')
            if p.suffix == '.ipynb':
                try: raw = notebook_text(json.loads(raw))
                except ValueError: pass
            elif p.suffix in ('.html', '.htm'): raw = html_text(raw)
            texts[str(p.relative_to(root))] = raw
    if html:
        def read_pages(d):
            for p in sorted(Path(d).rglob('*.htm*')): texts[f'HTML handout {p.name}'] = html_text(p.read_text())
        if html_dir is not None: read_pages(html_dir)
        else:
            with tempfile.TemporaryDirectory() as d:
                build_handouts(root/'nbs', d)
                read_pages(d)
    return texts


def check(root='.', html=True, html_dir=None):
    "All problems of the key in `root`/answers, one line each, and a summary per lesson: (problems, summary lines)."
    root = Path(root)
    nbs_path, key_path = root/'nbs', root/'answers'
    probs = key_problems(nbs_path, key_path)
    summary, keys = [], {}
    nbs = {p.stem: read_lesson(p) for p in lessons(nbs_path)}
    numbers = {stem: lesson_numbers(nb) for stem, nb in nbs.items()}
    for p in lessons(nbs_path):
        nb, kf = nbs[p.stem], key_file(p, key_path)
        n_q = len(questionnaire(nb))
        if not kf.exists(): summary.append(f'{p.stem}: {n_q} questions, no key'); continue
        entries = read_key(kf.read_text())[1]
        keys[p.stem] = entries
        summary.append(f'{p.stem}: {n_q} questions, {len(entries)} answers')
        for e in entries:
            cited = sorted({Path(t).stem for _, t in e.taught if Path(t).stem in numbers and Path(t).stem != p.stem})
            printed = set().union(numbers[p.stem], *[numbers[c] for c in cited])
            missing = sorted({t for t in answer_numbers(e.answer) if not number_in(t, printed)})
            if missing:
                names = ', '.join(f'{c}.ipynb' for c in [p.stem] + cited)
                probs.append(f"{kf.name}: answer {e.number} quotes {', '.join(missing)}, which {names} neither print nor state")
    owner = {}                                   # each LEAK_WORDS-word run of an answer's prose -> (key, answer number)
    for stem, entries in keys.items():
        for e in entries:
            runs = set().union(*[shingles(r) for r in prose_runs(e.answer)])
            if not runs:
                probs.append(f"{stem}.md: answer {e.number} has no run of {LEAK_WORDS} words outside code, so a leak of it "
                             "could not be recognised: give it at least one plain sentence")
            for s in runs: owner.setdefault(s, (stem, e.number))
    firsts, leaks = {s.split(' ', 1)[0] for s in owner}, {}
    for name, text in learner_texts(root, html, html_dir).items():
        words = _WORD.findall(text.lower())
        for i in range(len(words)-LEAK_WORDS+1):
            if words[i] in firsts and (s := ' '.join(words[i:i+LEAK_WORDS])) in owner:
                found = leaks.setdefault(owner[s], {})
                found.setdefault(name, s)
    for (stem, n), found in sorted(leaks.items()):
        where = ', '.join(found)
        probs.append(f'{stem}.md: answer {n} appears in {where} ("...{next(iter(found.values()))}..."): an answer must '
                     "not reach a learner, and must not copy the lesson's words")
    return probs, summary


def main(argv=None):
    ap = Parser(prog='answer_key.py', description=__doc__.split('\n\n')[0])
    ap.add_argument('--root', default=Path(__file__).resolve().parents[2], type=Path,
                    help='the repository (default: the one holding this script)')
    ap.add_argument('--no-html', action='store_true', help='skip building the HTML handouts (quicker; CI does not skip)')
    args = ap.parse_args(argv)
    if not (args.root/'nbs').is_dir():
        print(f"answer_key.py: error: {args.root} has no nbs/ folder of lessons", file=sys.stderr); return 2
    t0 = time.perf_counter()
    probs, summary = check(args.root, html=not args.no_html)
    for line in summary: print(line)
    for p in probs: print(f'PROBLEM {p}')
    skipped = ' (HTML handouts skipped)' if args.no_html else ''
    verdict = f'{len(probs)} problems' if probs else 'the answer key is complete, true to the lessons and leaks nowhere'
    print(f'answer_key: {verdict}{skipped}; {time.perf_counter()-t0:.1f}s')
    return 1 if probs else 0


if __name__ == '__main__':
    sys.exit(main())
