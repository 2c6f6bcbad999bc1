// Assignment in a real browser (headless Chromium through playwright-core,
// SQLite; issue 22 item 4): the panel's Take button assigns the open thread
// to the signed-in agent (the list then shows their initials), the Mine
// filter lists only the agent's threads, and Unassigned the others.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { loginAdmin } from './lib/http.mjs';
import {
  addClientCookies, contexts, sendText as send, useChromium, waitForMessage, DESKTOP, WAIT,
} from './lib/browser.mjs';

describe('assignment in headless Chromium (sqlite)', () => {
  const suite = useChromium();

  test('Take assigns the thread to me; Mine and Unassigned filter the list', async (t) => {
    const { server, browser } = suite;
    const { problems, context, watch } = contexts(t, browser, {
      viewport: DESKTOP, locale: 'en-US', watch: { console: false, dialogs: false },
    });
    const visitors = [];
    for (const text of ['first visitor', 'second visitor']) {
      const page = await (await context()).newPage();
      watch(page, 'visitor');
      await page.goto(`${server.baseUrl}/`);
      await send(page, text);
      await waitForMessage(page, 'visitor', text);
      visitors.push(await page.evaluate(() => document.body.dataset.threadId));
    }
    const [a, b] = visitors;

    const adminHttp = await loginAdmin(server);
    const adminCtx = await context();
    await addClientCookies(adminCtx, adminHttp);
    const ap = await adminCtx.newPage();
    watch(ap, 'admin');
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
