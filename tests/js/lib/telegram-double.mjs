// A minimal double of the Telegram Bot API for the Node tests: an HTTP
// server on 127.0.0.1:0 answering `POST /bot<token>/<method>` with the Bot
// API's JSON envelope (`{ok:true,result}` / `{ok:false,error_code,description}`),
// as teloxide expects it. Request bodies may be JSON (what teloxide sends),
// urlencoded or multipart; query parameters count too. Method names are
// case-insensitive, as Telegram's.
//
// Spoken: getMe, getWebhookInfo, deleteWebhook, getUpdates (long poll held
// up to 1 s, `offset` confirms older updates, as Telegram does), sendMessage
// (and sendPhoto / sendVoice / sendAudio / sendDocument, answered with a
// Message carrying the caption), getChat, getChatMember, sendChatAction,
// setMessageReaction (on a known message of the chat), and with
// `{forum: true}` a forum supergroup as the admin chat: createForumTopic,
// editForumTopic, reopenForumTopic and `message_thread_id` on sends. Every call is recorded; the test queues
// updates for getUpdates (`queueMessage`, `queueEdit` / `queueUpdate`). Anything else is
// `404 Not Found: method not found`; a wrong token is `401 Unauthorized`.
//
// Point the server at it with `env()`: TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID,
// TELEGRAM_API_URL (and a short TELEGRAM_RETRY_BASE_MS).

import http from 'node:http';

export const TOKEN = '123:TEST';
export const ADMIN_CHAT = 4242;
export const BOT_ID = 123;
/** The forum supergroup of `{forum: true}`. */
export const FORUM_CHAT = -1001234567890;
/** Longest hold of a getUpdates long poll. */
const LONG_POLL_CAP_MS = 1000;

export const BOT_USER = Object.freeze({ id: BOT_ID, is_bot: true, first_name: 'sohbet', username: 'sohbet_bot' });

const nowUnix = () => Math.floor(Date.now() / 1000);

function privateChat(id) {
  return { id, type: 'private', first_name: id === ADMIN_CHAT ? 'Admin' : 'Stranger' };
}

function userOf(id) {
  return { id, is_bot: false, first_name: id === ADMIN_CHAT ? 'Admin' : 'Stranger' };
}

/** Text fields and file parts of a multipart/form-data body. */
function parseMultipart(body, contentType) {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const params = {};
  const files = [];
  if (!m) return { params, files };
  const delimiter = Buffer.from(`--${m[1] || m[2]}`);
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    const start = pos + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start + 2, next - 2); // after CRLF, before CRLF
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd >= 0) {
      const head = part.subarray(0, headEnd).toString('utf8');
      const content = part.subarray(headEnd + 4);
      const name = (/name="([^"]*)"/i.exec(head) || [])[1];
      const filename = (/filename="([^"]*)"/i.exec(head) || [])[1];
      if (name !== undefined) {
        if (filename !== undefined) files.push({ name, filename, bytes: content });
        else params[name] = content.toString('utf8');
      }
    }
    pos = next;
  }
  return { params, files };
}

/** {encoding, params, files} of a request. */
function parseRequest(req, body, url) {
  const params = Object.fromEntries(url.searchParams);
  const type = String(req.headers['content-type'] || '').toLowerCase();
  if (!body.length) return { encoding: 'none', params, files: [] };
  if (type.startsWith('application/json')) {
    const json = JSON.parse(body.toString('utf8'));
    return { encoding: 'json', params: { ...params, ...json }, files: [] };
  }
  if (type.startsWith('application/x-www-form-urlencoded')) {
    return { encoding: 'form', params: { ...params, ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))) }, files: [] };
  }
  if (type.startsWith('multipart/form-data')) {
    const mp = parseMultipart(body, req.headers['content-type']);
    return { encoding: 'multipart', params: { ...params, ...mp.params }, files: mp.files };
  }
  throw new Error(`unsupported content-type ${type}`);
}

/** A form or query value as a number (teloxide sends numbers in JSON). */
const num = (v) => (v === undefined || v === null || v === '' ? undefined : Number(v));

/**
 * Starts the double.
 * @returns {Promise<TelegramDouble>}
 */
