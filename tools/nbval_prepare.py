"""Copy notebooks for nbval, numbering their code cells.

nbdev-clean commits notebooks with `execution_count: null`, but nbval treats such a cell as
"unrun" and refuses to compare its outputs. The copy numbers each code cell in order, so that
nbval checks every committed output. Nothing else changes: sources and outputs are copied as is.

Usage: python tools/nbval_prepare.py SRC_DIR DEST_DIR
"""
import sys
from pathlib import Path

import nbformat

src, dest = Path(sys.argv[1]), Path(sys.argv[2])
dest.mkdir(parents=True, exist_ok=True)
for old in dest.glob('*.ipynb'): old.unlink()
for p in sorted(src.glob('*.ipynb')):
    nb = nbformat.read(p, as_version=4)
    n = 0
    for c in nb.cells:
        if c.cell_type != 'code': continue
        n += 1
        c.execution_count = n
        for o in c.outputs:
            if o.output_type == 'execute_result': o.execution_count = n
    nbformat.write(nb, dest/p.name)
print(f"prepared {len(list(dest.glob('*.ipynb')))} notebooks from {src} in {dest}")
