// sohbet: the Socket.IO connection state shown in a banner.
import { S } from './config.js';

// ---------------------------------------------------- connection banner ---

/**
 * Shows the connection state in a banner element: nothing while connected,
 * "Connecting…" / "Connection lost…" (after a short delay, to avoid
 * flicker), "Reconnected" for 2 s after a reconnect.
 */
export function connectionBanner(banners) {
  const nodes = banners.filter(Boolean);
  let timer = null;
  let everConnected = false;
  function show(text, kind) {
    for (const b of nodes) {
      b.textContent = text;
      b.dataset.kind = kind;
      b.hidden = false;
    }
  }
  function hide() {
    for (const b of nodes) b.hidden = true;
  }
  const later = (fn, ms) => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  later(() => show(S.connConnecting, 'warn'), 1500);
  return {
    connected() {
      clearTimeout(timer);
      if (everConnected && nodes.some((b) => !b.hidden)) {
        show(S.connRestored, 'ok');
        later(hide, 2000);
      } else {
        hide();
      }
      everConnected = true;
    },
    disconnected() {
      later(() => show(everConnected ? S.connLost : S.connConnecting, 'warn'), 1000);
    },
    fatal(text) {
      clearTimeout(timer);
      show(text, 'error');
    },
  };
}
