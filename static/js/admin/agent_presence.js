// sohbet: collision warnings (issue 22 item 5): which OTHER agents view or
// type in a thread. Tells the server which thread this panel shows
// (`viewing_thread {thread_id | null}` on open, close and every connect;
// typing is the composer's `typing` / `stop_typing`, conversation.js), and
// shows what the server sends to admin sockets (`agent_presence_state`
// when the socket connects, `agent_presence {thread_id, agents}` on every
// change): "Ayşe is viewing" / "Ayşe is typing…" under the open thread's
// header, and an eye on the list entries of threads another agent has
// open. Names are set as text (textContent), never as HTML.
import { config, fill } from '../lib/config.js';
import { el, icon } from '../lib/dom.js';
import { socket } from './socket.js';
import { on, view } from './state.js';
import { itemButton } from './thread_list.js';

// An eye (a path for lib/dom.js `icon`; kept here, not in the visitor
// page's icon set: the visitor page has a 60 KB budget).
const EYE = 'M12 4.5C7 4.5 2.7 7.6 1 12c1.7 4.4 6 7.5 11 7.5s9.3-3.1 11-7.5c-1.7-4.4-6-7.5-11-7.5ZM12 17a5 5 0 1 1 0-10 5 5 0 0 1 0 10Zm0-8a3 3 0 1 0 0 6 3 3 0 0 0 0-6Z';

const L = config.agents || {};
/** This socket's own agent id (from `agent_presence_state`); left out of every list. */
let me = null;
/** thread id -> [{id, name, typing}] as the server sent it (this agent included). */
const viewers = new Map();

// Under the conversation header: one line, live for screen readers.
const line = el('p', 'agent-presence');
line.id = 'agent-presence';
line.setAttribute('role', 'status');
line.hidden = true;
document.querySelector('#conv-view .conv-header').after(line);

/** The other agents of thread `id`, typing first. */
function others(id) {
  const list = (viewers.get(id) || []).filter((a) => a.id !== me);
  return list.sort((a, b) => Number(b.typing) - Number(a.typing));
}

const sentence = (a) => fill(a.typing ? L.agentTyping : L.agentViewing, { name: a.name });

function renderLine() {
  const list = view.currentId ? others(view.currentId) : [];
  line.textContent = list.map(sentence).join(' · ');
  line.dataset.state = list.some((a) => a.typing) ? 'typing' : 'viewing';
  line.hidden = list.length === 0;
}

/** The eye on thread `id`'s list entry (added or removed). */
function renderMarker(id) {
  const btn = itemButton(id);
  if (!btn) return;
  const list = others(id);
  let mark = btn.querySelector('.thread-viewers');
  if (!list.length) {
    if (mark) mark.remove();
    return;
  }
  if (!mark) {
    mark = el('span', 'thread-viewers');
    mark.appendChild(icon(EYE, 14));
    mark.appendChild(el('span', 'sr-only thread-viewers-text'));
    btn.querySelector('.thread-top').insertBefore(mark, btn.querySelector('.thread-time'));
  }
  const text = list.map(sentence).join(', ');
  mark.title = text;
  mark.querySelector('.thread-viewers-text').textContent = `${text}, `;
}

function apply(p) {
  if (!p || typeof p.thread_id !== 'string' || !Array.isArray(p.agents)) return;
  if (p.agents.length) viewers.set(p.thread_id, p.agents);
  else viewers.delete(p.thread_id);
  renderMarker(p.thread_id);
  if (p.thread_id === view.currentId) renderLine();
}

socket.on('agent_presence_state', (s) => {
  if (!s) return;
  me = s.agent_id ?? null;
  const before = [...viewers.keys()];
  viewers.clear();
  for (const t of Array.isArray(s.threads) ? s.threads : []) apply(t);
  for (const id of before) renderMarker(id);
  renderLine();
});
socket.on('agent_presence', apply);

const tell = () => {
  if (socket.connected) socket.emit('viewing_thread', { thread_id: view.currentId || null });
};
socket.on('connect', () => {
  if (view.currentId) tell();
});
on('thread-open', () => {
  tell();
  renderLine();
});
on('thread-close', () => {
  tell();
  renderLine();
});
on('threads-rendered', () => {
  for (const id of viewers.keys()) renderMarker(id);
});
on('thread-changed', ({ id }) => {
  if (viewers.has(id)) renderMarker(id);
});
