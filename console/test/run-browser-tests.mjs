// meson's entry to the browser tests: skips (exit 77) with the reason when
// Chromium or node_modules are missing; builds the console into the meson build
// folder (unless CONSOLE_TEST_URL names a server that serves its own), then
// runs browser.test.mjs with node's test runner. Screenshots: <out>/screenshots.
//   CONSOLE_OUT  folder for the build and the screenshots (default: console/test-results)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = process.env.CONSOLE_OUT || join(root, 'test-results');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';

function skip(why) {
  console.log(`SKIP console browser tests: ${why}`);
  process.exit(77);
}
if (!existsSync(join(root, 'node_modules/playwright-core')) || !existsSync(join(root, 'node_modules/vite')))
  skip(`${root}node_modules is missing (scripts/setup runs npm ci; or: cd console && npm ci)`);
if (!existsSync(chromium)) skip(`${chromium} is missing (apt-get install chromium; or set CHROMIUM)`);

const env = { ...process.env, CONSOLE_ARTIFACTS: join(out, 'screenshots') };
if (!process.env.CONSOLE_TEST_URL) {
  env.SPECTRE_CONSOLE_OUT = env.CONSOLE_DIST = join(out, 'dist');
  const t0 = Date.now();
  const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, env, stdio: 'inherit' });
  if (b.status !== 0) { console.log('console build failed'); process.exit(1); }
  console.log(`console built into ${env.CONSOLE_DIST} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log('server under test: the MOCK API (test/mock-api.mjs); set CONSOLE_TEST_URL and CONSOLE_TEST_TOKEN for spectre-cp');
} else {
  console.log(`server under test: ${process.env.CONSOLE_TEST_URL}`);
}
// CONSOLE_TEST_PATTERN: only the tests whose names match (node --test-name-pattern).
const only = process.env.CONSOLE_TEST_PATTERN ? [`--test-name-pattern=${process.env.CONSOLE_TEST_PATTERN}`] : [];
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...only, join(root, 'test/browser.test.mjs')],
                    { cwd: root, env, stdio: 'inherit' });
console.log(`screenshots in ${env.CONSOLE_ARTIFACTS}`);
process.exit(r.status ?? 1);
