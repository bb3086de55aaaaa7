"""The course's site: one self-contained HTML page per lesson, an index, offline search (an instructor tool, not part of
the `mnist_linear` package; `python tools/site/build.py --html DIR` runs it, `make site`).

A handout is nbconvert's `HTMLExporter` (lab template) output for a lesson with its committed outputs; images are already
base64 text, so they are embedded as `data:` URLs. Three changes make a handout: hidden and directive-only cells are
dropped and directive lines removed; the template's `<script>` tags that load code from a CDN (require.js, MathJax,
mermaid) are removed, so that a page opens without a network; a footer names the package version it was built from.
A figure's alt text comes from its cell's `#| alt:` line (`figure_alts`).

The index lists the lessons in order with their title and one-line summary (the `> ...` line under the title), rendered
with `mistune`, the Markdown library nbconvert itself uses, and their run time from nbs/lesson_times.json (written by
tools/lesson_times.py: `nbdev-clean` strips the execution metadata). Lessons numbered 90 and up are the appendix.

The site is a folder a static host serves as it is: relative links only, nothing fetched from the network.
- Navigation: a top bar with the course's name and a search box; a sidebar with the index, the lessons in order (the
  current one `aria-current="page"`) and the appendix apart; on a lesson's page its `##` sections ("On this page"),
  previous and next, and links to its exercise notebook and student copy, which the site carries in exercises/, clean/.
- Search, offline: `search-index.js`, written here, holds every section's text (`page_sections`); site.js lists, up
  to 30, the sections whose heading or text contains every word typed (two letters or more).
- Layout, dark mode (the system's setting, JupyterLab's own dark colours, figures on white; print is never dark) and
  print live in site.css, read at build time like site.js; the dark theme is copied in from nbconvert's lab template.
- The lab template's own styles, the same 260 KB in every page, go once into lab.css, which each page links where they
  stood (a phone fetches them once, not once a page).
tests/test_site.py checks the site in headless Chromium (links, requests, axe-core, phone width, search).
"""
import html, json, re, shutil
from pathlib import Path

import mistune
import nbformat
from jupyter_core.paths import jupyter_path
from nbconvert import HTMLExporter

import mnist_linear
from notebooks import first_match, is_hidden, lesson_title, lessons, read_lesson, strip_directives

HERE = Path(__file__).resolve().parent
_TAGS = re.compile(r'<[^>]+>')
_SCRIPT_STYLE = re.compile(r'<(script|style)\b.*?</\1>', re.S | re.I)
_DATA_URI = re.compile(r'data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+')


def html_text(s):
    "The visible text of HTML `s`: no styles, scripts, tags or embedded images; entities decoded."
    return html.unescape(_TAGS.sub(' ', _SCRIPT_STYLE.sub(' ', _DATA_URI.sub(' ', s))))


_CDN_SCRIPT = re.compile(r'<script\b[^>]*\bsrc="(?:https?:)?(?://[^"]*)?"[^>]*>\s*</script>\s*', re.I)
_CDN_MODULE = re.compile(r'<script type="module">(?:(?!</script>).)*?https?://(?:(?!</script>).)*</script>\s*', re.S)

def handout_nb(nb):
    "A copy of `nb` for a handout: no hidden or directive-only cells, no directive lines."
    nb = nbformat.from_dict(nb)
    cells = []
    for c in nb.cells:
        if c.cell_type == 'code':
            if is_hidden(c): continue
            c.source = strip_directives(c.source)
            if not c.source: continue
            for o in c.get('outputs', []):   # a widget's live view needs a kernel: the page shows its text/html view (appendix 94)
                o.get('data', {}).pop('application/vnd.jupyter.widget-view+json', None)
        cells.append(c)
    nb.cells = cells
    return nb

_ALT = re.compile(r'^#\|\s*alt:\s*(.*\S)\s*$', re.M)
_IMG = re.compile(r'<img alt="No description has been provided for this image"([^>]*?) src="data:image/png;base64,([^"]+)"')

def figure_alts(nb):
    "{PNG as base64: alt text} for the images of every code cell that has an `#| alt:` line."
    alts = {}
    for c in nb.cells:
        m = _ALT.search(c.source) if c.cell_type == 'code' else None
        for o in c.get('outputs', []) if m else []:
            png = o.get('data', {}).get('image/png')
            if png: alts[''.join(png.split())] = m[1]
    return alts

