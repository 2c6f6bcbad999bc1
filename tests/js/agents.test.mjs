// The support team (issue 22) against the built binary: disabling an
// agent ends its Socket.IO admin sockets (real socket.io-client) within
// 5 s, on this instance and on another one sharing its Postgres database
// (no Redis: the other instance's session sweep finds the deleted
// session), and its cookie does nothing; then, in headless Chromium, an
// owner adds an agent in the panel, the agent logs in with its own
// password and code and sees its name.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './lib/server.mjs';
import { newClient, loginAdmin, loginAs } from './lib/http.mjs';
import { connectError, disconnected, emitAck, socketScope } from './lib/socket.mjs';
import { contexts, launchChromium, loginOnPage, WAIT } from './lib/browser.mjs';

const PASSWORD = 'a long enough password';

test('disabling an agent ends its sockets here and on another instance; its cookie does nothing', async (t) => {
  const one = await startServer({ db: 'postgres' });
  t.after(() => one.stop());
  const two = await startServer({ db: 'postgres', sharedDb: one.dbName });
  t.after(() => two.stop());
  const scope = socketScope(t, one);
  const scopeTwo = socketScope(t, two);

  const owner = await loginAdmin(one);
  const add = await owner.post('/api/agents', { username: 'ayse', display_name: 'Ayşe', role: 'agent', password: PASSWORD });
  assert.equal(add.status, 200, add.text);
  const id = add.body.agent.id;
  const visitor = await newClient(one);
  assert.equal((await visitor.post('/api/messages/send', { text: 'hello', type: 'text' })).status, 200);

  const here = await loginAs(one, 'ayse', PASSWORD);
  const there = await loginAs(two, 'ayse', PASSWORD);
  const socketHere = await scope.connect(here, { role: 'admin' });
  const socketThere = await scopeTwo.connect(there, { role: 'admin' });
  const ownerSocket = await scope.connect(owner, { role: 'admin' });
  const ok = await emitAck(socketHere, 'join_thread', { thread_id: visitor.threadId });
  assert.equal(ok.success, true, JSON.stringify(ok));

  const goneHere = disconnected(socketHere, 5000);
  const goneThere = disconnected(socketThere, 5000);
  const r = await owner.post(`/api/agents/${id}/disable`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(await goneHere, 'io server disconnect');
  assert.equal(await goneThere, 'io server disconnect');
  // Her cookie and a new socket do nothing, on both instances.
  assert.equal((await here.get('/api/threads')).status, 401);
  assert.equal((await there.get('/api/threads')).status, 401);
  assert.equal(await connectError(one, here, { role: 'admin' }), 'auth_error');
  assert.equal(await connectError(two, there, { role: 'admin' }), 'auth_error');
  // The owner's socket keeps its rights.
  assert.equal(ownerSocket.connected, true);
  const still = await emitAck(ownerSocket, 'join_thread', { thread_id: visitor.threadId });
  assert.equal(still.success, true, JSON.stringify(still));
});

test('an owner adds an agent in the panel; the agent logs in with its own password and code and sees its name', async (t) => {
  const server = await startServer({ db: 'sqlite' });
  t.after(() => server.stop());
  const browser = await launchChromium();
  t.after(() => browser.close().catch(() => {}));
  const { problems, context, watch } = contexts(t, browser, { locale: 'en-US', watch: { console: false } });
  const HOSTILE = '<img src=x onerror=alert(1)>';

  // ---- the owner
  const op = await (await context()).newPage();
  watch(op, 'owner page');
  await loginOnPage(op, server);
  await op.click('#agents-button');
  await op.locator('#agents-dialog').waitFor({ state: 'visible' });
  await op.locator('#agents-list .agent-item').first().waitFor();
  // An agent with a password...
  await op.fill('#agent-username', 'Ayse');
  await op.fill('#agent-name', `Ayşe ${HOSTILE}`);
  await op.fill('#agent-password', PASSWORD);
  await op.click('#agent-submit');
  await op.locator('#agents-list .agent-item', { hasText: 'ayse' }).waitFor();
  assert.equal(await op.locator('#agent-invite').isVisible(), false, 'no invite when a password was given');
  // ... and one invited: the URL is shown once.
  await op.fill('#agent-username', 'zeynep');
  await op.fill('#agent-name', 'Zeynep');
  await op.click('#agent-submit');
  await op.locator('#agent-invite').waitFor({ state: 'visible' });
  const inviteUrl = await op.locator('#agent-invite-url').inputValue();
  assert.match(inviteUrl, /\/admin\/invite\/[0-9a-f]{64}$/);
  assert.equal(await op.locator('#agents-list .agent-item').count(), 3);
  assert.equal(await op.locator('#agents-list img').count(), 0, 'a hostile name stays text');
  await op.click('#agents-close');
  await op.locator('#agents-dialog').waitFor({ state: 'hidden' });

  // ---- Ayşe logs in with her own password and code
  const agentCtx = await context();
  const ap = await agentCtx.newPage();
  watch(ap, 'agent page');
  await ap.goto(`${server.baseUrl}/admin/login`);
  await ap.fill('#username', 'ayse');
  await ap.fill('#password', PASSWORD);
  const mark = server.logIndex();
  await ap.click('#login-submit');
  await ap.locator('#otp').waitFor({ state: 'visible' });
  const line = await server.waitForLine(/login code for ayse\)/, { from: mark, timeout: WAIT, what: 'her code line' });
  assert.ok(line, 'the log line says for whom the code is');
  await ap.fill('#otp', await server.waitForOtp(mark));
  await Promise.all([ap.waitForURL((u) => new URL(u).pathname === '/admin'), ap.click('#otp-submit')]);
  assert.equal(await ap.locator('#signed-in-name').textContent(), `Ayşe ${HOSTILE}`);
  // She is no owner: her dialog has no team list; she renames herself.
  await ap.click('#agents-button');
  await ap.locator('#agents-dialog').waitFor({ state: 'visible' });
  assert.equal(await ap.locator('#agents-list').count(), 0);
  await ap.fill('#me-name', 'Ayşe K.');
  await ap.click('#me-submit');
  await ap.waitForFunction(() => document.getElementById('signed-in-name')?.textContent === 'Ayşe K.');

  // ---- the invite page sets Zeynep's password once
  const zp = await agentCtx.newPage();
  watch(zp, 'invite page');
  await zp.goto(inviteUrl);
  await zp.fill('#invite-password', PASSWORD);
  await zp.click('#invite-submit');
  await zp.locator('#invite-done').waitFor({ state: 'visible' });
  const again = await zp.goto(inviteUrl);
  assert.equal(again.status(), 404);
  assert.deepEqual(problems, []);
});
