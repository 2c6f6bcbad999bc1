// Scale-out (shared/DESIGN.md: Postgres for data, the Socket.IO Redis
// adapter for broadcasts): two instances on the same Postgres database and
// the same Redis, with the same SECRET_KEY. A visitor socket on instance A
// and an admin socket on instance B must see each other's messages and
// typing events. Needs Redis on 127.0.0.1:6379 (SOHBET_TEST_REDIS_URL
// overrides); each run uses its own channel prefix (REDIS_PREFIX) so that
// parallel runs do not cross.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { startServer, startRedisPair } from './lib/server.mjs';
import { newClient, loginAdmin } from './lib/http.mjs';
import { connect, emitAck, nextEvent, eventsOf, sleep } from './lib/socket.mjs';
import { PollingSocket, drain } from './lib/polling.mjs';


describe('two instances behind the Redis adapter (postgres)', () => {
  let a;
  let b;
  const sockets = [];

  before(async () => {
    [a, b] = await startRedisPair();
  });

  after(async () => {
    for (const s of sockets) s.close();
    // B first: A drops the shared database when it stops.
    if (b) await b.stop();
    if (a) await a.stop();
  });

  test('a visitor on A and the admin on B talk to each other', async () => {
    const visitorJar = await newClient(a);
    const visitor = await connect(a, visitorJar, { role: 'visitor' });
    sockets.push(visitor);
    const adminJar = await loginAdmin(b);
    const admin = await connect(b, adminJar, { role: 'admin' });
    sockets.push(admin);
    const { threadId } = visitorJar;
    assert.ok(threadId, 'the visitor client knows its thread id');

    // Visitor → admin: sent on A, broadcast by A, delivered by B.
    const text = `hello from A ${randomBytes(4).toString('hex')}`;
    const sinceAdmin = admin.log.length;
    const ack = await emitAck(visitor, 'message_from_visitor', { text, type: 'text' });
    assert.equal(ack?.success, true, `visitor send failed: ${JSON.stringify(ack)}`);
    const got = await nextEvent(admin, 'message_from_visitor', {
      since: sinceAdmin,
      timeout: 5000,
      where: (m) => m?.content_text === text,
    });
    assert.equal(got.thread_id, threadId);
    assert.equal(got.sender_type, 'visitor');

    // Admin → visitor: sent on B, delivered by A.
    const answer = `reply from B ${randomBytes(4).toString('hex')}`;
    const sinceVisitor = visitor.log.length;
    const rack = await emitAck(admin, 'message_to_visitor', { thread_id: threadId, text: answer, type: 'text' });
    assert.equal(rack?.success, true, `admin send failed: ${JSON.stringify(rack)}`);
    const back = await nextEvent(visitor, 'message_to_visitor', {
      since: sinceVisitor,
      timeout: 5000,
      where: (m) => m?.content_text === answer,
    });
    assert.equal(back.thread_id, threadId);
    assert.equal(back.sender_type, 'admin');

    // Socket-to-room broadcast (`s.to(room)`) crosses instances too.
    const sinceTyping = admin.log.length;
    const tack = await emitAck(visitor, 'typing', { thread_id: threadId });
    assert.equal(tack?.success, true, `typing failed: ${JSON.stringify(tack)}`);
    const typing = await nextEvent(admin, 'typing', { since: sinceTyping, timeout: 5000 });
    assert.deepEqual(typing, { thread_id: threadId, sender_type: 'visitor' });

    // Each message is delivered once (no echo through Redis).
    await sleep(300);
    assert.equal(eventsOf(admin, 'message_from_visitor', sinceAdmin).filter((m) => m?.content_text === text).length, 1);
    assert.equal(eventsOf(visitor, 'message_to_visitor', sinceVisitor).filter((m) => m?.content_text === answer).length, 1);
  });

  test('an admin socket on B that stops reading is cut off after a gap-free prefix (issue #9 § 3)', async () => {
    const adminJar = await loginAdmin(b);
    const slow = new PollingSocket(b, adminJar);
    await slow.connect({ csrf_token: adminJar.csrf, role: 'admin' });

    // The slow admin on B stops polling; visitors on A send more messages
    // than its buffer holds, each acknowledged.
    const visitors = [];
    for (let i = 0; i < 4; i += 1) {
      const jar = await newClient(a);
      const socket = await connect(a, jar, { role: 'visitor' });
      sockets.push(socket);
      visitors.push({ jar, socket });
    }
    const PER_VISITOR = 350;
    const acked = [];
    const ackedBy = new Map(); // thread id → its acknowledged ids, in order
    await Promise.all(visitors.map(async ({ jar, socket }) => {
      const mine = [];
      ackedBy.set(jar.threadId, mine);
      for (let n = 0; n < PER_VISITOR; n += 1) {
        const ack = await emitAck(socket, 'message_from_visitor', { text: `m${n}`, type: 'text', client_id: `c${n}` });
        assert.equal(ack?.success, true, JSON.stringify(ack));
        acked.push(ack.message.id);
        mine.push(ack.message.id);
      }
    }));
    acked.sort((x, y) => x - y);

    const { received, byThread, disconnected } = await drain(slow);
    assert.ok(received.length < acked.length,
      `the test must overflow the admin's buffer (received ${received.length} of ${acked.length})`);
    assert.ok(disconnected, `the slow admin on B was not disconnected after missing ${acked.length - received.length} messages`);
    // Several Postgres writers commit different threads in parallel, so the
    // order holds per thread (what a page shows and catches up on): each
    // thread's events are a gap-free prefix of its acknowledged messages.
    for (const [threadId, ids] of byThread) {
      const mine = ackedBy.get(threadId) ?? [];
      assert.deepEqual(ids, mine.slice(0, ids.length),
        `what the slow admin on B received of thread ${threadId} is not a gap-free prefix of its acknowledged messages`);
    }
  });
});

describe('REDIS_URL set but Redis unreachable', () => {
  test('start-up fails with an error naming REDIS_URL', async () => {
    await assert.rejects(
      startServer({ env: { REDIS_URL: 'redis://127.0.0.1:1' } }),
      (e) => {
        assert.match(e.message, /server exited/);
        assert.match(e.message, /REDIS_URL/);
        return true;
      },
    );
  });
});
