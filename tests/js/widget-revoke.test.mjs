// Revoking the widget's visitor tokens (issue 20 item 9) in headless
// Chromium with third-party cookies blocked: a visitor chats through the
// widget on a host page; the operator restarts sohbet with a higher
// VISITOR_TOKEN_EPOCH (same SECRET_KEY, same database). The loader still
// holds the old token in the host page's storage and hands it to the view,
// the server refuses it (auth_error), and the view starts afresh with a new
// token and thread instead of showing a dead chat; the loader's copy is
// replaced. The old conversation stays stored.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

import { startServer } from './lib/server.mjs';
import { launchChromium } from './lib/browser.mjs';

const WAIT = 10_000;
const EXTRA_ARGS = ['--test-third-party-cookie-phaseout'];

/** A host page on `http://localhost:<port>` that pastes the snippet of `base()`. */
async function hostSite(base) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Shop</h1><script src="${base()}/widget.js" data-lang="en" defer></script></body></html>`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://localhost:${port}`,
    close: () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections?.(); }),
  };
}

const launcher = (page) => page.locator('#sohbet-widget .l');
const chatFrame = (page) => page.frameLocator('#sohbet-widget iframe');
const widgetThread = (page) => chatFrame(page).locator('body').getAttribute('data-thread-id');

async function sendFromWidget(page, text) {
  const f = chatFrame(page);
  await f.locator('#message-input').fill(text);
  await f.locator('#send-button:not([disabled])').click();
  await f.locator('#messages .message.from-visitor[data-id] .message-text', { hasText: text }).waitFor({ timeout: 30000 });
}

describe('a raised VISITOR_TOKEN_EPOCH: the widget starts afresh', () => {
  let server;
  let host;
  let browser;
  let dir;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sohbet-revoke-'));
    browser = await launchChromium(EXTRA_ARGS);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    if (host) await host.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the old token is refused, the view takes a new one and the chat works', async (t) => {
    let base = '';
    host = await hostSite(() => base);
    const env = {
      EMBED_ORIGINS: host.origin,
      SECRET_KEY: randomBytes(48).toString('hex'),
      SQLITE_PATH: path.join(dir, 'chat.db'),
    };
    server = await startServer({ env });
    base = server.baseUrl;

    const problems = [];
    const ctx = await browser.newContext({ locale: 'en-US' });
    ctx.setDefaultTimeout(WAIT);
    t.after(() => ctx.close().catch(() => {}));
    const page = await ctx.newPage();
    page.on('pageerror', (e) => problems.push(`uncaught ${e.message}`));
    await page.goto(`${host.origin}/`);
    await launcher(page).click();
    await sendFromWidget(page, 'before the revocation');
    const oldThread = await widgetThread(page);
    const oldToken = await page.evaluate(() => localStorage.getItem('sohbet_visitor_token'));
    assert.ok(oldToken && oldToken.includes(oldThread), 'the loader keeps a copy of the token');

    // The operator revokes every token: same key and database, epoch 1.
    await server.stop();
    server = await startServer({ env: { ...env, VISITOR_TOKEN_EPOCH: '1' } });
    base = server.baseUrl;

    await page.reload();
    await launcher(page).click();
    await page.waitForFunction(
      (old) => {
        const t = localStorage.getItem('sohbet_visitor_token');
        return t && t !== old;
      },
      oldToken,
      { timeout: WAIT },
    );
    await chatFrame(page).locator(`body[data-thread-id]:not([data-thread-id="${oldThread}"])`).waitFor();
    const newThread = await widgetThread(page);
    assert.notEqual(newThread, oldThread, 'a new conversation');
    await sendFromWidget(page, 'after the revocation');
    const newToken = await page.evaluate(() => localStorage.getItem('sohbet_visitor_token'));
    assert.ok(newToken.includes(newThread), 'the loader holds the new token');

    // The revoked token gets 401 on HTTP; the new one works.
    const session = (token) => fetch(`${server.baseUrl}/api/session`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal((await session(oldToken)).status, 401);
    assert.equal((await session(newToken)).status, 200);
    assert.deepEqual(problems, []);
  });
});
