// Abuse hardening of sohbet's Socket.IO and REST edges, against the built
// binary with SQLite (docs/api.md, shared/DESIGN.md § Rate limits):
//
// 1. message rate limits per session and per client IP, over Socket.IO
//    (ack / message_error) and REST, sharing one budget;
// 2. X-Forwarded-For is ignored without TRUST_PROXY and honoured (right-most
//    untrusted hop) with it;
// 3. the per-IP socket cap (MAX_SOCKETS_PER_IP);
// 4. transport size limits (1 MiB WebSocket message, 100 KB polling body);
// 5. the server's own catch-up replay after a reconnect (auth.last_message_id);
// 6. the per-IP budget of other events (typing) and what reaches the admin.
//
// Each scenario that needs its own limits starts its own server; the
// harness's relaxed defaults apply to everything not overridden.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './lib/server.mjs';
import { newClient, loginAdmin } from './lib/http.mjs';
import {
  connectError, emitAck, nextEvent, noEvent, eventsOf, sleep, socketScope,
} from './lib/socket.mjs';
import { assertMessage, assertAckError, assertHttpError } from './lib/assertions.mjs';

// ------------------------------------------------------------------ helpers

/**
 * Starts a server for one test; after it, closes the test's sockets and then
 * stops the server (asserting a clean exit). Returns {server, scope}.
 */
async function serverFor(t, env) {
  const server = await startServer({ db: 'sqlite', env });
  const scope = socketScope(t, server);
  t.after(() => server.stop());
  return { server, scope };
}

/** A visitor browser with one connected visitor socket. */
async function visitor(server, scope, options = {}) {
  const client = await newClient(server);
  const socket = await scope.connect(client, { role: 'visitor', ...options });
  return { client, socket };
}

/** A logged-in admin browser with one connected admin socket. */
async function admin(server, scope, options = {}) {
  const client = await loginAdmin(server);
  const socket = await scope.connect(client, { role: 'admin', ...options });
  return { client, socket };
}

/** emitAck that turns a missing ack into a readable failure. */
async function ack(socket, event, ...args) {
  try {
    return await emitAck(socket, event, ...args);
  } catch (e) {
    throw new Error(`${event}: no ack (${e.message}); connected=${socket.connected}`);
  }
}

/** A visitor message over Socket.IO; asserts it was accepted. */
async function say(socket, text, extra = {}) {
  const a = await ack(socket, 'message_from_visitor', { text, type: 'text', ...extra });
  assert.equal(a?.success, true, `message_from_visitor "${text}" was refused: ${JSON.stringify(a)}`);
  return a.message;
}

/** An admin reply over Socket.IO; asserts it was accepted. */
async function reply(socket, threadId, text) {
  const a = await ack(socket, 'message_to_visitor', { thread_id: threadId, text, type: 'text' });
  assert.equal(a?.success, true, `message_to_visitor "${text}" was refused: ${JSON.stringify(a)}`);
  return a.message;
}

/** POST /api/messages/send as `client` (optionally with extra headers). */
function restSend(client, body, headers = {}) {
  return client.post('/api/messages/send', { type: 'text', ...body }, { headers });
}

/** A 429 RATE_LIMITED REST answer with a Retry-After header. */
function assertRest429(res, what) {
  assertHttpError(res, 429, 'RATE_LIMITED');
  const ra = res.headers.get('retry-after');
  assert.ok(ra && Number(ra) >= 1, `${what}: Retry-After must be a positive number of seconds, got ${ra}`);
}

