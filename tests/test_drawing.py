"""Lesson 07 (nbs/07_draw_a_digit.ipynb), its preprocessing (appendix 91) and its pad (appendix 94): the preprocessing,
the widget's Python side, the pad's JavaScript against Python in Node, and the handout page drawn on in headless Chromium.

The JavaScript tests need Node (on every machine of this project) and, for the page, Debian's Chromium and
the npm package playwright-core (`.ci/run` installs both: `apt-get install chromium`, `npm ci`). Where one is
missing, its test fails and says what to install; none is skipped."""
import json, math, os, re, subprocess
from pathlib import Path

import nbformat, pytest, torch
from mnist_linear.drawing import naive_input
from mnist_linear.strokes import mnist_input, moved, rasterize, strokes_from_image, coverage
from mnist_linear.training import train_linear
from mnist_linear.widget import DrawDigit, pad_data, page_html
from conftest import browser_tools

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT/'nbs'/'07_draw_a_digit.ipynb'


@pytest.fixture(scope='module')
def linear(data): return train_linear(epochs=21, data=data)[1]        # lesson 03's key run, as course_models trains it

def every_20th(data):
    n3 = int(data.valid_y.sum())
    return list(range(0, n3, 20)) + list(range(n3, len(data.valid_y), 20))


# ---- the preprocessing ------------------------------------------------------------------------------------

def test_coverage_rows_average():
    c = coverage(2, 5, 0.4, 0.)
    assert torch.allclose(c, torch.tensor([[.4, .4, .2, 0, 0], [0, 0, .2, .4, .4]], dtype=torch.float64))
    c = coverage(20, 37, 20/37, 0.)
    assert torch.allclose(c.sum(1), torch.ones(20, dtype=torch.float64))

def test_mnist_input_is_centred_in_20x20_with_ink_to_1(data):
    x = mnist_input(strokes_from_image(data.valid_x[5])).view(28, 28)
    assert x.max().item() == 1.0 and x.min().item() == 0.0
    rows, cols = x.gt(0).any(1).nonzero().flatten(), x.gt(0).any(0).nonzero().flatten()
    assert max(rows[-1]-rows[0]+1, cols[-1]-cols[0]+1).item() == 20     # the longer side fills the box
    i = torch.arange(28, dtype=torch.float64)
    cy, cx = (x.sum(1)*i).sum()/x.sum(), (x.sum(0)*i).sum()/x.sum()
    assert abs(cy-14) <= 0.5 and abs(cx-14) <= 0.5                       # MNIST's centre of mass, within half a pixel

def test_size_and_place_do_not_change_the_prepared_input(data):
    s = strokes_from_image(data.valid_x[1500])
    want = mnist_input(s)
    for how in (dict(scale=0.5), dict(dx=-40, dy=-30), dict(scale=0.5, dx=-70, dy=-70), dict(scale=0.7)):   # the moves keep the ink on the pad
        got = mnist_input(moved(s, **how))
        # the pen keeps its width while the digit changes size, so strokes get thinner or bolder; the place does not matter
        assert (got-want).abs().mean() < (0.1 if 'scale' in how else 1e-12), how      # half size: 0.072
    naive = naive_input(moved(s, dx=60, dy=40))
    assert (naive - naive_input(s)).abs().mean() > 0.2                    # without preprocessing it moves with the drawing

def test_lesson_table_for_the_linear_model(data, linear):
    "The lesson's table of traced validation digits, the linear model's columns (the net's are checked by stage 3)."
    w, b = linear
    idx = every_20th(data)
    assert len(idx) == 103
    def acc(prepare, **how):
        xs = torch.stack([prepare(moved(strokes_from_image(data.valid_x[i]), **how)).float() for i in idx])
        return round(((xs@w + b).flatten() > 0).float().eq(data.valid_y[idx].flatten()).float().mean().item(), 4)
    assert [acc(naive_input), acc(mnist_input)] == [0.9806, 0.9806]
    assert [acc(naive_input, scale=0.5), acc(mnist_input, scale=0.5)] == [0.4854, 0.9709]
    assert [acc(naive_input, dx=60, dy=40), acc(mnist_input, dx=60, dy=40)] == [0.3010, 0.9806]

@pytest.mark.parametrize('strokes', [[], [[]], [[[float('nan'), 5.0]]], [[[-100, -100], [-50, -60]]], [[['a', 'b']]]],
                         ids=['empty', 'empty stroke', 'not a number', 'off the pad', 'not numbers'])
def test_no_ink_is_none_not_an_error(strokes):
    assert mnist_input(strokes) is None and naive_input(strokes) is None

def test_a_dot_and_a_stroke_off_the_edge_give_an_input():
    dot = mnist_input([[[100, 100]]])
    assert dot is not None and dot.max().item() == 1.0
    edge = mnist_input([[[-40, 140], [320, 150]]])                       # crosses the whole pad and beyond
    assert edge is not None and edge.view(28, 28).gt(0).any(0).sum().item() == 20


# ---- the widget's Python side --------------------------------------------------------------------------------

def test_widget_tensor_is_the_reference_preprocessing(data, linear, capsys):
    s = strokes_from_image(data.valid_x[-1])
    pad = DrawDigit(linear, strokes=s)
    assert torch.equal(pad.tensor(), mnist_input(s).float())
    assert torch.equal(pad.tensor(preprocess=False), naive_input(s).float())
    pad.strokes = []                                                     # what Clear in the front end sends
    assert pad.tensor() is None
    assert 'Draw a digit' in capsys.readouterr().out

