// sohbet: DOM and text helpers: SVG icons, `el()`, toasts, the title badge,
// avatar colours / initials, safe URLs and linkified text, code-point
// counts, UUIDs, one-line previews, thumbnail URLs, and the full-size image
// viewer (a modal <dialog>), and the Socket.IO connection banner.
import { S, locale } from './config.js';

// --------------------------------------------------------------- icons ---

const ICONS = {
  check: 'M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z',
  checks: 'M18 7l-1.4-1.4-6.3 6.3 1.4 1.4L18 7Zm4.2-1.4L11.7 16.2 7.5 12l-1.4 1.4 5.6 5.6 12-12-1.5-1.4ZM.4 13.4 6 19l1.4-1.4L1.8 12 .4 13.4Z',
  clock: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16Zm.5-13H11v6l5.2 3.2.8-1.3-4.5-2.7V7Z',
  alert: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm1 15h-2v-2h2v2Zm0-4h-2V7h2v6Z',
  retry: 'M17.7 6.3A8 8 0 1 0 19.7 14h-2.1a6 6 0 1 1-1.4-6.2L13 11h7V4l-2.3 2.3Z',
  close: 'M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z',
  down: 'M12 16.6 4.7 9.3l1.4-1.4 5.9 5.9 5.9-5.9 1.4 1.4z',
  trash: 'M9 3h6l1 1h4v2H4V4h4l1-1Zm-3 5h12l-1 12a2 2 0 0 1-2 2H9a2 2 0 0 1-2-2L6 8Z',
  open: 'M14 3h7v7h-2V6.4l-9.3 9.3-1.4-1.4L17.6 5H14V3ZM5 5h6v2H5v12h12v-6h2v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2Z',
  note: 'M12 3v10.6A4 4 0 1 0 14 17V7h4V3h-6Z',
  download: 'M11 3h2v9.2l3.3-3.3 1.4 1.4L12 16 6.3 10.3l1.4-1.4 3.3 3.3V3ZM4 18h16v2H4v-2Z',
};
// `name`: one of ICONS, or an SVG path (24 × 24) of a page's own.
export function icon(name, size = 16) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', ICONS[name] || name);
  svg.appendChild(path);
  return svg;
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// -------------------------------------------------------------- toasts ---

/** Shows a short message; kind: 'error' | 'info'. */
export function toast(text, { kind = 'error', timeout = 6000 } = {}) {
  const box = document.getElementById('toasts');
  if (!box || !text) return;
  for (const old of box.querySelectorAll('.toast')) {
    if (old.dataset.text === text) old.remove();
  }
  while (box.children.length >= 3) box.firstElementChild.remove();
  const t = el('div', `toast toast-${kind}`);
  t.dataset.text = text;
  t.appendChild(icon(kind === 'error' ? 'alert' : 'check', 18));
  t.appendChild(el('span', 'toast-text', text));
  const close = el('button', 'toast-close');
  close.type = 'button';
  close.setAttribute('aria-label', S.dismiss || 'Dismiss');
  close.appendChild(icon('close', 16));
  close.addEventListener('click', () => t.remove());
  t.appendChild(close);
  box.appendChild(t);
  if (timeout) setTimeout(() => t.remove(), timeout);
}


/** Title with an unread badge: "(3) Title". */
export function setTitleBadge(base, count) {
  document.title = count > 0 ? `(${count > 99 ? '99+' : count}) ${base}` : base;
}

/** Hue 0..359 derived from a string, for avatar colours. */
export function hue(str) {
  let h = 0;
  for (const ch of String(str)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

/** Up to two initials of a display name. */
export function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  if (!words.length) return '?';
  const first = [...words[0]][0] || '?';
  const second = words.length > 1 ? ([...words[words.length - 1]][0] || '') : '';
  return (first + second).toLocaleUpperCase(locale);
}

/** A URL safe to use as href/src: same-origin path or http(s). */
export function safeUrl(url) {
  if (typeof url !== 'string' || !url) return null;
  if (url.startsWith('/') && !url.startsWith('//') && !url.startsWith('/\\')) return url;
  try {
    const u = new URL(url, location.href);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
/** Appends `text` to `node`, turning http(s) links into anchors. */
export function renderText(node, text) {
  const s = String(text ?? '');
  let last = 0;
  for (const m of s.matchAll(URL_RE)) {
    let url = m[0];
    const trail = url.match(/[.,;:!?)\]}'"]+$/);
    if (trail) url = url.slice(0, -trail[0].length);
    if (!url) continue;
    if (m.index > last) node.appendChild(document.createTextNode(s.slice(last, m.index)));
    const href = safeUrl(url);
    if (href) {
      const a = el('a', null, url);
      a.href = href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
      node.appendChild(a);
    } else {
      node.appendChild(document.createTextNode(url));
    }
    last = m.index + url.length;
  }
  if (last < s.length) node.appendChild(document.createTextNode(s.slice(last)));
}

export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1; // code points, like the server
  return n;
}

export function uuid() {
  if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** One-line preview of a Message for lists. */
export function preview(msg) {
  if (!msg) return '';
  const text = String(msg.content_text || '').replace(/\s+/g, ' ').trim();
  if (msg.content_type === 'image' || msg.content_type === 'audio') {
    const label = msg.content_type === 'image' ? S.previewImage : S.previewAudio;
    return text ? `${label} · ${text}` : label;
  }
  return text;
}

/** A `blob:` URL this page made (local previews), or null. */
export function localUrl(url) {
  return typeof url === 'string' && url.startsWith('blob:') ? url : null;
}

/**
 * A smaller rendition for thumbnails: Cloudinary image URLs get a
 * limit-fit transformation; anything else is used as is.
 */
export function thumbUrl(url) {
  const m = /^(https:\/\/res\.cloudinary\.com\/[^/]+\/image\/upload\/)(.+)$/.exec(url);
  return m ? `${m[1]}c_limit,w_720,h_720,f_auto,q_auto/${m[2]}` : url;
}

let viewer = null;
/** Shows an image full size in a modal dialog; Esc, the button or a click closes it. */
export function openImage(url, opener) {
  if (typeof HTMLDialogElement !== 'function') return false;
  if (!viewer) {
    const d = el('dialog', 'lightbox');
    d.setAttribute('aria-label', S.imageAlt);
    const img = el('img', 'lightbox-img');
    img.alt = S.imageAlt;
    const bar = el('div', 'lightbox-bar');
    const open = el('a', 'lightbox-action');
    open.target = '_blank';
    open.rel = 'noopener noreferrer';
    open.title = S.openImage;
    open.setAttribute('aria-label', S.openImage);
    open.appendChild(icon('open', 20));
    const close = el('button', 'lightbox-action lightbox-close');
    close.type = 'button';
    close.title = S.dismiss;
    close.setAttribute('aria-label', S.dismiss);
    close.appendChild(icon('close', 22));
    close.addEventListener('click', () => d.close());
    bar.append(open, close);
    d.append(bar, img);
    // A click on the dim area or the picture closes; the bar's links work.
    d.addEventListener('click', (e) => {
      if (!bar.contains(e.target)) d.close();
    });
    d.addEventListener('close', () => {
      img.removeAttribute('src');
      if (viewer.opener && viewer.opener.isConnected) viewer.opener.focus({ preventScroll: true });
    });
    document.body.appendChild(d);
    viewer = { d, img, open, close, opener: null };
  }
  viewer.opener = opener || null;
  viewer.img.src = url;
  viewer.open.href = url;
  if (!viewer.d.open) viewer.d.showModal();
  viewer.close.focus();
  return true;
}

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