/** Waits until `socket` disconnects; resolves with the reason. */
function disconnected(socket, timeout = 5000) {
  if (!socket.connected) return Promise.resolve('already disconnected');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the socket was not disconnected within ${timeout} ms`)), timeout);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

/** Retries `fn` until it resolves (or `timeout` passes, then rethrows). */
async function eventually(fn, { timeout = 3000, every = 100 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() >= end) throw e;
      await sleep(every);
    }
  }
}

async function assertLive(server) {
  const r = await fetch(`${server.baseUrl}/health/live`);
  assert.equal(r.status, 200, `/health/live → ${r.status}`);
  assert.equal(server.exitInfo(), null, 'the server process is still running');
}

// ============================================ 1. message rate limits (socket)

describe('message rate limit per session (RATE_LIMIT_MESSAGES_PER_MINUTE=3)', () => {
  let server;
  before(async () => {
    server = await startServer({ db: 'sqlite', env: { RATE_LIMIT_MESSAGES_PER_MINUTE: '3' } });
  });
  after(async () => {
    if (server) await server.stop();
  });

  test("a visitor's 4th message_from_visitor within a minute is acked RATE_LIMITED; only 3 are stored", async (t) => {
    const scope = socketScope(t, server);
    const V = await visitor(server, scope);
    const sent = [];
    for (let i = 1; i <= 3; i += 1) sent.push(await say(V.socket, `within budget ${i}`));
    const fourth = await ack(V.socket, 'message_from_visitor', { text: 'over budget (4th)', type: 'text' });
    assertAckError(fourth, 'RATE_LIMITED');
    // The alias counts against the same budget.
    assertAckError(await ack(V.socket, 'message_to_admin', { text: 'over budget (alias)', type: 'text' }), 'RATE_LIMITED');
    const stored = await V.client.messages(V.client.threadId, 'limit=200');
    assert.deepEqual(stored.map((m) => m.content_text), sent.map((m) => m.content_text), 'only the 3 accepted messages are stored');
  });

  test('without an ack the refusal is message_error {type: rate_limited, code: RATE_LIMITED}', async (t) => {
    const scope = socketScope(t, server);
    const A = await admin(server, scope);
    const V = await visitor(server, scope);
    for (let i = 1; i <= 3; i += 1) await say(V.socket, `no-ack budget ${i}`);
    const aSince = A.socket.log.length;
    const err = nextEvent(V.socket, 'message_error');
    V.socket.emit('message_from_visitor', { text: 'over budget, no ack', type: 'text' });
    const e = await err;
    assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'type'], JSON.stringify(e));
    assert.equal(e.type, 'rate_limited', JSON.stringify(e));
    assert.equal(e.code, 'RATE_LIMITED', JSON.stringify(e));
    assert.ok(typeof e.message === 'string' && e.message.length > 0);
    await noEvent(A.socket, 'message_from_visitor', 300, {
      since: aSince, where: (m) => m?.content_text === 'over budget, no ack',
    });
    assert.equal((await V.client.messages()).length, 3, 'only 3 stored');
  });

  test('another visitor (another cookie jar, same IP) is not starved', async (t) => {
    const scope = socketScope(t, server);
    const V1 = await visitor(server, scope);
    const V2 = await visitor(server, scope);
    for (let i = 1; i <= 3; i += 1) await say(V1.socket, `V1 ${i}`);
    assertAckError(await ack(V1.socket, 'message_from_visitor', { text: 'V1 4', type: 'text' }), 'RATE_LIMITED');
    // V2 has its own budget of 3 (over the socket and REST alike).
    await say(V2.socket, 'V2 1');
    await say(V2.socket, 'V2 2');
    const r = await restSend(V2.client, { text: 'V2 3 (REST)' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await V2.client.messages()).length, 3);
    assert.equal((await V1.client.messages()).length, 3);
  });

  test('REST and Socket.IO sends count against the same session budget', async (t) => {
    const scope = socketScope(t, server);
    const V = await visitor(server, scope);
    const r1 = await restSend(V.client, { text: 'REST 1' });
    assert.equal(r1.status, 200, r1.text);
    await say(V.socket, 'socket 2');
    const r3 = await restSend(V.client, { text: 'REST 3' });
    assert.equal(r3.status, 200, r3.text);
    assertAckError(await ack(V.socket, 'message_from_visitor', { text: 'socket 4', type: 'text' }), 'RATE_LIMITED');
    assertRest429(await restSend(V.client, { text: 'REST 5' }), 'REST after the budget');
    assert.deepEqual((await V.client.messages()).map((m) => m.content_text), ['REST 1', 'socket 2', 'REST 3']);

    // The other way round: socket sends first, then REST is refused.
    const W = await visitor(server, scope);
    for (let i = 1; i <= 3; i += 1) await say(W.socket, `W socket ${i}`);
    assertRest429(await restSend(W.client, { text: 'W REST 4' }), 'REST after 3 socket sends');
    assert.equal((await W.client.messages()).length, 3);
  });

  test("the admin's message_to_visitor has its own per-session budget", async (t) => {
    const scope = socketScope(t, server);
    const V = await visitor(server, scope);
    await say(V.socket, 'a thread for the admin');
    const A = await admin(server, scope);
    for (let i = 1; i <= 3; i += 1) await reply(A.socket, V.client.threadId, `admin ${i}`);
    assertAckError(
      await ack(A.socket, 'message_to_visitor', { thread_id: V.client.threadId, text: 'admin 4', type: 'text' }),
      'RATE_LIMITED',
    );
    assert.deepEqual(
      (await V.client.messages()).map((m) => m.content_text),
      ['a thread for the admin', 'admin 1', 'admin 2', 'admin 3'],
    );
  });
});

describe('message rate limit per IP (RATE_LIMIT_MESSAGES_PER_IP_PER_MINUTE=5, per session high)', () => {
  test('two visitors from the same IP together get 5 messages, then RATE_LIMITED', async (t) => {
    const { server, scope } = await serverFor(t, {
      RATE_LIMIT_MESSAGES_PER_IP_PER_MINUTE: '5',
      RATE_LIMIT_MESSAGES_PER_MINUTE: '1000',
    });
    const V1 = await visitor(server, scope);
    const V2 = await visitor(server, scope);
    const results = [];
    for (let i = 1; i <= 7; i += 1) {
      const who = i % 2 ? V1 : V2;
      const a = await ack(who.socket, 'message_from_visitor', { text: `shared IP ${i}`, type: 'text' });
      results.push(a?.success === true ? 'ok' : a?.code);
    }
    assert.deepEqual(
      results,
      ['ok', 'ok', 'ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED'],
      'the 6th and 7th message from one IP must be refused',
    );
    // A third browser on the same IP, over REST, is refused too.
    const V3 = await newClient(server);
    assertRest429(await restSend(V3, { text: 'third browser, REST' }), 'REST from the same IP');
    const stored = (await V1.client.messages()).length + (await V2.client.messages()).length;
    assert.equal(stored, 5, 'exactly 5 messages stored for the IP');
  });
});

// ======================================================= 2. X-Forwarded-For

describe('X-Forwarded-For and the per-IP limit (RATE_LIMIT_MESSAGES_PER_IP_PER_MINUTE=3)', () => {
  const limits = { RATE_LIMIT_MESSAGES_PER_IP_PER_MINUTE: '3', RATE_LIMIT_MESSAGES_PER_MINUTE: '1000' };

  test('TRUST_PROXY=false: a rotating X-Forwarded-For on REST does not escape the limit', async (t) => {
    const { server } = await serverFor(t, { ...limits, TRUST_PROXY: 'false' });
    const results = [];
    for (let i = 1; i <= 6; i += 1) {
      const c = await newClient(server);
      const r = await restSend(c, { text: `rotating XFF ${i}` }, { 'X-Forwarded-For': `203.0.113.${i}` });
      results.push(r.status);
      if (r.status !== 200) assertRest429(r, `REST #${i}`);
    }
    assert.deepEqual(results, [200, 200, 200, 429, 429, 429]);
  });

  test('TRUST_PROXY=false: a rotating X-Forwarded-For on the socket handshake does not escape the limit', async (t) => {
    const { server, scope } = await serverFor(t, { ...limits, TRUST_PROXY: 'false' });
    const results = [];
    for (let i = 1; i <= 6; i += 1) {
      const V = await visitor(server, scope, { headers: { 'x-forwarded-for': `203.0.113.${i}` } });
      const a = await ack(V.socket, 'message_from_visitor', { text: `rotating XFF socket ${i}`, type: 'text' });
      results.push(a?.success === true ? 'ok' : a?.code);
    }
    assert.deepEqual(results, ['ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
  });

  test('TRUST_PROXY=true (peer 127.0.0.1 is a trusted proxy): distinct right-most XFF addresses are distinct clients (REST)', async (t) => {
    const { server } = await serverFor(t, { ...limits, TRUST_PROXY: 'true' });
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      for (let i = 1; i <= 3; i += 1) {
        const c = await newClient(server);
        const r = await restSend(c, { text: `${ip} #${i}` }, { 'X-Forwarded-For': ip });
        assert.equal(r.status, 200, `${ip} send ${i}: ${r.text}`);
      }
    }
    // Each of them has now spent its own budget…
    assertRest429(
      await restSend(await newClient(server), { text: '203.0.113.1 #4' }, { 'X-Forwarded-For': '203.0.113.1' }),
      '4th from 203.0.113.1',
    );
    // …and forging left-most entries does not hide the right-most client.
    const results = [];
    for (let i = 1; i <= 5; i += 1) {
      const c = await newClient(server);
      const r = await restSend(c, { text: `forged ${i}` }, { 'X-Forwarded-For': `198.51.100.${i}, 203.0.113.9` });
      results.push(r.status);
    }
    assert.deepEqual(results, [200, 200, 200, 429, 429], 'the client is 203.0.113.9 whatever precedes it');
  });

  test('TRUST_PROXY=true: distinct right-most XFF addresses on the socket handshake are distinct clients', async (t) => {
    const { server, scope } = await serverFor(t, { ...limits, TRUST_PROXY: 'true' });
    const byIp = {};
    for (const ip of ['203.0.113.1', '203.0.113.2']) {
      const V = await visitor(server, scope, { headers: { 'x-forwarded-for': ip } });
      byIp[ip] = V;
      for (let i = 1; i <= 3; i += 1) await say(V.socket, `${ip} socket ${i}`);
    }
    // The 4th of one address is refused, whichever visitor of it sends.
    const same = await visitor(server, scope, { headers: { 'x-forwarded-for': '198.51.100.77, 203.0.113.1' } });
    const a = await ack(same.socket, 'message_from_visitor', { text: '203.0.113.1 socket 4', type: 'text' });
    assertAckError(a, 'RATE_LIMITED');
    assertAckError(
      await ack(byIp['203.0.113.2'].socket, 'message_from_visitor', { text: '203.0.113.2 socket 4', type: 'text' }),
      'RATE_LIMITED',
    );
    // A third address still has its budget.
    const fresh = await visitor(server, scope, { headers: { 'x-forwarded-for': '203.0.113.3' } });
    await say(fresh.socket, '203.0.113.3 socket 1');
  });
});

