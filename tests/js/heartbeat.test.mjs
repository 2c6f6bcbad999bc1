// The Engine.IO heartbeat (SOCKET_PING_INTERVAL_SECS, SOCKET_PING_TIMEOUT_SECS;
// engine.io protocol v4 § heartbeat): the server pings every interval and
// closes a session whose pong is late. A session opened on the WebSocket has
// its heartbeat run by its reader task (issue 25 item 5,
// vendor/engineioxide/PATCH.md change 5), one upgraded from polling keeps its
// heartbeat task: both are exercised here, over real sockets.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import WebSocket from 'ws';

import { startServer } from './lib/server.mjs';
import { newClient } from './lib/http.mjs';
import { emitAck, sleep, socketScope } from './lib/socket.mjs';

/** Engine.IO session over a raw WebSocket: its packets, in order, and its end. */
function rawSession(server) {
  const ws = new WebSocket(`${server.baseUrl.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const packets = [];
  const waiters = [];
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve({ code, at: Date.now() })));
  ws.on('message', (data) => {
    packets.push({ text: data.toString(), at: Date.now() });
    for (const w of waiters.splice(0)) w();
  });
  ws.on('error', () => {});
  /** Resolves with the first packet from index `from` on that passes `where`. */
  async function next(where, from = 0, timeout = 8000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = packets.slice(from).find(where);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no such packet; got ${JSON.stringify(packets.map((p) => p.text))}`);
      await Promise.race([new Promise((r) => waiters.push(r)), sleep(left)]);
    }
  }
  return { ws, packets, closed, next };
}

describe('Engine.IO heartbeat', () => {
  let server;

  before(async () => {
    server = await startServer({
      env: {
        SOCKET_PING_INTERVAL_SECS: '1',
        SOCKET_PING_TIMEOUT_SECS: '1',
        // The raw sessions below never join the namespace.
        SOCKET_CONNECT_TIMEOUT_SECS: '60',
      },
    });
  });

  after(async () => {
    if (server) await server.stop();
  });

  test('the open packet announces the configured interval and timeout', async () => {
    const s = rawSession(server);
    try {
      const open = await s.next((p) => p.text.startsWith('0'));
      const body = JSON.parse(open.text.slice(1));
      assert.equal(body.pingInterval, 1000);
      assert.equal(body.pingTimeout, 1000);
      assert.match(body.sid, /^[A-Za-z0-9_-]{16}$/);
    } finally {
      s.ws.terminate();
    }
  });

  test('a WebSocket session that answers every ping stays open across several intervals', async () => {
    const s = rawSession(server);
    try {
      await s.next((p) => p.text.startsWith('0'));
      s.ws.on('message', (data) => {
        if (data.toString() === '2') s.ws.send('3');
      });
      // Four pings: the session outlived four intervals plus timeouts.
      let from = 0;
      for (let i = 0; i < 4; i += 1) {
        const ping = await s.next((p) => p.text === '2', from);
        from = s.packets.indexOf(ping) + 1;
      }
      assert.equal(s.ws.readyState, WebSocket.OPEN, 'an answered session must stay open');
      // Nothing but the open packet and pings was sent.
      assert.deepEqual([...new Set(s.packets.slice(1).map((p) => p.text))], ['2']);
    } finally {
      s.ws.terminate();
    }
  });

  test('a WebSocket session that does not answer its ping is closed', async () => {
    const s = rawSession(server);
    try {
      await s.next((p) => p.text.startsWith('0'));
      const ping = await s.next((p) => p.text === '2');
      const result = await Promise.race([s.closed, sleep(8000).then(() => null)]);
      assert.ok(result, 'the server must close a session whose pong never came');
      assert.ok(result.at >= ping.at, 'closed after the ping, not before');
      assert.equal(s.packets.filter((p) => p.text === '2').length, 1, 'one ping, then the close');
      // The server says why before it closes: an Engine.IO close packet.
      assert.equal(s.packets.at(-1)?.text, '1', `packets: ${JSON.stringify(s.packets.map((p) => p.text))}`);
    } finally {
      s.ws.terminate();
    }
  });

  test('a Socket.IO client stays connected across pings, over WebSocket and over polling', async (t) => {
    const scope = socketScope(t, server);
    for (const transports of [['websocket'], ['polling']]) {
      const client = await newClient(server);
      const socket = await scope.connect(client, { role: 'visitor', transports });
      let pings = 0;
      socket.io.engine.on('ping', () => { pings += 1; });
      const disconnects = [];
      socket.on('disconnect', (why) => disconnects.push(why));
      await sleep(3500);
      assert.ok(pings >= 2, `${transports}: the client should have been pinged (${pings})`);
      assert.deepEqual(disconnects, [], `${transports}: the socket must stay connected`);
      const ack = await emitAck(socket, 'message_from_visitor', { text: `still here ${transports}`, type: 'text' });
      assert.equal(ack?.success, true, JSON.stringify(ack));
    }
  });
});
