// Assignment in a real browser (headless Chromium through playwright-core,
// SQLite; issue 22 item 4): the panel's Take button assigns the open thread
// to the signed-in agent (the list then shows their initials), the Mine
// filter lists only the agent's threads, and Unassigned the others.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

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

describe('assignment in headless Chromium (sqlite)', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer({ db: 'sqlite' });
    browser = await launchChromium();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  test('Take assigns the thread to me; Mine and Unassigned filter the list', async (t) => {
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
    const visitors = [];
    for (const text of ['first visitor', 'second visitor']) {
      const page = await (await context()).newPage();
      page.on('pageerror', (e) => problems.push(`visitor: ${e.message}`));
      await page.goto(`${server.baseUrl}/`);
      await send(page, text);
      await waitForMessage(page, 'visitor', text);
      visitors.push(await page.evaluate(() => document.body.dataset.threadId));
    }
    const [a, b] = visitors;

    const adminHttp = await loginAdmin(server);
    const adminCtx = await context();
    await adminCtx.addCookies([...adminHttp.cookies].map(([name, value]) => ({
      name, value, url: server.baseUrl,
    })));
    const ap = await adminCtx.newPage();
    ap.on('pageerror', (e) => problems.push(`admin: ${e.message}`));
    await ap.goto(`${server.baseUrl}/admin`);
    const itemA = ap.locator(`.thread-item[data-thread-id="${a}"]`);
    const itemB = ap.locator(`.thread-item[data-thread-id="${b}"]`);
    await itemA.waitFor({ state: 'visible' });
    await itemB.waitFor({ state: 'visible' });
    assert.equal(await itemA.locator('.thread-assignee').isVisible(), false);

    // Take thread A from its view.
    await itemA.click();
    await waitForMessage(ap, 'visitor', 'first visitor');
    const take = ap.locator('#take-button');
    assert.equal(await take.textContent(), 'Take');
    await take.click();
    await take.waitFor({ state: 'hidden' });
    await ap.waitForFunction(
      (id) => document.querySelector(`.thread-item[data-thread-id="${id}"] .thread-assignee`)?.textContent === 'A',
      a,
      { timeout: WAIT },
    );
    assert.equal(await ap.locator('#assignee-picker option:checked').textContent(), 'admin');
    // Stored: the API agrees.
    const list = await adminHttp.get('/api/threads?assignee=me');
    assert.deepEqual(list.body.threads.map((x) => x.id), [a]);

    // Mine: only A; Unassigned: only B; All: both.
    await ap.click('[data-assignee="me"]');
    await itemB.waitFor({ state: 'detached' });
    assert.equal(await itemA.isVisible(), true);
    assert.equal(await ap.locator('[data-assignee="me"]').getAttribute('aria-pressed'), 'true');
    await ap.click('[data-assignee="unassigned"]');
    await itemA.waitFor({ state: 'detached' });
    await itemB.waitFor({ state: 'visible' });
    await ap.click('[data-assignee="all"]');
    await itemA.waitFor({ state: 'visible' });
    await itemB.waitFor({ state: 'visible' });

    // Unassign with the picker: A leaves Mine.
    await ap.selectOption('#assignee-picker', '');
    await take.waitFor({ state: 'visible' });
    const after = await adminHttp.get('/api/threads?assignee=me');
    assert.deepEqual(after.body.threads, []);
    assert.deepEqual(problems, []);
  });
});