// ===================================================== 3. socket cap per IP

describe('MAX_SOCKETS_PER_IP=3', () => {
  test('the 4th concurrent socket from 127.0.0.1 is refused with rate_limited; a closed one frees a place', async (t) => {
    const { server, scope } = await serverFor(t, { MAX_SOCKETS_PER_IP: '3' });
    const c = await newClient(server);
    const s1 = await scope.connect(c, { role: 'visitor' });
    await scope.connect(await newClient(server), { role: 'visitor' });
    await scope.connect(await newClient(server), { role: 'visitor' });

    assert.equal(await connectError(server, c, { role: 'visitor' }), 'rate_limited', '4th socket (websocket)');
    assert.equal(await connectError(server, c, { role: 'visitor', transports: ['polling'] }), 'rate_limited', '4th socket (polling)');
    const admin = await loginAdmin(server);
    assert.equal(await connectError(server, admin, { role: 'admin' }), 'rate_limited', 'an admin socket counts too');
    // Refused handshakes took no place: still exactly one free after one close.
    scope.close(s1);
    const s4 = await eventually(() => scope.connect(c, { role: 'visitor' }));
    assert.equal(s4.connected, true);
    const m = await say(s4, 'the replacement socket works');
    assertMessage(m, { thread_id: c.threadId });
    assert.equal(await connectError(server, c, { role: 'visitor' }), 'rate_limited', 'full again');
  });
});

