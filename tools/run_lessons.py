"""Execute every lesson notebook headless, in a fresh kernel each (tools/nbrun.py), and print each lesson's key result.

A lesson marks its key result with a code cell whose first line, after any `#|` lines, starts with `# Key result:`.
What the cell printed is shown as text: its streams and plain-text results; a table that fastai's progress display
shows (an HTML table, one row per epoch) as its last row, the last epoch, each value after its column's name; pictures and stylesheets not
at all. The notebooks in nbs/ are not modified: each runs from a copy in memory. Make target: `make lessons`.
"""
import sys
from pathlib import Path

import nbrun                  # tools/ is on sys.path: this file's own folder

MARK = '# Key result:'


def table_rows(html):
    "The rows of the HTML tables in `html`, each a list of its cells' texts."
    from bs4 import BeautifulSoup
    return [[c.get_text(strip=True) for c in tr.find_all(['th', 'td'])] for tr in BeautifulSoup(html, 'html.parser').find_all('tr')]


def text_of_output(o):
    "The text of one output: a stream or text/plain as it is; an HTML table as its last row, with the header's names; else ''."
    if o.output_type == 'stream': return o.text
    data = o.get('data', {})
    html = data.get('text/html', '')
    if '<table' in html:
        rows = [r for r in table_rows(html) if r]
        if len(rows) < 2: return ''.join(map(' '.join, rows))
        return ', '.join(f'{h} {v}' for h, v in zip(rows[0], rows[-1])) + '\n'
    if html or 'image/png' in data: return ''          # a stylesheet, or a picture and its repr
    return data.get('text/plain', '') + '\n' if 'text/plain' in data else ''


def text_of(cell):
    return ''.join(text_of_output(o) for o in cell.get('outputs', [])).rstrip()


def key_title(cell):
    "The title of a key result cell (the text after `# Key result:` on its first line that is not a `#|` line), or None."
    first = next((l for l in cell.source.splitlines() if l.strip() and not l.lstrip().startswith('#|')), '')
    return first[len(MARK):].strip() if cell.cell_type == 'code' and first.startswith(MARK) else None


def main():
    nbs = sorted(p for p in Path('nbs').glob('[0-9][0-9]_*.ipynb'))
    if not nbs: sys.exit('error: no lesson notebooks found in nbs/')
    for p in nbs:
        try: nb, s = nbrun.execute(p)
        except Exception as e: sys.exit(f"error: {p} failed: {nbrun.error_text(e)}")
        print(f"\n## {p.stem} ({s:.0f}s)")
        keys = [(key_title(c), c) for c in nb.cells if key_title(c) is not None]
        for title, c in keys:
            print(title + ':')
            print('   ' + text_of(c).replace('\n', '\n   '))
        if not keys: print('(this lesson marks no key result)')


if __name__ == '__main__': main()
