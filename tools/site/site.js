// Search across every page of the site, offline: search-index.js (written at export) lists each section's text.
(function () {
  const box = document.getElementById('site-q'), list = document.getElementById('site-results');
  const form = document.getElementById('site-search');
  if (form) form.addEventListener('submit', (ev) => ev.preventDefault());   // Enter searches; it never reloads the page
  if (!box || !window.SEARCH_INDEX) return;
  const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
  function show() {
    const words = box.value.toLowerCase().split(/\s+/).filter((w) => w.length > 1);
    list.replaceChildren();
    if (!words.length) {
      if (box.value.trim()) { const li = document.createElement('li'); li.textContent = 'Type a word of two letters or more'; list.append(li); }
      return;
    }
    const hits = window.SEARCH_INDEX.filter((e) => words.every((w) => e.t.toLowerCase().includes(w) || e.h.toLowerCase().includes(w)));
    const status = document.createElement('li');
    status.textContent = hits.length ? `${hits.length} section${hits.length > 1 ? 's' : ''} found` : 'Nothing found';
    list.append(status);
    for (const e of hits.slice(0, 30)) {
      const i = e.t.toLowerCase().indexOf(words[0]), from = Math.max(0, i - 60);
      const li = document.createElement('li');
      li.innerHTML = `<a href="${esc(e.u)}">${esc(e.h)}</a> <span class="where">(${esc(e.p)})</span><br><span class="where">` +
        `${from ? '... ' : ''}${esc(e.t.slice(from, from + 160))} ...</span>`;
      list.append(li);
    }
  }
  box.addEventListener('input', show);
  form.addEventListener('submit', show);
})();