def test_widget_display_carries_the_page():
    pad = DrawDigit((torch.zeros(784, 1), torch.zeros(1)), strokes=[[[10, 10], [50, 50]]])
    data = pad._repr_mimebundle_()
    assert set(data) == {'application/vnd.jupyter.widget-view+json', 'text/html', 'text/plain'}
    assert data['text/html'] == page_html(pad_data((torch.zeros(784, 1), torch.zeros(1))), [[[10, 10], [50, 50]]])
    assert 'http://' not in data['text/html'] and 'https://' not in data['text/html']


# ---- JavaScript against Python --------------------------------------------------------------------------------

def _reference(strokes, weights3, bias3, weights10, bias10):
    "Python's view of `strokes`, with the weights as the page reads them (float64)."
    out = {}
    for kind, prepare in (('mnist', mnist_input), ('naive', naive_input)):
        x = prepare(strokes)
        if x is None: out[kind] = None; continue
        raw = (x*torch.tensor(weights3, dtype=torch.float64)).sum().item() + bias3
        logits = x@torch.tensor(weights10, dtype=torch.float64).view(784, 10) + torch.tensor(bias10, dtype=torch.float64)
        out[kind] = dict(x=x.tolist(), raw=raw, p3=1/(1+math.exp(-raw)), probs=logits.softmax(0).tolist())
    return out

def _json_safe(strokes): return [[[v if math.isfinite(v) else str(v) for v in p] for p in s] for s in strokes]

def test_javascript_prepares_and_predicts_like_python(data, linear, tmp_path):
    node, _ = browser_tools()
    torch.manual_seed(0)
    digits = (torch.randn(784, 10)*0.1, torch.randn(10)*0.1)
    pd = pad_data(linear, digits)
    s3, s7 = strokes_from_image(data.valid_x[0]), strokes_from_image(data.valid_x[-1])
    cases = {'validation 3': s3, 'validation 7': s7, 'a 3 at half size': moved(s3, 0.5), 'a 7 moved': moved(s7, dx=60, dy=40),
             'a 3 small in a corner': moved(s3, 0.4, -80, -80), 'hand-written polyline': [[[80, 60], [200, 60], [120, 150], [190, 160], [200, 220], [90, 240]]],
             'empty': [], 'one dot': [[[100, 100]]], 'off the edge': [[[-50, 140], [320, 150]], [[140, -20], [150, 300]]],
             'a point that is not a number': [[[float('nan'), 3.0], [10.0, 10.0], [40.0, 80.0]]]}
    fixture = dict(weights3=pd['weights3'], bias3=pd['bias3'], weights10=pd['weights10'], bias10=pd['bias10'],
                   cases={k: dict(strokes=_json_safe(v), **_reference(v, *pd.values())) for k, v in cases.items()})
    (tmp_path/'fixture.json').write_text(json.dumps(fixture))
    r = subprocess.run([node, '--test', str(ROOT/'tests'/'js'/'draw_digit.test.mjs')], capture_output=True, text=True,
                       env={**os.environ, 'DRAW_FIXTURE': str(tmp_path/'fixture.json')}, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert f'# pass {len(cases)}' in r.stdout, r.stdout[-1000:]


# ---- the handout page, drawn on in Chromium --------------------------------------------------------------------

_MOUNT = re.compile(r'mount\(document\.getElementById\("(mnl-draw-[0-9a-f]+)"\), (\{.*?\})\);\n</script>', re.S)

def test_drawing_on_the_handout_page_in_chromium(data, tmp_path):
    import sys; sys.path.insert(0, str(ROOT/'tools'/'site'))
    from handouts import handout_html                # tools/site/
    from notebooks import lesson_title
    node, chromium = browser_tools()
    nb = nbformat.read(LESSON, as_version=4)
    page = tmp_path/'07_draw_a_digit.html'
    html = handout_html(nb, lesson_title(nb), 'test')
    page.write_text(html)
    mounts = _MOUNT.findall(html)
    assert len(mounts) == 1, 'the handout page should hold one drawing pad'
    pd = json.loads(mounts[0][1])
    assert len(pd['weights3']) == 784 and len(pd['weights10']) == 7840 and len(pd['bias10']) == 10
    # strokes of real validation digits, at whole pad units as a mouse gives them
    drawings = {'validation 3': strokes_from_image(data.valid_x[3]), 'validation 7': strokes_from_image(data.valid_x[-4]),
                'validation 7, small in a corner': moved(strokes_from_image(data.valid_x[-4]), 0.5, -70, -70)}
    job = dict(drawings=drawings, screenshots=os.environ.get('DRAW_SCREENSHOTS'))
    (tmp_path/'job.json').write_text(json.dumps(job))
    r = subprocess.run([node, str(ROOT/'tests'/'js'/'page_draw.mjs'), str(page), str(tmp_path/'job.json'), str(tmp_path/'out.json')],
                       capture_output=True, text=True, timeout=120, env={**os.environ, 'CHROMIUM': chromium}, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads((tmp_path/'out.json').read_text())
    assert out['errors'] == []
    assert out['requests'] == [page.resolve().as_uri()], f"the page fetched more than itself: {out['requests']}"
    for name, strokes in drawings.items():
        want = _reference(strokes, pd['weights3'], pd['bias3'], pd['weights10'], pd['bias10'])['mnist']
        got = out['drawings'][name]
        assert got['cleared'].startswith('Draw a digit'), (name, got['cleared'])       # the empty pad says what to do
        assert abs(float(got['p3']) - want['p3']) <= 1e-5, (name, got, want['p3'])
        assert max(abs(a-b) for a, b in zip(json.loads(got['probs']), want['probs'])) <= 1e-5, name
        shown = f"{'3' if want['p3'] >= 0.5 else '7'}, probability of a 3: {want['p3']:.4f}"
        assert shown in got['text'], (name, got['text'])