// ========================================================= 4. transport limits

describe('transport size limits', () => {
  let server;
  before(async () => {
    server = await startServer({ db: 'sqlite' });
  });
  after(async () => {
    if (server) await server.stop();
  });

  test('a single event larger than 1 MiB over WebSocket closes that connection only', async (t) => {
    const scope = socketScope(t, server);
    const A = await admin(server, scope);
    const big = await visitor(server, scope);
    const other = await visitor(server, scope);
    const aSince = A.socket.log.length;
    const gone = disconnected(big.socket);
    big.socket.emit('message_from_visitor', { text: 'x'.repeat((1 << 20) + 1024), type: 'text' });
    const reason = await gone;
    assert.ok(typeof reason === 'string', `disconnect reason ${reason}`);
    await assertLive(server);
    // The other sockets keep working both ways.
    const seen = nextEvent(A.socket, 'message_from_visitor', { where: (m) => m?.thread_id === other.client.threadId });
    const m = await say(other.socket, 'still alive after the big frame');
    assert.deepEqual(await seen, m);
    await reply(A.socket, other.client.threadId, 'admin still alive');
    // Nothing of the oversized event was stored or broadcast.
    assert.deepEqual(await big.client.messages(), []);
    assert.deepEqual(eventsOf(A.socket, 'message_from_visitor', aSince).filter((x) => x.thread_id === big.client.threadId), []);
    // The same browser may connect again.
    const again = await scope.connect(big.client, { role: 'visitor' });
    await say(again, 'reconnected after the big frame');
  });

  test('an event of 200 KB (over 4000 chars, under 1 MiB) over WebSocket is answered VALIDATION_ERROR, not dropped', async (t) => {
    const scope = socketScope(t, server);
    const V = await visitor(server, scope);
    assertAckError(await ack(V.socket, 'message_from_visitor', { text: 'y'.repeat(200_000), type: 'text' }), 'VALIDATION_ERROR');
    assert.equal(V.socket.connected, true);
  });

  test('over long-polling, an emit of 200 KB is refused by the transport (the client is disconnected)', async (t) => {
    const scope = socketScope(t, server);
    const V = await visitor(server, scope, { transports: ['polling'] });
    const other = await visitor(server, scope, { transports: ['polling'] });
    assert.equal(V.socket.io.engine.transport.name, 'polling');
    const gone = disconnected(V.socket, 8000);
    V.socket.emit('message_from_visitor', { text: 'z'.repeat(200_000), type: 'text' });
    await gone;
    await assertLive(server);
    await say(other.socket, 'the other polling socket still works');
    assert.deepEqual(await V.client.messages(), []);
  });

  test('over long-polling, a raw engine.io POST body > 100 KB gets an HTTP 4xx', async () => {
    const c = await newClient(server);
    const hs = await fetch(`${server.baseUrl}/socket.io/?EIO=4&transport=polling`, { headers: { cookie: c.header() } });
    assert.equal(hs.status, 200, 'engine.io handshake');
    const text = await hs.text();
    assert.equal(text[0], '0', `OPEN packet expected, got ${text.slice(0, 80)}`);
    const { sid, maxPayload } = JSON.parse(text.slice(1));
    assert.ok(typeof sid === 'string' && sid.length > 0, `sid in ${text}`);
    if (maxPayload !== undefined) assert.ok(maxPayload <= 100_000, `advertised maxPayload ${maxPayload}`);

    const url = `${server.baseUrl}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
    // Within the limit the transport accepts the body (a socket.io CONNECT).
    const ok = await fetch(url, {
      method: 'POST',
      headers: { cookie: c.header(), 'content-type': 'text/plain;charset=UTF-8' },
      body: `40${JSON.stringify({ csrf_token: c.csrf, role: 'visitor' })}`,
    });
    assert.equal(ok.status, 200, `a small POST: ${ok.status} ${await ok.text()}`);
    // Over it (150 KB), refused.
    const body = `42${JSON.stringify(['message_from_visitor', { text: 'p'.repeat(150_000), type: 'text' }])}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { cookie: c.header(), 'content-type': 'text/plain;charset=UTF-8' },
      body,
    });
    const answer = await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `POST of ${body.length} bytes → ${res.status} ${answer.slice(0, 200)}`);
    await assertLive(server);
    assert.deepEqual(await c.messages(), [], 'nothing stored');
  });
});

