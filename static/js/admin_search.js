// sohbet: the admin panel's message search (issue 13).
//
// The sidebar's search box keeps filtering the thread list as it did
// (admin/thread_list.js); with a word of two characters or more it also asks
// `GET /api/search` (after a short pause, or at once on Enter) and lists
// the matching messages under the threads: thread name, time, and a
// snippet with the matched words in <mark>; conversations found by their
// display name that the list does not show come first. Choosing a result
// opens its thread with that message scrolled into view and marked
// (admin/panel.js `revealMessage`, which loads older pages until the
// message is there). "More results" pages with `before`.
//
// Keyboard: ↓ in the box moves to the first result; ↑ / ↓, Home / End move
// between results; Esc goes back to the box. Every text from the server is
// shown with textContent / text nodes, never as HTML.
import { openThread, revealMessage } from './admin/panel.js';
import { api } from './lib/api.js';
import { S, config, fill, limits } from './lib/config.js';
import { el, toast } from './lib/dom.js';
import { fmt } from './lib/time.js';
const input = document.getElementById('thread-search');
const box = document.getElementById('search-results');
const statusEl = document.getElementById('search-status');
const hitsEl = document.getElementById('search-hits');
const moreBtn = document.getElementById('search-more');
/** Wires the add-on; not called when its markup is missing. */
function start() {
  const L = config.search || {};
  const LIMIT = limits.searchLimit;
  const MIN_CHARS = 2;
  const MAX_CHARS = limits.searchMaxChars;
  const PAUSE_MS = 300;

  let seq = 0;
  let timer = null;
  let query = '';
  let nextBefore = null;
  let shown = 0;

  /** A query the server takes: 2..=200 characters with a letter or digit. */
  function usable(q) {
    const n = [...q].length;
    return n >= MIN_CHARS && n <= MAX_CHARS && /[\p{L}\p{N}]/u.test(q);
  }

  function reset() {
    seq += 1;
    clearTimeout(timer);
    query = '';
    nextBefore = null;
    shown = 0;
    hitsEl.replaceChildren();
    moreBtn.hidden = true;
    statusEl.textContent = '';
    box.hidden = true;
    box.removeAttribute('aria-busy');
  }

  /** Text pieces `[{text, hit}]` as nodes: hits in <mark>. */
  function pieces(parts, className) {
    const span = el('span', className);
    for (const p of Array.isArray(parts) ? parts : []) {
      if (p && p.hit) span.appendChild(el('mark', null, String(p.text)));
      else if (p) span.appendChild(document.createTextNode(String(p.text)));
    }
    return span;
  }

  function timeNode(v) {
    const t = el('time', 'search-hit-time', fmt.time(v));
    t.dateTime = v || '';
    t.title = fmt.full(v);
    return t;
  }

  function item(button) {
    button.type = 'button';
    button.className = 'search-hit-item';
    button.addEventListener('keydown', onResultKey);
    const li = el('li');
    li.appendChild(button);
    return li;
  }

  function messageItem(r) {
    const btn = el('button');
    btn.dataset.threadId = r.thread.id;
    btn.dataset.messageId = String(r.message.id);
    const top = el('span', 'search-hit-top');
    top.appendChild(el('span', 'search-hit-name', r.thread.display_name));
    top.appendChild(timeNode(r.message.created_at));
    const snippet = pieces(r.snippet, 'search-hit-snippet');
    if (r.message.sender_type === 'admin') snippet.prepend(el('span', 'preview-you', `${S.you}: `));
    btn.append(top, snippet);
    btn.addEventListener('click', () => choose(btn, r));
    return item(btn);
  }

  function threadItem(t) {
    const btn = el('button');
    btn.dataset.threadId = t.id;
    const top = el('span', 'search-hit-top');
    top.appendChild(pieces(t.highlight, 'search-hit-name'));
    top.appendChild(timeNode(t.last_activity));
    btn.append(top, el('span', 'search-hit-snippet search-hit-tag', L.threadTag));
    btn.addEventListener('click', () => {
      mark(btn);
      openThread(t.id, { push: true });
    });
    return item(btn);
  }

  function mark(btn) {
    for (const b of hitsEl.querySelectorAll('[aria-current]')) b.removeAttribute('aria-current');
    btn.setAttribute('aria-current', 'true');
  }

  async function choose(btn, r) {
    mark(btn);
    const node = await revealMessage(r.thread.id, Number(r.message.id));
    if (node === false) toast(L.gone, { kind: 'info', timeout: 5000 });
  }

  /** Threads found by name that the (filtered) thread list does not show. */
  function unlisted(threads) {
    const listed = new Set([...document.querySelectorAll('#thread-list [data-thread-id]')]
      .map((b) => b.dataset.threadId));
    return (Array.isArray(threads) ? threads : []).filter((t) => t && !listed.has(t.id));
  }

  function renderStatus() {
    if (shown === 0 && !hitsEl.childElementCount) statusEl.textContent = L.none;
    else statusEl.textContent = fill(nextBefore === null ? L.count : L.countMore, { n: shown });
    moreBtn.hidden = nextBefore === null;
  }

  async function run(q, { more = false } = {}) {
    const mine = ++seq;
    clearTimeout(timer);
    const params = new URLSearchParams({ q, limit: String(LIMIT) });
    if (more && nextBefore !== null) params.set('before', String(nextBefore));
    if (!more) {
      query = q;
      box.hidden = false;
      statusEl.textContent = L.searching;
    }
    box.setAttribute('aria-busy', 'true');
    try {
      const data = await api(`/api/search?${params}`);
      if (mine !== seq) return;
      const results = Array.isArray(data.results) ? data.results : [];
      const firstNew = results.length ? messageItem(results[0]) : null;
      if (!more) {
        hitsEl.replaceChildren();
        shown = 0;
        for (const t of unlisted(data.threads)) hitsEl.appendChild(threadItem(t));
      }
      results.forEach((r, i) => hitsEl.appendChild(i === 0 ? firstNew : messageItem(r)));
      shown += results.length;
      nextBefore = Number.isInteger(data.next_before) ? data.next_before : null;
      renderStatus();
      if (more && firstNew) firstNew.firstElementChild.focus();
    } catch (e) {
      if (mine !== seq) return;
      if (e.status === 401) {
        location.href = '/admin/login';
        return;
      }
      statusEl.textContent = L.failed;
    } finally {
      if (mine === seq) box.removeAttribute('aria-busy');
    }
  }

  function schedule() {
    const q = input.value.trim();
    if (!usable(q)) {
      reset();
      return;
    }
    if (q === query && !box.hidden) return;
    clearTimeout(timer);
    timer = setTimeout(() => run(q), PAUSE_MS);
  }

  function buttons() {
    return [...hitsEl.querySelectorAll('button')];
  }

  function onResultKey(e) {
    const all = buttons();
    const i = all.indexOf(e.currentTarget);
    let target = null;
    if (e.key === 'ArrowDown') target = all[i + 1] || (moreBtn.hidden ? null : moreBtn);
    else if (e.key === 'ArrowUp') target = i > 0 ? all[i - 1] : input;
    else if (e.key === 'Home') target = all[0];
    else if (e.key === 'End') target = all[all.length - 1];
    else if (e.key === 'Escape') target = input;
    if (!target) return;
    e.preventDefault();
    target.focus();
  }

  input.addEventListener('input', schedule);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      const q = input.value.trim();
      if (usable(q)) {
        e.preventDefault();
        run(q);
      }
    } else if (e.key === 'ArrowDown' && !box.hidden) {
      const first = buttons()[0];
      if (first) {
        e.preventDefault();
        first.focus();
      }
    }
  });
  moreBtn.addEventListener('click', () => {
    if (query && nextBefore !== null) run(query, { more: true });
  });
  moreBtn.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowUp') {
      const all = buttons();
      if (all.length) {
        e.preventDefault();
        all[all.length - 1].focus();
      }
    } else if (e.key === 'Escape') {
      e.preventDefault();
      input.focus();
    }
  });
}

if (input && box && statusEl && hitsEl && moreBtn) start();
