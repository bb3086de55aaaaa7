// Draw a digit: the drawing pad of lesson 07 (nbs/07_draw_a_digit.ipynb), its MNIST preprocessing and the
// predictions of the course's models, in plain JavaScript with nothing fetched from anywhere.
//
// This one file serves three places:
//   - the anywidget in Jupyter: mnist_linear/widget.py reads it as the widget's `_esm` (`render` below);
//   - the lesson's handout page: mnist_linear/widget.py inlines it in the page and calls `mount`;
//   - the Node tests (tests/js/draw_digit.test.mjs), which import the pure functions.
// Every step follows mnist_linear/strokes.py (appendix 91) in float64, so that both turn the same strokes into the same 28x28
// input up to rounding (tests/test_drawing.py compares them: 1e-6 on inputs, 1e-5 on probabilities).
// This file must hold no web address: the handout builder removes inline module scripts that contain one.

export const CANVAS = 280;   // the pad's coordinates: 0..280 in x and y, whatever size it is shown at
export const GRID = 140;     // the ink is computed on a 140x140 grid (2x2 pad units per cell)
export const RADIUS = 10;    // the pen's radius, in pad units
export const BOX = 20;       // MNIST fits each digit into 20x20 ...
export const SIDE = 28;      // ... and centres it in 28x28

function finitePoints(stroke) {
  return (Array.isArray(stroke) ? stroke : []).filter(
    (p) => Array.isArray(p) && p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]));
}

// Ink on the grid: 1 within RADIUS of a stroke, fading to 0 over one cell, as a pen with soft edges draws.
export function rasterize(strokes) {
  const cell = CANVAS / GRID, img = new Float64Array(GRID * GRID);
  const lo = (v) => Math.max(0, Math.floor((v - RADIUS - cell) / cell));
  const hi = (v) => Math.min(GRID - 1, Math.ceil((v + RADIUS + cell) / cell));
  for (const raw of strokes || []) {
    const pts = finitePoints(raw), n = pts.length;
    for (let s = 0; s < Math.max(n - 1, 1) && n > 0; s++) {
      const [ax, ay] = pts[s], [bx, by] = pts[Math.min(s + 1, n - 1)];
      const abx = bx - ax, aby = by - ay, len2 = abx * abx + aby * aby;
      for (let gy = lo(Math.min(ay, by)); gy <= hi(Math.max(ay, by)); gy++) {
        const py = (gy + 0.5) * cell;
        for (let gx = lo(Math.min(ax, bx)); gx <= hi(Math.max(ax, bx)); gx++) {
          const px = (gx + 0.5) * cell;
          const t = len2 > 0 ? Math.min(1, Math.max(0, ((px - ax) * abx + (py - ay) * aby) / len2)) : 0;
          const dx = px - (ax + t * abx), dy = py - (ay + t * aby);
          const ink = Math.min(1, Math.max(0, (RADIUS - Math.sqrt(dx * dx + dy * dy)) / cell + 0.5));
          if (ink > img[gy * GRID + gx]) img[gy * GRID + gx] = ink;
        }
      }
    }
  }
  return img;
}

// How much of output pixel i ([i, i+1)) the input pixel k covers once it is scaled by s and moved by off.
function coverage(nOut, nIn, s, off) {
  const m = [];
  for (let i = 0; i < nOut; i++) {
    const row = new Float64Array(nIn);
    for (let k = 0; k < nIn; k++) row[k] = Math.max(0, Math.min(i + 1, off + (k + 1) * s) - Math.max(i, off + k * s));
    m.push(row);
  }
  return m;
}

