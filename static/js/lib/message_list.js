// sohbet: the message list: bubbles (text, image, audio, the "edited"
// mark), their order, day separators, groups, scrolling, and edits shown in
// place. A bubble's pending / sent / failed states and its upload progress
// are send_states.js's (mixed in below).
//
// Security: every user-provided text goes through textContent /
// createTextNode; URLs are checked (dom.js safeUrl) before they become
// href/src.
import { S } from './config.js';
import { el, icon, initials, localUrl, openImage, renderText, safeUrl, thumbUrl } from './dom.js';
import { SendingStates } from './send_states.js';
import { toDate, valid, dayKey, fmt } from './time.js';

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
export class MessageList {
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

  /** Shows the new text of an edited message it has (newer `edited_at` only). */
  update(msg) {
    const old = this.byId.get(Number(msg.id));
    if (!old || !(msg.edited_at > (old.dataset.edited || ''))) return;
    const node = this.build(msg, old.dataset.status);
    old.replaceWith(node);
    this.byId.set(Number(msg.id), node);
    if (msg.client_id) this.byClient.set(msg.client_id, node);
    this.decorate();
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

    // An answer's agent (initials before its name).
    const who = msg.sender_name || '';
    node.dataset.who = who;
    const head = el('div', 'message-sender', this.senderLabel(msg));
    if (who && !mine) head.dataset.initials = initials(who);
    node.appendChild(head);
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
    if (msg.edited_at) {
      node.dataset.edited = msg.edited_at;
      bubble.appendChild(el('span', 'message-edited', S.edited));
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
      const start = newDay || prev.dataset.sender !== node.dataset.sender || prev.dataset.who !== node.dataset.who
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

// addPending, setStatus, setUpload, remove: the sending states (send_states.js).
Object.assign(MessageList.prototype, SendingStates);
