// Screenshots of the Chromium tests. Every one lands in tests/js/screenshots/
// (git-ignored). The ones the README and docs/ show are also copied to
// docs/screenshots/ (committed), but only with SOHBET_README_SCREENSHOTS=1,
// so that an ordinary test run leaves the working tree clean (issue 21
// item 7). operations.test.mjs follows the same rule.

import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { REPO_ROOT } from './server.mjs';

/** Where every screenshot goes (git-ignored). */
export const SHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');
/** The committed screenshots of the README and docs/. */
export const DOC_SHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');

/** True when this run refreshes docs/screenshots/. */
export const refreshDocShots = () => process.env.SOHBET_README_SCREENSHOTS === '1';

/**
 * Screenshot of `target` (a Playwright page or locator) as `name` in
 * tests/js/screenshots/; with SOHBET_README_SCREENSHOTS=1 also copied to
 * docs/screenshots/`docName` (default: the same name).
 */
export async function screenshot(target, name, docName = name) {
  await mkdir(SHOTS, { recursive: true });
  const file = path.join(SHOTS, name);
  await target.screenshot({ path: file });
  if (refreshDocShots()) {
    await mkdir(DOC_SHOTS, { recursive: true });
    await copyFile(file, path.join(DOC_SHOTS, docName));
  }
  return file;
}
