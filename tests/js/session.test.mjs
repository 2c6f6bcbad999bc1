// Issue 8 item 5: an admin socket keeps no admin rights once its session
// ended, whether by logout (here or on another instance) or by idle expiry.
// Real Socket.IO client against the built binary.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { startServer } from './lib/server.mjs';
import { Client, newClient, loginAdmin } from './lib/http.mjs';
import { connectError, disconnected, emitAck, sleep, socketScope } from './lib/socket.mjs';

/** A visitor with a thread (one message sent). */
async function visitorWithThread(server) {
  const v = await newClient(server);
  const r = await v.post('/api/messages/send', { text: 'hello', type: 'text' });
  assert.equal(r.status, 200, r.text);
  return v;
}

/** The texts stored in the visitor's thread. */
async function texts(visitor) {
  return (await visitor.messages()).map((m) => m.content_text);
}

test('logout disconnects the session\'s sockets; a message sent right after is not stored', async (t) => {
  const server = await startServer({ db: 'sqlite' });
  t.after(() => server.stop());
  const scope = socketScope(t, server);
  const visitor = await visitorWithThread(server);
  const admin = await loginAdmin(server);
  const socket = await scope.connect(admin, { role: 'admin' });
  // A second admin socket of the same session, and one of another session.
  const second = await scope.connect(admin, { role: 'admin' });
  const otherAdmin = await loginAdmin(server);
  const other = await scope.connect(otherAdmin, { role: 'admin' });

  const before = await emitAck(socket, 'message_to_visitor', {
    thread_id: visitor.threadId, text: 'before logout', type: 'text',
  });
  assert.equal(before.success, true, JSON.stringify(before));

  const gone = disconnected(socket, 5000);
  const secondGone = disconnected(second, 5000);
  const out = await admin.post('/admin/logout', {});
  assert.equal(out.status, 200, out.text);
  socket.emit('message_to_visitor', { thread_id: visitor.threadId, text: 'sent after logout', type: 'text' });
  assert.equal(await gone, 'io server disconnect');
  assert.equal(await secondGone, 'io server disconnect');

  await sleep(300);
  assert.deepEqual(await texts(visitor), ['hello', 'before logout']);
  // The other session's socket keeps its rights.
  assert.equal(other.connected, true);
  const ok = await emitAck(other, 'join_thread', { thread_id: visitor.threadId });
  assert.equal(ok.success, true, JSON.stringify(ok));
  // The ended session cannot open a new admin socket.
  assert.equal(await connectError(server, admin, { role: 'admin' }), 'auth_error');
});

test('an idle-expired session loses its socket', async (t) => {
  const server = await startServer({ db: 'sqlite', env: { SESSION_IDLE_SECS: '2' } });
  t.after(() => server.stop());
  const scope = socketScope(t, server);
  const visitor = await visitorWithThread(server);
  const admin = await loginAdmin(server);
  const socket = await scope.connect(admin, { role: 'admin' });
  const ok = await emitAck(socket, 'join_thread', { thread_id: visitor.threadId });
  assert.equal(ok.success, true, JSON.stringify(ok));
  // Idle 2 s, swept every 3 s: gone well within 10 s, without any request.
  assert.equal(await disconnected(socket, 10_000), 'io server disconnect');
  assert.equal((await admin.get('/api/threads')).status, 401);
  assert.equal(await connectError(server, admin, { role: 'admin' }), 'auth_error');
  assert.deepEqual(await texts(visitor), ['hello']);
});

test('after a logout on another instance, the socket here is refused and disconnected', async (t) => {
  const env = { SECRET_KEY: randomBytes(48).toString('hex') };
  const a = await startServer({ db: 'postgres', env });
  t.after(() => a.stop());
  const b = await startServer({ db: 'postgres', env, sharedDb: a.dbName });
  t.after(() => b.stop());
  const scopeB = socketScope(t, b);
  const visitor = await visitorWithThread(a);
  const adminA = await loginAdmin(a);
  // The same browser (cookies) on instance B.
  const adminB = new Client(b);
  adminB.cookies = new Map(adminA.cookies);
  await adminB.session();
  assert.equal(adminB.role, 'admin');
  // No event yet, so B has no cached confirmation of the session.
  const socket = await scopeB.connect(adminB, { role: 'admin' });

  const gone = disconnected(socket, 10_000);
  assert.equal((await adminA.post('/admin/logout', {})).status, 200);
  // B's next admin event re-checks the session and is refused (unless B's
  // sweep, every 3 s, disconnected the socket first: then it is never read).
  const late = await emitAck(socket, 'message_to_visitor', {
    thread_id: visitor.threadId, text: 'sent after logout', type: 'text',
  }).catch(() => null);
  if (late !== null) {
    assert.equal(late.success, false, JSON.stringify(late));
    assert.equal(late.code, 'UNAUTHORIZED', JSON.stringify(late));
  }
  assert.equal(await gone, 'io server disconnect');
  await sleep(300);
  assert.deepEqual(await texts(visitor), ['hello']);
});
