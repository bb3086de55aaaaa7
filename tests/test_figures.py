"""Every figure of every notebook has alt text written by its author, and no figure asks a reader to tell red from green.

- A code cell that draws (an image/png output) carries a `#| alt:` line: what the picture shows and what to notice.
  The handouts turn it into the image's alt text (tools/site/handouts.py, `figure_alts`).
- About one man in twelve cannot tell red from green apart (deuteranopia and protanopia), so no figure holds both
  saturated red and saturated green. The check looks at the pixels, whatever drew them: matplotlib's default colour
  cycle (blue, orange, green, red) fails it as soon as a plot has four lines. CONTRIBUTING.md says what to use instead.
"""
import base64, io, json, re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
ALT = re.compile(r'^#\|\s*alt:\s*(.*\S)\s*$', re.M)


def figure_cells():
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for c in json.loads(nb.read_text())['cells']:
            pngs = [o['data']['image/png'] for o in c.get('outputs', []) if 'image/png' in o.get('data', {})]
            if c['cell_type'] == 'code' and pngs: yield nb.name, c.get('id'), ''.join(c['source']), pngs

FIGURES = list(figure_cells())
IDS = [f'{name}:{cid}' for name, cid, _, _ in FIGURES]


def test_there_are_figures(): assert len(FIGURES) >= 30        # 39 today: the collection found them


@pytest.mark.parametrize('name,cid,source,pngs', FIGURES, ids=IDS)
def test_figure_has_alt_text(name, cid, source, pngs):
    m = ALT.search(source)
    assert m, f'{name}, cell {cid} ({source.splitlines()[0][:60]!r}) draws a figure but has no "#| alt: ..." line'
    assert len(m[1].split()) >= 8, f'{name}, cell {cid}: the alt text is too short to say what the figure shows: {m[1]!r}'


def red_and_green(png):
    "The shares of a PNG's pixels that are a saturated red and a saturated green."
    rgb = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert('RGB'), dtype=np.float64)/255
    hi, lo = rgb.max(-1), rgb.min(-1)
    sat = np.where(hi > 0, (hi - lo)/np.maximum(hi, 1e-9), 0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    d = np.maximum(hi - lo, 1e-9)
    hue = np.select([hi == r, hi == g], [((g - b)/d) % 6, (b - r)/d + 2], (r - g)/d + 4)*60
    red = ((hue < 15) | (hue > 345)) & (sat > 0.5) & (hi > 0.35)
    green = (hue > 90) & (hue < 150) & (sat > 0.35) & (hi > 0.3)
    return red.mean(), green.mean()


def test_the_red_green_check_sees_both():
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 2))
    for k in range(4): ax.plot([0, 1], [k, k + 1], lw=3)              # the default cycle: blue, orange, green, red
    buf = io.BytesIO(); fig.savefig(buf, format='png'); plt.close(fig)
    red, green = red_and_green(base64.b64encode(buf.getvalue()))
    assert red > 0.001 and green > 0.001


@pytest.mark.parametrize('name,cid,source,pngs', FIGURES, ids=IDS)
def test_figure_has_no_red_green_pair(name, cid, source, pngs):
    for png in pngs:
        red, green = red_and_green(png)
        assert not (red > 0.001 and green > 0.001), (
            f'{name}, cell {cid} ({source.splitlines()[1][:60]!r}): {red:.2%} of its pixels are red and {green:.2%} '
            'green, a pair that red-green colour-blind readers cannot tell apart (CONTRIBUTING.md, "Figures")')
