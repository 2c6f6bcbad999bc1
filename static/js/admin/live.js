// sohbet: what the admin panel does with the server's Socket.IO events
// (socket.js holds the connection): joining the open thread's room on
// (re)connect and catching up, new threads, messages both ways, edited
// answers, clearing, thread state, presence, typing, and refused messages.
// The beep (sound.js) is for a visitor's message in a thread not in view.
import { errorText } from '../lib/api.js';
import { toast } from '../lib/dom.js';
import { applyCleared, applyErased, catchUp, list, sender } from './conversation.js';
import { socket } from './socket.js';
import { beep } from './sound.js';
import { normalise, presence, threads, typing, view } from './state.js';
import {
  applyThreadState, loadThreads, noteMessage, renderThread, renderThreads, stopTypingOf,
} from './thread_list.js';

let connectedOnce = false;
socket.on('connect', () => {
  if (view.currentId) socket.emit('join_thread', { thread_id: view.currentId });
  sender.flush();
  if (connectedOnce) {
    loadThreads();
    catchUp();
  }
  connectedOnce = true;
});

socket.on('thread_created', (p) => {
  if (!p || !p.id) return;
  if (!threads.has(p.id)) {
    threads.set(p.id, normalise({ ...p, last_activity: p.created_at }));
  } else if (p.display_name) {
    threads.get(p.id).display_name = p.display_name;
  }
  renderThreads();
});

socket.on('message_from_visitor', (m) => {
  if (!m || !m.thread_id) return;
  const shownBefore = list.has(Number(m.id));
  if (m.thread_id === view.currentId) list.upsert(m);
  const { fresh } = noteMessage(m);
  if (fresh && !shownBefore && m.sender_type === 'visitor'
      && (document.hidden || m.thread_id !== view.currentId)) beep();
});

socket.on('message_to_visitor', (m) => {
  if (!m || !m.thread_id) return;
  if (m.thread_id === view.currentId) list.upsert(m);
  noteMessage(m, { own: true });
});

// An agent edited its answer in Telegram (issue 23): the new text in place,
// and in the thread list when it is the thread's last message.
socket.on('message_updated', (m) => {
  if (!m || !m.thread_id) return;
  if (m.thread_id === view.currentId) list.update(m);
  const t = threads.get(m.thread_id);
  if (t && t.last_message && Number(t.last_message.id) === Number(m.id)) {
    t.last_message = m;
    renderThread(m.thread_id);
  }
});

socket.on('messages_cleared', (p) => {
  if (p && p.thread_id) applyCleared(p.thread_id);
});

socket.on('thread_updated', applyThreadState);

socket.on('thread_erased', (p) => {
  if (p && p.thread_id) applyErased(p.thread_id);
});

function setPresence(p, online) {
  if (!p || !p.user_id || p.user_id === 'admin') return;
  const last = p.last_seen || (online ? null : new Date().toISOString());
  presence.set(p.user_id, { online, last_seen: last });
  const t = threads.get(p.user_id);
  if (t) {
    t.online = online;
    t.last_seen = last;
    if (p.username) t.display_name = p.username;
    if (!online) stopTypingOf(t.id, false);
    renderThread(t.id);
  }
}
socket.on('user_online', (p) => setPresence(p, true));
socket.on('user_offline', (p) => setPresence(p, false));

socket.on('typing', (p) => {
  if (!p || !p.thread_id || p.sender_type !== 'visitor') return;
  clearTimeout(typing.get(p.thread_id));
  typing.set(p.thread_id, setTimeout(() => stopTypingOf(p.thread_id), 6000));
  renderThread(p.thread_id);
});
socket.on('stop_typing', (p) => {
  if (p && p.thread_id && p.sender_type === 'visitor') stopTypingOf(p.thread_id);
});

socket.on('message_error', (p) => {
  toast(errorText(p && (p.code || p.type), p && p.message));
});
