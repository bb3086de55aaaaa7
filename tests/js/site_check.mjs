// Check the course's site in headless Chromium; run by tests/test_site.py:
//   node tests/js/site_check.mjs ROOT JOB.json OUT.json
// ROOT holds the site (tools/site/build.py --html ROOT/_handouts) and, beside it, the answer key (--answers ROOT/_answers).
// JOB.json: {"search": a word, "search_page": a page, "palette_page": a page with code, "shots": folder or null}. For every page under ROOT, at desktop width (1280 px):
// the requests it makes (all must stay inside SITE_DIR), axe-core's violations, every link's target (file and
// fragment), the colour contrast again in dark mode, then at phone width (390 px) whether the page scrolls sideways. On index.html it types the search word
// and reports the pages the results link to. Writes its findings to OUT.json; the Python test judges them.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { launch } from './browser.mjs';

const [dir, jobPath, outPath] = process.argv.slice(2);
const job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
const root = fs.realpathSync(dir);
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const browser = await launch();
const out = { pages: {}, search: null };

// axe-core on one page: every rule in light mode, then colour contrast again in dark mode. Code's syntax colours are
// left out of the contrast rule here (thousands of spans on a long page, ten seconds a page) and checked once for every
// token class that any page uses, on the palette below: a token's colour depends only on its class and the theme.
const brief = (scheme) => (v) => ({ id: v.id, impact: v.impact, help: v.help, n: v.nodes.length, scheme,
  first: v.nodes[0] && v.nodes[0].html.slice(0, 160) });
async function audit(page) {
  const found = [];
  const run = (context, options) => page.evaluate(async ([c, o]) => (await window.axe.run(c, o)).violations, [context, options]);
  found.push(...(await run('html', { rules: { 'color-contrast': { enabled: false } }, resultTypes: ['violations'] })).map(brief('light')));
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    found.push(...(await run({ exclude: [['.highlight']] }, { runOnly: ['color-contrast'], resultTypes: ['violations'] })).map(brief(scheme)));
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}
const pages = fs.readdirSync(root, { recursive: true }).filter((f) => f.endsWith('.html')).sort();
const ids = {};
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // One tab visits every page in turn (a new tab per page costs more than the visit). Each page's requests and errors
  // are recorded from its navigation until the next one begins.
  const page = await context.newPage();
  let r = null;
  page.on('request', (q) => { if (r) r.requests.push(q.url()); });
  page.on('pageerror', (e) => { if (r) r.errors.push(String(e)); });
  for (const name of pages) {
    r = { requests: [], errors: [], violations: [], links: [], sideways: null };
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('file://' + path.join(root, name));
    ids[name] = await page.evaluate(() => [...document.querySelectorAll('[id]')].map((e) => e.id));
    r.links = await page.evaluate(() => [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')));
    await page.addScriptTag({ path: axePath });
    r.violations = await audit(page);
    r.tokens = await page.evaluate(() => [...new Set([...document.querySelectorAll('.highlight span[class]')].map((e) => e.className))]);
    await page.setViewportSize({ width: 390, height: 844 });
    r.sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (job.shots && name.endsWith('05_neural_net.html')) await page.screenshot({ path: `${job.shots}/phone-05.png` });
    out.pages[name] = r;
    await page.goto('about:blank');                 // the page's own requests and errors end here
  }
  r = null;
  await page.close();
  out.ids = ids;
  // the palette: one code cell of the longest lesson page, holding one span of every token class seen on any page
  const tokens = [...new Set(Object.values(out.pages).flatMap((r) => r.tokens))].sort();
  const pal = await context.newPage();
  await pal.goto('file://' + path.join(root, job.palette_page));
  await pal.evaluate((classes) => {
    const pre = document.querySelector('.highlight pre');
    pre.replaceChildren(...classes.flatMap((c) => { const e = document.createElement('span'); e.className = c; e.textContent = `token_${c} `; return [e]; }));
    document.querySelector('main').replaceChildren(pre.closest('.jp-Cell'));
  }, tokens);
  await pal.addScriptTag({ path: axePath });
  out.palette = { tokens, violations: [] };
  for (const scheme of ['light', 'dark']) {
    await pal.emulateMedia({ colorScheme: scheme });
    const v = await pal.evaluate(async () => (await window.axe.run(document, { runOnly: ['color-contrast'], resultTypes: ['violations'] })).violations);
    out.palette.violations.push(...v.map(brief(scheme)));
  }
  await pal.close();
  const search = await context.newPage();
  await search.goto('file://' + path.join(root, job.search_page));
  await search.fill('#site-q', job.search);
  await search.waitForTimeout(200);
  out.search = await search.evaluate(() => [...document.querySelectorAll('#site-results a')].map((a) => a.getAttribute('href')));
} finally {
  await browser.close();
}
fs.writeFileSync(outPath, JSON.stringify(out));