def handout_html(nb, title, footer):
    "A self-contained HTML page for `nb`: embedded images with their `#| alt:` text, no CDN scripts, a footer."
    exporter = HTMLExporter(template_name='lab')
    body, _ = exporter.from_notebook_node(handout_nb(nb), resources={'metadata': {'name': title}})
    body = _CDN_MODULE.sub('', _CDN_SCRIPT.sub('', body))
    alts = figure_alts(nb)
    body = _IMG.sub(lambda m: (f'<img alt="{html.escape(alts[m[2]])}"{m[1]} src="data:image/png;base64,{m[2]}"'
                               if m[2] in alts else m[0]), body)
    foot = f'<footer style="margin:2em;color:#666;font-size:0.9em">{html.escape(footer)}</footer>\n'
    return body.replace('</body>', foot + '</body>', 1)

_SUMMARY = re.compile(r'^>\s*(.+)')

def lesson_summary(nb):
    "The one-line summary of a lesson: the first `> ...` line of its first markdown cell."
    m = first_match(nb, _SUMMARY, first_cell=True)
    return m.group(1).strip() if m else ''

def inline_markdown(text, render=mistune.html):
    "`text` rendered as inline HTML by `render`: Markdown code, emphasis and links, without the surrounding paragraph."
    out = render(text).strip()
    return out[3:-4] if out.startswith('<p>') and out.endswith('</p>') else out

def is_appendix(path):
    "Notebooks numbered 90 and up are the appendix: tooling for instructors and maintainers."
    return int(Path(path).name[:2]) >= 90

def lesson_times(nbs_path='nbs'):
    "The measured run times in `nbs_path`/lesson_times.json, or an empty record if it does not exist."
    p = Path(nbs_path)/'lesson_times.json'
    return json.loads(p.read_text()) if p.exists() else {'lessons': {}}

_HEAD_ID = re.compile(r'<h([1-3]) id="([^"]+)">(.*?)<a class="anchor-link"', re.S)

def page_sections(body):
    "[(level, id, heading text, text of the section)] of a handout's `<main>`, cut at its h1-h3 headings."
    main = body[body.index('<main'):body.index('</main>')] if '<main' in body else body
    parts = re.split(r'(?=<h[1-3] id=")', main)
    out = []
    for part in parts:
        if m := _HEAD_ID.match(part): out.append((int(m[1]), m[2], ' '.join(html.unescape(_TAGS.sub('', m[3])).split()), ' '.join(html_text(part[m.end():]).split())))
    return out

def _dark_theme():
    "JupyterLab's dark theme variables (nbconvert's lab template ships them), for `prefers-color-scheme: dark`."
    for d in jupyter_path('nbconvert', 'templates', 'lab', 'static'):
        p = Path(d)/'theme-dark.css'
        if p.exists():
            css = p.read_text()
            return css[css.index(':root'):css.rindex('}')+1]
    raise FileNotFoundError("nbconvert's lab template has no theme-dark.css: the site's dark mode needs it (pip install nbconvert)")

def site_css():
    "site.css, with JupyterLab's dark theme in its dark-mode block."
    css, mark = (HERE/'site.css').read_text(), "/* DARK_THEME: JupyterLab's dark theme variables, inserted here by tools/site/handouts.py */"
    if mark not in css: raise ValueError(f"{HERE/'site.css'} has lost its line {mark}: the site's dark mode needs it")
    return css.replace(mark, _dark_theme())

def _nav(entries, current):
    "The sidebar: the index, the lessons in order with the current one marked, then the appendix."
    def item(stem, title):
        cur = ' aria-current="page"' if stem == current else ''
        return f'<li><a href="{stem}.html"{cur}>{inline_markdown(title)}</a></li>'
    lessons_ = [item(s, t) for s, t, app in entries if not app]
    appendix = [item(s, t) for s, t, app in entries if app]
    home = ' aria-current="page"' if current == 'index' else ''
    return ('<nav class="site-nav" aria-label="Course">\n'
            f'<p><a href="index.html"{home}>All lessons</a></p>\n<h2>Lessons</h2>\n<ol start="0">\n' + '\n'.join(lessons_) +
            '\n</ol>\n<h2>Appendix, for instructors</h2>\n<ul>\n' + '\n'.join(appendix) + '\n</ul>\n</nav>\n')

