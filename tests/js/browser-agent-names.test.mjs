// Agents' names on the visitor page in a real browser (headless Chromium
// through playwright-core, SQLite; issue 22 item 3): an answer shows its
// agent's name with the initials before it (`sender_name`), and with
// AGENT_NAMES_VISIBLE=false the same answer shows the support name only.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './lib/server.mjs';
import { loginAdmin } from './lib/http.mjs';
import { useChromium, watchPage, WAIT } from './lib/browser.mjs';

/** The visitor writes, the agent "Ayşe Yılmaz" answers; returns the answer's label. */
async function answerLabel(server, browser) {
  const context = await browser.newContext({ locale: 'en-US' });
  context.setDefaultTimeout(WAIT);
  try {
    const page = await context.newPage();
    const problems = [];
    watchPage(page, null, problems, { console: false, dialogs: false });
    await page.goto(`${server.baseUrl}/`);
    await page.locator('#message-input').fill('Hello?');
    await page.locator('#send-button:not([disabled])').click();
    await page.waitForSelector('#messages .message.from-visitor[data-id]');
    const threadId = await page.evaluate(() => document.body.dataset.threadId);

    const admin = await loginAdmin(server);
    const renamed = await admin.request('PATCH', '/api/agents/me', { body: { display_name: 'Ayşe Yılmaz' } });
    assert.equal(renamed.status, 200, renamed.text);
    const sent = await admin.post('/api/messages/send', { thread_id: threadId, text: 'Hi, how can I help?' });
    assert.equal(sent.status, 200, sent.text);

    const head = page.locator('#messages .message.from-admin[data-id] .message-sender');
    await head.waitFor({ state: 'attached' });
    const label = await head.evaluate((n) => ({
      text: n.textContent,
      initials: n.dataset.initials || null,
      before: getComputedStyle(n, '::before').content,
      visible: n.getBoundingClientRect().width > 1,
    }));
    assert.deepEqual(problems, []);
    return label;
  } finally {
    await context.close().catch(() => {});
  }
}

describe('agent names on the visitor page (headless Chromium, sqlite)', () => {
  const suite = useChromium({ server: false });

  test('an answer shows its agent\'s name and initials', async () => {
    const server = await startServer({ db: 'sqlite' });
    try {
      const label = await answerLabel(server, suite.browser);
      assert.deepEqual(label, { text: 'Ayşe Yılmaz', initials: 'AY', before: '"AY"', visible: true });
    } finally {
      await server.stop();
    }
  });

  test('AGENT_NAMES_VISIBLE=false shows the support name only', async () => {
    const server = await startServer({ db: 'sqlite', env: { AGENT_NAMES_VISIBLE: 'false', ADMIN_DISPLAY_NAME: 'Destek' } });
    try {
      const label = await answerLabel(server, suite.browser);
      assert.equal(label.text, 'Destek');
      assert.equal(label.initials, 'D');
    } finally {
      await server.stop();
    }
  });
});