// ====================================================== 5. reconnect replay

describe('reconnect catch-up by the server (auth.last_message_id)', () => {
  let server;
  before(async () => {
    server = await startServer({ db: 'sqlite' });
  });
  after(async () => {
    if (server) await server.stop();
  });

  test('a visitor reconnecting with last_message_id receives exactly what it missed, in order', async (t) => {
    const scope = socketScope(t, server);
    const A = await admin(server, scope);
    const V = await visitor(server, scope);
    const tid = V.client.threadId;
    const known = [];
    known.push(await say(V.socket, 'before 1'));
    known.push(await reply(A.socket, tid, 'admin before'));
    // The visitor page tracks every message it shows; wait for the broadcast.
    await nextEvent(V.socket, 'message_to_visitor', { since: 0, where: (m) => m?.id === known[1].id });
    known.push(await say(V.socket, 'before 2'));
    const lastId = known[known.length - 1].id;

    scope.close(V.socket);
    await sleep(100);
    const missed = [];
    for (const text of ['missed 1', 'missed 2', 'missed 3']) missed.push(await reply(A.socket, tid, text));

    const back = await scope.connect(V.client, {
      auth: { csrf_token: V.client.csrf, role: 'visitor', last_message_id: lastId },
    });
    const got = [];
    for (let i = 0; i < 3; i += 1) {
      got.push(await nextEvent(back, ['message_to_visitor', 'message_from_visitor'], { since: 0, where: (m) => !got.some((g) => g.id === m?.id) }));
    }
    await sleep(300);
    const replayed = back.log.filter((e) => e.name === 'message_to_visitor' || e.name === 'message_from_visitor').map((e) => e.data);
    assert.deepEqual(replayed, missed, 'exactly the 3 missed admin messages, as message_to_visitor, oldest first');
    assert.deepEqual(eventsOf(back, 'message_to_visitor'), missed);
    assert.ok(missed[0].id < missed[1].id && missed[1].id < missed[2].id);

    const fresh = await V.client.messages(tid, 'limit=200');
    const merged = [...known, ...replayed];
    assert.deepEqual(merged.map((m) => [m.id, m.content_text]), fresh.map((m) => [m.id, m.content_text]), 'ids and texts');
    assert.deepEqual(merged, fresh, 'old + replayed = fresh history');
  });

  test('the replay goes to the reconnecting socket only; nothing is replayed when nothing was missed', async (t) => {
    const scope = socketScope(t, server);
    const A = await admin(server, scope);
    const V = await visitor(server, scope);
    const tid = V.client.threadId;
    const m1 = await say(V.socket, 'only message');
    // A second tab stays connected and sees the admin's reply live.
    const r1 = await reply(A.socket, tid, 'reply');
    await nextEvent(V.socket, 'message_to_visitor', { since: 0, where: (m) => m?.id === r1.id });
    // The admin's own broadcast of the reply must have arrived too before the mark.
    await nextEvent(A.socket, 'message_to_visitor', { since: 0, where: (m) => m?.id === r1.id });
    const tabSince = V.socket.log.length;
    const aSince = A.socket.log.length;

    const late = await scope.connect(V.client, {
      auth: { csrf_token: V.client.csrf, role: 'visitor', last_message_id: m1.id },
    });
    assert.deepEqual(await nextEvent(late, 'message_to_visitor', { since: 0 }), r1);
    const upToDate = await scope.connect(V.client, {
      auth: { csrf_token: V.client.csrf, role: 'visitor', last_message_id: r1.id },
    });
    await sleep(300);
    assert.deepEqual(eventsOf(late, 'message_to_visitor'), [r1], 'one replay');
    assert.deepEqual(eventsOf(upToDate, 'message_to_visitor'), [], 'nothing missed → nothing replayed');
    assert.deepEqual(eventsOf(upToDate, 'message_from_visitor'), []);
    assert.deepEqual(eventsOf(V.socket, 'message_to_visitor', tabSince), [], 'the other tab gets no duplicate');
    assert.deepEqual(eventsOf(A.socket, 'message_to_visitor', aSince), [], 'the admin gets no replay');
  });
});

