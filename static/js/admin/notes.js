// sohbet: internal notes in the panel (issue 22). The composer's "Note"
// toggle (#note-toggle, aria-pressed) makes what the agent sends next an
// internal note (`internal: true` in `message_to_visitor`, media included):
// the composer turns yellow and #note-banner says the visitor does not see
// it. Notes are shown apart in the conversation: `NoteList` is the panel's
// MessageList, which marks a note's bubble (`.is-note`) and labels it; the
// visitor's page never gets a note, so this stays out of lib/ and off the
// visitor page's size budget. Labels come from the page (askama), not the
// config block.
import { MessageList } from '../lib/message_list.js';

const toggle = document.getElementById('note-toggle');
const banner = document.getElementById('note-banner');
const form = document.getElementById('composer');
const label = toggle ? toggle.dataset.label || '' : '';

/** Client ids of notes sent from here and not yet stored. */
const pendingNotes = new Set();
/** True only while a note's pending bubble is being added. */
let sendingNote = false;

/** Is the composer in note mode? */
export function noteMode() {
  return !!toggle && toggle.getAttribute('aria-pressed') === 'true';
}

/** Turns note mode on or off. */
export function setNoteMode(on) {
  if (!toggle) return;
  toggle.setAttribute('aria-pressed', on ? 'true' : 'false');
  form.classList.toggle('is-note', on);
  banner.hidden = !on;
}

/** Runs `send` (which adds the pending bubble) marking what it adds as a note when in note mode. */
export function sending(send) {
  sendingNote = noteMode();
  try {
    return send();
  } finally {
    sendingNote = false;
  }
}

/** What a send carries in note mode (spread into the sender's extra). */
export function noteExtra() {
  return noteMode() ? { internal: true } : {};
}

/** The panel's message list: notes marked and labelled. */
/** The logged-in agent's id (templates/admin.html). */
const me = Number(document.body.dataset.agentId || 0);

/** An answer another agent (or "Support") wrote: shown with its name. */
export const byOther = (m) => m.sender_type === 'admin' && !!m.sender_name && m.agent_id !== me;

export class NoteList extends MessageList {
  build(msg, status) {
    const node = super.build(msg, status);
    if (byOther(msg)) node.classList.add('by-other');
    const stored = msg.id !== null && msg.id !== undefined;
    if (!stored && sendingNote) pendingNotes.add(msg.client_id);
    const note = stored ? msg.internal === true : pendingNotes.has(msg.client_id);
    if (stored) pendingNotes.delete(msg.client_id);
    if (note) {
      node.classList.add('is-note');
      const who = node.querySelector('.message-sender');
      if (who) who.textContent = `📝 ${label} · ${who.textContent}`;
    }
    return node;
  }
}

if (toggle) {
  toggle.addEventListener('click', () => {
    setNoteMode(!noteMode());
    document.getElementById('message-input').focus();
  });
}
