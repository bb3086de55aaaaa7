"""The course's site, as an instructor publishes it: `tools/site/build.py --html DIR` (the handouts, `make site`) and
`--answers DIR2` beside it (the answer key), checked in headless Chromium (tests/js/site_check.mjs, with playwright-core
and axe-core from npm, and Debian's Chromium):

- every relative link on every page resolves, to a file under the site and to an id on that page where it names one;
- no page makes a request outside the site's folders (links to other websites are fine: they fetch nothing);
- axe-core finds no serious or critical accessibility problem, in light mode, nor a colour-contrast one in dark mode;
- no page scrolls sideways at phone width (390 px);
- the search box on the index finds a word that appears only in lesson 05, and only there.

Without Node, Chromium or node_modules/ the test fails and says what to install (see tests/test_drawing.py)."""
import json, os, re, shutil, subprocess, sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'/'site'))     # the tools' modules import each other by name, as when run as scripts

from answer_key import build_answers
from notebooks import lessons
from conftest import browser_tools


@pytest.fixture(scope='module')
def site(repo_handouts, tmp_path_factory):
    "The repository's site and its answer key side by side, checked once in Chromium; (root, findings)."
    node, chromium = browser_tools()
    root = tmp_path_factory.mktemp('site')
    shutil.copytree(repo_handouts[0], root/'_handouts')
    build_answers(ROOT/'nbs', ROOT/'answers', root/'_answers', site='../_handouts')
    index = json.loads(re.search(r'= (.*);', (root/'_handouts'/'search-index.js').read_text(), re.S)[1])
    only_05 = sorted({w for e in index if e['u'].startswith('05_') for w in re.findall(r'[a-z]{7,}', e['t'].lower())}
                     - {w for e in index if not e['u'].startswith('05_') for w in re.findall(r'[a-z]{7,}', (e['t'] + ' ' + e['h']).lower())})
    assert only_05, 'no word appears only in lesson 05'
    job = dict(search=only_05[0], search_page='_handouts/index.html', palette_page='_handouts/92_checks.html',
               shots=os.environ.get('SITE_SCREENSHOTS'))
    (root/'job.json').write_text(json.dumps(job))
    r = subprocess.run([node, str(ROOT/'tests'/'js'/'site_check.mjs'), str(root), str(root/'job.json'), str(root/'out.json')],
                       capture_output=True, text=True, timeout=300, env={**os.environ, 'CHROMIUM': chromium}, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    return root.resolve(), json.loads((root/'out.json').read_text()), job


def test_every_page_was_checked(site):
    root, out, _ = site
    pages = sorted(out['pages'])
    n = len(lessons(ROOT/'nbs')) + 1                                   # each lesson's page, and the index
    assert len([p for p in pages if p.startswith('_handouts/')]) == n and len([p for p in pages if p.startswith('_answers/')]) == n


def test_every_relative_link_resolves(site):
    root, out, _ = site
    bad = []
    for page, r in out['pages'].items():
        for href in r['links']:
            parts = urlsplit(href)
            if parts.scheme in ('http', 'https'): continue           # another website: a link, never fetched by the page
            target = Path(os.path.normpath((root/page).parent/unquote(parts.path))) if parts.path else root/page
            rel = os.path.relpath(target, root) if target.is_file() else None
            if rel is None or rel.startswith('..'): bad.append(f'{page}: {href} (no such file in the site)'); continue
            # a browser looks for the fragment as written, then percent-decoded (nbconvert writes ids like The-%22ideal%22-3-and-7)
            if parts.fragment and rel in out['ids'] and not {parts.fragment, unquote(parts.fragment)} & set(out['ids'][rel]):
                bad.append(f'{page}: {href} (no id {parts.fragment!r} on {rel})')
    assert not bad, '\n'.join(bad[:30])


def test_no_request_leaves_the_site(site):
    root, out, _ = site
    outside = [f'{p}: {u}' for p, r in out['pages'].items() for u in r['requests']
               if not (u.startswith('file://') and Path(unquote(urlsplit(u).path)).resolve().is_relative_to(root)) and not u.startswith('data:')]
    assert not outside, '\n'.join(outside[:20])
    assert all(not r['errors'] for r in out['pages'].values()), {p: r['errors'] for p, r in out['pages'].items() if r['errors']}


def test_axe_finds_no_serious_or_critical_problem(site):
    _, out, _ = site
    bad = [f"{p} ({v['scheme']}): {v['id']} x{v['n']}: {v['help']}: {v['first']}"
           for p, r in out['pages'].items() for v in r['violations'] if v['impact'] in ('serious', 'critical')]
    assert not bad, '\n'.join(bad)


def test_no_page_scrolls_sideways_on_a_phone(site):
    _, out, _ = site
    assert {p: r['sideways'] for p, r in out['pages'].items() if r['sideways'] > 0} == {}


def test_search_finds_a_word_only_lesson_05_has(site):
    _, out, job = site
    assert out['search'], f"searching {job['search']!r} found nothing"
    assert all(h.startswith('05_neural_net.html#') for h in out['search']), out['search']
