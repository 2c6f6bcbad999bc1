// Media in a real browser (headless Chromium, SQLite): the visitor attaches
// a real PNG from `#file-input` and sends it; it is stored, served and
// decoded (`naturalWidth > 0`) on both pages. The admin answers with a WAV
// file; the visitor's page shows a player live, and both render the same
// after a reload. Then a voice message recorded from Chromium's fake
// microphone is stored as an audio message. The upload code (lib/uploads.js)
// is loaded with the first upload, not with the page: a cancel while it
// loads uploads nothing, and a refused file leaves a failed bubble with the
// reason. No upload is stubbed: every byte goes through the server.
// Screenshots go to tests/js/screenshots/.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

import { loginAdmin } from './lib/http.mjs';
import { contexts, loginOnPage, useChromium, DESKTOP, PHONE, WAIT } from './lib/browser.mjs';
import { SHOTS } from './lib/screenshots.mjs';

// ------------------------------------------------------------ test files ---

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid `width`×`height` RGB PNG (a diagonal gradient). */
function makePng(width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  // compression, filter, interlace: 0
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x += 1) {
      const p = row + 1 + x * 3;
      raw[p] = Math.round((255 * x) / (width - 1));
      raw[p + 1] = Math.round((255 * y) / (height - 1));
      raw[p + 2] = 160;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid mono 16-bit PCM WAV: `samples` samples of a 440 Hz tone at `rate` Hz. */
function makeWav(samples, rate = 8000) {
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i += 1) {
    data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

const PNG = makePng(48, 32);
const WAV_SAMPLES = 4000;
const WAV_RATE = 8000;
const WAV = makeWav(WAV_SAMPLES, WAV_RATE); // 0.5 s

// --------------------------------------------------------------- helpers ---

/** Waits until the stored (data-id) `sender` image messages' images have all decoded, at least `count`. */
async function waitForImages(page, sender, count = 1) {
  const sel = `#messages .message.from-${sender}[data-id] .message-image img`;
  await page.locator(sel).nth(count - 1).waitFor({ state: 'attached', timeout: WAIT });
  // Thumbnails are lazy: bring each into view so that it loads.
  for (const img of await page.locator(sel).all()) await img.scrollIntoViewIfNeeded();
  await page.waitForFunction(
    ({ sel, count }) => {
      const imgs = [...document.querySelectorAll(sel)];
      return imgs.length >= count && imgs.every((i) => i.complete && i.naturalWidth > 0);
    },
    { sel, count },
    { timeout: WAIT },
  );
}

/** Waits until `count` stored `sender` audio players exist and have read their metadata. */
async function waitForPlayers(page, sender, count = 1) {
  const sel = `#messages .message.from-${sender}[data-id] .message-audio audio[controls]`;
  await page.waitForFunction(
    ({ sel, count }) => {
      const as = [...document.querySelectorAll(sel)];
      return as.length >= count && as.every((a) => a.readyState >= 1 && !a.error);
    },
    { sel, count },
    { timeout: WAIT },
  );
}

/** [{sender, id, kind, src, text}] of the shown messages, in order. */
function shownMessages(page) {
  return page.$$eval('#messages .message', (nodes) => nodes.map((n) => {
    const media = n.querySelector('.message-image img, .message-audio audio');
    return {
      sender: n.classList.contains('from-admin') ? 'admin' : (n.classList.contains('from-visitor') ? 'visitor' : '?'),
      id: n.dataset.id || null,
      kind: n.dataset.kind || 'text',
      tag: media ? media.tagName.toLowerCase() : null,
      controls: media && media.tagName === 'AUDIO' ? media.controls : null,
      src: media ? media.getAttribute('src') : null,
      text: n.querySelector('.message-text')?.textContent ?? null,
    };
  }));
}

/** GET `url` of the server: {status, type, bytes}. */
async function download(server, url) {
  const res = await fetch(new URL(url, server.baseUrl));
  return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
}

// ----------------------------------------------------------------- tests ---

describe('media in headless Chromium (sqlite)', () => {
  const suite = useChromium({
    // A fake microphone (a beep), granted without a prompt.
    args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
  });

  test('an image from the visitor and a WAV from the admin: uploaded, shown live on both pages, the same after a reload', async (t) => {
    const { server, browser } = suite;
    const { problems, context, watch } = contexts(t, browser, { locale: 'en-US' });
    const visitorCtx = await context({ viewport: PHONE });
    const adminCtx = await context({ viewport: DESKTOP });

    // ---- the visitor attaches a PNG and sends it
    const vp = await visitorCtx.newPage();
    watch(vp, 'visitor page');
    assert.equal((await vp.goto(`${server.baseUrl}/`)).status(), 200);
    const threadId = await vp.evaluate(() => document.body.dataset.threadId);
    assert.match(threadId, /^[0-9a-f-]{36}$/i);

    await vp.setInputFiles('#file-input', { name: 'gradient.png', mimeType: 'image/png', buffer: PNG });
    await vp.locator('#attachment-preview').waitFor({ state: 'visible' });
    assert.equal(await vp.textContent('#attachment-name'), 'gradient.png', 'the tray names the chosen file');
    const uploaded = vp.waitForResponse((r) => new URL(r.url()).pathname === '/api/upload/image');
    await vp.click('#send-button:not([disabled])');
    const up = await uploaded;
    assert.equal(up.status(), 200, `POST /api/upload/image → ${up.status()} ${await up.text()}`);
    await waitForImages(vp, 'visitor', 1);
    await vp.locator('#attachment-preview').waitFor({ state: 'hidden' });

    const vImg = vp.locator('#messages .message.from-visitor[data-id] .message-image img');
    const imgSrc = await vImg.getAttribute('src');
    assert.match(imgSrc, /^\/uploads\/images\/[^/]+\.png$/, `stored image URL: ${imgSrc}`);
    assert.deepEqual(
      await vImg.evaluate((i) => [i.naturalWidth, i.naturalHeight]),
      [48, 32],
      'the stored image decodes to the sent picture',
    );
    const served = await download(server, imgSrc);
    assert.equal(served.status, 200);
    assert.match(served.type, /^image\/png\b/);
    assert.ok(served.bytes.equals(PNG), 'the server serves the bytes the page uploaded');
    // The bubble is no longer pending or failed.
    const vBubble = vp.locator('#messages .message.from-visitor[data-id]');
    assert.equal(await vBubble.count(), 1, 'exactly one stored message (no duplicate of the pending one)');
    assert.equal(await vBubble.getAttribute('data-status'), 'sent');
    assert.equal(await vp.locator('#messages .message:not([data-id])').count(), 0, 'no pending bubble is left');

    // ---- the admin logs in, opens the thread and sees the image
    const ap = await adminCtx.newPage();
    watch(ap, 'admin page');
    await loginOnPage(ap, server);
    const item = ap.locator(`.thread-item[data-thread-id="${threadId}"]`);
    await item.waitFor({ state: 'visible' });
    await item.click();
    await waitForImages(ap, 'visitor', 1);
    assert.equal(
      await ap.getAttribute('#messages .message.from-visitor[data-id] .message-image img', 'src'),
      imgSrc,
      'the admin sees the same stored image',
    );

    // ---- the admin answers with a WAV file; the visitor gets a player live
    await ap.setInputFiles('#file-input', { name: 'tone.wav', mimeType: 'audio/wav', buffer: WAV });
    await ap.locator('#attachment-preview').waitFor({ state: 'visible' });
    const uploadedAudio = ap.waitForResponse((r) => new URL(r.url()).pathname === '/api/upload/audio');
    await ap.click('#send-button:not([disabled])');
    const upA = await uploadedAudio;
    assert.equal(upA.status(), 200, `POST /api/upload/audio → ${upA.status()} ${await upA.text()}`);
    await waitForPlayers(ap, 'admin', 1);
    await waitForPlayers(vp, 'admin', 1);

    const audioSrc = await vp.getAttribute('#messages .message.from-admin[data-id] .message-audio audio', 'src');
    assert.match(audioSrc, /^\/uploads\/audio\/[^/]+\.wav$/, `stored audio URL: ${audioSrc}`);
    const duration = await vp.locator('#messages .message.from-admin[data-id] .message-audio audio')
      .evaluate((a) => a.duration);
    assert.ok(Math.abs(duration - WAV_SAMPLES / WAV_RATE) < 0.05, `the player reads the WAV's duration: ${duration}`);
    const servedA = await download(server, audioSrc);
    assert.equal(servedA.status, 200);
    assert.match(servedA.type, /^audio\/(wav|x-wav|wave|vnd\.wave)\b/);
    assert.ok(servedA.bytes.equals(WAV), 'the server serves the WAV the admin uploaded');

    // The stored history agrees (what a reload is built from).
    const jar = await loginAdmin(server);
    const stored = await jar.messages(threadId);
    assert.deepEqual(
      stored.map((m) => ({ sender: m.sender_type, type: m.content_type, url: m.file_url })),
      [
        { sender: 'visitor', type: 'image', url: imgSrc },
        { sender: 'admin', type: 'audio', url: audioSrc },
      ],
    );

    // ---- both pages render the same after a reload
    const vBefore = await shownMessages(vp);
    const aBefore = await shownMessages(ap);
    assert.deepEqual(vBefore.map((m) => [m.sender, m.kind, m.tag, m.controls]), [
      ['visitor', 'image', 'img', null],
      ['admin', 'audio', 'audio', true],
    ]);
    await vp.screenshot({ path: path.join(SHOTS, 'media-visitor-phone.png') });
    await ap.screenshot({ path: path.join(SHOTS, 'media-admin-desktop.png') });

    await vp.reload();
    await waitForImages(vp, 'visitor', 1);
    await waitForPlayers(vp, 'admin', 1);
    assert.deepEqual(await shownMessages(vp), vBefore, 'the visitor page renders the same after a reload');

    await ap.reload();
    await waitForImages(ap, 'visitor', 1);
    await waitForPlayers(ap, 'admin', 1);
    assert.deepEqual(await shownMessages(ap), aBefore, 'the admin page renders the same after a reload');
    await vp.screenshot({ path: path.join(SHOTS, 'media-visitor-reloaded.png') });

    assert.deepEqual(problems, [], 'no uncaught errors, console errors or dialogs on the pages');
  });

  test('a voice message recorded from the (fake) microphone is stored as an audio message', async (t) => {
    const { server, browser } = suite;
    const { problems, context, watch } = contexts(t, browser);
    const ctx = await context({ viewport: PHONE, locale: 'en-US', permissions: ['microphone'] });
    const vp = await ctx.newPage();
    watch(vp, 'visitor page');
    await vp.goto(`${server.baseUrl}/`);
    const threadId = await vp.evaluate(() => document.body.dataset.threadId);

    const rec = vp.locator('#record-button');
    await rec.waitFor({ state: 'visible' });
    await rec.click();
    await vp.locator('#recorder').waitFor({ state: 'visible' });
    // The timer shows 0:01 after a second of recording.
    await vp.waitForFunction(() => document.getElementById('record-timer').textContent === '0:01', null, { timeout: WAIT });
    const uploaded = vp.waitForResponse((r) => new URL(r.url()).pathname === '/api/upload/audio');
    await vp.click('#record-stop');
    const up = await uploaded;
    assert.equal(up.status(), 200, `POST /api/upload/audio → ${up.status()} ${await up.text()}`);
    await vp.locator('#recorder').waitFor({ state: 'hidden' });
    await waitForPlayers(vp, 'visitor', 1);
    const src = await vp.getAttribute('#messages .message.from-visitor[data-id] .message-audio audio', 'src');
    assert.match(src, /^\/uploads\/audio\/[^/]+\.(webm|ogg|m4a)$/, `recording URL: ${src}`);
    const served = await download(server, src);
    assert.equal(served.status, 200);
    assert.ok(served.bytes.length > 100, `the recording has content (${served.bytes.length} bytes)`);

    // Stored: the visitor's history holds one audio message with that file.
    const messages = await vp.evaluate(async (id) => {
      const r = await fetch(`/api/messages/${id}`, { headers: { accept: 'application/json' } });
      return (await r.json()).messages;
    }, threadId);
    assert.deepEqual(
      messages.map((m) => ({ sender: m.sender_type, type: m.content_type, url: m.file_url })),
      [{ sender: 'visitor', type: 'audio', url: src }],
    );
    await vp.screenshot({ path: path.join(SHOTS, 'media-voice-message.png') });
    assert.deepEqual(problems, [], 'no uncaught errors, console errors or dialogs on the page');
  });
  test('lib/uploads.js loads with the first upload: a cancel while it loads uploads nothing; a refused file fails with its reason', async (t) => {
    const { server, browser } = suite;
    // The refused upload's 415 is logged by Chromium as a failed resource.
    const { problems, context, watch } = contexts(t, browser, {
      locale: 'en-US', watch: { expected: (m) => /status of 415/.test(m.text()) },
    });
    const vp = await (await context({ viewport: PHONE })).newPage();
    watch(vp, 'visitor page');
    const paths = [];
    vp.on('request', (r) => paths.push(new URL(r.url()).pathname));
    let release;
    const held = new Promise((r) => { release = r; });
    await vp.route('**/js/lib/uploads.js', async (route) => {
      await held;
      await route.continue();
    });
    await vp.goto(`${server.baseUrl}/`);
    await vp.locator('#admin-status[data-state]').waitFor();
    assert.ok(!paths.some((p) => p.endsWith('/js/lib/uploads.js')), `not loaded with the page: ${paths.join(' ')}`);

    // Cancelled while uploads.js is on its way: the bubble goes, no upload.
    await vp.setInputFiles('#file-input', { name: 'gradient.png', mimeType: 'image/png', buffer: PNG });
    await vp.click('#send-button:not([disabled])');
    await vp.locator('#upload-cancel').click();
    await vp.locator('#messages .message').waitFor({ state: 'detached' });
    release();
    await vp.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/js/lib/uploads.js'));

    // Text bytes named .png: the server reads them and refuses the file.
    await vp.setInputFiles('#file-input', { name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('not a picture at all') });
    const refused = vp.waitForResponse((r) => new URL(r.url()).pathname === '/api/upload/image');
    await vp.click('#send-button:not([disabled])');
    assert.equal((await refused).status(), 415);
    const failed = vp.locator('#messages .message[data-status="failed"]');
    await failed.waitFor();
    assert.ok((await failed.locator('.message-error').textContent()).trim(), 'the reason is shown');
    assert.equal(await failed.locator('.retry-button').count(), 1);
    assert.equal(
      paths.filter((p) => p.startsWith('/api/upload/')).length,
      1,
      `only the refused file was uploaded: ${paths.join(' ')}`,
    );
    assert.deepEqual(problems, [], 'no uncaught errors, console errors or dialogs on the page');
  });
});
