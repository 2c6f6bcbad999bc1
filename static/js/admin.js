// sohbet: the admin panel `/admin`: the entry that starts it.
//
// Left: threads (GET /api/threads) kept live by Socket.IO events. Right: the
// open thread (history over HTTP, replies as `message_to_visitor` with ack).
// Replies may be images, voice messages or audio files (lib/media.js). The
// panel is split by concern under admin/:
// - state.js: the threads, presence, typing, the open thread, the events;
// - socket.js: the connection (vendored client, window.io) and its banners;
// - thread_list.js: the sidebar's list, unread counts, the title badge;
// - conversation.js: the open thread: header, history, composer, sender;
// - live.js: the server's events; clearing.js; sound.js;
// - agent_presence.js: which other agents view or type in a thread;
// - panel.js: the API of the add-ons (admin_*.js), which import only it.
// Here: sign-out, what follows the tab's visibility, the 30 s refresh of
// relative times, and the first load (a #<thread id> in the URL opens it).
import { api } from './lib/api.js';
import './admin/agent_presence.js';
import './admin/clearing.js';
import { list, openThread } from './admin/conversation.js';
import './admin/live.js';
import './admin/sound.js';
import { threads, view } from './admin/state.js';
import { loadThreads, markRead, refreshItems, renderThread, updateTitle } from './admin/thread_list.js';

document.getElementById('logout-button').addEventListener('click', async () => {
  try {
    await api('/admin/logout', { method: 'POST', body: {} });
  } catch {
    /* leave anyway */
  }
  location.href = '/admin/login';
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && view.currentId) {
    const t = threads.get(view.currentId);
    if (t && t.unread_count > 0) {
      t.unread_count = 0;
      markRead(view.currentId);
    }
    renderThread(view.currentId);
  }
  updateTitle();
});

setInterval(() => {
  refreshItems();
  list.refreshTimes();
}, 30000);

loadThreads().then(() => {
  const id = decodeURIComponent(location.hash.slice(1));
  if (id && threads.has(id)) {
    openThread(id);
  }
});
