// The admin's thread tools over Socket.IO (issue 13), against the built
// binary, once with SQLite and once with Postgres: close_thread /
// reopen_thread / block_thread / unblock_thread with acks, `thread_updated`
// to every admin socket (also when a visitor's message reopens a thread or
// the change came over HTTP), a blocked visitor refused (ack `BLOCKED`, or
// `message_error {type: "blocked"}` without an ack) and restored by
// unblocking, and visitors refused the admin events.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, startRedisPair } from './lib/server.mjs';
import { newClient, loginAdmin } from './lib/http.mjs';
import { emitAck, nextEvent, socketScope } from './lib/socket.mjs';
import { assertAckError } from './lib/assertions.mjs';

for (const db of ['sqlite', 'postgres']) {
  describe(`thread tools over Socket.IO (${db})`, () => {
    let server;

    before(async () => {
      server = await startServer({ db });
    });

    after(async () => {
      if (server) await server.stop();
    });

    async function visitor(scope) {
      const client = await newClient(server);
      const socket = await scope.connect(client, { role: 'visitor' });
      return { client, socket };
    }

    async function admin(scope) {
      const client = await loginAdmin(server);
      const socket = await scope.connect(client, { role: 'admin' });
      return { client, socket };
    }

    async function say(socket, text) {
      const ack = await emitAck(socket, 'message_from_visitor', { text, type: 'text' });
      assert.equal(ack?.success, true, `visitor send failed: ${JSON.stringify(ack)}`);
      return ack.message;
    }

    const updateOf = (socket, id, where = () => true) => nextEvent(socket, 'thread_updated', {
      timeout: 5000,
      where: (p) => p?.id === id && where(p),
    });

    test('close and reopen with acks; every admin socket gets thread_updated; a visitor message reopens', async (t) => {
      const scope = socketScope(t, server);
      const a = await admin(scope);
      const other = await admin(scope);
      const v = await visitor(scope);
      const tid = v.client.threadId;
      await say(v.socket, 'hello');

      let seen = updateOf(other.socket, tid);
      const closed = await emitAck(a.socket, 'close_thread', { thread_id: tid });
      assert.equal(closed.success, true, JSON.stringify(closed));
      const me = await a.client.get('/api/agents/me');
      assert.equal(typeof me.body?.agent?.id, 'number', me.text);
      assert.deepEqual(closed.thread, {
        id: tid, status: 'closed', blocked: false, blocked_at: null, change: 'close', by: { id: me.body.agent.id, name: 'admin' }, assignee: null,
      });
      assert.deepEqual(await seen, closed.thread, 'the other admin socket is told');

      seen = updateOf(a.socket, tid, (p) => p.status === 'open');
      await say(v.socket, 'one more question');
      assert.deepEqual(await seen, { id: tid, status: 'open', blocked: false, blocked_at: null, change: 'visitor' });

      // A change over HTTP reaches the sockets too.
      seen = updateOf(a.socket, tid, (p) => p.status === 'closed');
      const r = await a.client.post(`/api/threads/${tid}/close`, {});
      assert.equal(r.status, 200, r.text);
      await seen;
      seen = updateOf(other.socket, tid, (p) => p.status === 'open');
      const reopened = await emitAck(a.socket, 'reopen_thread', { thread_id: tid });
      assert.equal(reopened.thread.status, 'open');
      await seen;

      const list = await a.client.get('/api/threads');
      assert.equal(list.body.threads.find((x) => x.id === tid).status, 'open');
    });

    test('a blocked visitor is refused on the socket (ack and message_error) until unblocked', async (t) => {
      const scope = socketScope(t, server);
      const a = await admin(scope);
      const v = await visitor(scope);
      const tid = v.client.threadId;
      await say(v.socket, 'before');

      const seen = updateOf(a.socket, tid, (p) => p.blocked);
      const blocked = await emitAck(a.socket, 'block_thread', { thread_id: tid });
      assert.equal(blocked.success, true, JSON.stringify(blocked));
      assert.equal(blocked.thread.blocked, true);
      assert.equal(typeof blocked.thread.blocked_at, 'string');
      await seen;

      assertAckError(await emitAck(v.socket, 'message_from_visitor', { text: 'let me in', type: 'text' }), 'BLOCKED');
      // Its typing reaches no admin: the admin sees the typing after the unblock first.
      const sinceTyping = a.socket.log.length;
      assert.equal((await emitAck(v.socket, 'typing', {})).success, true);
      // Without an ack: message_error {type: "blocked"}.
      const err = nextEvent(v.socket, 'message_error', 5000);
      v.socket.emit('message_from_visitor', { text: 'no ack', type: 'text' });
      const e = await err;
      assert.equal(e.type, 'blocked');
      assert.equal(e.code, 'BLOCKED');
      assert.match(e.message, /^Sorry/);
      // Over HTTP too; nothing was stored.
      const r = await v.client.post('/api/messages/send', { text: 'via http', type: 'text' });
      assert.equal(r.status, 403);
      assert.equal(r.body.code, 'BLOCKED');
      assert.deepEqual((await v.client.messages()).map((m) => m.content_text), ['before']);

      const unblocked = await emitAck(a.socket, 'unblock_thread', { thread_id: tid });
      assert.equal(unblocked.thread.blocked, false);
      const typing = nextEvent(a.socket, 'typing', { since: sinceTyping, timeout: 5000, where: (p) => p?.thread_id === tid });
      assert.equal((await emitAck(v.socket, 'typing', {})).success, true);
      await typing;
      const typings = a.socket.log.slice(sinceTyping).filter((e) => e.name === 'typing' && e.data?.thread_id === tid);
      assert.equal(typings.length, 1, 'only the typing after the unblock reached the admin');
      await say(v.socket, 'after');
      assert.deepEqual((await v.client.messages()).map((m) => m.content_text), ['before', 'after']);
    });

    test('visitors may not use the admin events; an unknown thread is NOT_FOUND', async (t) => {
      const scope = socketScope(t, server);
      const a = await admin(scope);
      const v = await visitor(scope);
      const tid = v.client.threadId;
      await say(v.socket, 'hi');
      for (const ev of ['close_thread', 'reopen_thread', 'block_thread', 'unblock_thread']) {
        assertAckError(await emitAck(v.socket, ev, { thread_id: tid }), 'UNAUTHORIZED');
        assertAckError(await emitAck(a.socket, ev, { thread_id: '00000000-0000-4000-8000-000000000000' }), 'NOT_FOUND');
        assertAckError(await emitAck(a.socket, ev, {}), 'VALIDATION_ERROR');
      }
      const list = await a.client.get('/api/threads');
      const row = list.body.threads.find((x) => x.id === tid);
      assert.equal(row.status, 'open');
      assert.equal(row.blocked, false);
      await say(v.socket, 'still fine');
    });
  });
}

