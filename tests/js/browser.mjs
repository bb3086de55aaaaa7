// Headless Chromium for the browser tests: Debian's /usr/bin/chromium (or $CHROMIUM), driven by playwright-core.
// Without the background-networking flags Chromium tries Google's hosts at start, which this closed network refuses.
import { chromium } from 'playwright-core';

export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu',
    '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
}
