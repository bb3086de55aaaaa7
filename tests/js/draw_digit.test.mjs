// The pad's JavaScript against Python (run by tests/test_drawing.py, which writes the fixture):
// the same strokes must give the same 28x28 input to 1e-6 and the same probabilities to 1e-5.
// Needs nothing installed: `DRAW_FIXTURE=fixture.json node --test tests/js/draw_digit.test.mjs`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mnistInput, naiveInput, predict3, predict10 } from '../../mnist_linear/js/draw_digit.js';

const path = process.env.DRAW_FIXTURE;
if (!path) throw new Error('DRAW_FIXTURE is not set: run this through tests/test_drawing.py, which writes the fixture');
const fx = JSON.parse(fs.readFileSync(path, 'utf8'));
// JSON has no NaN or Infinity: the fixture writes them as strings, and they come back as numbers here.
const num = (v) => (typeof v === 'string' ? Number(v) : v);
const strokesOf = (c) => c.strokes.map((s) => s.map((p) => p.map(num)));

function maxDiff(got, want) {
  assert.equal(got.length, want.length, `length ${got.length}, expected ${want.length}`);
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]));
  return m;
}

for (const [name, c] of Object.entries(fx.cases)) {
  test(`${name}: the same 28x28 inputs and probabilities as Python`, () => {
    const strokes = strokesOf(c);
    for (const [kind, prepare] of [['mnist', mnistInput], ['naive', naiveInput]]) {
      const x = prepare(strokes), want = c[kind];
      if (want === null) { assert.equal(x, null, `${kind}: Python found no ink, JavaScript did`); continue; }
      assert.notEqual(x, null, `${kind}: JavaScript found no ink, Python did`);
      const d = maxDiff(x, want.x);
      assert.ok(d <= 1e-6, `${kind} input differs by ${d}`);
      const r = predict3(x, fx.weights3, fx.bias3);
      assert.ok(Math.abs(r.p3 - want.p3) <= 1e-5, `${kind} P(3) ${r.p3}, Python ${want.p3}`);
      assert.ok(Math.abs(r.raw - want.raw) <= 1e-6 * Math.max(1, Math.abs(want.raw)), `${kind} raw ${r.raw}, Python ${want.raw}`);
      const p = predict10(x, fx.weights10, fx.bias10);
      const dp = maxDiff(p, want.probs);
      assert.ok(dp <= 1e-5, `${kind} ten probabilities differ by ${dp}`);
    }
  });
}
