// sohbet: the composer: auto-growing text area, character counter against
// the server's limit (config.js), Enter to send, typing events.
import { S, limits } from './config.js';

const MAX_CHARS = limits.maxTextChars;
import { charCount, toast } from './dom.js';

// ------------------------------------------------------------ composer ---

/**
 * Wires a composer form: auto-growing textarea, 1..limits.maxTextChars after trim,
 * counter near the limit, Enter sends / Shift+Enter newline, typing events
 * (onTyping at most every 2 s while typing, onStopTyping after 3 s idle or
 * on send). onSend(text) is called with the trimmed text.
 * hasAttachment() (optional): while it answers true, an empty text may be
 * sent too (a caption is optional).
 */
export function createComposer({ form, input, button, counter, onSend, onTyping, onStopTyping, hasAttachment = () => false }) {
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