// ============================================= 6. other events: typing flood

describe('event rate limit per IP (RATE_LIMIT_EVENTS_PER_IP_PER_MINUTE=10)', () => {
  test('50 typing events: after 10 the acks say RATE_LIMITED and the admin receives at most 10', async (t) => {
    const { server, scope } = await serverFor(t, { RATE_LIMIT_EVENTS_PER_IP_PER_MINUTE: '10' });
    const A = await admin(server, scope);
    const V = await visitor(server, scope);
    const aSince = A.socket.log.length;
    const started = Date.now();
    const results = [];
    for (let i = 0; i < 50; i += 1) {
      const a = await ack(V.socket, 'typing', { thread_id: V.client.threadId });
      if (a?.success === true) results.push('ok');
      else {
        assertAckError(a, 'RATE_LIMITED');
        results.push('RATE_LIMITED');
      }
    }
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `50 events took ${elapsed} ms (the budget refills one per 6 s)`);
    assert.deepEqual(results, [...Array(10).fill('ok'), ...Array(40).fill('RATE_LIMITED')]);
    await sleep(300);
    const relayed = eventsOf(A.socket, 'typing', aSince);
    assert.ok(relayed.length <= 10, `the admin received ${relayed.length} typing events`);
    assert.equal(relayed.length, 10, 'each accepted typing was relayed once');
    // The budget is per IP and shared by every event and socket of it.
    assertAckError(await ack(V.socket, 'stop_typing', { thread_id: V.client.threadId }), 'RATE_LIMITED');
    assertAckError(await ack(A.socket, 'join_thread', { thread_id: V.client.threadId }), 'RATE_LIMITED');
    // Without an ack: message_error of type rate_limited.
    const err = nextEvent(V.socket, 'message_error');
    V.socket.emit('typing', { thread_id: V.client.threadId });
    const e = await err;
    assert.equal(e.type, 'rate_limited');
    assert.equal(e.code, 'RATE_LIMITED');
    // Messages are a separate budget.
    await say(V.socket, 'messages still go through');
  });
});
