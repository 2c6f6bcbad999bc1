// The Telegram bridge seen from the pages (headless Chromium, SQLite), with
// the Bot API played by lib/telegram-double.mjs: a visitor's message is
// forwarded to the admin chat as `[Visitor XXXX] <text>` without parse_mode;
// the admin's login code goes to Telegram (and not to the server log); the
// admin logs in with it and answers from the panel; then answers from
// Telegram by replying to the forward, and both pages show it live; an
// edit of that answer in Telegram replaces its text on both pages, marked
// "edited". A visitor's socket (socket.io-client) gets `message_updated`.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { ADMIN_USERNAME, ADMIN_PASSWORD } from './lib/server.mjs';
import { startTelegramDouble, ADMIN_CHAT } from './lib/telegram-double.mjs';
import {
  contexts, sendText as send, useChromium, waitForMessage, DESKTOP, PHONE, WAIT,
} from './lib/browser.mjs';
import { SHOTS } from './lib/screenshots.mjs';
import { newClient } from './lib/http.mjs';
import { emitAck, nextEvent, socketScope } from './lib/socket.mjs';

/** [{sender, text}] of the shown messages, in order. */
function shownMessages(page) {
  return page.$$eval('#messages .message', (nodes) => nodes.map((n) => ({
    sender: n.classList.contains('from-admin') ? 'admin' : (n.classList.contains('from-visitor') ? 'visitor' : '?'),
    text: n.querySelector('.message-text')?.textContent ?? null,
  })));
}

describe('the Telegram Bot API double', () => {
  test('speaks the envelope for JSON and urlencoded bodies; unknown methods and wrong tokens are refused', async (t) => {
    const d = await startTelegramDouble();
    t.after(() => d.close());
    const call = async (method, body, { token = d.token, type = 'json' } = {}) => {
      const init = { method: 'POST' };
      if (body && type === 'json') {
        init.headers = { 'content-type': 'application/json' };
        init.body = JSON.stringify(body);
      } else if (body) {
        init.headers = { 'content-type': 'application/x-www-form-urlencoded' };
        init.body = new URLSearchParams(body).toString();
      }
      const res = await fetch(`${d.url}/bot${token}/${method}`, init);
      return { status: res.status, json: await res.json() };
    };

    const me = await call('getMe');
    assert.equal(me.status, 200);
    assert.equal(me.json.ok, true);
    assert.equal(me.json.result.username, 'sohbet_bot');
    assert.equal(me.json.result.is_bot, true);
    assert.deepEqual((await call('getWebhookInfo')).json, {
      ok: true, result: { url: '', has_custom_certificate: false, pending_update_count: 0 },
    });
    assert.deepEqual((await call('deleteWebhook', {})).json, { ok: true, result: true });

    const t0 = Date.now();
    assert.deepEqual((await call('getUpdates', { offset: 0, timeout: 25 })).json, { ok: true, result: [] });
    assert.ok(Date.now() - t0 >= 900, 'an empty long poll is held (up to 1 s)');

    const form = await call('sendMessage', { chat_id: String(ADMIN_CHAT), text: 'form body' }, { type: 'form' });
    assert.equal(form.status, 200);
    assert.deepEqual(Object.keys(form.json.result).sort(), ['chat', 'date', 'from', 'message_id', 'text']);
    assert.deepEqual(form.json.result.chat, { id: ADMIN_CHAT, type: 'private', first_name: 'Admin' });
    assert.deepEqual(form.json.result.from, { id: 123, is_bot: true, first_name: 'sohbet', username: 'sohbet_bot' });
    const json = await call('sendMessage', { chat_id: ADMIN_CHAT, text: 'json body', parse_mode: 'HTML' });
    assert.equal(json.json.result.message_id, form.json.result.message_id + 1);
    assert.deepEqual(
      d.sentMessages().map(({ chat_id, text, parse_mode }) => ({ chat_id, text, parse_mode })),
      [
        { chat_id: ADMIN_CHAT, text: 'form body', parse_mode: undefined },
        { chat_id: ADMIN_CHAT, text: 'json body', parse_mode: 'HTML' },
      ],
    );

    // A queued update is returned at once, and confirmed by a later offset.
    const u = d.queueMessage({ text: 'hi', replyTo: json.json.result });
    const got = await call('getUpdates', { offset: 0, timeout: 25 });
    assert.deepEqual(got.json.result, [u]);
    assert.equal(got.json.result[0].message.reply_to_message.message_id, json.json.result.message_id);
    assert.deepEqual((await call('getUpdates', { offset: u.update_id + 1, timeout: 0 })).json.result, []);
    await d.waitConsumed(u.update_id, { timeout: 100 });

    assert.deepEqual(await call('sendSticker', { chat_id: ADMIN_CHAT }), {
      status: 404, json: { ok: false, error_code: 404, description: 'Not Found: method not found' },
    });
    assert.deepEqual(await call('getMe', null, { token: '999:WRONG' }), {
      status: 401, json: { ok: false, error_code: 401, description: 'Unauthorized' },
    });
  });
});