def _top():
    return ('<a class="skip" href="#content">Skip to the content</a>\n<header class="site-top">\n'
            '<a class="home" href="index.html">mnist-linear</a>\n'
            '<form class="site-search" id="site-search" role="search">\n'
            '<label for="site-q" class="skip">Search the course</label>\n'
            '<input id="site-q" type="search" placeholder="Search the course" autocomplete="off">\n'
            '<ul class="search-results" id="site-results" aria-live="polite"></ul>\n</form>\n</header>\n')

def _pager(entries, i):
    prev = f'<a href="{entries[i-1][0]}.html" rel="prev">Previous: {inline_markdown(entries[i-1][1])}</a>' if i > 0 else '<span></span>'
    nxt = f'<a href="{entries[i+1][0]}.html" rel="next">Next: {inline_markdown(entries[i+1][1])}</a>' if i+1 < len(entries) else '<span></span>'
    return f'<nav class="pager" aria-label="Previous and next">{prev}{nxt}</nav>\n'

def _toc(sections):
    items = [f'<li><a href="#{i}">{html.escape(t)}</a></li>' for lvl, i, t, _ in sections if lvl == 2]
    return (f'<nav class="toc" aria-label="On this page"><details><summary>On this page: {len(items)} sections</summary>'
            f'<ul>{"".join(items)}</ul></details></nav>\n' if items else '')

def site_page(body, stem, entries, files=()):
    "A handout `body` as a page of the site: head links, the top bar with search, the sidebar, its own contents, previous and next."
    i = [s for s, _, _ in entries].index(stem)
    sections = page_sections(body)
    links = (f'<p class="lesson-files">Files for this lesson: ' + ', '.join(f'<a href="{h}">{html.escape(t)}</a>' for t, h in files) + '</p>\n'
             if files else '')
    head = ('<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<link rel="stylesheet" href="site.css">\n</head>')
    body = body.replace('</head>', head, 1)
    body = re.sub(r'<body([^>]*)>', lambda m: f'<body{m[1]}>\n' + _top(), body, count=1)
    body = body.replace('<main>', '<div class="site">\n' + _nav(entries, stem) + '<main id="content">\n' + links + _toc(sections), 1)
    body = body.replace('</main>', _pager(entries, i) + '</main>\n</div>', 1)
    body = body.replace('<footer style="margin:2em;color:#666;font-size:0.9em">', '<footer class="site-footer">', 1)
    body = re.sub(r'<a href="(\d\d_[\w-]+)\.ipynb(#[^"]*)?"', lambda m: f'<a href="{m[1]}.html{m[2] or ""}"', body)   # a lesson's link to another
    return body.replace('</body>', '<script src="search-index.js"></script>\n<script src="site.js"></script>\n</body>', 1)

def _index_item(p, nb, page, times):
    "One `<li>` of the index: the title linked to the handout `page`, the summary and the run time."
    secs = times['lessons'].get(p.name)
    took = f' <span class="time">(runs in about {secs} s)</span>' if secs is not None else ''
    summary = lesson_summary(nb)
    return (f'<li><a href="{page}">{inline_markdown(lesson_title(nb) or p.stem)}</a>{took}'
            + (f'<br><span class="summary">{inline_markdown(summary)}</span>' if summary else '') + '</li>')

def _footer():
    return f"mnist-linear {mnist_linear.__version__}: generated from the lesson notebooks with their committed outputs"

def _entries(nbs_path):
    "[(stem, title, is_appendix)] of the site's pages, in order."
    return [(p.stem, lesson_title(nb) or p.stem, is_appendix(p)) for p in lessons(nbs_path) for nb in [read_lesson(p)]]

