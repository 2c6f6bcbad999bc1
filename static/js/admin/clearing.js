// sohbet: clearing the open thread's history from the admin panel: the
// header's button asks in a <dialog> (window.confirm where <dialog> is
// missing), then `POST /api/messages/clear`. Other panels learn it through
// `messages_cleared` (live.js); both end in conversation.js `applyCleared`.
import { api, errorText } from '../lib/api.js';
import { S } from '../lib/config.js';
import { toast } from '../lib/dom.js';
import { applyCleared } from './conversation.js';
import { view } from './state.js';

const clearButton = document.getElementById('clear-button');
const clearDialog = document.getElementById('clear-dialog');

async function clearCurrent() {
  const id = view.currentId;
  if (!id) return;
  try {
    await api('/api/messages/clear', { method: 'POST', body: { thread_id: id } });
    applyCleared(id);
    toast(S.cleared, { kind: 'info', timeout: 3000 });
  } catch (e) {
    toast(errorText(e.code, e.message));
  }
}

clearButton.addEventListener('click', () => {
  if (!view.currentId) return;
  if (clearDialog && typeof clearDialog.showModal === 'function') {
    clearDialog.returnValue = '';
    clearDialog.showModal();
  } else if (window.confirm(document.getElementById('clear-dialog-text').textContent)) {
    clearCurrent();
  }
});
clearDialog?.addEventListener('close', () => {
  if (clearDialog.returnValue === 'confirm') clearCurrent();
  clearButton.focus();
});
