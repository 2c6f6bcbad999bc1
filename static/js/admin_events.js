// sohbet: who did what to a thread (issue 22 item 7), in the panel: the
// open thread's events (GET /api/threads/{id}/events, admin only) as
// centred grey lines between the messages, by time: "Ayşe closed the
// thread · 14:05". Read again when a thread opens, when `thread_updated`
// names an agent for the open thread, and when it is cleared (a "cleared"
// line stays). The shared message list (lib/message_list.js, also on the
// visitor page, which has a size budget) knows nothing of these lines:
// a MutationObserver puts them back in time order whenever bubbles are
// added. Uses lib/ and the panel's API (admin/panel.js).
import { on, socket, threads } from './admin/panel.js';
import { config, fill } from './lib/config.js';
import { api } from './lib/api.js';
import { el } from './lib/dom.js';
import { fmt } from './lib/time.js';

const box = document.getElementById('messages');
const T = config.tools || {};
const TEXT = {
  close: T.eventClose,
  reopen: T.eventReopen,
  block: T.eventBlock,
  unblock: T.eventUnblock,
  clear: T.eventClear,
  assign: T.eventAssign,
};
let loads = 0;

/** One event's line: `{name} closed the thread · <time>`. */
function line(ev) {
  const when = new Date(ev.created_at);
  const node = el('div', 'thread-event');
  node.dataset.ts = String(when.getTime());
  node.dataset.action = ev.action;
  const text = fill(TEXT[ev.action] || `{name}: ${ev.action}`, {
    name: ev.by?.name || '',
    detail: ev.detail || '',
  });
  const span = el('span', null, `${text} · `);
  const time = el('time', null, fmt.time(when));
  time.dateTime = when.toISOString();
  time.title = fmt.full(when);
  span.appendChild(time);
  node.appendChild(span);
  return node;
}

/**
 * Puts every line before the first message newer than it (above that
 * message's day separator), or at the end; lines keep their own order.
 */
function place() {
  const messages = [...box.querySelectorAll('.message[data-ts]')];
  const lines = [...box.querySelectorAll('.thread-event')]
    .sort((a, b) => Number(a.dataset.ts) - Number(b.dataset.ts));
  for (const l of lines) {
    const ts = Number(l.dataset.ts);
    const next = messages.find((m) => Number(m.dataset.ts) > ts);
    const sep = next?.previousElementSibling;
    const anchor = sep && sep.classList.contains('day-sep') ? sep : next;
    if (anchor) anchor.before(l);
    else box.appendChild(l);
  }
}

const observer = new MutationObserver(() => arrange());
function arrange() {
  observer.disconnect();
  place();
  observer.takeRecords();
  observer.observe(box, { childList: true });
}

async function load(id) {
  const mine = ++loads;
  let events;
  try {
    events = (await api(`/api/threads/${encodeURIComponent(id)}/events`)).events || [];
  } catch {
    return; // The lines are a hint; the conversation works without them.
  }
  if (mine !== loads || threads.current() !== id) return;
  observer.disconnect();
  for (const n of box.querySelectorAll('.thread-event')) n.remove();
  for (const ev of events) box.appendChild(line(ev));
  arrange();
}

if (box) {
  on('thread-open', ({ id }) => {
    observer.disconnect();
    for (const n of box.querySelectorAll('.thread-event')) n.remove();
    load(id);
  });
  socket.on('thread_updated', (u) => {
    if (u?.by && u.id === threads.current()) load(u.id);
  });
  socket.on('messages_cleared', (p) => {
    if (p?.thread_id === threads.current()) load(p.thread_id);
  });
}
