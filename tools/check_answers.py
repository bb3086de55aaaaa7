#!/usr/bin/env python
"""Check the answer key in answers/ against the lessons' questionnaires, and that no answer reaches a learner.

    python tools/check_answers.py [--root DIR] [--no-html]

The key is one Markdown file per lesson, answers/NN_topic.md for nbs/NN_topic.ipynb (the format is
described in nbs/91_handouts.ipynb, "The answer key"). Red, one line per problem, when:

- a lesson has no key, or a key has no lesson;
- a numbered question of a lesson's questionnaire has no answer, or more than one; an answer has no
  question; the key does not quote a question word for word (a question changed or was added);
- an answer is empty, or its `Taught in:` line is missing or names a section the lesson lacks;
- a number that an answer quotes is not one its lesson prints or states in its prose (or a lesson
  that the answer's `Taught in:` line links to, for an answer that cites another lesson). Checked are
  decimals (0.9702, 1e-5, 3.55e-05) and whole numbers of three digits or more (784, 6,131); a
  decimal may also be a printed number rounded (0.9823 for 0.98233562707901). Numbers inside
  fenced code blocks are not checked;
- an answer leaks: any run of LEAK_WORDS words of an answer's prose (outside code) appears in
  something a learner sees. Those are the lessons themselves (nbs/*.ipynb, cells and outputs),
  the student copies (clean/*.ipynb as committed, and as `mnist-linear-handouts` would write them
  now), the HTML handouts (built with `build_handouts` into a temporary folder; `--no-html` skips
  them, for a quick run while writing answers), and every file under exercises/ if it exists, except
  exercises/solutions/ (the instructor's sources, which hold the solutions and are no student export).
  Text is compared as lower-case words, so line breaks, Markdown and HTML markup do not hide a
  leak. Every answer must have at least one such run, so that the test can recognise it.

Writes nothing. Exit status 0 when all is well, 1 when there are problems, 2 on bad input.
"""
import argparse, html, json, re, sys, tempfile, time
from pathlib import Path

LEAK_WORDS = 8
_WORD = re.compile(r'[a-z0-9]+')
_NUM = re.compile(r'(?<![\w.])(\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?!\w)')
_FENCE = re.compile(r'^(```|~~~).*?^\1[ \t]*$', re.S | re.M)
_CODE_SPAN = re.compile(r'(`+)(?:(?!\1).)+?\1', re.S)
_LINK_TARGET = re.compile(r'\]\([^)\s]*\)')
_STYLE = re.compile(r'<(style|script)\b.*?</\1>', re.S | re.I)
_TAG = re.compile(r'<[^>]+>')
_DATA_URI = re.compile(r'data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+')


def html_text(s):
    "The visible text of HTML `s`: no styles, scripts, tags or embedded images; entities decoded."
    return html.unescape(_TAG.sub(' ', _STYLE.sub(' ', _DATA_URI.sub(' ', s))))


def _src(x): return x if isinstance(x, str) else ''.join(x)


def output_texts(cell):
    "The text of a code cell's outputs: streams, plain text, HTML (as text), Markdown, errors."
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream': yield _src(o.get('text', ''))
        elif o.get('output_type') == 'error': yield f"{o.get('ename', '')}: {o.get('evalue', '')}"
        else:
            d = o.get('data', {})
            for mime in ('text/plain', 'text/markdown'):
                if mime in d: yield _src(d[mime])
            if 'text/html' in d: yield html_text(_src(d['text/html']))


def notebook_text(nb):
    "Everything a reader of notebook `nb` (a dict) sees: every cell's source and its outputs' text."
    parts = []
    for c in nb.get('cells', []):
        parts.append(_src(c.get('source', '')))
        if c.get('cell_type') == 'code': parts.extend(output_texts(c))
    return '\n'.join(parts)


def lesson_numbers(nb):
    "The numbers a lesson prints or states: tokens of its markdown cells and of its outputs (not of its code)."
    texts = []
    for c in nb['cells']:
        if c['cell_type'] == 'markdown': texts.append(_src(c['source']))
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
    "{name: text} of everything a learner sees (see the module docstring); `html_dir` uses handouts already built there."
    from mnist_linear.handouts import build_handouts, lessons, student_copies
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
    from mnist_linear.handouts import key_file, key_problems, lessons, questionnaire, read_key, read_lesson
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


class _Parser(argparse.ArgumentParser):
    "Bad arguments: one line on stderr, exit status 2."
    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr); sys.exit(2)


def main(argv=None):
    ap = _Parser(prog='check_answers.py', description=__doc__.split('\n\n')[0])
    ap.add_argument('--root', default=Path(__file__).resolve().parent.parent, type=Path,
                    help='the repository (default: the one holding this script)')
    ap.add_argument('--no-html', action='store_true', help='skip building the HTML handouts (quicker; CI does not skip)')
    args = ap.parse_args(argv)
    if not (args.root/'nbs').is_dir():
        print(f"check_answers.py: error: {args.root} has no nbs/ folder of lessons", file=sys.stderr); return 2
    t0 = time.perf_counter()
    probs, summary = check(args.root, html=not args.no_html)
    for line in summary: print(line)
    for p in probs: print(f'PROBLEM {p}')
    skipped = ' (HTML handouts skipped)' if args.no_html else ''
    verdict = f'{len(probs)} problems' if probs else 'the answer key is complete, true to the lessons and leaks nowhere'
    print(f'check_answers: {verdict}{skipped}; {time.perf_counter()-t0:.1f}s')
    return 1 if probs else 0


if __name__ == '__main__':
    sys.exit(main())