// MNIST's preprocessing: the ink's bounding box scaled into 20x20 (aspect ratio kept, area averaging), the
// ink scaled so that its darkest pixel is 1, then the box placed in 28x28 so that the centre of mass of
// the ink is at the centre. Returns 784 numbers (row by row), or null when there is no ink.
export function mnistInput(strokes) {
  const img = rasterize(strokes);
  let r0 = GRID, r1 = -1, c0 = GRID, c1 = -1;
  for (let y = 0; y < GRID; y++) for (let x = 0; x < GRID; x++) if (img[y * GRID + x] > 0) {
    r0 = Math.min(r0, y); r1 = Math.max(r1, y); c0 = Math.min(c0, x); c1 = Math.max(c1, x);
  }
  if (r1 < 0) return null;
  const h = r1 - r0 + 1, w = c1 - c0 + 1, s = BOX / Math.max(h, w);
  const ry = coverage(BOX, h, s, (BOX - h * s) / 2), rx = coverage(BOX, w, s, (BOX - w * s) / 2);
  const box = new Float64Array(BOX * BOX);   // ry @ crop @ rx^T
  for (let i = 0; i < BOX; i++) for (let j = 0; j < BOX; j++) {
    let acc = 0;
    for (let k = 0; k < h; k++) {
      if (ry[i][k] === 0) continue;
      let rowAcc = 0;
      for (let l = 0; l < w; l++) rowAcc += img[(r0 + k) * GRID + c0 + l] * rx[j][l];
      acc += ry[i][k] * rowAcc;
    }
    box[i * BOX + j] = acc;
  }
  let peak = 0, mass = 0, my = 0, mx = 0;
  for (const v of box) peak = Math.max(peak, v);
  for (let i = 0; i < BOX; i++) for (let j = 0; j < BOX; j++) {
    const v = box[i * BOX + j] / peak; box[i * BOX + j] = v; mass += v; my += i * v; mx += j * v;
  }
  const start = (SIDE - BOX) / 2, centre = SIDE / 2;   // MNIST's centre of mass: pixel (14, 14)
  // to the nearest pixel; a symmetric digit lies exactly halfway, and the 1e-9 rounds that tie up here and in Python alike
  const top = start + Math.floor(centre - (start + my / mass) + 0.5 + 1e-9);
  const left = start + Math.floor(centre - (start + mx / mass) + 0.5 + 1e-9);
  const out = new Float64Array(SIDE * SIDE);
  for (let i = 0; i < BOX; i++) for (let j = 0; j < BOX; j++) {
    const y = top + i, x = left + j;
    if (y >= 0 && y < SIDE && x >= 0 && x < SIDE) out[y * SIDE + x] = box[i * BOX + j];
  }
  return out;
}

// Without preprocessing: the whole pad shrunk to 28x28 by averaging each 5x5 block of the grid.
export function naiveInput(strokes) {
  const img = rasterize(strokes), f = GRID / SIDE, out = new Float64Array(SIDE * SIDE);
  let ink = false;
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) {
    let acc = 0;
    for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) acc += img[(y * f + a) * GRID + x * f + b];
    out[y * SIDE + x] = acc / (f * f);
    if (acc > 0) ink = true;
  }
  return ink ? out : null;
}

// Lesson 03's linear model: each pixel's vote is pixel times weight; the votes plus the bias are the raw output.
export function predict3(x, weights, bias) {
  const votes = new Float64Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) { votes[i] = x[i] * weights[i]; sum += votes[i]; }
  const raw = sum + bias;
  return { votes, sum, raw, p3: 1 / (1 + Math.exp(-raw)) };
}