describe('Telegram bridge in headless Chromium (sqlite, Bot API double)', () => {
  let tg;
  const suite = useChromium({
    setUp: async () => {
      tg = await startTelegramDouble();
    },
    env: () => tg.env(),
    tearDown: async () => {
      if (tg) await tg.close();
    },
  });

  test('forward without parse_mode, login code over Telegram, replies from the panel and from Telegram reach the pages live', async (t) => {
    const { server, browser } = suite;
    const { problems, context: newContext, watch } = contexts(t, browser, { locale: 'en-US' });
    const visitorCtx = await newContext({ viewport: PHONE });
    const adminCtx = await newContext({ viewport: DESKTOP });

    // The bridge starts: getMe, then long polling.
    await tg.waitForPolling(1);
    assert.ok(tg.callsOf('getMe').some((c) => c.answer.ok), `getMe was called:\n${tg.summary()}`);

    // ---- the visitor writes; the double receives the forward
    const vp = await visitorCtx.newPage();
    watch(vp, 'visitor page');
    assert.equal((await vp.goto(`${server.baseUrl}/`)).status(), 200);
    const threadId = await vp.evaluate(() => document.body.dataset.threadId);
    const displayName = await vp.evaluate(() => document.body.dataset.displayName);
    assert.match(displayName, /^Visitor [0-9A-F]{4}$/, `display name: ${displayName}`);

    // Characters that would break Markdown/HTML entity parsing, sent as-is.
    const hello = 'Hello *bold* _x_ <b>&amp;</b> [link](x) `code` 🎉';
    await send(vp, hello);
    await waitForMessage(vp, 'visitor', hello);
    const forward = await tg.waitForSendMessage((m) => m.text?.includes(hello), { what: 'the forward of the visitor message' });
    assert.equal(forward.chat_id, ADMIN_CHAT, 'forwarded to TELEGRAM_CHAT_ID');
    // The thread's first forward may end with one line of visitor context
    // (issue 14), when the page reported it before the forward went out.
    const [text, ...context] = forward.text.split('\n🌐 ');
    assert.equal(text, `[${displayName}] ${hello}`, 'the forward text, exactly');
    assert.ok(context.length === 0 || (context.length === 1 && context[0].startsWith(`${server.baseUrl}/ · `)), forward.text);
    assert.equal(forward.parse_mode, undefined, 'no parse_mode');
    assert.ok(!('parse_mode' in forward.params), `no parse_mode parameter at all: ${JSON.stringify(forward.params)}`);
    const forwardCall = tg.calls.find((c) => c.answer.result === forward.result);
    assert.equal(forwardCall.encoding, 'json', 'teloxide sends JSON bodies');

    // ---- the admin logs in with the code Telegram received
    const ap = await adminCtx.newPage();
    watch(ap, 'admin page');
    await ap.goto(`${server.baseUrl}/admin`);
    await ap.waitForURL((u) => new URL(u).pathname === '/admin/login');
    await ap.fill('#username', ADMIN_USERNAME);
    await ap.fill('#password', ADMIN_PASSWORD);
    const sentBefore = tg.sentMessages().length;
    await ap.click('#login-submit');
    await ap.locator('#otp').waitFor({ state: 'visible' });
    const otpMessage = await tg.waitForSendMessage(
      (m, i) => i >= sentBefore && /\b\d{6}\b/.test(m.text || ''),
      { what: 'the login code message' },
    );
    assert.equal(otpMessage.chat_id, ADMIN_CHAT, 'the code goes to the admin chat');
    assert.equal(otpMessage.parse_mode, undefined);
    const otp = /\b(\d{6})\b/.exec(otpMessage.text)[1];
    assert.ok(!server.logs().includes(otp), 'the login code is not in the server log');
    assert.ok(!/OTP for admin login \(Telegram not configured\)/.test(server.logs()), 'the code is not logged as the fallback');

    await ap.fill('#otp', otp);
    await Promise.all([
      ap.waitForURL((u) => new URL(u).pathname === '/admin', { timeout: WAIT }),
      ap.click('#otp-submit'),
    ]);
    const item = ap.locator(`.thread-item[data-thread-id="${threadId}"]`);
    await item.waitFor({ state: 'visible' });
    assert.ok((await item.textContent()).includes(displayName), 'the thread is listed under its display name');
    await item.click();
    await waitForMessage(ap, 'visitor', hello);

    // ---- a reply typed in the panel reaches the visitor live
    const answer = 'Hi! Typed in the admin panel.';
    await send(ap, answer);
    await waitForMessage(ap, 'admin', answer);
    await waitForMessage(vp, 'admin', answer);

    // ---- the admin replies from Telegram to the forward
    const update = tg.queueMessage({ text: 'from telegram', replyTo: forward.result });
    assert.deepEqual(update.message.chat, { id: ADMIN_CHAT, type: 'private', first_name: 'Admin' });
    assert.deepEqual(update.message.from, { id: ADMIN_CHAT, is_bot: false, first_name: 'Admin' });
    await waitForMessage(vp, 'admin', 'from telegram');
    await waitForMessage(ap, 'admin', 'from telegram');
    await tg.waitConsumed(update.update_id);

    const expected = [
      { sender: 'visitor', text: hello },
      { sender: 'admin', text: answer },
      { sender: 'admin', text: 'from telegram' },
    ];
    assert.deepEqual(await shownMessages(vp), expected, 'the visitor page, in order');
    assert.deepEqual(await shownMessages(ap), expected, 'the admin page, in order');
    await vp.reload();
    await waitForMessage(vp, 'admin', 'from telegram');
    assert.deepEqual(await shownMessages(vp), expected, 'the same after a reload');

    // ---- the admin edits that answer in Telegram (issue 23): both pages
    // show the new text in place, as text, marked "edited"
    const fixed = 'from telegram, <b>edited</b>';
    tg.queueEdit(update.message, fixed);
    await waitForMessage(vp, 'admin', fixed);
    await waitForMessage(ap, 'admin', fixed);
    const edited = [...expected.slice(0, 2), { sender: 'admin', text: fixed }];
    assert.deepEqual(await shownMessages(vp), edited, 'the visitor page, edited in place');
    assert.deepEqual(await shownMessages(ap), edited, 'the admin page, edited in place');
    for (const page of [vp, ap]) {
      const marks = await page.$$eval('#messages .message-edited', (n) => n.map((e) => e.textContent));
      assert.deepEqual(marks, ['edited'], 'one "edited" mark, on the edited answer');
      assert.equal(await page.locator('#messages .message-text b').count(), 0, 'the markup stays text');
    }
    await vp.reload();
    await waitForMessage(vp, 'admin', fixed);
    assert.equal(await vp.locator('#messages .message.from-admin .message-edited').count(), 1, 'marked after a reload');

    // The bot said nothing else to the admin chat (no "reply to a forwarded
    // message" hint, no error): only the forward and the login code.
    assert.deepEqual(
      tg.sentMessages().map((m) => m.text),
      [forward.text, otpMessage.text],
      `sendMessage calls:\n${tg.summary()}`,
    );

    await vp.screenshot({ path: path.join(SHOTS, 'telegram-visitor-phone.png') });
    await ap.screenshot({ path: path.join(SHOTS, 'telegram-admin-desktop.png') });
    assert.deepEqual(problems, [], 'no uncaught errors, console errors or dialogs on the pages');
  });
  test('an answer edited in Telegram reaches a connected visitor socket as message_updated, and its catch-up', async (t) => {
    const { server } = suite;
    const sockets = socketScope(t, server);
    const v = await newClient(server);
    const socket = await sockets.connect(v, { role: 'visitor' });
    const ack = await emitAck(socket, 'message_from_visitor', { text: 'socket visitor asks', type: 'text' });
    assert.equal(ack.success, true, JSON.stringify(ack));
    const forward = await tg.waitForSendMessage((m) => m.text?.endsWith('socket visitor asks'), { what: 'the forward' });

    const update = tg.queueMessage({ text: 'first answer', replyTo: forward.result });
    const answer = await nextEvent(socket, 'message_to_visitor', {
      since: 0, timeout: 10_000, where: (m) => m?.content_text === 'first answer',
    });
    assert.equal(answer.edited_at, undefined, 'not edited yet');

    const since = socket.log.length;
    tg.queueEdit(update.message, 'second thoughts & <i>more</i>');
    const edited = await nextEvent(socket, 'message_updated', { since, timeout: 10_000 });
    assert.deepEqual(
      { ...edited, edited_at: undefined },
      { ...answer, content_text: 'second thoughts & <i>more</i>', edited_at: undefined },
      'the same message with its new text',
    );
    assert.match(edited.edited_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.deepEqual(socket.log.slice(since).map((e) => e.name), ['message_updated'], 'nothing else');

    // A page that had everything up to the answer catches the edit up.
    const r = await v.get(`/api/messages/${v.threadId}?after=${answer.id}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.messages, []);
    assert.deepEqual(r.body.edited, [edited]);
    // So does a socket that reconnects with the answer as its last message
    // (the server's replay).
    const again = await sockets.connect(v, { auth: { csrf_token: v.csrf, role: 'visitor', last_message_id: answer.id } });
    assert.deepEqual(await nextEvent(again, 'message_updated', { since: 0, timeout: 5000 }), edited);
    assert.deepEqual(
      again.log.map((e) => e.name).filter((n) => n.startsWith('message_')),
      ['message_updated'],
      'no message replayed: none came after the answer',
    );
  });
});
