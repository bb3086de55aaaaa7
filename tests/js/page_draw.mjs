// Draw on lesson 07's handout page in headless Chromium, as a person would, and report what it shows.
// Run by tests/test_drawing.py:  node tests/js/page_draw.mjs PAGE.html JOB.json OUT.json
// JOB.json: {"drawings": {name: strokes (pad units)}, "screenshots": folder or null}.
// For each drawing: press Clear, then for each stroke press the mouse at its first point, move through the
// others and release (Chromium turns these into pointer events), then read the verdict's data-p3, the ten
// probabilities and the visible text (and the text right after Clear, on an empty pad). Every request the page makes is recorded: a file:// page that fetches
// nothing makes exactly one, for itself.
import fs from 'node:fs';
import { launch } from './browser.mjs';

const [page_path, job_path, out_path] = process.argv.slice(2);
const job = JSON.parse(fs.readFileSync(job_path, 'utf8'));
const browser = await launch();
const out = { requests: [], drawings: {}, errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
  page.on('request', (r) => out.requests.push(r.url()));
  page.on('pageerror', (e) => out.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push(m.text()); });
  await page.goto('file://' + fs.realpathSync(page_path));
  const pad = page.locator('canvas.mnl-pad');
  await pad.waitFor();
  await pad.scrollIntoViewIfNeeded();
  for (const [name, strokes] of Object.entries(job.drawings)) {
    await page.getByRole('button', { name: 'Clear' }).click();
    const cleared = await page.locator('output.mnl-verdict').textContent();
    const box = await pad.boundingBox();                              // the border box; the pad's units start inside its border
    const inner = await pad.evaluate((c) => ({ l: c.clientLeft, t: c.clientTop, w: c.clientWidth, h: c.clientHeight }));
    const at = ([x, y]) => [box.x + inner.l + x * inner.w / 280, box.y + inner.t + y * inner.h / 280];
    for (const s of strokes) {
      await page.mouse.move(...at(s[0]));
      await page.mouse.down();
      for (const p of s.slice(1)) await page.mouse.move(...at(p));
      await page.mouse.up();
    }
    const verdict = page.locator('output.mnl-verdict');
    out.drawings[name] = {
      cleared,
      p3: await verdict.getAttribute('data-p3'),
      text: await verdict.textContent(),
      probs: await page.locator('.mnl-ten').getAttribute('data-probs'),
    };
    if (job.screenshots) await page.locator('.mnl-draw').screenshot({ path: `${job.screenshots}/${name}.png` });
  }
} finally {
  await browser.close();
}
fs.writeFileSync(out_path, JSON.stringify(out));
