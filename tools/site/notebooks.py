"""Reading the lesson notebooks, and the student copies in clean/ (an instructor tool: not part of the `mnist_linear` package).

Student copies, in the style of fastbook's clean/ folder: every code cell and every heading stays, the rest of the prose
and every output goes, so that students rework the lesson themselves and predict each output before they see it. The
questionnaire and the "further research" exercises stay whole (a section kept whole starts at a heading that names it and
ends at the next heading of the same or a higher level). nbdev's directive lines (`#| export`, `#| hide`) mean nothing
to a student, so they go, but the code under them stays: hidden setup cells must still run. Cell ids are numbered, so the
same lesson always gives the same file. The copies are committed; `python tools/site/build.py --check` fails when they are
not what the lessons give now.

The other modules of tools/site/ import this one: `handouts` (the site), `answer_key` (the answer key and its check) and
`build` (the command line).
"""
import argparse, json, re, sys
from pathlib import Path

import nbformat

_DIRECTIVE = re.compile(r'^\s*#\|')
HEADING = re.compile(r'^(#{1,6})\s+(.*)')
KEEP_WHOLE = ('questionnaire', 'further research')


class Parser(argparse.ArgumentParser):
    "Bad arguments: one line on stderr, exit status 2."
    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr); sys.exit(2)


def lessons(nbs_path='nbs'):
    "The lesson notebooks of `nbs_path` (`NN_topic.ipynb`), in order; `index.ipynb` is not a lesson."
    return sorted(Path(nbs_path).glob('[0-9][0-9]_*.ipynb'))


def joined(x):
    "A text field of a notebook's JSON (a cell's source, an output's text) as one string: the JSON may hold a list of lines."
    return x if isinstance(x, str) else ''.join(x)


def read_lesson(path):
    "The notebook at `path`, read quickly (no schema validation), with attribute and item access and each source one string."
    nb = json.loads(Path(path).read_text())
    for c in nb['cells']: c['source'] = joined(c['source'])
    return nbformat.from_dict(nb)


def is_hidden(cell):
    "True for a cell marked `#| hide`."
    return any(re.match(r'^\s*#\|\s*hide\s*$', l) for l in cell.source.splitlines())


def strip_directives(source):
    "`source` without its nbdev directive lines."
    return '\n'.join(l for l in source.splitlines() if not _DIRECTIVE.match(l)).strip('\n')


def first_match(nb, pattern, first_cell=False):
    "The first match of `pattern` on a markdown line of `nb` (of its first markdown cell only, with `first_cell`), or None."
    for c in nb.cells:
        if c.cell_type == 'markdown':
            for l in c.source.splitlines():
                if m := pattern.match(l): return m
            if first_cell: return None
    return None


def lesson_title(nb):
    "The text of the notebook's first markdown heading."
    m = first_match(nb, HEADING)
    return m.group(2).strip() if m else ''


def student_nb(nb):
    "A student copy of `nb`: code without directives or outputs, headings, and the questionnaire and further research in full."
    cells, keep_level = [], None
    for c in nb.cells:
        if c.cell_type == 'code':
            src = strip_directives(c.source)
            if src: cells.append(nbformat.v4.new_code_cell(src))
        elif c.cell_type == 'markdown':
            kept = []
            for line in c.source.splitlines():
                if m := HEADING.match(line):
                    level = len(m.group(1))
                    if keep_level is not None and level <= keep_level: keep_level = None
                    if keep_level is None and any(k in m.group(2).lower() for k in KEEP_WHOLE): keep_level = level
                    kept.append(line)
                elif keep_level is not None: kept.append(line)
            text = '\n'.join(kept).strip('\n')
            if text: cells.append(nbformat.v4.new_markdown_cell(text))
    for i, c in enumerate(cells): c.id = f'cell-{i:03d}'
    res = nbformat.v4.new_notebook(cells=cells)
    res.metadata = {'kernelspec': nb.metadata.get('kernelspec', {'display_name': 'python3', 'language': 'python', 'name': 'python3'})}
    return res


def student_copies(nbs_path='nbs'):
    "What `clean/` should hold: {file name: notebook text} for every lesson."
    return {p.name: nbformat.writes(student_nb(nbformat.read(p, as_version=4))) + '\n' for p in lessons(nbs_path)}


def write_student_copies(nbs_path='nbs', dest='clean'):
    "Write the student copies into `dest`, removing copies of lessons that no longer exist; return the paths written."
    dest = Path(dest); dest.mkdir(parents=True, exist_ok=True)
    want = student_copies(nbs_path)
    for old in dest.glob('*.ipynb'):
        if old.name not in want: old.unlink()
    for name, text in want.items():
        if not (dest/name).exists() or (dest/name).read_text() != text: (dest/name).write_text(text)
    return [dest/n for n in want]


def stale_student_copies(nbs_path='nbs', dest='clean'):
    "Names of files in `dest` that differ from what `write_student_copies` would write now (missing, changed or extra)."
    dest, want = Path(dest), student_copies(nbs_path)
    have = {p.name for p in dest.glob('*.ipynb')} if dest.exists() else set()
    stale = [n for n, t in want.items() if n not in have or (dest/n).read_text() != t]
    return sorted(stale + [n for n in have if n not in want])