// Lesson 06's model: weights is 784x10 row by row; the softmax of the ten raw outputs.
export function predict10(x, weights, bias) {
  const raw = Array.from(bias, Number);
  for (let i = 0; i < x.length; i++) if (x[i] !== 0) for (let d = 0; d < 10; d++) raw[d] += x[i] * weights[i * 10 + d];
  const top = Math.max(...raw), e = raw.map((v) => Math.exp(v - top)), z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

// matplotlib's PuOr at 11 points: orange for votes for a 7 (below 0), purple for votes for a 3.
const PUOR = [[127, 59, 8], [178, 87, 6], [224, 130, 20], [252, 183, 97], [254, 224, 182], [246, 246, 247],
  [216, 218, 235], [177, 170, 209], [128, 115, 172], [83, 38, 135], [45, 0, 75]];
export function puor(t) {   // t in [0, 1]
  const u = Math.min(1, Math.max(0, t)) * 10, i = Math.min(9, Math.floor(u)), f = u - i;
  return PUOR[i].map((c, k) => Math.round(c + (PUOR[i + 1][k] - c) * f));
}

const CSS = `
.mnl-draw{font-family:system-ui,sans-serif;color:inherit;max-width:100%}
.mnl-draw .mnl-row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.mnl-draw figure{margin:0;display:flex;flex-direction:column;gap:4px}
.mnl-draw figcaption{font-size:0.85em;max-width:150px}
.mnl-draw .mnl-pad{width:280px;max-width:80vw;aspect-ratio:1;touch-action:none;background:#fff;border:2px solid #555;border-radius:6px;cursor:crosshair}
.mnl-draw .mnl-small{width:140px;height:140px;image-rendering:pixelated;border:1px solid #888;background:#000}
.mnl-draw .mnl-controls{margin:8px 0;display:flex;gap:12px;flex-wrap:wrap;align-items:center}
.mnl-draw button{font:inherit;padding:4px 12px}
.mnl-draw output{display:block;font-size:1.1em;font-weight:600;margin:6px 0}
.mnl-draw .mnl-ten{display:grid;grid-template-columns:2em 1fr 4em;gap:2px 6px;max-width:360px;font-size:0.9em}
.mnl-draw .mnl-bar{background:#5e3c99;height:0.9em;align-self:center}
`;

function el(tag, attrs = {}, text = '') {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

function paint28(canvas, colour) {   // colour(i) -> [r, g, b] for pixel i of 784
  const ctx = canvas.getContext('2d'), im = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const [r, g, b] = colour(i);
    im.data.set([r, g, b, 255], i * 4);
  }
  ctx.putImageData(im, 0, 0);
}

const fmt = (v, n = 4) => (Math.abs(v) < 0.5 * 10 ** -n ? 0 : v).toFixed(n);

// The pad and its pictures inside `root`. `model` holds weights3 (784), bias3, and optionally weights10
// (7840, row by row) and bias10 (10), and strokes to start with. `onStrokes(strokes)` is called after each stroke.
export function mount(root, model, onStrokes = () => {}, onPreprocess = () => {}) {
  root.replaceChildren();
  root.classList.add('mnl-draw');
  root.append(el('style', {}, CSS));
  let strokes = (model.strokes || []).map((s) => s.map((p) => [p[0], p[1]]));
  let useMnist = model.preprocess !== false;
  const row = el('div', { class: 'mnl-row' });
  const mk = (cls, size, label, caption) => {
    const f = el('figure'), c = el('canvas', { class: cls, width: size, height: size, role: 'img', 'aria-label': label });
    f.append(c, el('figcaption', {}, caption)); row.append(f); return c;
  };
  const pad = mk('mnl-pad', CANVAS, 'Drawing pad: draw one digit here with a mouse, a pen or a finger', 'Draw one digit here');
  const input = mk('mnl-small', SIDE, 'The 28 by 28 input the model receives', 'What the model receives (28×28)');
  const votes = mk('mnl-small', SIDE, 'Each pixel\'s vote, pixel times weight: purple votes for a 3, orange for a 7',
    'Each pixel\'s vote (pixel × weight): purple for 3, orange for 7');
  const controls = el('div', { class: 'mnl-controls' });
  const clear = el('button', { type: 'button' }, 'Clear');
  const box = el('input', { type: 'checkbox' }); box.checked = useMnist;
  const lab = el('label'); lab.append(box, ' MNIST preprocessing (fit into 20×20, centre by mass)');
  controls.append(clear, lab);
  const verdict = el('output', { 'aria-live': 'polite', class: 'mnl-verdict' });
  const detail = el('div', { class: 'mnl-detail' });
  const ten = el('div', { class: 'mnl-ten', role: 'list', 'aria-label': 'Lesson 06 model: probability of each digit' });
  root.append(row, controls, verdict, detail, ten);

  const ctx = pad.getContext('2d');
  function drawPad() {
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, CANVAS, CANVAS);
    ctx.strokeStyle = '#000'; ctx.fillStyle = '#000'; ctx.lineWidth = 2 * RADIUS; ctx.lineCap = ctx.lineJoin = 'round';
    for (const s of strokes) {
      if (!s.length) continue;
      ctx.beginPath(); ctx.moveTo(s[0][0], s[0][1]);
      if (s.length === 1) { ctx.arc(s[0][0], s[0][1], RADIUS, 0, 2 * Math.PI); ctx.fill(); continue; }
      for (const p of s.slice(1)) ctx.lineTo(p[0], p[1]);
      ctx.stroke();
    }
  }
  function update() {
    drawPad();
    const x = useMnist ? mnistInput(strokes) : naiveInput(strokes);
    ten.replaceChildren();
    if (!x) {
      paint28(input, () => [0, 0, 0]); paint28(votes, () => [246, 246, 247]);
      verdict.textContent = 'Draw a digit: the pad has no ink yet.';
      verdict.dataset.p3 = ''; detail.textContent = ''; ten.dataset.probs = '';
      return;
    }
    paint28(input, (i) => { const v = Math.round(x[i] * 255); return [v, v, v]; });
    const r = predict3(x, model.weights3, model.bias3);
    let big = 0; for (const v of r.votes) big = Math.max(big, Math.abs(v));
    paint28(votes, (i) => puor(big > 0 ? 0.5 + r.votes[i] / (2 * big) : 0.5));
    verdict.textContent = `3 or 7: ${r.p3 >= 0.5 ? '3' : '7'}, probability of a 3: ${fmt(r.p3)}`;
    verdict.dataset.p3 = String(r.p3);
    detail.textContent = `Sum of the 784 votes ${fmt(r.sum)} + bias ${fmt(model.bias3)} = raw output ${fmt(r.raw)}; sigmoid(${fmt(r.raw)}) = ${fmt(r.p3)}`;
    if (model.weights10 && model.weights10.length) {
      const p = predict10(x, model.weights10, model.bias10);
      ten.dataset.probs = JSON.stringify(p);
      p.forEach((v, d) => {
        const bar = el('div', { class: 'mnl-bar' }); bar.style.width = `${(100 * v).toFixed(1)}%`;
        const wrap = el('div', { role: 'listitem', 'aria-label': `digit ${d}: probability ${fmt(v, 3)}` });
        wrap.style.display = 'contents';
        wrap.append(el('span', {}, String(d)), el('div'), el('span', {}, fmt(v, 3)));
        wrap.children[1].append(bar);
        ten.append(wrap);
      });
    }
  }
  // pad units from the pointer, measured from the canvas's content box (inside its border)
  const at = (e) => {
    const b = pad.getBoundingClientRect();
    return [(e.clientX - b.left - pad.clientLeft) * CANVAS / pad.clientWidth, (e.clientY - b.top - pad.clientTop) * CANVAS / pad.clientHeight];
  };
  let drawing = null, pointer = null;   // one pen at a time: a second finger, or a right click, draws nothing
  pad.addEventListener('pointerdown', (e) => {
    if (drawing || e.button !== 0) return;
    e.preventDefault(); pad.setPointerCapture(e.pointerId); pointer = e.pointerId;
    drawing = [at(e)]; strokes.push(drawing); drawPad();
  });
  pad.addEventListener('pointermove', (e) => {
    if (!drawing || e.pointerId !== pointer) return;
    e.preventDefault(); drawing.push(at(e)); drawPad();
  });
  const end = (e) => {
    if (!drawing || e.pointerId !== pointer) return;
    drawing = pointer = null; update(); onStrokes(strokes.map((s) => s.map((p) => [p[0], p[1]])));
  };
  pad.addEventListener('pointerup', end); pad.addEventListener('pointercancel', end);
  clear.addEventListener('click', () => { strokes = []; update(); onStrokes([]); });
  box.addEventListener('change', () => { useMnist = box.checked; update(); onPreprocess(useMnist); });
  update();
  return {
    setStrokes(s) { strokes = (s || []).map((t) => t.map((p) => [p[0], p[1]])); update(); },
    strokes: () => strokes,
  };
}

// anywidget's entry point (the module's default export): the same pad, its weights from the Python side, each
// stroke and the preprocessing checkbox sent back to Python.
function render({ model, el: root }) {
  const data = () => ({ weights3: model.get('weights3'), bias3: model.get('bias3'), weights10: model.get('weights10'),
    bias10: model.get('bias10'), strokes: model.get('strokes'), preprocess: model.get('preprocess') });
  const send = (name, value) => { model.set(name, value); model.save_changes(); };
  const pad = mount(root, data(), (s) => send('strokes', s), (p) => send('preprocess', p));
  const onStrokes = () => {
    const s = model.get('strokes');
    if (JSON.stringify(s) !== JSON.stringify(pad.strokes())) pad.setStrokes(s);
  };
  model.on('change:strokes', onStrokes);
  return () => model.off('change:strokes', onStrokes);   // anywidget calls this when the view goes away
}
export default { render };