// Two instances on one Postgres and one Redis (as scale.test.mjs): a block
// made on B reaches A's in-memory set of blocked threads through the chat
// events' Redis channel (A's admins get `thread_updated` after A applied
// it), so A refuses the visitor; an unblock on B restores it on A.

describe('thread tools across two instances (postgres, Redis)', () => {
  let a;
  let b;

  before(async () => {
    [a, b] = await startRedisPair();
  });

  after(async () => {
    if (b) await b.stop();
    if (a) await a.stop();
  });

  test('a block on B is enforced on A; thread_updated reaches the admins of A', async (t) => {
    const scopeA = socketScope(t, a);
    const scopeB = socketScope(t, b);
    const vJar = await newClient(a);
    const visitor = await scopeA.connect(vJar, { role: 'visitor' });
    const adminA = await scopeA.connect(await loginAdmin(a), { role: 'admin' });
    const adminB = await scopeB.connect(await loginAdmin(b), { role: 'admin' });
    const tid = vJar.threadId;
    let ack = await emitAck(visitor, 'message_from_visitor', { text: 'hello', type: 'text' });
    assert.equal(ack.success, true, JSON.stringify(ack));

    let seen = nextEvent(adminA, 'thread_updated', { timeout: 5000, where: (p) => p?.id === tid && p.blocked });
    assert.equal((await emitAck(adminB, 'block_thread', { thread_id: tid })).success, true);
    await seen;
    assertAckError(await emitAck(visitor, 'message_from_visitor', { text: 'on A', type: 'text' }), 'BLOCKED');

    seen = nextEvent(adminA, 'thread_updated', { timeout: 5000, where: (p) => p?.id === tid && !p.blocked });
    assert.equal((await emitAck(adminB, 'unblock_thread', { thread_id: tid })).success, true);
    await seen;
    ack = await emitAck(visitor, 'message_from_visitor', { text: 'back on A', type: 'text' });
    assert.equal(ack.success, true, JSON.stringify(ack));
    assert.deepEqual((await vJar.messages()).map((m) => m.content_text), ['hello', 'back on A']);
  });
});
