// sohbet: the admin's thread tools in the panel (issue 13).
//
// The open / closed / blocked filter with counts above the thread list
// (open is the default; the unread badge counts open threads only,
// admin/thread_list.js; the blocked list is where a visitor is unblocked), and in the
// thread view a Close / Reopen button and a Block / Unblock button
// (POST /api/threads/{id}/close|reopen|block|unblock). Every admin's panel
// follows changes through `thread_updated` (admin/live.js). Uses lib/ and
// the panel's API (admin/panel.js: threads, on).
import { on, threads } from './admin/panel.js';
import { config } from './lib/config.js';
import { api, errorText } from './lib/api.js';
import { toast } from './lib/dom.js';
const filter = document.getElementById('status-filter');
const statusButton = document.getElementById('status-button');
const blockButton = document.getElementById('block-button');
const flags = document.getElementById('conv-flags');
/** Wires the add-on; not called when its markup is missing. */
function start() {
  const T = config.tools || {};

  // ------------------------------------------------------------ filter ---

  function counts() {
    const n = { open: 0, closed: 0, blocked: 0 };
    // Every thread the panel knows (the list shows only the filtered ones).
    for (const t of threads.all()) {
      n[t.status === 'closed' ? 'closed' : 'open'] += 1;
      if (t.blocked) n.blocked += 1;
    }
    return n;
  }

  function renderFilter() {
    const n = counts();
    for (const span of filter.querySelectorAll('[data-count]')) {
      span.textContent = String(n[span.dataset.count] || 0);
    }
    const current = threads.filter();
    for (const b of filter.querySelectorAll('[data-filter]')) {
      b.setAttribute('aria-pressed', String(b.dataset.filter === current));
    }
  }

  filter.addEventListener('click', (e) => {
    const b = e.target.closest('[data-filter]');
    if (!b) return;
    threads.setFilter(b.dataset.filter);
  });

  // ------------------------------------------------------- thread view ---

  function renderTools() {
    const t = threads.get(threads.current());
    if (!t) return;
    const closed = t.status === 'closed';
    statusButton.textContent = closed ? T.reopen : T.close;
    statusButton.dataset.action = closed ? 'reopen' : 'close';
    blockButton.textContent = t.blocked ? T.unblock : T.block;
    blockButton.dataset.action = t.blocked ? 'unblock' : 'block';
    const marks = [];
    if (closed) marks.push(T.closed);
    if (t.blocked) marks.push(T.blocked);
    flags.textContent = marks.join(' · ');
    flags.hidden = marks.length === 0;
  }

  async function act(button) {
    const id = threads.current();
    const action = button.dataset.action;
    if (!id || !action || button.disabled) return;
    if (action === 'block' && !window.confirm(T.blockConfirm)) return;
    button.disabled = true;
    try {
      const data = await api(`/api/threads/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: {} });
      threads.apply(data.thread);
    } catch (e) {
      toast(errorText(e.code, e.message));
    } finally {
      button.disabled = false;
      renderTools();
    }
  }

  statusButton.addEventListener('click', () => act(statusButton));
  blockButton.addEventListener('click', () => act(blockButton));

  on('thread-open', renderTools);
  on('threads-rendered', () => {
    renderFilter();
    renderTools();
  });
  renderFilter();
}

if (filter && statusButton && blockButton) start();
