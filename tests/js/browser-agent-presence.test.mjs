// Collision warnings in a real browser (headless Chromium through
// playwright-core, SQLite; issue 22 item 5): two agents' panels. When
// Ayşe opens a thread, the owner's panel shows "Ayşe <i>x</i> is viewing"
// under the header (her name as text, not HTML) and an eye on the list
// entry; when she types, "… is typing…"; when she leaves, it goes. Neither
// panel lists its own agent. A screenshot goes to tests/js/screenshots/.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer } from './lib/server.mjs';
import { loginAdmin, newClient } from './lib/http.mjs';
import { launchChromium } from './lib/browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHOTS = path.join(HERE, 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const WAIT = 10_000;
const PASSWORD = 'a long enough password';
const NAME = 'Ayşe <i>x</i>';

/** Logs `username` in over HTTP (its code read from the log). */
async function loginAs(server, username, password) {
  const c = await newClient(server);
  const mark = server.logIndex();
  const r = await c.post('/admin/login', { username, password });
  assert.equal(r.status, 200, r.text);
  const otp = await server.waitForOtp(mark);
  const v = await c.post('/admin/verify-otp', { otp });
  assert.equal(v.status, 200, v.text);
  await c.session();
  return c;
}

/** The text of the open thread's agent line, or null while it is hidden. */
const line = (page) => page.evaluate(() => {
  const p = document.getElementById('agent-presence');
  return p && !p.hidden ? p.textContent : null;
});

describe('collision warnings in headless Chromium (sqlite)', () => {
  let server;
  let browser;

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    server = await startServer({ db: 'sqlite' });
    browser = await launchChromium();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  test("the owner's panel shows Ayşe viewing and typing; it goes when she leaves", async (t) => {
    const problems = [];
    const contexts = [];
    t.after(async () => {
      for (const c of contexts) await c.close().catch(() => {});
    });
    const panel = async (http, name) => {
      const c = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
      c.setDefaultTimeout(WAIT);
      contexts.push(c);
      await c.addCookies([...http.cookies].map(([n, value]) => ({ name: n, value, url: server.baseUrl })));
      const page = await c.newPage();
      page.on('pageerror', (e) => problems.push(`${name}: uncaught ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`${name}: console error: ${m.text()}`);
      });
      await page.goto(`${server.baseUrl}/admin`);
      return page;
    };

    const owner = await loginAdmin(server);
    const add = await owner.post('/api/agents', { username: 'ayse', display_name: NAME, role: 'agent', password: PASSWORD });
    assert.equal(add.status, 200, add.text);
    const ownerName = (await owner.get('/api/agents/me')).body.agent.display_name;
    const visitor = await newClient(server);
    assert.equal((await visitor.post('/api/messages/send', { text: 'hello', type: 'text' })).status, 200);
    const tid = visitor.threadId;

    const op = await panel(owner, 'owner');
    const ap = await panel(await loginAs(server, 'ayse', PASSWORD), 'ayse');
    const item = (page) => page.locator(`.thread-item[data-thread-id="${tid}"]`);
    await item(op).click();
    assert.equal(await line(op), null, 'nobody else is here yet');

    // Ayşe opens it: the owner sees her (as text), and an eye in the list.
    await item(ap).click();
    await op.waitForFunction(() => !document.getElementById('agent-presence').hidden);
    assert.equal(await line(op), `${NAME} is viewing`);
    assert.equal(await op.locator('#agent-presence i').count(), 0, 'the name is not HTML');
    assert.equal(await item(op).locator('.thread-viewers').count(), 1);
    assert.equal(await item(op).locator('.thread-viewers').getAttribute('title'), `${NAME} is viewing`);
    // Ayşe sees the owner, never herself.
    await ap.waitForFunction(() => !document.getElementById('agent-presence').hidden);
    assert.equal(await line(ap), `${ownerName} is viewing`);

    // She types: "is typing…"; she stops (the composer's idle stop).
    await ap.locator('#message-input').fill('Let me check');
    await op.waitForFunction((n) => document.getElementById('agent-presence').textContent === `${n} is typing…`, NAME);
    await op.screenshot({ path: path.join(SHOTS, 'admin-agent-presence.png') });
    await op.waitForFunction((n) => document.getElementById('agent-presence').textContent === `${n} is viewing`, NAME);

    // She goes back to the list: gone from the owner's panel.
    await ap.evaluate(() => document.getElementById('back-button').click());
    await op.waitForFunction(() => document.getElementById('agent-presence').hidden);
    assert.equal(await item(op).locator('.thread-viewers').count(), 0);
    // She opens it again and then closes her tab (a reload here).
    await item(ap).click();
    await op.waitForFunction(() => !document.getElementById('agent-presence').hidden);
    await ap.goto(`${server.baseUrl}/admin`);
    await op.waitForFunction(() => document.getElementById('agent-presence').hidden);
    assert.equal(await item(op).locator('.thread-viewers').count(), 0);
    assert.deepEqual(problems, []);
  });
});
