// Collision warnings in a real browser (headless Chromium through
// playwright-core, SQLite; issue 22 item 5): two agents' panels. When
// Ayşe opens a thread, the owner's panel shows "Ayşe <i>x</i> is viewing"
// under the header (her name as text, not HTML) and an eye on the list
// entry; when she types, "… is typing…"; when she leaves, it goes. Neither
// panel lists its own agent. A screenshot goes to tests/js/screenshots/.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { loginAdmin, loginAs, newClient } from './lib/http.mjs';
import { addClientCookies, contexts, useChromium, DESKTOP } from './lib/browser.mjs';
import { SHOTS } from './lib/screenshots.mjs';

const PASSWORD = 'a long enough password';
const NAME = 'Ayşe <i>x</i>';

/** The text of the open thread's agent line, or null while it is hidden. */
const line = (page) => page.evaluate(() => {
  const p = document.getElementById('agent-presence');
  return p && !p.hidden ? p.textContent : null;
});

describe('collision warnings in headless Chromium (sqlite)', () => {
  const suite = useChromium();

  test("the owner's panel shows Ayşe viewing and typing; it goes when she leaves", async (t) => {
    const { server, browser } = suite;
    const { problems, context, watch } = contexts(t, browser, {
      viewport: DESKTOP, locale: 'en-US', watch: { dialogs: false },
    });
    const panel = async (http, name) => {
      const c = await context();
      await addClientCookies(c, http);
      const page = await c.newPage();
      watch(page, name);
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
