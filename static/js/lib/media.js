// sohbet: the composer's media tools, shared by the visitor page and the
// admin panel (markup: templates/composer_tools.html).
//
// - #attach-button opens the hidden #file-input (image/*, audio/*); a file
//   can also be pasted into the text area or dropped on the chat. The chosen
//   file waits in #attachment-preview (thumbnail or player, name, size,
//   remove) and goes out with the next send, the text being its optional
//   caption.
// - #record-button records a voice message (MediaRecorder; the microphone
//   is asked for on the click, not before). #recorder shows a timer,
//   #record-cancel drops the recording and #record-stop sends it. The button
//   stays hidden where MediaRecorder or getUserMedia is missing (old
//   browsers, pages not served over HTTPS).
//
// Sizes are checked here before uploading (the server's limits, config.js); the
// type is the server's call (it reads the bytes), so only files that are
// plainly neither image nor audio are refused here. Uploading and sending
// are the sender's job (sender.js createSender().sendMedia).
//
// Exports createMediaTools and kindOf.
import { S, fill, limits, locale } from './config.js';
import { el, icon, toast } from './dom.js';

/** Largest file each upload route takes, bytes (the server checks again). */
const UPLOAD_LIMITS = { image: limits.imageMaxBytes, audio: limits.audioMaxBytes };

/** "4.2 MB" / "830 KB" (1 MB = 1024 KiB, as the limits are counted). */
function formatBytes(n) {
  const nf = (v, d) => new Intl.NumberFormat(locale, { maximumFractionDigits: d }).format(v);
  if (n >= 1024 * 1024) return `${nf(n / (1024 * 1024), 1)} MB`;
  if (n >= 1024) return `${nf(n / 1024, 0)} KB`;
  return `${nf(n, 0)} B`;
}

/** Longest voice message; the recording is sent when it is reached. */
const MAX_RECORD_MS = 10 * 60 * 1000;
/** Shorter recordings are dropped (a tap on stop right after the start). */
const MIN_RECORD_MS = 500;
/** Containers a browser can record Opus/AAC voice into, best first. */
const RECORD_TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4', 'audio/webm', 'audio/ogg'];

const IMAGE_EXT = /\.(jpe?g|png|gif|webp)$/i;
const AUDIO_EXT = /\.(mp3|wav|ogg|oga|opus|webm|weba|m4a|aac|mp4)$/i;

/**
 * 'image' | 'audio' for the upload route a file should go to, or null
 * when it is plainly something else (a PDF, a text file, a video).
 */
export function kindOf(file) {
  const type = String(file.type || '').toLowerCase();
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('audio/')) return 'audio';
  // Some systems label .webm / .m4a / .ogg voice notes as video.
  if (/^video\/(webm|ogg|mp4|x-m4a)$/.test(type) && !IMAGE_EXT.test(file.name || '')) return 'audio';
  if (IMAGE_EXT.test(file.name || '')) return 'image';
  if (AUDIO_EXT.test(file.name || '')) return 'audio';
  // No type and no telling name: let the server judge the bytes.
  if (!type) return 'image';
  return null;
}

function recordingSupported() {
  return !!(window.MediaRecorder && navigator.mediaDevices
    && typeof navigator.mediaDevices.getUserMedia === 'function');
}

function pickRecordType() {
  if (typeof MediaRecorder.isTypeSupported !== 'function') return '';
  return RECORD_TYPES.find((t) => {
    try {
      return MediaRecorder.isTypeSupported(t);
    } catch {
      return false;
    }
  }) || '';
}

function extensionFor(type) {
  const t = String(type || '').toLowerCase();
  if (t.includes('ogg')) return 'ogg';
  if (t.includes('mp4') || t.includes('aac') || t.includes('m4a')) return 'm4a';
  if (t.includes('mpeg')) return 'mp3';
  if (t.includes('wav')) return 'wav';
  return 'webm';
}