export async function startTelegramDouble({ token = TOKEN, forum = false, adminChat = forum ? FORUM_CHAT : ADMIN_CHAT } = {}) {
  /** Forum topics by id: {id, name, closed}. */
  const topics = new Map();
  /** Every message sent or queued, by id (setMessageReaction checks it). */
  const known = new Map();
  const chatOf = (id) => (forum && id === adminChat
    ? { id, type: 'supergroup', title: 'Support desk', is_forum: true }
    : privateChat(id));
  /** Every answered call: {seq, at, method, encoding, params, files, status, answer}. */
  const calls = [];
  /** Updates not yet confirmed by a getUpdates offset, oldest first. */
  let updates = [];
  let nextUpdateId = 500_000;
  let nextMessageId = 100;
  /** Highest getUpdates offset seen (confirms every update below it). */
  let maxOffset = 0;
  /** Wakes held getUpdates calls and test waiters. */
  const wakers = new Set();
  const wake = () => {
    for (const w of [...wakers]) w();
  };
  const held = new Set();
  let closing = false;

  const ok = (result) => ({ status: 200, answer: { ok: true, result } });
  const fail = (code, description) => ({ status: code, answer: { ok: false, error_code: code, description } });

  function botMessage(chatId, extra) {
    const message = {
      message_id: nextMessageId++,
      date: nowUnix(),
      chat: chatOf(chatId),
      from: { ...BOT_USER },
      ...extra,
    };
    known.set(message.message_id, message);
    return message;
  }

  function send(p, files, method) {
    const chatId = num(p.chat_id);
    if (!Number.isInteger(chatId)) return fail(400, 'Bad Request: chat_id is empty');
    if (chatId !== adminChat) return fail(400, 'Bad Request: chat not found');
    const thread = num(p.message_thread_id);
    const inTopic = thread === undefined ? {} : { message_thread_id: thread, is_topic_message: true };
    if (thread !== undefined && !topics.has(thread)) return fail(400, 'Bad Request: message thread not found');
    if (method === 'sendmessage') {
      const text = p.text === undefined || p.text === null ? '' : String(p.text);
      if (!text.trim()) return fail(400, 'Bad Request: message text is empty');
      return ok(botMessage(chatId, { text, ...inTopic }));
    }
    const field = { sendphoto: 'photo', sendvoice: 'voice', sendaudio: 'audio', senddocument: 'document' }[method];
    const ref = p[field];
    if (!ref) return fail(400, `Bad Request: there is no ${field} in the request`);
    const name = String(ref).replace(/^attach:\/\//, '');
    const file = files.find((f) => f.name === name);
    const size = file ? file.bytes.length : 0;
    const fileObj = { file_id: `file-${nextMessageId}`, file_unique_id: `u-${nextMessageId}`, file_size: size };
    const media = field === 'photo'
      ? { photo: [{ ...fileObj, width: 90, height: 90 }] }
      : { [field]: field === 'document' ? { ...fileObj, file_name: file?.filename } : { ...fileObj, duration: 1 } };
    return ok(botMessage(chatId, { ...media, ...inTopic, ...(p.caption ? { caption: String(p.caption) } : {}) }));
  }

  function chatMember(p) {
    if (num(p.chat_id) !== adminChat) return fail(400, 'Bad Request: chat not found');
    if (!forum) return ok({ status: 'member', user: { ...BOT_USER } });
    return ok({
      status: 'administrator', user: { ...BOT_USER }, can_be_edited: false, is_anonymous: false,
      can_manage_chat: true, can_delete_messages: true, can_manage_video_chats: false,
      can_restrict_members: false, can_promote_members: false, can_change_info: false,
      can_invite_users: true, can_pin_messages: false, can_manage_topics: true,
    });
  }

  function createTopic(p) {
    if (!forum || num(p.chat_id) !== adminChat) return fail(400, 'Bad Request: the chat is not a forum');
    const name = String(p.name ?? '');
    if (!name) return fail(400, 'Bad Request: TOPIC_TITLE_EMPTY');
    const id = nextMessageId++;
    topics.set(id, { id, name, closed: false });
    known.set(id, {
      message_id: id, date: nowUnix(), chat: chatOf(adminChat), from: { ...BOT_USER },
      message_thread_id: id, is_topic_message: true, forum_topic_created: { name, icon_color: 7322096 },
    });
    return ok({ message_thread_id: id, name, icon_color: 7322096 });
  }

  function react(p) {
    const m = known.get(num(p.message_id));
    if (!m || m.chat.id !== num(p.chat_id)) return fail(400, 'Bad Request: message to react not found');
    const reaction = typeof p.reaction === 'string' ? JSON.parse(p.reaction) : (p.reaction || []);
    if (!reaction.every((r) => r.type === 'emoji' && ['👌', '👀', '👍'].includes(r.emoji))) {
      return fail(400, 'Bad Request: REACTION_INVALID');
    }
    return ok(true);
  }

  async function getUpdates(p) {
    const offset = num(p.offset) ?? 0;
    const limit = Math.min(Math.max(num(p.limit) ?? 100, 1), 100);
    const holdMs = Math.min((num(p.timeout) ?? 0) * 1000, LONG_POLL_CAP_MS);
    if (offset > 0) {
      maxOffset = Math.max(maxOffset, offset);
      updates = updates.filter((u) => u.update_id >= offset);
      wake();
    }
    if (!updates.length && holdMs > 0 && !closing) {
      await new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wakers.delete(check);
          held.delete(done);
          resolve();
        };
        const check = () => {
          if (updates.length) done();
        };
        const timer = setTimeout(done, holdMs);
        wakers.add(check);
        held.add(done);
      });
    }
    return ok(updates.slice(0, limit));
  }

  async function dispatch(method, p, files) {
    switch (method) {
      case 'getme':
        return ok({
          ...BOT_USER,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
          // teloxide 0.17 (teloxide-core 0.13) refuses a `getMe` without
          // `has_main_web_app`; Telegram sends both fields today.
          can_connect_to_business: false,
          has_main_web_app: false,
        });
      case 'getwebhookinfo':
        return ok({ url: '', has_custom_certificate: false, pending_update_count: updates.length });
      case 'deletewebhook':
        if (p.drop_pending_updates === true || p.drop_pending_updates === 'true') updates = [];
        return ok(true);
      case 'getupdates':
        return getUpdates(p);
      case 'getchat':
        if (num(p.chat_id) !== adminChat) return fail(400, 'Bad Request: chat not found');
        return ok({
          ...chatOf(adminChat), max_reaction_count: 11, accent_color_id: 0,
          accepted_gift_types: { unlimited_gifts: false, limited_gifts: false, unique_gifts: false, premium_subscription: false },
        });
      case 'getchatmember':
        return chatMember(p);
      case 'createforumtopic':
        return createTopic(p);
      case 'editforumtopic':
      case 'reopenforumtopic':
        return topics.has(num(p.message_thread_id)) ? ok(true) : fail(400, 'Bad Request: message thread not found');
      case 'sendchataction':
        return num(p.chat_id) === adminChat ? ok(true) : fail(400, 'Bad Request: chat not found');
      case 'setmessagereaction':
        return react(p);
      case 'sendmessage':
      case 'sendphoto':
      case 'sendvoice':
      case 'sendaudio':
      case 'senddocument':
        return send(p, files, method);
      default:
        return fail(404, 'Not Found: method not found');
    }
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const at = Date.now();
      const body = Buffer.concat(chunks);
      const url = new URL(req.url, 'http://127.0.0.1');
      const m = /^\/bot([^/]+)\/([^/]+)\/?$/.exec(decodeURIComponent(url.pathname));
      let method = m ? m[2] : url.pathname;
      let parsed = { encoding: 'none', params: {}, files: [] };
      let out;
      try {
        parsed = parseRequest(req, body, url);
        if (!m) out = fail(404, 'Not Found');
        else if (m[1] !== token) out = fail(401, 'Unauthorized');
        else out = await dispatch(method.toLowerCase(), parsed.params, parsed.files);
      } catch (e) {
        out = fail(400, `Bad Request: ${e.message}`);
      }
      calls.push({ seq: calls.length, at, method, ...parsed, status: out.status, answer: out.answer });
      wake();
      const text = JSON.stringify(out.answer);
      res.writeHead(out.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}`;

  function queueUpdate(update) {
    const u = { update_id: nextUpdateId++, ...update };
    updates.push(u);
    wake();
    return u;
  }

  /** Resolves with `f()` once it is truthy (re-checked after every call / update). */
  function waitFor(f, { timeout = 10_000, what = 'a condition' } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try {
          v = f();
        } catch (e) {
          done();
          reject(e);
          return;
        }
        if (v) {
          done();
          resolve(v);
        }
      };
      const done = () => {
        clearTimeout(timer);
        wakers.delete(check);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`Telegram double: ${what} not seen within ${timeout} ms. Calls:\n${summary()}`));
      }, timeout);
      wakers.add(check);
      check();
    });
  }

  function summary() {
    return calls.map((c) => {
      const what = c.params.text ?? c.params.caption ?? (c.params.offset !== undefined ? `offset=${c.params.offset}` : '');
      return `#${c.seq} ${c.method} [${c.encoding}] chat=${c.params.chat_id ?? '-'} parse_mode=${c.params.parse_mode ?? '-'} → ${c.status} ${JSON.stringify(String(what).slice(0, 80))}`;
    }).join('\n') || '(no calls)';
  }

  /** Accepted sendMessage calls: {chat_id, text, parse_mode, params, result (the Message answered)}. */
  function sentMessages() {
    return callsOf('sendMessage')
      .filter((c) => c.answer.ok)
      .map((c) => ({
        chat_id: num(c.params.chat_id),
        text: c.params.text,
        parse_mode: c.params.parse_mode,
        params: c.params,
        result: c.answer.result,
      }));
  }

  /** Calls of `method` (case-insensitive: teloxide sends `GetMe`, `SendMessage`). */
  function callsOf(method) {
    return calls.filter((c) => c.method.toLowerCase() === method.toLowerCase());
  }

  return {
    url,
    port,
    token,
    adminChat,
    calls,
    callsOf,
    summary,
    sentMessages,
    waitFor,
    /** The server's environment for this double. */
    env() {
      return {
        TELEGRAM_BOT_TOKEN: token,
        TELEGRAM_CHAT_ID: String(adminChat),
        TELEGRAM_API_URL: url,
        TELEGRAM_WEBHOOK_URL: '',
        TELEGRAM_RETRY_BASE_MS: '50',
        TELEGRAM_CHAT_MESSAGES_PER_MINUTE: '0',
        TELEGRAM_PRIVATE_CHAT_MESSAGES_PER_MINUTE: '0',
      };
    },
    /** Waits for an accepted sendMessage whose record satisfies `pred(message, index)`; resolves with it. */
    waitForSendMessage(pred, options = {}) {
      return waitFor(() => sentMessages().find(pred), { what: 'a matching sendMessage', ...options });
    },
    /** Waits until the app has polled getUpdates `times` times (the bridge is running). */
    waitForPolling(times = 1, options = {}) {
      return waitFor(
        () => callsOf('getUpdates').filter((c) => c.answer.ok).length >= times,
        { what: `${times} getUpdates call(s)`, ...options },
      );
    },
    /** Queues a raw update (its update_id is assigned when missing); returns it. */
    queueUpdate,
    /**
     * Queues a message the admin writes in the chat (`from` the chat's user);
     * `replyTo` is the Message it replies to. Returns the update.
     */
    queueMessage({ text, replyTo = null, chatId = adminChat, topic = null }) {
      const message = {
        message_id: nextMessageId++,
        date: nowUnix(),
        chat: chatOf(chatId),
        from: forum ? { id: 777, is_bot: false, first_name: 'Ayşe' } : userOf(chatId),
        text,
      };
      if (topic !== null) {
        message.message_thread_id = topic;
        message.is_topic_message = true;
        if (!replyTo) message.reply_to_message = known.get(topic);
      }
      if (replyTo) message.reply_to_message = replyTo;
      known.set(message.message_id, message);
      return queueUpdate({ message });
    },
    /**
     * Queues the admin's edit of `message` (one `queueMessage` returned):
     * an `edited_message` update with the new `text` and an `edit_date`,
     * from its sender, as Telegram sends it. Returns the update.
     */
    queueEdit(message, text) {
      const edited = { ...message, text, edit_date: nowUnix() };
      known.set(edited.message_id, edited);
      return queueUpdate({ edited_message: edited });
    },
    /** The forum topics: [{id, name, closed}]. */
    topics: () => [...topics.values()],
    /** Emoji of accepted setMessageReaction calls on `messageId`, in order. */
    reactionsOn(messageId) {
      return callsOf('setMessageReaction')
        .filter((c) => c.answer.ok && num(c.params.message_id) === messageId)
        .map((c) => {
          const r = typeof c.params.reaction === 'string' ? JSON.parse(c.params.reaction) : c.params.reaction;
          return r[0]?.emoji;
        });
    },
    /** Waits until getUpdates asked for an offset past `updateId` (the app took it). */
    waitConsumed(updateId, options = {}) {
      return waitFor(() => maxOffset > updateId, { what: `update ${updateId} confirmed`, ...options });
    },
    /** Answers held long polls and stops the server. */
    async close() {
      closing = true;
      for (const done of [...held]) done();
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
    },
  };
}
