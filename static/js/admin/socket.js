// sohbet: the admin panel's Socket.IO connection (the vendored client,
// window.io) and the connection banners over the list and the thread. What
// the panel does with the events is in live.js; here only the connection's
// life: a socket the server ended reconnects while the session is still an
// admin's, otherwise the login page.
import { csrfToken } from '../lib/api.js';
import { S } from '../lib/config.js';
import { connectionBanner } from '../lib/dom.js';

/** Both banners (thread view and sidebar) say the same. */
export const banner = connectionBanner([
  document.getElementById('conn-banner'),
  document.getElementById('thread-conn-banner'),
]);

/** The panel's one socket (`role: admin`). */
export const socket = window.io({
  auth: { csrf_token: csrfToken(), role: 'admin' },
  withCredentials: true,
});

// First of the `connect` listeners: the banner before anything is sent.
socket.on('connect', () => banner.connected());

socket.on('disconnect', (reason) => {
  banner.disconnected();
  if (reason !== 'io server disconnect') return; // the client reconnects by itself
  // The server ended this socket: the session ended (logout elsewhere,
  // expiry) or the socket fell behind under load. Reconnect only while
  // the session is still an admin's; otherwise back to the login page.
  setTimeout(async () => {
    try {
      const r = await fetch('/api/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
      const body = await r.json();
      if (body && body.role === 'admin') socket.connect();
      else location.href = '/admin/login';
    } catch {
      socket.connect(); // offline: the handshake tells
    }
  }, 500 + Math.random() * 1000);
});

socket.on('connect_error', (err) => {
  const code = err && err.message;
  if (code === 'auth_error') location.href = '/admin/login';
  else if (code === 'csrf_error' || code === 'origin_error') banner.fatal(S.errSession);
  else banner.disconnected();
});
