"""The model solutions of the exercises, read from the one place they are written: the solution cells of
exercises/solutions/*.ipynb, without their nbgrader markers. Tests that need the right implementation of an exercise
take it from here: `BOOK['mnist_loss']` is the source of the exercise's solution, ready to run in a namespace."""
import json, re
from pathlib import Path

SOLUTIONS = Path(__file__).parent.parent/'exercises'/'solutions'


def model_solutions(folder=SOLUTIONS):
    "{name of the function or class a solution cell defines: that cell's source, markers removed}."
    book = {}
    for path in sorted(Path(folder).glob('*.ipynb')):
        for cell in json.loads(path.read_text(encoding='utf-8'))['cells']:
            if cell['cell_type'] != 'code' or not cell['metadata'].get('nbgrader', {}).get('solution'): continue
            src = '\n'.join(l for l in ''.join(cell['source']).splitlines() if not re.search(r'#+ (BEGIN|END) SOLUTION', l))
            book[re.search(r'^(?:def|class) (\w+)', src, re.M)[1]] = src + '\n'
    return book


BOOK = model_solutions()
