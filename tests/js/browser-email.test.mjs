// Email in a real browser (headless Chromium, SQLite; issue 26): with
// SMTP_URL set, the visitor page shows "Email me this conversation"
// (transcript.js, loaded lazily) and the request is answered with a toast;
// the panel's Email box sets the agent's own address. Without SMTP_URL the
// visitor page has no such button. Nothing listens on the SMTP port here:
// only the pages are tested (delivery: tests/it/email.rs).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './lib/server.mjs';
import { loginAdmin } from './lib/http.mjs';
import { launchChromium } from './lib/browser.mjs';

const WAIT = 10_000;
const EMAIL_ENV = {
  SMTP_URL: 'smtp://127.0.0.1:9?tls=none',
  SMTP_FROM: 'Support <support@example.com>',
  PUBLIC_URL: 'http://127.0.0.1',
  EMAIL_NOTIFY_DELAY_SECS: '3600',
};

async function send(page, text) {
  await page.locator('#message-input').fill(text);
  await page.locator('#send-button:not([disabled])').click({ timeout: WAIT });
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('#messages .message.from-visitor[data-id] .message-text')]
      .some((n) => n.textContent === t),
    text,
    { timeout: WAIT },
  );
}

describe('email in headless Chromium (sqlite)', () => {
  let server;
  let plain;
  let browser;

  before(async () => {
    server = await startServer({ db: 'sqlite', env: EMAIL_ENV });
    plain = await startServer({ db: 'sqlite' });
    browser = await launchChromium();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    if (plain) await plain.stop();
  });

  test('the visitor asks for the transcript; the agent sets its address', async (t) => {
    const problems = [];
    const ctx = await browser.newContext({ locale: 'en-US' });
    t.after(() => ctx.close().catch(() => {}));
    ctx.setDefaultTimeout(WAIT);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => problems.push(`uncaught ${e.message}`));
    await page.goto(`${server.baseUrl}/`);
    await send(page, 'a question for the record');
    const button = page.locator('#transcript-button');
    await button.waitFor({ state: 'visible' });
    assert.equal(await button.getAttribute('aria-label'), 'Email me this conversation');
    // No address yet: the server's refusal is shown.
    await button.click();
    await page.locator('.toast-error').waitFor({ state: 'visible' });
    const stored = await page.evaluate(async () => {
      const r = await fetch('/api/visitor/identify', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-CSRFToken': document.querySelector('meta[name="csrf-token"]').content,
        },
        body: JSON.stringify({ email: 'reader@example.com' }),
      });
      return r.status;
    });
    assert.equal(stored, 200);
    await button.click();
    const ok = page.locator('.toast-info');
    await ok.waitFor({ state: 'visible' });
    assert.match(await ok.textContent(), /will be sent to your email/);

    const admin = await loginAdmin(server);
    const actx = await browser.newContext({ locale: 'en-US' });
    t.after(() => actx.close().catch(() => {}));
    actx.setDefaultTimeout(WAIT);
    await actx.addCookies([...admin.cookies].map(([name, value]) => ({ name, value, url: server.baseUrl })));
    const ap = await actx.newPage();
    ap.on('pageerror', (e) => problems.push(`panel: uncaught ${e.message}`));
    await ap.goto(`${server.baseUrl}/admin`);
    await ap.locator('#email-state summary').click();
    await ap.locator('#my-email').fill('agent@example.com');
    await ap.locator('#my-email-form button[type="submit"]').click();
    await ap.locator('#my-email-form small', { hasText: 'Saved' }).waitFor();
    const r = await admin.get('/api/email/status');
    assert.equal(r.body.my_email, 'agent@example.com', r.text);
    assert.deepEqual(problems, []);
  });

  test('without SMTP_URL the visitor page has no email button', async (t) => {
    const ctx = await browser.newContext({ locale: 'en-US' });
    t.after(() => ctx.close().catch(() => {}));
    const page = await ctx.newPage();
    await page.goto(`${plain.baseUrl}/`);
    await send(page, 'hello');
    assert.equal(await page.locator('#transcript-button').count(), 0);
    const html = await page.content();
    assert.ok(!html.includes('transcriptQueued'));
  });
});