def handouts_index(nbs_path='nbs') -> str:
    "The HTML of the site's `index.html`: each lesson's linked title, summary and run time, in order, the appendix apart."
    times = lesson_times(nbs_path)
    lesson_items, appendix_items = [], []
    for p in lessons(nbs_path):
        item = _index_item(p, nbformat.read(p, as_version=4), f'{p.stem}.html', times)
        (appendix_items if is_appendix(p) else lesson_items).append(item)
    machine = times.get('machine', '')
    note = (f'<p>Run times: each lesson top to bottom in a fresh kernel, measured on {html.escape(machine)}.</p>\n'
            if machine else '')
    appendix = ('<h2>Appendix, for instructors and maintainers</h2>\n<ul>\n' + '\n'.join(appendix_items) + '\n</ul>\n'
                if appendix_items else '')
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>mnist-linear handouts</title>\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n<link rel="stylesheet" href="site.css">\n'
            '<style>main li{margin:0.6em 0} .time{font-size:0.9em}</style></head>\n'
            '<body class="site-plain">\n' + _top() + '<div class="site">\n' + _nav(_entries(nbs_path), 'index') +
            '<main id="content">\n<h1>mnist-linear: the lessons</h1>\n'
            '<ol start="0">\n' + '\n'.join(lesson_items) + '\n</ol>\n' + appendix + note + '</main>\n</div>\n'
            f'<footer class="site-footer">{html.escape(_footer())}.</footer>\n'
            '<script src="search-index.js"></script>\n<script src="site.js"></script>\n</body></html>\n')

def _lesson_files(p, dest):
    "Copy lesson `p`'s student copy (clean/) and exercise notebook (exercises/) into the site; [(label, relative link)]."
    files = []
    for label, folder in [('exercise notebook', 'exercises'), ('student copy', 'clean')]:
        src = Path(p).parent.parent/folder/Path(p).name
        if src.exists():
            (dest/folder).mkdir(exist_ok=True)
            shutil.copyfile(src, dest/folder/src.name)
            files.append((f'{label} ({folder}/{src.name})', f'{folder}/{src.name}'))
    return files

_HEAD_STYLE = re.compile(r'<style[^>]*>.*?</style>', re.S)
_STYLE_TAGS = re.compile(r'^<style[^>]*>|</style>$')

def _shared_styles(pages):
    "The `<style>` blocks that open the `<head>` of every page, in order: the lab template writes the same ones (about 260 KB) into each."
    shared = []
    for blocks in zip(*(_HEAD_STYLE.findall(p[:p.index('</head>')]) for p in pages)):
        if len(set(blocks)) != 1: break
        shared.append(blocks[0])
    return shared

def _link_styles(page, shared):
    "`page` with the shared `<style>` blocks replaced by one link to lab.css, where the first of them stood: the same rules in the same order."
    for i, block in enumerate(shared): page = page.replace(block, '<link rel="stylesheet" href="lab.css">' if i == 0 else '', 1)
    return page

def build_handouts(nbs_path='nbs', dest='_handouts'):
    """Write the course's site into `dest`: one page per lesson, `index.html`, the lessons' exercise notebooks and student
    copies, and the site's style, script and search index; return the pages written."""
    dest = Path(dest); dest.mkdir(parents=True, exist_ok=True)
    entries, written, index = _entries(nbs_path), [], []
    pages = {}
    for p in lessons(nbs_path):
        nb = nbformat.read(p, as_version=4)
        body = handout_html(nb, lesson_title(nb) or p.stem, f"{_footer()} ({p.name}).")
        title = lesson_title(nb) or p.stem
        index += [dict(u=f'{p.stem}.html#{i}', p=title, h=h, t=t) for lvl, i, h, t in page_sections(body)]
        pages[dest/f'{p.stem}.html'] = site_page(body, p.stem, entries, _lesson_files(p, dest))
    shared = _shared_styles(list(pages.values()))
    (dest/'lab.css').write_text(''.join(_STYLE_TAGS.sub('', b) for b in shared))
    for out, page in pages.items():
        out.write_text(_link_styles(page, shared))
        written.append(out)
    (dest/'index.html').write_text(handouts_index(nbs_path))
    (dest/'site.css').write_text(site_css())
    shutil.copyfile(HERE/'site.js', dest/'site.js')
    (dest/'search-index.js').write_text('window.SEARCH_INDEX = ' + json.dumps(index, ensure_ascii=False, separators=(',', ':')) + ';\n')
    return [dest/'index.html'] + written
