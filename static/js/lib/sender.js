// sohbet: the sender: Socket.IO emit with ack, retry with the same
// client_id, a queue while offline, and uploads before a media message.
import { errorText } from './api.js';
import { S, lang } from './config.js';
import { toast, uuid } from './dom.js';

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
export function createSender({ socket, event, list, payload, onStored, belongs = () => true }) {
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
    // Until uploads.js is loaded there is nothing to abort: a cancel drops
    // the item, and the upload never starts.
    uploading = { cid, abort() {} };
    const failed = (e, text) => {
      uploading = null;
      if (!(e && e.aborted) && outbox.get(cid) === item) {
        media.state = 'failed';
        item.failed = true;
        item.error = text;
        const cur = list();
        if (cur) {
          cur.setUpload(cid, { done: true });
          cur.setStatus(cid, 'failed', item.error);
        }
        toast(item.error);
      }
      pump();
    };
    import('./uploads.js').then(({ uploadErrorText, uploadFile }) => {
      if (outbox.get(cid) !== item) {
        uploading = null;
        pump();
        return;
      }
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
      }, (e) => failed(e, uploadErrorText(e, item.type)));
    }, (e) => failed(e, S.errNetwork));
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