function clock(ms) {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Wires the tools of one composer.
 * options: form, input (the text area), sender (createSender()), extra()
 * -> fields added to each message (the admin's thread_id), enabled() ->
 * whether sending is possible now, dropTarget (element files may be
 * dropped on), onChange() (attachment added or removed: re-check the send
 * button).
 * Returns {hasAttachment(), sendAttachment(text) -> bool, reset()}.
 */
export function createMediaTools({ form, input, sender, extra = () => ({}), enabled = () => true, dropTarget, onChange = () => {} }) {
  const $ = (id) => document.getElementById(id);
  const attachButton = $('attach-button');
  const fileInput = $('file-input');
  const recordButton = $('record-button');
  const tray = $('attachment-preview');
  const thumb = $('attachment-thumb');
  const nameEl = $('attachment-name');
  const sizeEl = $('attachment-size');
  const removeButton = $('attachment-remove');
  const recorderEl = $('recorder');
  const timerEl = $('record-timer');
  const stopButton = $('record-stop');
  const cancelButton = $('record-cancel');
  const placeholder = input.getAttribute('placeholder') || '';

  /** The file waiting in the tray: {file, kind, url}. */
  let attachment = null;
  /** The recording under way: {rec, stream, chunks, type, startedAt, send, timer}. */
  let recording = null;
  let starting = false;

  // ------------------------------------------------------ attachment ---

  function clearTray() {
    if (attachment) URL.revokeObjectURL(attachment.url);
    attachment = null;
    thumb.replaceChildren();
    for (const a of tray.querySelectorAll('audio')) a.remove();
    nameEl.textContent = '';
    sizeEl.textContent = '';
    tray.hidden = true;
    tray.classList.remove('is-image', 'is-audio');
    input.setAttribute('placeholder', placeholder);
  }

  /** Checks a file and puts it in the tray; false (with a toast) when refused. */
  function attach(file) {
    if (!file || !enabled()) return false;
    const kind = kindOf(file);
    if (!kind) {
      toast(S.errUnsupportedType);
      return false;
    }
    if (file.size > UPLOAD_LIMITS[kind]) {
      toast(fill(kind === 'image' ? S.errImageTooLarge : S.errAudioTooLarge, { size: formatBytes(file.size) }));
      return false;
    }
    if (file.size === 0) {
      toast(S.errUnsupportedType);
      return false;
    }
    clearTray();
    attachment = { file, kind, url: URL.createObjectURL(file) };
    tray.classList.add(`is-${kind}`);
    if (kind === 'image') {
      const img = el('img');
      img.alt = S.imageAlt;
      img.src = attachment.url;
      img.addEventListener('error', () => img.classList.add('is-broken'), { once: true });
      thumb.appendChild(img);
    } else {
      const badge = el('span', 'attachment-badge');
      badge.appendChild(icon('note', 24));
      thumb.appendChild(badge);
      const audio = el('audio');
      audio.controls = true;
      audio.preload = 'metadata';
      audio.setAttribute('aria-label', S.audioLabel);
      audio.src = attachment.url;
      nameEl.parentElement.appendChild(audio);
    }
    nameEl.textContent = file.name || (kind === 'image' ? S.imageAlt : S.audioLabel);
    nameEl.title = file.name || '';
    sizeEl.textContent = formatBytes(file.size);
    tray.hidden = false;
    input.setAttribute('placeholder', S.captionPlaceholder);
    onChange();
    input.focus();
    return true;
  }

  function removeAttachment({ focus = true } = {}) {
    const had = !!attachment;
    clearTray();
    if (had) onChange();
    if (focus) input.focus();
  }

  attachButton.addEventListener('click', () => {
    if (enabled()) fileInput.click();
  });
  fileInput.addEventListener('change', () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = ''; // the same file can be chosen again
    if (file) attach(file);
  });
  removeButton.addEventListener('click', () => removeAttachment());
  tray.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      removeAttachment();
    }
  });

  // A pasted screenshot or file.
  input.addEventListener('paste', (e) => {
    const files = e.clipboardData && e.clipboardData.files;
    if (files && files.length && kindOf(files[0])) {
      e.preventDefault();
      attach(files[0]);
    }
  });

  // Dropped files.
  if (dropTarget) {
    let depth = 0;
    const hasFiles = (e) => e.dataTransfer && [...(e.dataTransfer.types || [])].includes('Files');
    dropTarget.addEventListener('dragenter', (e) => {
      if (!hasFiles(e) || !enabled()) return;
      depth += 1;
      dropTarget.classList.add('drag-over');
    });
    dropTarget.addEventListener('dragover', (e) => {
      if (!hasFiles(e) || !enabled()) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    dropTarget.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (!depth) dropTarget.classList.remove('drag-over');
    });
    dropTarget.addEventListener('drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      dropTarget.classList.remove('drag-over');
      const file = e.dataTransfer.files && e.dataTransfer.files[0];
      if (file && !recording) attach(file);
    });
  }

  // ------------------------------------------------------- recording ---

  function setRecordingUi(on) {
    form.dataset.mode = on ? 'recording' : '';
    recorderEl.hidden = !on;
    timerEl.textContent = clock(0);
  }

  async function startRecording() {
    if (recording || starting || !enabled()) return;
    starting = true;
    recordButton.setAttribute('aria-busy', 'true');
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (e) {
      starting = false;
      recordButton.removeAttribute('aria-busy');
      const name = e && e.name;
      if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') toast(S.errMicDenied);
      else if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') toast(S.errMicMissing);
      else toast(S.errRecordFailed);
      return;
    }
    starting = false;
    recordButton.removeAttribute('aria-busy');
    if (!enabled()) {
      stopTracks(stream);
      return;
    }
    const type = pickRecordType();
    let rec;
    try {
      rec = new MediaRecorder(stream, type ? { mimeType: type, audioBitsPerSecond: 64000 } : { audioBitsPerSecond: 64000 });
    } catch {
      try {
        rec = new MediaRecorder(stream);
      } catch {
        stopTracks(stream);
        toast(S.errRecordFailed);
        return;
      }
    }
    const state = { rec, stream, chunks: [], type, startedAt: performance.now(), send: false, failed: false, timer: null };
    recording = state;
    rec.addEventListener('dataavailable', (e) => {
      if (e.data && e.data.size) state.chunks.push(e.data);
    });
    rec.addEventListener('stop', () => finish(state));
    rec.addEventListener('error', () => {
      state.failed = true;
      if (rec.state !== 'inactive') rec.stop();
      else finish(state);
    });
    // A microphone that goes away (unplugged, taken by the system) ends the take.
    for (const track of stream.getAudioTracks()) {
      track.addEventListener('ended', () => {
        if (recording === state) stopAndSend();
      });
    }
    try {
      rec.start(1000);
    } catch {
      recording = null;
      stopTracks(stream);
      toast(S.errRecordFailed);
      return;
    }
    setRecordingUi(true);
    state.timer = setInterval(() => {
      const ms = performance.now() - state.startedAt;
      timerEl.textContent = clock(ms);
      if (ms >= MAX_RECORD_MS) stopAndSend();
    }, 250);
    stopButton.focus();
  }

  function stopTracks(stream) {
    for (const t of stream.getTracks()) t.stop();
  }

  function stopAndSend() {
    const state = recording;
    if (!state) return;
    state.send = true;
    state.stoppedAt = performance.now();
    if (state.rec.state !== 'inactive') state.rec.stop();
    else finish(state);
  }

  function cancelRecording({ focus = true } = {}) {
    const state = recording;
    if (!state) return;
    state.send = false;
    state.focusAfter = focus ? recordButton : null;
    if (state.rec.state !== 'inactive') state.rec.stop();
    else finish(state);
  }

  function finish(state) {
    if (state.finished) return;
    state.finished = true;
    clearInterval(state.timer);
    stopTracks(state.stream);
    if (recording === state) recording = null;
    const hadFocus = recorderEl.contains(document.activeElement);
    setRecordingUi(false);
    if (hadFocus || state.focusAfter) (state.focusAfter || input).focus();
    if (!state.send) return;
    if (state.failed || !state.chunks.length) {
      toast(state.failed ? S.errRecordFailed : S.errRecordShort);
      return;
    }
    const ms = (state.stoppedAt || performance.now()) - state.startedAt;
    if (ms < MIN_RECORD_MS) {
      toast(S.errRecordShort);
      return;
    }
    const type = state.rec.mimeType || state.type || state.chunks[0].type || 'audio/webm';
    const blob = new Blob(state.chunks, { type });
    if (blob.size > UPLOAD_LIMITS.audio) {
      toast(fill(S.errAudioTooLarge, { size: formatBytes(blob.size) }));
      return;
    }
    if (!enabled()) return;
    sender.sendMedia({ kind: 'audio', blob, name: `voice-message.${extensionFor(type)}`, text: '' }, extra());
  }

  if (recordingSupported()) {
    recordButton.hidden = false;
    recordButton.addEventListener('click', startRecording);
    stopButton.addEventListener('click', stopAndSend);
    cancelButton.addEventListener('click', () => cancelRecording());
    recorderEl.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        cancelRecording();
      }
    });
    // Leaving the page must not leave the microphone on.
    window.addEventListener('pagehide', () => cancelRecording({ focus: false }));
  } else {
    recordButton.hidden = true;
  }

  return {
    hasAttachment: () => !!attachment,
    /** Sends the waiting file with `text` as its caption; false when there is none. */
    sendAttachment(text) {
      if (!attachment || !enabled()) return false;
      const { file, kind } = attachment;
      sender.sendMedia({ kind, blob: file, name: file.name || `${kind}`, text }, extra());
      removeAttachment({ focus: false });
      return true;
    },
    /** Drops the waiting file and any recording (e.g. another thread was opened). */
    reset() {
      cancelRecording({ focus: false });
      removeAttachment({ focus: false });
    },
  };
}
