// sohbet: how a bubble shows its message's way to the server: pending
// (with the upload's progress and cancel button for media), sent, or
// failed (with Retry, Remove and the reason). Methods of MessageList
// (message_list.js mixes them in), driven by the sender (sender.js).
import { S } from './config.js';
import { el, icon } from './dom.js';

// ------------------------------------------------------ sending states ---

/**
 * MessageList's methods of the sending states (`this` is the list; its
 * byClient map, build() and callbacks onRetry, onRemove, onCancelUpload).
 */
export const SendingStates = {
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
  },

  /** Pending / sent / failed; a failure may carry a text shown under the bubble. */
  setStatus(clientId, status, error) {
    const node = this.byClient.get(clientId);
    if (node && !(status !== 'sent' && node.dataset.id)) {
      this.setStatusNode(node, status);
      this.setError(node, status === 'failed' ? error : null);
    }
  },

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
  },

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
  },

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
  },

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
  },
};
