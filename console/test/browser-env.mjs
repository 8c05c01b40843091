// Shared set-up of the browser tests: the server under test (the real
// spectre-cp when CONSOLE_TEST_URL is set, else the MOCK API), headless Debian
// Chromium through playwright-core, screenshots as artifacts.
//   CONSOLE_TEST_URL       base URL of a running spectre-cp serving the console (unset: start the mock)
//   CONSOLE_TEST_TOKEN     an analyst token for it (mock: mock-analyst-token)
//   CONSOLE_TEST_VIEWER_TOKEN  optional viewer token (the 403 check; mock: mock-viewer-token)
//   CONSOLE_TEST_INCIDENT  incident id to open (default: the newest from GET /incidents)
//   CONSOLE_TEST_EMIT      shell command run after the live page subscribed, to make the server publish events
//   CONSOLE_DIST           the built console the mock serves (default: console/dist)
//   CONSOLE_ARTIFACTS      folder for screenshots (default: console/test-results)
//   CHROMIUM               browser binary (default: /usr/bin/chromium)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { MOCK_TOKENS, startMock } from './mock-api.mjs';

// The flags the machine's documentation gives for root in a closed network.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
               '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export async function setUp() {
  const env = process.env;
  const artifacts = env.CONSOLE_ARTIFACTS || new URL('../test-results', import.meta.url).pathname;
  mkdirSync(artifacts, { recursive: true });
  let mock = null, url = env.CONSOLE_TEST_URL, token = env.CONSOLE_TEST_TOKEN, viewer = env.CONSOLE_TEST_VIEWER_TOKEN;
  if (!url) {
    mock = await startMock({ dist: env.CONSOLE_DIST || new URL('../dist', import.meta.url).pathname });
    url = mock.url;
    [token, viewer] = Object.keys(MOCK_TOKENS);
  }
  url = url.replace(/\/$/, '');
  if (!token) throw new Error('CONSOLE_TEST_TOKEN is required with CONSOLE_TEST_URL');
  const browser = await chromium.launch({ executablePath: env.CHROMIUM || '/usr/bin/chromium', headless: true, args: FLAGS, timeout: 60000 });
  // The server's own answer, as the tests' expected values: {status, body}.
  const apiRaw = async (path) => {
    const res = await fetch(`${url}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
    const text = await res.text();
    let body = null;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: res.status, body };
  };
  const api = async (path) => {
    const r = await apiRaw(path);
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const incident = env.CONSOLE_TEST_INCIDENT || (await api('/incidents?limit=1')).items[0]?.id;
  return {
    url, token, viewer, mock, browser, api, apiRaw, incident, artifacts, emit: env.CONSOLE_TEST_EMIT,
    // A page with `tok` in localStorage (null: none); console errors are collected for the failure message.
    async page(tok = token) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      if (tok !== null) await ctx.addInitScript((t) => localStorage.setItem('spectre.token', t), tok);
      const page = await ctx.newPage();
      page.errors = [];
      page.on('pageerror', (e) => page.errors.push(String(e)));
      return page;
    },
    shot: (page, name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true }),
    async close() {
      await browser.close();
      if (mock) await mock.close();
    },
  };
}

// Opaque pixels drawn on each chart canvas matching `sel` (0: an empty chart).
export function inkPerCanvas(page, sel = '.chart canvas') {
  return page.$$eval(sel, (cs) => cs.map((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  }));
}
