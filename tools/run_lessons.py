"""Execute every lesson notebook headless, in a fresh kernel each, and print each lesson's key result.

A lesson marks its key result with a code cell whose first line starts with `# Key result:`.
The notebooks in nbs/ are not modified: each runs from a copy in memory.
"""
import sys, time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

MARK = '# Key result:'

def text_of(cell):
    out = []
    for o in cell.get('outputs', []):
        if o.output_type == 'stream': out.append(o.text)
        elif 'data' in o and 'text/plain' in o.data and not o.data.get('image/png'): out.append(o.data['text/plain'])
    return ''.join(out).rstrip()

def main():
    nbs = sorted(p for p in Path('nbs').glob('[0-9][0-9]_*.ipynb'))
    if not nbs: sys.exit('error: no lesson notebooks found in nbs/')
    for p in nbs:
        nb = nbformat.read(p, as_version=4)
        t = time.time()
        try: NotebookClient(nb, timeout=1800, kernel_name='python3', resources={'metadata': {'path': 'nbs'}}).execute()
        except CellExecutionError as e:
            sys.exit(f"error: {p} failed: {str(e).strip().splitlines()[-1]}")
        print(f"\n## {p.stem} ({time.time()-t:.0f}s)")
        keys = [c for c in nb.cells if c.cell_type == 'code' and c.source.startswith(MARK)]
        for c in keys:
            print(c.source.splitlines()[0][len(MARK):].strip() + ':')
            print('   ' + text_of(c).replace('\n', '\n   '))
        if not keys: print('(this lesson marks no key result)')

if __name__ == '__main__': main()
