// Every relative link of the project's Markdown (README.md, CONTRIBUTING.md,
// docs/*.md, …) reaches something (issue 21 item 6): the file or folder
// exists, and a `#fragment` names a heading of the target Markdown file (as
// GitHub makes anchors from headings) or an explicit `<a id>` / `<a name>`.
// External links (http:, https:, mailto:) are not fetched: the tests talk
// to 127.0.0.1 only. Needs no server and no browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { REPO_ROOT } from './lib/server.mjs';

const SKIP_DIRS = new Set(['.git', 'target', 'node_modules', 'screenshots', 'artifacts']);

/** The Markdown files of the repository, skipping build output and dependencies. */
function markdownFiles(dir = REPO_ROOT) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) out.push(...markdownFiles(path.join(dir, entry.name)));
    } else if (entry.name.endsWith('.md')) {
      out.push(path.join(dir, entry.name));
    }
  }
  return out;
}

/** The text without fenced code blocks and inline code spans (links there are examples). */
function prose(text) {
  return text
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading (github-slugger): lower case, punctuation dropped, spaces to '-'. */
function slug(heading) {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading counts by its text
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

const anchorCache = new Map();

/** The anchors a Markdown file offers: its headings' slugs (repeats get -1, -2…) and explicit ids. */
function anchors(file) {
  if (anchorCache.has(file)) return anchorCache.get(file);
  const text = readFileSync(file, 'utf8');
  const found = new Set();
  const seen = new Map();
  const withoutFences = text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const m of withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(m[1]);
  anchorCache.set(file, found);
  return found;
}

/** The link targets of a Markdown file: `[text](target)`, `![alt](target)`, `<img src>`, `<a href>`. */
function links(file) {
  const text = prose(readFileSync(file, 'utf8'));
  const out = [];
  for (const m of text.matchAll(/!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    out.push(m[1]);
  }
  for (const m of text.matchAll(/<(?:img|a)\s[^>]*?(?:src|href)="([^"]+)"/g)) out.push(m[1]);
  return out;
}

/** What is wrong with `target` as written in `file`, or null. */
function problem(file, target) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // http:, https:, mailto:…
  const [rawPath, fragment] = target.split('#', 2);
  const filePath = decodeURIComponent(rawPath);
  const resolved = filePath === ''
    ? file
    : filePath.startsWith('/')
      ? path.join(REPO_ROOT, filePath)
      : path.resolve(path.dirname(file), filePath);
  if (!existsSync(resolved)) return `${target}: ${path.relative(REPO_ROOT, resolved)} does not exist`;
  if (fragment === undefined || fragment === '') return null;
  if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) return null;
  if (!anchors(resolved).has(decodeURIComponent(fragment).toLowerCase())) {
    return `${target}: no heading or anchor #${fragment} in ${path.relative(REPO_ROOT, resolved)}`;
  }
  return null;
}

test('the slug of a heading is the one GitHub makes', () => {
  assert.equal(slug('Upgrading from Flask Chat'), 'upgrading-from-flask-chat');
  assert.equal(slug('The Telegram bridge (§ 1, 11, 14)'), 'the-telegram-bridge--1-11-14');
  assert.equal(slug('Where sohbet departs from the Flask contract'), 'where-sohbet-departs-from-the-flask-contract');
  assert.equal(slug('`TRUSTED_PROXIES` and `X-Forwarded-For`'), 'trusted_proxies-and-x-forwarded-for');
  assert.equal(slug('What is enforced, and how to configure it'), 'what-is-enforced-and-how-to-configure-it');
});

test('every relative link in the Markdown files reaches a file and, with #fragment, a heading', () => {
  const files = markdownFiles();
  const names = files.map((f) => path.relative(REPO_ROOT, f));
  for (const must of ['README.md', 'CONTRIBUTING.md', 'docs/ARCHITECTURE.md', 'docs/configuration.md']) {
    assert.ok(names.includes(must), `${must} is missing (found: ${names.join(', ')})`);
  }
  const broken = [];
  let checked = 0;
  for (const file of files) {
    for (const target of links(file)) {
      checked += 1;
      const p = problem(file, target);
      if (p) broken.push(`${path.relative(REPO_ROOT, file)}: ${p}`);
    }
  }
  assert.ok(checked > 50, `only ${checked} links found: is the extraction broken?`);
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});

test('the README fits on a few screens and starts with the two commands', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const lines = readme.split('\n');
  assert.ok(lines.length <= 220, `README.md has ${lines.length} lines (at most ~200)`);
  const head = lines.slice(0, 12).join('\n');
  assert.match(head, /cargo run --release/, 'the first lines run the server');
  assert.match(head, /\.\/scripts\/test/, 'the first lines run every test');
});
