// Shape checks shared by the tests: a Message, a thread summary, a presence
// payload and the error shapes of the contract (docs/api.md).

import assert from 'node:assert/strict';
import { RFC3339_Z } from './http.mjs';

/** An RFC 3339 UTC time (`…Z`) within `slackMs` of now. */
export function assertRecentTime(value, what = 'time', slackMs = 120_000) {
  assert.equal(typeof value, 'string', `${what} must be a string, got ${JSON.stringify(value)}`);
  assert.match(value, RFC3339_Z, `${what} must be RFC 3339 UTC with Z`);
  const t = Date.parse(value);
  assert.ok(Math.abs(Date.now() - t) < slackMs, `${what} ${value} is not close to now`);
}

/**
 * A Message `{id, thread_id, content_text, content_type, sender_type,
 * file_url, created_at}` with the expected fields.
 */
export function assertMessage(m, expected = {}) {
  assert.ok(m && typeof m === 'object', `message must be an object, got ${JSON.stringify(m)}`);
  assert.ok(Number.isInteger(m.id) && m.id > 0, `message.id must be a positive integer, got ${JSON.stringify(m.id)}`);
  assert.equal(typeof m.thread_id, 'string');
  assert.equal(typeof m.content_text, 'string');
  assert.ok(['text', 'image', 'audio'].includes(m.content_type), `content_type ${m.content_type}`);
  assert.ok(['visitor', 'admin'].includes(m.sender_type), `sender_type ${m.sender_type}`);
  assert.ok('file_url' in m, 'message.file_url must be present (null for text)');
  assertRecentTime(m.created_at, 'message.created_at');
  for (const [k, v] of Object.entries(expected)) {
    assert.deepEqual(m[k], v, `message.${k}`);
  }
}

/** `{success: false, error, code}` of a failed ack. */
export function assertAckError(ack, code) {
  assert.ok(ack && typeof ack === 'object', `ack must be an object, got ${JSON.stringify(ack)}`);
  assert.equal(ack.success, false, `ack must fail: ${JSON.stringify(ack)}`);
  assert.equal(ack.code, code, `ack code: ${JSON.stringify(ack)}`);
  assert.equal(typeof ack.error, 'string');
  assert.ok(ack.error.length > 0, 'ack.error must be a human text');
  assert.equal(ack.message, undefined, 'a failed ack carries no message');
}

/** `{success: false, error, code, status}` with that HTTP status. */
export function assertHttpError(res, status, code) {
  assert.equal(res.status, status, `HTTP status (body ${res.text})`);
  assert.ok(res.body && typeof res.body === 'object', `error body must be JSON: ${res.text}`);
  assert.equal(res.body.success, false);
  assert.equal(res.body.code, code, `error code (body ${res.text})`);
  assert.equal(res.body.status, status, 'body.status');
  assert.equal(typeof res.body.error, 'string');
  assert.ok(res.body.error.length > 0);
}

/** `{user_id, username, last_seen}` of user_online / user_offline. */
export function assertPresence(p, userId, username, { lastSeenNullable = false } = {}) {
  assert.ok(p && typeof p === 'object', `presence payload ${JSON.stringify(p)}`);
  assert.equal(p.user_id, userId, 'presence.user_id');
  assert.equal(p.username, username, 'presence.username');
  assert.ok('last_seen' in p, 'presence.last_seen must be present');
  if (p.last_seen === null && lastSeenNullable) return;
  assertRecentTime(p.last_seen, 'presence.last_seen', 10 * 60_000);
}
