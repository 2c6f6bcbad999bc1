// Erasing a visitor from the panel in a real browser (headless Chromium
// through playwright-core, SQLite; issue 27 item 3): the owner's Erase
// button asks in a dialog; Cancel changes nothing; confirming erases the
// thread: it leaves the list, the conversation closes, the visitor's page
// empties, and the thread is gone from the API. The retention policy line
// shows in the list's footer. Before that, Export (issue 27 item 1)
// downloads the thread's ZIP.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { startServer } from './lib/server.mjs';
import { loginAdmin } from './lib/http.mjs';
import { launchChromium } from './lib/browser.mjs';

const DESKTOP = { width: 1280, height: 800 };
const WAIT = 10_000;

async function send(page, text) {
  await page.locator('#message-input').fill(text);
  await page.locator('#send-button:not([disabled])').click({ timeout: WAIT });
}

async function waitForMessage(page, sender, text) {
  await page.waitForFunction(
    ({ sender, text }) => [...document.querySelectorAll(`#messages .message.from-${sender}[data-id]`)]
      .some((n) => n.querySelector('.message-text')?.textContent === text),
    { sender, text },
    { timeout: WAIT },
  );
}

describe('erase in headless Chromium (sqlite)', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer({ db: 'sqlite', env: { RETENTION_DAYS: '45' } });
    browser = await launchChromium();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  test('Erase asks first, then the thread is gone everywhere', async (t) => {
    const problems = [];
    const contexts = [];
    t.after(async () => {
      for (const c of contexts) await c.close().catch(() => {});
    });
    const context = async () => {
      const c = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
      c.setDefaultTimeout(WAIT);
      contexts.push(c);
      return c;
    };
    const watch = (page, name) => {
      page.on('pageerror', (e) => problems.push(`${name}: uncaught ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`${name}: console error: ${m.text()}`);
      });
    };

    const visitor = await (await context()).newPage();
    watch(visitor, 'visitor');
    await visitor.goto(`${server.baseUrl}/`);
    await send(visitor, 'please erase my data');
    await waitForMessage(visitor, 'visitor', 'please erase my data');
    const id = await visitor.evaluate(() => document.body.dataset.threadId);

    const adminHttp = await loginAdmin(server);
    const adminCtx = await context();
    await adminCtx.addCookies([...adminHttp.cookies].map(([name, value]) => ({
      name, value, url: server.baseUrl,
    })));
    const ap = await adminCtx.newPage();
    watch(ap, 'admin page');
    await ap.goto(`${server.baseUrl}/admin`);
    assert.match(await ap.locator('#retention-policy').textContent(), /45 days/);
    const item = ap.locator(`.thread-item[data-thread-id="${id}"]`);
    await item.click();
    await waitForMessage(ap, 'visitor', 'please erase my data');

    // Export: the browser saves the thread's ZIP (thread.json, media, transcript).
    const [download] = await Promise.all([
      ap.waitForEvent('download', { timeout: WAIT }),
      ap.click('#export-button'),
    ]);
    assert.equal(download.suggestedFilename(), `sohbet-thread-${id}.zip`);
    const zip = fs.readFileSync(await download.path());
    assert.equal(zip.subarray(0, 4).toString('binary'), 'PK\x03\x04');
    for (const name of ['thread.json', 'transcript.html']) {
      assert.ok(zip.includes(Buffer.from(name)), `${name} in the archive`);
    }

    // Cancel: nothing happens.
    await ap.click('#erase-button');
    const dialog = ap.locator('#erase-dialog');
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.textContent(), /cannot be undone/);
    await dialog.locator('button[value="cancel"]').click();
    await dialog.waitFor({ state: 'hidden' });
    let r = await adminHttp.get(`/api/messages/${id}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.messages.length, 1);
    assert.ok(await item.isVisible());

    // Confirm: the thread is erased.
    await ap.click('#erase-button');
    await dialog.waitFor({ state: 'visible' });
    await ap.click('#erase-confirm');
    await item.waitFor({ state: 'detached' });
    await ap.locator('#conv-view').waitFor({ state: 'hidden' });
    await visitor.waitForFunction(
      () => document.querySelectorAll('#messages .message[data-id]').length === 0,
      null,
      { timeout: WAIT },
    );
    r = await adminHttp.get('/api/threads');
    assert.equal(r.status, 200, r.text);
    assert.ok(!JSON.stringify(r.body).includes(id), 'the thread is gone from the list');
    r = await adminHttp.get('/api/audit');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.entries[0].action, 'erase');
    assert.equal(r.body.entries[0].target, id);
    assert.deepEqual(problems, []);
  });
});
