// Telegram as a support console (issue 12), seen from the clients, with the
// Bot API played by lib/telegram-double.mjs as a forum supergroup:
// - a real socket.io-client visitor: its thread gets a topic, its typing
//   shows in that topic (sendChatAction), an answer the admin writes in the
//   topic (no Reply) reaches it, and its receipts `message_received` /
//   `message_seen` become 👌 / 👀 on the admin's Telegram message
//   (setMessageReaction); on SQLite and Postgres;
// - headless Chromium: the visitor page marks an answer seen by itself
//   while visible, and the admin panel shows the bridge state (screenshot;
//   docs/screenshots/panel-telegram-bridge.png with SOHBET_README_SCREENSHOTS=1).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer, ADMIN_USERNAME, ADMIN_PASSWORD } from './lib/server.mjs';
import { newClient } from './lib/http.mjs';
import { emitAck, nextEvent, socketScope } from './lib/socket.mjs';
import { startTelegramDouble, FORUM_CHAT } from './lib/telegram-double.mjs';
import { launchChromium } from './lib/browser.mjs';
import { screenshot } from './lib/screenshots.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHOTS = path.join(HERE, 'screenshots');
const WAIT = 10_000;

for (const db of ['sqlite', 'postgres']) {
  describe(`Telegram console over Socket.IO (${db})`, () => {
    let tg;
    let server;

    before(async () => {
      tg = await startTelegramDouble({ forum: true });
      server = await startServer({ db, env: tg.env() });
      await tg.waitForPolling(1);
    });

    after(async () => {
      try {
        if (server) await server.stop();
      } finally {
        if (tg) await tg.close();
      }
    });

    test('one topic per visitor, typing in it, answers without Reply, receipts 👌 then 👀', async (t) => {
      const scope = socketScope(t, server);
      const client = await newClient(server);
      const socket = await scope.connect(client, { role: 'visitor' });

      const ack = await emitAck(socket, 'message_from_visitor', { text: 'hello topic', type: 'text' });
      assert.equal(ack?.success, true, JSON.stringify(ack));
      const forward = await tg.waitForSendMessage((m) => m.text === `[${client.displayName}] hello topic`);
      const topic = Number(forward.params.message_thread_id);
      assert.ok(Number.isInteger(topic), `the forward went into a topic: ${JSON.stringify(forward.params)}`);
      assert.deepEqual(tg.topics().map((x) => x.name), [client.displayName]);
      assert.equal(forward.chat_id, FORUM_CHAT);

      // Typing shows in the visitor's topic.
      await emitAck(socket, 'typing', { thread_id: client.threadId });
      const action = await tg.waitFor(
        () => tg.callsOf('sendChatAction').find((c) => c.answer.ok),
        { what: 'sendChatAction' },
      );
      assert.equal(action.params.action, 'typing');
      assert.equal(Number(action.params.message_thread_id), topic);

      // The admin writes in the topic, not as a reply.
      const got = nextEvent(socket, 'message_to_visitor', { where: (m) => m?.content_text === 'answer in the topic', timeout: WAIT });
      const update = tg.queueMessage({ text: 'answer in the topic', topic });
      const msg = await got;
      const tgId = update.message.message_id;

      // The page has it: 👌 on the admin's Telegram message.
      assert.equal((await emitAck(socket, 'message_received', { message_id: msg.id }))?.success, true);
      await tg.waitFor(() => tg.reactionsOn(tgId).includes('👌'), { what: '👌 on the answer' });
      // The visitor saw it: 👀.
      assert.equal((await emitAck(socket, 'message_seen', { message_id: msg.id }))?.success, true);
      await tg.waitFor(() => tg.reactionsOn(tgId).includes('👀'), { what: '👀 on the answer' });
      assert.deepEqual(tg.reactionsOn(tgId), ['👌', '👀'], 'each mark once, in order');
      // The visitor's own forward never gets a mark.
      assert.deepEqual(tg.reactionsOn(forward.result.message_id), []);

      // A bad receipt is refused in the contract's shape.
      const bad = await emitAck(socket, 'message_seen', { message_id: 'x' });
      assert.equal(bad?.success, false);
      assert.equal(bad?.code, 'VALIDATION_ERROR');
    });
  });
}

describe('Telegram console in headless Chromium (sqlite, forum double)', () => {
  let tg;
  let server;
  let browser;

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    tg = await startTelegramDouble({ forum: true });
    server = await startServer({ db: 'sqlite', env: tg.env() });
    browser = await launchChromium();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    try {
      if (server) await server.stop();
    } finally {
      if (tg) await tg.close();
    }
  });

  test('the visible page marks the answer seen; the panel shows the bridge state', async (t) => {
    const visitorCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US' });
    const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    t.after(async () => {
      await visitorCtx.close().catch(() => {});
      await adminCtx.close().catch(() => {});
    });
    visitorCtx.setDefaultTimeout(WAIT);
    adminCtx.setDefaultTimeout(WAIT);

    const vp = await visitorCtx.newPage();
    await vp.goto(`${server.baseUrl}/`);
    const displayName = await vp.evaluate(() => document.body.dataset.displayName);
    await vp.locator('#message-input').fill('hi from the browser');
    await vp.locator('#send-button:not([disabled])').click();
    // The first forward may end with the visitor's context line (issue 14).
    const forward = await tg.waitForSendMessage((m) => m.text.split('\n🌐')[0] === `[${displayName}] hi from the browser`);
    const topic = Number(forward.params.message_thread_id);

    const update = tg.queueMessage({ text: 'seen by a browser?', topic });
    await vp.waitForFunction(
      () => [...document.querySelectorAll('#messages .message.from-admin[data-id]')]
        .some((n) => n.querySelector('.message-text')?.textContent === 'seen by a browser?'),
      null,
      { timeout: WAIT },
    );
    const tgId = update.message.message_id;
    await tg.waitFor(() => tg.reactionsOn(tgId).includes('👀'), { what: '👀 from the visible page' });

    // The admin logs in with the code Telegram received and sees the bridge state.
    const ap = await adminCtx.newPage();
    await ap.goto(`${server.baseUrl}/admin/login`);
    await ap.fill('#username', ADMIN_USERNAME);
    await ap.fill('#password', ADMIN_PASSWORD);
    const before = tg.sentMessages().length;
    await ap.click('#login-submit');
    await ap.locator('#otp').waitFor({ state: 'visible' });
    const otpMsg = await tg.waitForSendMessage((m, i) => i >= before && /\b\d{6}\b/.test(m.text || ''));
    await ap.fill('#otp', /\b(\d{6})\b/.exec(otpMsg.text)[1]);
    await Promise.all([
      ap.waitForURL((u) => new URL(u).pathname === '/admin', { timeout: WAIT }),
      ap.click('#otp-submit'),
    ]);
    const box = ap.locator('#bridge-state');
    await box.waitFor({ state: 'visible' });
    await ap.locator('#bridge-summary').click();
    await ap.waitForFunction(() => document.querySelectorAll('#bridge-checks li').length > 3);
    const lines = await ap.$$eval('#bridge-checks li', (n) => n.map((x) => x.textContent));
    assert.ok(lines.some((l) => l.startsWith('✓ can manage topics')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('✓ topic mode: forum supergroup')), lines.join('\n'));
    assert.match(await ap.locator('#bridge-summary').textContent(), /topics on/);
    await screenshot(ap, 'telegram-bridge-state.png', 'panel-telegram-bridge.png');
  });
});
