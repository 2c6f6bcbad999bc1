// Chromium for the browser tests: Debian's /usr/bin/chromium (or
// CHROMIUM_PATH), driven by playwright-core; never a downloaded browser.

import { chromium } from 'playwright-core';

/** The Chromium binary the tests drive. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Flags every test browser runs with (headless, no sandbox in CI containers). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/**
 * Starts Chromium with {@link CHROMIUM_ARGS} plus `extraArgs`.
 * @param {string[]} [extraArgs]
 */
export function launchChromium(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}
