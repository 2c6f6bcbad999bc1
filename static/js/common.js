// sohbet: helpers shared by the visitor page and the admin panel.
//
// Exposes `window.Sohbet` with: the UI strings (from `#i18n` data-* attributes),
// the CSRF token, a JSON `api()` wrapper, time formatting in the page's
// timezone (`data-timezone` on <body>), toasts, the message list (bubbles,
// day separators, pending/sent/failed states), the composer (auto-size,
// counter, Enter to send, typing events) and the sender (Socket.IO emit with
// ack, retry with the same client_id, queue while offline), uploads
// (XMLHttpRequest with progress and abort; images and audio go through
// `POST /api/upload/{image,audio}` before their message is sent) and an
// image viewer.
//
// Security: every user-provided text goes through textContent /
// createTextNode; URLs are checked before they become href/src.
(() => {
  'use strict';

  const body = document.body;
  const S = Object.assign({}, document.getElementById('i18n')?.dataset || {});
  const lang = body.dataset.lang === 'tr' ? 'tr' : 'en';
  const locale = lang === 'tr' ? 'tr-TR' : 'en-GB';
  const MAX_CHARS = 4000;

  function validTimeZone(tz) {
    if (!tz) return undefined;
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return tz;
    } catch {
      return undefined;
    }
  }
  const timeZone = validTimeZone(body.dataset.timezone);

  function csrfToken() {
    return document.querySelector('meta[name="csrf-token"]')?.content || '';
  }

  /** The embed view (embed.js) authenticates with its visitor token; pages with the CSRF token. */
  function authHeaders() {
    const token = window.SohbetEmbed && window.SohbetEmbed.token;
    return token ? { Authorization: `Bearer ${token}` } : { 'X-CSRFToken': csrfToken() };
  }

  /** Replaces `{name}` placeholders in a UI string. */
  function fill(template, values) {
    return String(template || '').replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  }

  // ---------------------------------------------------------------- time ---

  const fmtCache = new Map();
  function formatter(key, options, loc = locale) {
    let f = fmtCache.get(key);
    if (!f) {
      f = new Intl.DateTimeFormat(loc, { timeZone, ...options });
      fmtCache.set(key, f);
    }
    return f;
  }
  const toDate = (v) => (v instanceof Date ? v : new Date(v));
  const valid = (d) => d instanceof Date && !Number.isNaN(d.getTime());

  /** "YYYY-MM-DD" of a moment in the page's timezone. */
  function dayKey(v) {
    const d = toDate(v);
    if (!valid(d)) return '';
    return formatter('key', { year: 'numeric', month: '2-digit', day: '2-digit' }, 'en-CA').format(d);
  }
  const todayKey = () => dayKey(new Date());
  const yesterdayKey = () => dayKey(new Date(Date.now() - 86400000));
  const yearOf = (v) => formatter('year', { year: 'numeric' }, 'en-CA').format(toDate(v));

  function clock(d) {
    return formatter('hm', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
  }

  const fmt = {
    dayKey,
    /** "14:05" today, "12 Mar 14:05" this year, "12 Mar 2024 14:05" otherwise. */
    time(v) {
      const d = toDate(v);
      if (!valid(d)) return '';
      if (dayKey(d) === todayKey()) return clock(d);
      const sameYear = yearOf(d) === yearOf(new Date());
      const date = formatter(sameYear ? 'dm' : 'dmy', sameYear
        ? { day: 'numeric', month: 'short' }
        : { day: 'numeric', month: 'short', year: 'numeric' }).format(d);
      return `${date} ${clock(d)}`;
    },
    /** Full date and time, for tooltips. */
    full(v) {
      const d = toDate(v);
      if (!valid(d)) return '';
      return formatter('full', { dateStyle: 'full', timeStyle: 'short', hourCycle: 'h23' }).format(d);
    },
    /** Day separator label: Today, Yesterday or a long date. */
    day(v) {
      const d = toDate(v);
      if (!valid(d)) return '';
      const k = dayKey(d);
      if (k === todayKey()) return S.today;
      if (k === yesterdayKey()) return S.yesterday;
      const sameYear = yearOf(d) === yearOf(new Date());
      return formatter(sameYear ? 'long' : 'longy', sameYear
        ? { weekday: 'long', day: 'numeric', month: 'long' }
        : { day: 'numeric', month: 'long', year: 'numeric' }).format(d);
    },
    /** Compact time for lists: now, 14:05, Yesterday, Mon, 12.03.24. */
    short(v) {
      const d = toDate(v);
      if (!valid(d)) return '';
      const age = Date.now() - d.getTime();
      if (age < 60000 && age > -60000) return S.justNow;
      const k = dayKey(d);
      if (k === todayKey()) return clock(d);
      if (k === yesterdayKey()) return S.yesterday;
      if (age < 6 * 86400000) return formatter('wd', { weekday: 'short' }).format(d);
      return formatter('num', { day: '2-digit', month: '2-digit', year: '2-digit' }).format(d);
    },
  };

  // ----------------------------------------------------------------- api ---

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  /** JSON request to the server; throws ApiError on any failure. */
  async function api(path, { method = 'GET', body: payload, signal } = {}) {
    const headers = { Accept: 'application/json', ...authHeaders() };
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: payload === undefined ? undefined : JSON.stringify(payload),
        credentials: 'same-origin',
        cache: 'no-store',
        signal,
      });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'NETWORK', S.errNetwork, null);
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok || !data || data.success === false) {
      const retry = Number(res.headers.get('Retry-After')) || null;
      throw new ApiError(res.status, (data && data.code) || `HTTP_${res.status}`,
        (data && data.error) || S.errGeneric, retry);
    }
    return data;
  }

  /** A localised text for an error code from HTTP or Socket.IO. */
  function errorText(code, fallback) {
    switch (String(code || '').toUpperCase()) {
      case 'RATE_LIMITED': return S.errRateLimited;
      case 'CSRF_FAILED': case 'CSRF_ERROR': case 'UNAUTHORIZED': case 'AUTH_ERROR':
        return S.errSession;
      case 'VALIDATION_ERROR': return S.errValidation;
      case 'NETWORK': case 'TIMEOUT': return S.errNetwork;
      case 'FILE_TOO_LARGE': return S.errFileTooLarge;
      case 'UNSUPPORTED_TYPE': return S.errUnsupportedType;
      case 'UPSTREAM_ERROR': return S.errUpstream;
      case 'SERVER_BUSY': case 'SERVICE_UNAVAILABLE': return S.errBusy;
      case 'REQUEST_TIMEOUT': return S.errTooSlow;
      case 'INSUFFICIENT_STORAGE': return S.errNoSpace;
      case 'BLOCKED': return S.errBlocked;
      default:
        return lang === 'en' && fallback ? fallback : S.errGeneric;
    }
  }

  // -------------------------------------------------------------- uploads ---

  /** Largest file each upload route takes, bytes (the server checks again). */
  const UPLOAD_LIMITS = { image: 5 * 1024 * 1024, audio: 10 * 1024 * 1024 };
  /**
   * An upload that made no progress for this long is given up (above the
   * server's own 60 s wait for Cloudinary, so its 502 arrives first).
   */
  const UPLOAD_STALL_MS = 90000;

  /** "4.2 MB" / "830 KB" (1 MB = 1024 KiB, as the limits are counted). */
  function formatBytes(n) {
    const nf = (v, d) => new Intl.NumberFormat(locale, { maximumFractionDigits: d }).format(v);
    if (n >= 1024 * 1024) return `${nf(n / (1024 * 1024), 1)} MB`;
    if (n >= 1024) return `${nf(n / 1024, 0)} KB`;
    return `${nf(n, 0)} B`;
  }

  /** A localised text for a failed upload (ApiError) of `kind` ('image' | 'audio'). */
  function uploadErrorText(e, kind) {
    let code = String((e && e.code) || '').toUpperCase();
    if (code.startsWith('HTTP_')) {
      code = {
        408: 'REQUEST_TIMEOUT', 413: 'FILE_TOO_LARGE', 415: 'UNSUPPORTED_TYPE', 429: 'RATE_LIMITED',
        502: 'UPSTREAM_ERROR', 503: 'SERVER_BUSY', 504: 'UPSTREAM_ERROR', 507: 'INSUFFICIENT_STORAGE',
      }[e.status] || code;
    }
    if (code === 'RATE_LIMITED') {
      return e.retryAfter ? fill(S.errUploadRateLimited, { n: e.retryAfter }) : S.errRateLimited;
    }
    if (code === 'VALIDATION_ERROR' && kind === 'image') return S.errImageDimensions;
    if (code === 'VALIDATION_ERROR' || code === 'BAD_REQUEST') {
      return lang === 'en' && e.message ? e.message : S.errGeneric;
    }
    return errorText(code, e && e.message);
  }

  /**
   * Uploads `blob` as multipart field `file` to `POST /api/upload/{kind}`
   * (kind: 'image' | 'audio') with the CSRF header. onProgress(fraction)
   * gets 0..1 while the bytes go out and null while the server works (or
   * when the size is unknown). Returns {promise, abort}: the promise gives
   * the answer `{success, file_path, file_url, message}` or rejects with an
   * ApiError (status 0 + NETWORK / TIMEOUT when the server was not reached)
   * or, after abort(), with an Error whose `aborted` is true.
   */
  function uploadFile(kind, blob, name, { onProgress } = {}) {
    const xhr = new XMLHttpRequest();
    let stallTimer = null;
    let timedOut = false;
    let settled = false;
    const promise = new Promise((resolve, reject) => {
      const done = (fn, v) => {
        clearTimeout(stallTimer);
        if (settled) return;
        settled = true;
        fn(v);
      };
      const watch = () => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          timedOut = true;
          xhr.abort();
        }, UPLOAD_STALL_MS);
      };
      const progress = (f) => {
        if (onProgress && !settled) onProgress(f);
      };
      xhr.open('POST', `/api/upload/${kind === 'audio' ? 'audio' : 'image'}`);
      xhr.setRequestHeader('Accept', 'application/json');
      for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => {
        watch();
        progress(e.lengthComputable && e.total > 0 ? Math.min(1, e.loaded / e.total) : null);
      };
      xhr.upload.onload = () => {
        watch();
        progress(null);
      };
      xhr.onload = () => {
        let data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch {
          data = null;
        }
        const ok = xhr.status >= 200 && xhr.status < 300 && data && data.success !== false;
        if (ok && safeUrl(data.file_url)) {
          done(resolve, data);
          return;
        }
        const retry = Number(xhr.getResponseHeader('Retry-After')) || null;
        done(reject, new ApiError(xhr.status, (data && data.code) || `HTTP_${xhr.status}`,
          (data && data.error) || S.errGeneric, retry));
      };
      xhr.onerror = () => done(reject, new ApiError(0, 'NETWORK', S.errNetwork, null));
      xhr.ontimeout = xhr.onerror;
      xhr.onabort = () => {
        if (timedOut) {
          done(reject, new ApiError(0, 'TIMEOUT', S.errNetwork, null));
        } else {
          const e = new Error('aborted');
          e.aborted = true;
          done(reject, e);
        }
      };
      const form = new FormData();
      form.append('file', blob, name || (kind === 'audio' ? 'audio' : 'image'));
      watch();
      xhr.send(form);
    });
    return {
      promise,
      abort() {
        if (!settled) xhr.abort();
      },
    };
  }

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
  function icon(name, size = 16) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', String(size));
    svg.setAttribute('height', String(size));
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', ICONS[name] || '');
    svg.appendChild(path);
    return svg;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // -------------------------------------------------------------- toasts ---

  /** Shows a short message; kind: 'error' | 'info'. */
  function toast(text, { kind = 'error', timeout = 6000 } = {}) {
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

  // ------------------------------------------------------- text and URLs ---

  /** A URL safe to use as href/src: same-origin path or http(s). */
  function safeUrl(url) {
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
  function renderText(node, text) {
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

  function charCount(text) {
    let n = 0;
    for (const _ of text) n += 1; // code points, like the server
    return n;
  }

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** One-line preview of a Message for lists. */
  function preview(msg) {
    if (!msg) return '';
    const text = String(msg.content_text || '').replace(/\s+/g, ' ').trim();
    if (msg.content_type === 'image' || msg.content_type === 'audio') {
      const label = msg.content_type === 'image' ? S.previewImage : S.previewAudio;
      return text ? `${label} · ${text}` : label;
    }
    return text;
  }

  /** A `blob:` URL this page made (local previews), or null. */
  function localUrl(url) {
    return typeof url === 'string' && url.startsWith('blob:') ? url : null;
  }

  /**
   * A smaller rendition for thumbnails: Cloudinary image URLs get a
   * limit-fit transformation; anything else is used as is.
   */
  function thumbUrl(url) {
    const m = /^(https:\/\/res\.cloudinary\.com\/[^/]+\/image\/upload\/)(.+)$/.exec(url);
    return m ? `${m[1]}c_limit,w_720,h_720,f_auto,q_auto/${m[2]}` : url;
  }

  // -------------------------------------------------------- image viewer ---

  let viewer = null;
  /** Shows an image full size in a modal dialog; Esc, the button or a click closes it. */
  function openImage(url, opener) {
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

  // -------------------------------------------------------- message list ---

  const GROUP_GAP_MS = 5 * 60 * 1000;

  /**
   * The list of bubbles inside a `role="log"` container (#messages).
   * Stored messages carry `data-id`; pending ones only `data-client-id`.
   * options: own ('visitor'|'admin': which side is "me"), senderLabel(msg),
   * onRetry(client_id), onCancelUpload(client_id), onRemove(client_id),
   * onChange().
   *
   * An image message is `.message-image` (a link to the full image holding
   * the thumbnail `img`), an audio message `.message-audio` holding an
   * `<audio controls preload="metadata">`, both with an optional caption.
   * A pending media message shows the local file (a `blob:` URL) and, while
   * it uploads, a `<progress>` and a cancel button; the one uploading now
   * carries the ids `upload-progress` and `upload-cancel`.
   */
  class MessageList {
    constructor(container, options) {
      this.el = container;
      this.own = options.own;
      this.senderLabel = options.senderLabel;
      this.onRetry = options.onRetry || (() => {});
      this.onCancelUpload = options.onCancelUpload || (() => {});
      this.onRemove = options.onRemove || (() => {});
      this.onChange = options.onChange || (() => {});
      // One player at a time.
      this.el.addEventListener('play', (e) => {
        for (const a of this.el.querySelectorAll('audio')) if (a !== e.target && !a.paused) a.pause();
      }, true);
      this.byId = new Map();
      this.byClient = new Map();
      this.el.style.setProperty('overflow-anchor', 'none');
      // "New messages" button for arrivals while the reader is scrolled up.
      this.jump = options.jumpButton || null;
      if (this.jump) {
        this.jump.addEventListener('click', () => {
          this.jump.hidden = true;
          this.scrollToBottom();
        });
        this.el.addEventListener('scroll', () => {
          if (!this.jump.hidden && this.nearBottom()) this.jump.hidden = true;
        }, { passive: true });
      }
    }

    get size() {
      return this.el.querySelectorAll('.message').length;
    }

    lastId() {
      let max = null;
      for (const id of this.byId.keys()) if (max === null || id > max) max = id;
      return max;
    }

    oldestId() {
      let min = null;
      for (const id of this.byId.keys()) if (min === null || id < min) min = id;
      return min;
    }

    has(id) {
      return this.byId.has(id);
    }

    isStored(clientId) {
      const n = this.byClient.get(clientId);
      return !!(n && n.dataset.id);
    }

    nearBottom(slack = 120) {
      const e = this.el;
      return e.scrollHeight - e.scrollTop - e.clientHeight < slack;
    }

    scrollToBottom() {
      this.el.scrollTop = this.el.scrollHeight;
    }

    clear() {
      for (const n of [...this.el.querySelectorAll('.message, .day-sep')]) n.remove();
      this.byId.clear();
      this.byClient.clear();
      if (this.jump) this.jump.hidden = true;
      this.onChange();
    }

    /** Adds stored messages (any order); returns the ones that were new. */
    addMany(messages, { scroll = 'auto' } = {}) {
      const stick = this.nearBottom();
      const added = [];
      for (const m of messages) if (this.insertStored(m)) added.push(m);
      this.decorate();
      if (scroll === 'bottom' || (scroll === 'auto' && stick)) this.scrollToBottom();
      else if (this.jump && scroll === 'auto' && added.some((m) => m.sender_type !== this.own)) this.jump.hidden = false;
      this.onChange();
      return added;
    }

    /** Adds older messages above, keeping the visible position. */
    prependOlder(messages) {
      const before = this.el.scrollHeight;
      const top = this.el.scrollTop;
      for (const m of messages) this.insertStored(m);
      this.decorate();
      this.el.scrollTop = top + (this.el.scrollHeight - before);
      this.onChange();
    }

    /** Adds or updates one stored message; true when it was not shown yet. */
    upsert(msg, { scroll = 'auto' } = {}) {
      return this.addMany([msg], { scroll }).length > 0;
    }

    insertStored(msg) {
      if (!msg || msg.id === undefined || msg.id === null) return false;
      const id = Number(msg.id);
      const existing = this.byId.get(id);
      if (existing) {
        if (msg.client_id && existing.dataset.clientId === msg.client_id) this.setStatusNode(existing, 'sent');
        return false;
      }
      const pending = msg.client_id ? this.byClient.get(msg.client_id) : null;
      const node = this.build(msg, 'sent');
      if (pending && !pending.dataset.id) {
        // The pending bubble becomes the stored message, in place (an image
        // keeps the size of its local preview while the stored file loads).
        const before = pending.querySelector('.message-image img');
        const after = node.querySelector('.message-image img');
        if (before && after && before.naturalWidth && before.naturalHeight) {
          after.style.aspectRatio = `${before.naturalWidth} / ${before.naturalHeight}`;
          after.closest('.message-image').classList.remove('is-loading');
        }
        pending.replaceWith(node);
        this.byId.set(id, node);
        this.byClient.set(msg.client_id, node);
        return false;
      }
      this.byId.set(id, node);
      if (msg.client_id) this.byClient.set(msg.client_id, node);
      // After the last stored message with a smaller id; first otherwise.
      const nodes = [...this.el.querySelectorAll('.message')];
      let after = null;
      for (let i = nodes.length - 1; i >= 0; i -= 1) {
        const nid = nodes[i].dataset.id;
        if (nid && Number(nid) < id) {
          after = nodes[i];
          break;
        }
      }
      if (after) {
        after.after(node);
      } else {
        const first = this.el.querySelector('.message, .day-sep');
        if (first) first.before(node);
        else this.el.appendChild(node);
      }
      return true;
    }

    /**
     * Shows a message the server has not acknowledged yet. Media: type
     * 'image' | 'audio', local_url (a blob: URL of the file), upload
     * ({progress: 0..1 | null, active}) while it uploads.
     */
    addPending({ client_id, text, sender_type, type, local_url, upload }) {
      if (this.byClient.has(client_id)) return this.byClient.get(client_id);
      const node = this.build({
        id: null,
        client_id,
        content_text: text,
        content_type: type || 'text',
        sender_type: sender_type || this.own,
        created_at: new Date().toISOString(),
        file_url: null,
        local_url,
      }, 'pending');
      this.byClient.set(client_id, node);
      if (upload) this.setUpload(client_id, upload);
      this.el.appendChild(node);
      this.decorate();
      this.scrollToBottom();
      this.onChange();
      return node;
    }

    /** Pending / sent / failed; a failure may carry a text shown under the bubble. */
    setStatus(clientId, status, error) {
      const node = this.byClient.get(clientId);
      if (node && !(status !== 'sent' && node.dataset.id)) {
        this.setStatusNode(node, status);
        this.setError(node, status === 'failed' ? error : null);
      }
    }

    setError(node, text) {
      let box = node.querySelector('.message-error');
      if (!text) {
        if (box) box.remove();
        return;
      }
      if (!box) {
        box = el('div', 'message-error');
        node.querySelector('.bubble').after(box);
      }
      box.textContent = text;
    }

    /** Removes a message that was never stored (cancelled or discarded). */
    remove(clientId) {
      const node = this.byClient.get(clientId);
      if (!node || node.dataset.id) return;
      this.byClient.delete(clientId);
      const hadFocus = node.contains(document.activeElement);
      node.remove();
      if (hadFocus) this.el.focus({ preventScroll: true });
      this.decorate();
      this.onChange();
    }

    /**
     * Upload state of a pending media message: {progress: 0..1 | null
     * (unknown), active: it is the one uploading now} or {done: true}.
     */
    setUpload(clientId, { progress = 0, active = false, done = false } = {}) {
      const node = this.byClient.get(clientId);
      if (!node || node.dataset.id) return;
      let ui = node.querySelector('.upload-ui');
      if (done) {
        if (ui) {
          const hadFocus = ui.contains(document.activeElement);
          ui.remove();
          if (hadFocus) this.el.focus({ preventScroll: true });
        }
        node.classList.remove('is-uploading');
        return;
      }
      const box = node.querySelector('.message-image, .message-audio');
      if (!box) return;
      if (!ui) {
        ui = el('div', 'upload-ui');
        const bar = el('progress', 'upload-progress');
        bar.max = 100;
        bar.setAttribute('aria-label', S.uploading);
        const cancel = el('button', 'upload-cancel');
        cancel.type = 'button';
        cancel.title = S.cancelUpload;
        cancel.setAttribute('aria-label', S.cancelUpload);
        cancel.appendChild(icon('close', 16));
        cancel.addEventListener('click', (e) => {
          e.preventDefault();
          e.stopPropagation();
          this.onCancelUpload(node.dataset.clientId);
        });
        ui.append(bar, cancel);
        box.appendChild(ui);
      }
      node.classList.add('is-uploading');
      const bar = ui.querySelector('progress');
      if (progress === null || progress === undefined) bar.removeAttribute('value');
      else bar.value = Math.round(Math.max(0, Math.min(1, progress)) * 100);
      if (active && bar.id !== 'upload-progress') {
        for (const id of ['upload-progress', 'upload-cancel']) {
          const other = document.getElementById(id);
          if (other) other.removeAttribute('id');
        }
        bar.id = 'upload-progress';
        ui.querySelector('.upload-cancel').id = 'upload-cancel';
      }
    }

    setStatusNode(node, status) {
      if (node.dataset.status === status) return;
      node.dataset.status = status;
      node.classList.remove('is-pending', 'is-sent', 'is-failed');
      node.classList.add(`is-${status}`);
      const slot = node.querySelector('.message-status');
      if (!slot) return;
      slot.replaceChildren();
      const label = { pending: S.statusPending, sent: S.statusSent, failed: S.statusFailed }[status];
      slot.appendChild(icon({ pending: 'clock', sent: 'check', failed: 'alert' }[status], 14));
      const text = el('span', status === 'failed' ? 'status-text' : 'sr-only', label);
      slot.appendChild(text);
      slot.title = label;
      if (status === 'failed') {
        const btn = el('button', 'retry-button');
        btn.type = 'button';
        btn.appendChild(icon('retry', 14));
        btn.appendChild(el('span', null, S.retry));
        btn.addEventListener('click', () => this.onRetry(node.dataset.clientId));
        slot.appendChild(btn);
        if (node.dataset.kind) {
          const rm = el('button', 'remove-button');
          rm.type = 'button';
          rm.title = S.remove;
          rm.setAttribute('aria-label', S.remove);
          rm.appendChild(icon('trash', 14));
          rm.addEventListener('click', () => this.onRemove(node.dataset.clientId));
          slot.appendChild(rm);
        }
      }
    }

    build(msg, status) {
      const sender = msg.sender_type === 'admin' ? 'admin' : 'visitor';
      const mine = sender === this.own;
      const node = el('div', `message from-${sender} ${mine ? 'own' : 'other'}`);
      if (msg.id !== null && msg.id !== undefined) node.dataset.id = String(msg.id);
      if (msg.client_id) node.dataset.clientId = msg.client_id;
      node.dataset.sender = sender;
      const created = toDate(msg.created_at);
      const when = valid(created) ? created : new Date();
      node.dataset.ts = String(when.getTime());
      node.dataset.day = dayKey(when);

      node.appendChild(el('div', 'message-sender', this.senderLabel(msg)));
      const bubble = el('div', 'bubble');
      const local = localUrl(msg.local_url);
      const url = local || safeUrl(msg.file_url);
      const kind = msg.content_type;
      const caption = String(msg.content_text || '').trim() ? msg.content_text : '';
      if ((kind === 'image' || kind === 'audio') && url) {
        node.dataset.kind = kind;
        bubble.classList.add('bubble-media', `bubble-${kind}`);
        bubble.appendChild(kind === 'image' ? this.imageBox(url, !!local) : this.audioBox(url, !!local));
        if (caption) {
          const text = el('div', 'message-text message-caption');
          renderText(text, caption);
          bubble.appendChild(text);
        }
      } else {
        const text = el('div', 'message-text');
        if (kind === 'image' || kind === 'audio') {
          // A media message whose file cannot be shown: say what it was.
          text.classList.add('message-missing');
          renderText(text, caption || (kind === 'image' ? S.previewImage : S.previewAudio));
        } else {
          renderText(text, msg.content_text);
        }
        bubble.appendChild(text);
      }
      node.appendChild(bubble);

      const meta = el('div', 'message-meta');
      const time = el('time', null, fmt.time(when));
      time.dateTime = when.toISOString();
      time.title = fmt.full(when);
      meta.appendChild(time);
      if (mine) meta.appendChild(el('span', 'message-status'));
      node.appendChild(meta);
      this.setStatusNode(node, status);
      return node;
    }

    /** Thumbnail of an image; stored ones link to the full image (viewer on click). */
    imageBox(url, local) {
      const box = el(local ? 'div' : 'a', 'message-image is-loading');
      const img = el('img');
      img.alt = S.imageAlt;
      img.decoding = 'async';
      if (!local) {
        box.href = url;
        box.target = '_blank';
        box.rel = 'noopener noreferrer';
        box.title = S.viewImage;
        img.loading = 'lazy';
        box.addEventListener('click', (e) => {
          if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
          if (openImage(url, box)) e.preventDefault();
        });
      }
      const src = local ? url : thumbUrl(url);
      img.addEventListener('load', () => {
        // Keep the reader's place when an image above the view grows.
        const before = box.offsetHeight;
        const stick = this.nearBottom(400);
        box.classList.remove('is-loading');
        const grew = box.offsetHeight - before;
        if (stick) this.scrollToBottom();
        else if (grew && box.getBoundingClientRect().bottom <= this.el.getBoundingClientRect().top + grew) {
          this.el.scrollTop += grew;
        }
      }, { once: true });
      img.addEventListener('error', () => {
        if (src !== url && img.getAttribute('src') !== url) img.src = url; // no derived size: the original
        else box.classList.remove('is-loading');
      });
      img.src = src;
      box.appendChild(img);
      return box;
    }

    /** An inline player; a download link when the browser cannot play the file. */
    audioBox(url, local) {
      const box = el('div', 'message-audio');
      const audio = el('audio');
      audio.controls = true;
      audio.preload = 'metadata';
      audio.setAttribute('aria-label', S.audioLabel);
      if (!local) {
        audio.addEventListener('error', () => {
          if (box.querySelector('.audio-fallback')) return;
          const a = el('a', 'audio-fallback');
          a.href = url;
          a.target = '_blank';
          a.rel = 'noopener noreferrer';
          a.appendChild(icon('download', 14));
          a.appendChild(el('span', null, S.downloadAudio));
          box.appendChild(a);
        });
      }
      // Recordings made by MediaRecorder (WebM) carry no duration: seek to
      // the end once so the player can show it, then back to the start.
      audio.addEventListener('loadedmetadata', () => {
        if (audio.duration !== Infinity || !audio.paused) return;
        const back = () => {
          audio.removeEventListener('durationchange', back);
          if (Number.isFinite(audio.duration)) audio.currentTime = 0;
        };
        audio.addEventListener('durationchange', back);
        audio.currentTime = Number.MAX_SAFE_INTEGER;
      }, { once: true });
      audio.src = url;
      box.appendChild(audio);
      return box;
    }

    /** Day separators and sender grouping, touching only what changed. */
    decorate() {
      for (const sep of [...this.el.querySelectorAll('.day-sep')]) {
        const next = sep.nextElementSibling;
        if (!next || !next.classList.contains('message')) sep.remove();
      }
      let prev = null;
      for (const node of this.el.querySelectorAll('.message')) {
        const day = node.dataset.day;
        const sep = node.previousElementSibling?.classList.contains('day-sep') ? node.previousElementSibling : null;
        const newDay = !prev || prev.dataset.day !== day;
        if (newDay) {
          if (!sep || sep.dataset.day !== day) {
            if (sep) sep.remove();
            const s = el('div', 'day-sep');
            s.dataset.day = day;
            s.appendChild(el('span', null, fmt.day(Number(node.dataset.ts))));
            node.before(s);
          }
        } else if (sep) {
          sep.remove();
        }
        const start = newDay || prev.dataset.sender !== node.dataset.sender
          || Number(node.dataset.ts) - Number(prev.dataset.ts) > GROUP_GAP_MS;
        node.classList.toggle('group-start', start);
        if (prev) {
          const prevEnd = start;
          prev.classList.toggle('group-end', prevEnd);
        }
        prev = node;
      }
      if (prev) prev.classList.add('group-end');
    }

    /** Re-renders relative labels (time of day, "Today") after midnight. */
    refreshTimes() {
      for (const t of this.el.querySelectorAll('.message-meta time')) {
        t.textContent = fmt.time(t.dateTime);
      }
      for (const s of this.el.querySelectorAll('.day-sep')) {
        const next = s.nextElementSibling;
        if (next && next.dataset.ts) s.firstElementChild.textContent = fmt.day(Number(next.dataset.ts));
      }
    }
  }

  // ------------------------------------------------------------ composer ---

  /**
   * Wires a composer form: auto-growing textarea, 1..4000 chars after trim,
   * counter near the limit, Enter sends / Shift+Enter newline, typing events
   * (onTyping at most every 2 s while typing, onStopTyping after 3 s idle or
   * on send). onSend(text) is called with the trimmed text.
   * hasAttachment() (optional): while it answers true, an empty text may be
   * sent too (a caption is optional).
   */
  function createComposer({ form, input, button, counter, onSend, onTyping, onStopTyping, hasAttachment = () => false }) {
    let typing = false;
    let lastTypingAt = 0;
    let idleTimer = null;

    function validity() {
      const n = charCount(input.value.trim());
      return { n, ok: (n >= 1 || hasAttachment()) && n <= MAX_CHARS };
    }

    function update() {
      const { n, ok } = validity();
      button.disabled = !ok;
      if (counter) {
        const raw = charCount(input.value);
        counter.textContent = raw > MAX_CHARS - 500 ? `${raw}/${MAX_CHARS}` : '';
        counter.classList.toggle('over', n > MAX_CHARS);
      }
      input.setAttribute('aria-invalid', n > MAX_CHARS ? 'true' : 'false');
      autosize();
    }

    function autosize() {
      input.style.height = 'auto';
      const max = Math.max(120, Math.round(window.innerHeight * 0.3));
      input.style.height = `${Math.min(input.scrollHeight + 2, max)}px`;
      input.style.overflowY = input.scrollHeight + 2 > max ? 'auto' : 'hidden';
    }

    function stopTyping() {
      clearTimeout(idleTimer);
      idleTimer = null;
      if (typing) {
        typing = false;
        lastTypingAt = 0;
        if (onStopTyping) onStopTyping();
      }
    }

    function noteTyping() {
      if (!input.value.trim()) {
        stopTyping();
        return;
      }
      const now = Date.now();
      if (!typing || now - lastTypingAt >= 2000) {
        typing = true;
        lastTypingAt = now;
        if (onTyping) onTyping();
      }
      clearTimeout(idleTimer);
      idleTimer = setTimeout(stopTyping, 3000);
    }

    function submit() {
      const { ok } = validity();
      if (!ok) {
        if (input.value.trim() || hasAttachment()) toast(S.errValidation);
        return;
      }
      const text = input.value.trim();
      stopTyping();
      input.value = '';
      update();
      onSend(text);
      input.focus();
    }

    input.addEventListener('input', () => {
      update();
      noteTyping();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        submit();
      }
    });
    input.addEventListener('blur', () => stopTyping());
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      submit();
    });
    window.addEventListener('resize', autosize);
    update();
    return { update, stopTyping, reset() { stopTyping(); input.value = ''; update(); } };
  }

  // -------------------------------------------------------------- sender ---

  /**
   * Sends messages over Socket.IO with an ack and a 10 s timeout.
   * Each message keeps its client_id for retries (the server de-duplicates).
   * While the socket is disconnected, messages wait (pending) and go out on
   * the next connect (call flush() from the 'connect' handler).
   *
   * Images and audio (sendMedia) are uploaded first, one at a time, over
   * HTTP with progress; the message then carries the answer's file_url. A
   * failed upload leaves a failed bubble whose Retry uploads the same file
   * again; a failed send after the upload only resends the message.
   *
   * options: socket, event, list() -> MessageList|null,
   * payload(item) -> object (item: {client_id, text, type, file_url, ...extra}),
   * onStored(message), belongs(message) -> whether the stored message
   * belongs in the list shown now (default: always).
   */
  function createSender({ socket, event, list, payload, onStored, belongs = () => true }) {
    const outbox = new Map(); // client_id -> item
    const uploadQueue = []; // client_ids waiting to upload, in order
    let uploading = null; // {cid, abort} of the upload under way

    /** Forgets an item and frees its local file. */
    function drop(cid) {
      const item = outbox.get(cid);
      outbox.delete(cid);
      const i = uploadQueue.indexOf(cid);
      if (i >= 0) uploadQueue.splice(i, 1);
      if (item && item.media && item.media.url) {
        URL.revokeObjectURL(item.media.url);
        item.media.url = null;
      }
    }

    function attempt(cid) {
      const item = outbox.get(cid);
      if (!item || item.inflight) return;
      if (item.media && !item.file_url) return; // still uploading
      const l = list();
      if (l && l.isStored(cid)) {
        drop(cid);
        return;
      }
      if (l) l.setStatus(cid, 'pending');
      if (!socket.connected) return; // flushed on reconnect
      item.inflight = true;
      socket.timeout(10000).emit(event, payload(item), (err, ack) => {
        item.inflight = false;
        const cur = list();
        if (!err && ack && ack.success) {
          if (ack.message) {
            if (cur && belongs(ack.message)) cur.upsert(ack.message);
            if (onStored) onStored(ack.message);
          } else if (cur) {
            cur.setStatus(cid, 'sent');
          }
          drop(cid);
          return;
        }
        if (err && !socket.connected) return; // resend with the same client_id on reconnect
        if (ack && String(ack.code).toUpperCase() === 'SERVER_BUSY') {
          // Refused before it was stored: try again shortly (same client_id).
          setTimeout(() => attempt(cid), 1000 + Math.random() * 1000);
          return;
        }
        item.failed = true;
        if (ack && String(ack.code).toUpperCase() === 'BLOCKED') {
          document.dispatchEvent(new CustomEvent('sohbet:blocked'));
        }
        let text = S.errNetwork;
        if (ack && ack.success === false) {
          // For a file, "validation" is about its URL, not the text's length.
          text = item.media && String(ack.code).toUpperCase() === 'VALIDATION_ERROR'
            ? (lang === 'en' && ack.error ? ack.error : S.errGeneric)
            : errorText(ack.code, ack.error);
        }
        item.error = item.media ? text : null;
        if (cur) cur.setStatus(cid, 'failed', item.error);
        toast(text);
      });
    }

    function pump() {
      if (uploading) return;
      while (uploadQueue.length) {
        const cid = uploadQueue.shift();
        const item = outbox.get(cid);
        if (item && item.media && item.media.state === 'queued') {
          upload(item);
          return;
        }
      }
    }

    function upload(item) {
      const cid = item.client_id;
      const media = item.media;
      media.state = 'uploading';
      media.progress = 0;
      const l = list();
      if (l) l.setUpload(cid, { progress: 0, active: true });
      const job = uploadFile(item.type, media.blob, media.name, {
        onProgress: (f) => {
          media.progress = f;
          const cur = list();
          if (cur) cur.setUpload(cid, { progress: f, active: true });
        },
      });
      uploading = { cid, abort: job.abort };
      job.promise.then((data) => {
        uploading = null;
        if (outbox.get(cid) === item) {
          item.file_url = data.file_url;
          media.state = 'done';
          media.blob = null;
          const cur = list();
          if (cur) cur.setUpload(cid, { done: true });
          attempt(cid);
        }
        pump();
      }, (e) => {
        uploading = null;
        if (!(e && e.aborted) && outbox.get(cid) === item) {
          media.state = 'failed';
          item.failed = true;
          item.error = uploadErrorText(e, item.type);
          const cur = list();
          if (cur) {
            cur.setUpload(cid, { done: true });
            cur.setStatus(cid, 'failed', item.error);
          }
          toast(item.error);
        }
        pump();
      });
    }

    /** What MessageList.addPending needs to show an item. */
    function view(item) {
      const media = item.media;
      const busy = media && (media.state === 'queued' || media.state === 'uploading');
      return {
        client_id: item.client_id,
        text: item.text,
        type: item.type,
        local_url: media ? media.url : null,
        upload: busy ? { progress: media.state === 'uploading' ? media.progress : 0, active: media.state === 'uploading' } : null,
      };
    }

    function show(item) {
      const l = list();
      if (!l) return;
      l.addPending(view(item));
      if (item.failed) l.setStatus(item.client_id, 'failed', item.error);
    }

    return {
      /** Sends a text message; returns its client_id. */
      send(text, extra = {}) {
        const cid = uuid();
        const item = { client_id: cid, text, type: 'text', ...extra, inflight: false, failed: false };
        outbox.set(cid, item);
        show(item);
        attempt(cid);
        return cid;
      },
      /**
       * Uploads a file and then sends it as a message: kind 'image' |
       * 'audio', blob (File or Blob), name (file name sent with the upload),
       * text (caption, may be empty). Returns its client_id.
       */
      sendMedia({ kind, blob, name, text = '' }, extra = {}) {
        const cid = uuid();
        const item = {
          client_id: cid,
          text,
          type: kind,
          file_url: null,
          ...extra,
          inflight: false,
          failed: false,
          media: { blob, name, url: URL.createObjectURL(blob), state: 'queued', progress: 0 },
        };
        outbox.set(cid, item);
        uploadQueue.push(cid);
        show(item);
        pump();
        return cid;
      },
      retry(cid) {
        const item = outbox.get(cid);
        if (!item) return;
        item.failed = false;
        item.error = null;
        if (item.media && !item.file_url) {
          if (item.media.state === 'queued' || item.media.state === 'uploading') return;
          item.media.state = 'queued';
          item.media.progress = 0;
          uploadQueue.push(cid);
          const l = list();
          if (l) {
            l.setStatus(cid, 'pending');
            l.setUpload(cid, { progress: 0 });
          }
          pump();
          return;
        }
        attempt(cid);
      },
      /** Stops an upload (or takes it out of the queue) and drops its message. */
      cancel(cid) {
        const item = outbox.get(cid);
        if (!item || !item.media || item.file_url) return;
        if (uploading && uploading.cid === cid) uploading.abort();
        drop(cid);
        const l = list();
        if (l) l.remove(cid);
        toast(S.uploadCancelled, { kind: 'info', timeout: 3000 });
      },
      /** Drops a failed message. */
      discard(cid) {
        const item = outbox.get(cid);
        if (!item || item.inflight) return;
        if (uploading && uploading.cid === cid) uploading.abort();
        drop(cid);
        const l = list();
        if (l) l.remove(cid);
      },
      /** Sends what waited for a connection (not the failed ones). */
      flush() {
        for (const item of outbox.values()) if (!item.failed) attempt(item.client_id);
      },
      /** Items not stored yet, e.g. to show again after reopening a thread. */
      pendingFor(filter) {
        return [...outbox.values()].filter(filter);
      },
      /** Shows again the items not stored yet that pass `filter`, in their state. */
      showPending(filter) {
        for (const item of outbox.values()) if (filter(item)) show(item);
      },
      forget(cid) {
        drop(cid);
      },
    };
  }

  // ---------------------------------------------------- connection banner ---

  /**
   * Shows the connection state in a banner element: nothing while connected,
   * "Connecting…" / "Connection lost…" (after a short delay, to avoid
   * flicker), "Reconnected" for 2 s after a reconnect.
   */
  function connectionBanner(banners) {
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

  /** Title with an unread badge: "(3) Title". */
  function setTitleBadge(base, count) {
    document.title = count > 0 ? `(${count > 99 ? '99+' : count}) ${base}` : base;
  }

  /** Hue 0..359 derived from a string, for avatar colours. */
  function hue(str) {
    let h = 0;
    for (const ch of String(str)) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
  }

  /** Up to two initials of a display name. */
  function initials(name) {
    const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
    if (!words.length) return '?';
    const first = [...words[0]][0] || '?';
    const second = words.length > 1 ? ([...words[words.length - 1]][0] || '') : '';
    return (first + second).toLocaleUpperCase(locale);
  }

  window.Sohbet = {
    S,
    lang,
    locale,
    timeZone,
    MAX_CHARS,
    csrfToken,
    fill,
    fmt,
    api,
    ApiError,
    errorText,
    icon,
    el,
    toast,
    safeUrl,
    renderText,
    charCount,
    uuid,
    preview,
    formatBytes,
    uploadFile,
    uploadErrorText,
    UPLOAD_LIMITS,
    openImage,
    MessageList,
    createComposer,
    createSender,
    connectionBanner,
    setTitleBadge,
    hue,
    initials,
  };
})();
