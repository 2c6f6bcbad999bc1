// sohbet: helpers shared by the visitor page and the admin panel.
//
// Exposes `window.Sohbet` with: the UI strings (from `#i18n` data-* attributes),
// the CSRF token, a JSON `api()` wrapper, time formatting in the page's
// timezone (`data-timezone` on <body>), toasts, the message list (bubbles,
// day separators, pending/sent/failed states), the composer (auto-size,
// counter, Enter to send, typing events) and the sender (Socket.IO emit with
// ack, retry with the same client_id, queue while offline).
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
    const headers = { Accept: 'application/json', 'X-CSRFToken': csrfToken() };
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
      default:
        return lang === 'en' && fallback ? fallback : S.errGeneric;
    }
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
    if (msg.content_type === 'image') return S.previewImage;
    if (msg.content_type === 'audio') return S.previewAudio;
    return String(msg.content_text || '').replace(/\s+/g, ' ').trim();
  }

  // -------------------------------------------------------- message list ---

  const GROUP_GAP_MS = 5 * 60 * 1000;

  /**
   * The list of bubbles inside a `role="log"` container (#messages).
   * Stored messages carry `data-id`; pending ones only `data-client-id`.
   * options: own ('visitor'|'admin': which side is "me"), senderLabel(msg),
   * onRetry(client_id), onChange().
   */
  class MessageList {
    constructor(container, options) {
      this.el = container;
      this.own = options.own;
      this.senderLabel = options.senderLabel;
      this.onRetry = options.onRetry || (() => {});
      this.onChange = options.onChange || (() => {});
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
        // The pending bubble becomes the stored message, in place.
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

    /** Shows a message the server has not acknowledged yet. */
    addPending({ client_id, text, sender_type }) {
      if (this.byClient.has(client_id)) return this.byClient.get(client_id);
      const node = this.build({
        id: null,
        client_id,
        content_text: text,
        content_type: 'text',
        sender_type: sender_type || this.own,
        created_at: new Date().toISOString(),
        file_url: null,
      }, 'pending');
      this.byClient.set(client_id, node);
      this.el.appendChild(node);
      this.decorate();
      this.scrollToBottom();
      this.onChange();
      return node;
    }

    setStatus(clientId, status) {
      const node = this.byClient.get(clientId);
      if (node && !(status !== 'sent' && node.dataset.id)) this.setStatusNode(node, status);
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
      const url = safeUrl(msg.file_url);
      if (msg.content_type === 'image' && url) {
        bubble.classList.add('bubble-media');
        const a = el('a', 'message-image');
        a.href = url;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        a.title = S.openImage;
        const img = el('img');
        img.src = url;
        img.alt = S.imageAlt;
        img.loading = 'lazy';
        img.decoding = 'async';
        img.addEventListener('load', () => {
          if (this.nearBottom(400)) this.scrollToBottom();
        }, { once: true });
        a.appendChild(img);
        bubble.appendChild(a);
      } else if (msg.content_type === 'audio' && url) {
        bubble.classList.add('bubble-audio');
        const audio = el('audio', 'message-audio');
        audio.controls = true;
        audio.preload = 'metadata';
        audio.src = url;
        audio.setAttribute('aria-label', S.audioLabel);
        bubble.appendChild(audio);
      } else {
        const text = el('div', 'message-text');
        renderText(text, msg.content_text);
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
   */
  function createComposer({ form, input, button, counter, onSend, onTyping, onStopTyping }) {
    let typing = false;
    let lastTypingAt = 0;
    let idleTimer = null;

    function validity() {
      const n = charCount(input.value.trim());
      return { n, ok: n >= 1 && n <= MAX_CHARS };
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
        if (input.value.trim()) toast(S.errValidation);
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
   * options: socket, event, list() -> MessageList|null,
   * payload(item) -> object, onStored(message).
   */
  function createSender({ socket, event, list, payload, onStored }) {
    const outbox = new Map(); // client_id -> { client_id, text, thread_id, inflight }

    function attempt(cid) {
      const item = outbox.get(cid);
      if (!item || item.inflight) return;
      const l = list();
      if (l && l.isStored(cid)) {
        outbox.delete(cid);
        return;
      }
      if (l) l.setStatus(cid, 'pending');
      if (!socket.connected) return; // flushed on reconnect
      item.inflight = true;
      socket.timeout(10000).emit(event, payload(item), (err, ack) => {
        item.inflight = false;
        const cur = list();
        if (!err && ack && ack.success) {
          outbox.delete(cid);
          if (ack.message) {
            if (cur) cur.upsert(ack.message);
            if (onStored) onStored(ack.message);
          } else if (cur) {
            cur.setStatus(cid, 'sent');
          }
          return;
        }
        if (err && !socket.connected) return; // resend with the same client_id on reconnect
        item.failed = true;
        if (cur) cur.setStatus(cid, 'failed');
        if (ack && ack.success === false) toast(errorText(ack.code, ack.error));
        else toast(S.errNetwork);
      });
    }

    return {
      send(text, extra = {}) {
        const cid = uuid();
        const item = { client_id: cid, text, ...extra, inflight: false, failed: false };
        outbox.set(cid, item);
        const l = list();
        if (l) l.addPending({ client_id: cid, text });
        attempt(cid);
        return cid;
      },
      retry(cid) {
        const item = outbox.get(cid);
        if (!item) return;
        item.failed = false;
        attempt(cid);
      },
      /** Sends what waited for a connection (not the failed ones). */
      flush() {
        for (const item of outbox.values()) if (!item.failed) attempt(item.client_id);
      },
      /** Items not stored yet, e.g. to show again after reopening a thread. */
      pendingFor(filter) {
        return [...outbox.values()].filter(filter);
      },
      forget(cid) {
        outbox.delete(cid);
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
    MessageList,
    createComposer,
    createSender,
    connectionBanner,
    setTitleBadge,
    hue,
    initials,
  };
})();
