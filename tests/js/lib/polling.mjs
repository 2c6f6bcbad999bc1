// A minimal Engine.IO v4 long-polling client speaking Socket.IO v5, for
// tests that need a socket which simply stops reading: its server-side send
// buffer (1,024 packets) then fills after a known number of events, without
// depending on kernel socket buffer sizes.

import assert from 'node:assert/strict';

/** A minimal Engine.IO v4 polling client speaking Socket.IO v5 as `jar`. */
export class PollingSocket {
  constructor(server, jar) {
    this.base = `${server.baseUrl}/socket.io/?EIO=4&transport=polling`;
    this.jar = jar;
    this.sid = null;
  }

  async request(method, body) {
    const url = this.sid ? `${this.base}&sid=${this.sid}` : this.base;
    const res = await fetch(url, {
      method,
      body,
      headers: { cookie: this.jar.header(), 'content-type': 'text/plain;charset=UTF-8' },
      // A long poll with nothing queued waits for the next ping (25 s).
      signal: AbortSignal.timeout(3000),
    });
    return { status: res.status, text: await res.text() };
  }

  /** Handshake, then the namespace CONNECT with `auth`; resolves when connected. */
  async connect(auth) {
    const open = await this.request('GET');
    assert.equal(open.status, 200, open.text);
    assert.ok(open.text.startsWith('0'), open.text);
    this.sid = JSON.parse(open.text.slice(1)).sid;
    const sent = await this.request('POST', `40${JSON.stringify(auth)}`);
    assert.equal(sent.status, 200, sent.text);
    const seen = [];
    for (let i = 0; i < 5 && !seen.some((p) => p.startsWith('40')); i += 1) {
      seen.push(...((await this.poll()) ?? []));
    }
    assert.ok(seen.some((p) => p.startsWith('40')), `no CONNECT: ${seen}`);
  }

  /**
   * One GET: the Engine.IO packets the server had queued (pings answered);
   * `null` when the session is gone, `[]` when nothing came within 3 s.
   */
  async poll() {
    let res;
    try {
      res = await this.request('GET');
    } catch (e) {
      if (e.name === 'TimeoutError') return [];
      throw e;
    }
    if (res.status !== 200) return null; // the session is gone
    const packets = res.text.split('\x1e');
    if (packets.includes('2')) await this.request('POST', '3');
    return packets;
  }
}

/**
 * Polls `slow` until the server has nothing more for it: the ids of the
 * `message_from_visitor` events it got (`received`, in arrival order; also
 * grouped by thread in `byThread`), and whether it was disconnected.
 */
export async function drain(slow) {
  const received = [];
  const byThread = new Map();
  let disconnected = false;
  for (let i = 0; i < 100 && !disconnected; i += 1) {
    const packets = await slow.poll();
    if (packets === null) {
      disconnected = true; // the Engine.IO session itself was closed
      break;
    }
    if (packets.length === 0) break; // nothing more is coming
    for (const p of packets) {
      if (p === '41' || p === '1') disconnected = true;
      if (p.startsWith('42')) {
        const [name, data] = JSON.parse(p.slice(2));
        if (name === 'message_from_visitor') {
          received.push(data.id);
          if (!byThread.has(data.thread_id)) byThread.set(data.thread_id, []);
          byThread.get(data.thread_id).push(data.id);
        }
      }
    }
  }
  return { received, byThread, disconnected };
}
