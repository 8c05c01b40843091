// The console in headless Chromium against the server under test (see
// browser-env.mjs). Expected values come from the server's own API answers,
// so the same tests run against the mock and against spectre-cp.
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { inkPerCanvas, setUp } from './browser-env.mjs';
import { addAlerts } from './mock-api.mjs';

let env;
before(async () => { env = await setUp(); });
after(async () => { await env?.close(); });

// The live page got its WebSocket (fails at once, with the page's reason, when it fell back to polling).
async function expectSocket(page) {
  await page.locator('.stream-status[data-mode=websocket], .stream-status[data-mode=polling]').waitFor();
  const status = page.locator('.stream-status');
  assert.equal(await status.getAttribute('data-mode'), 'websocket', `no WebSocket stream: ${await status.textContent()}`);
}

const attackIds = (list) => list.map((a) => (typeof a === 'string' ? a : a.id));

test('incident page shows the explanation, risk components and tactics', async () => {
  const inc = await env.api(`/incidents/${env.incident}`);
  const page = await env.page();
  await page.goto(`${env.url}/incidents/${env.incident}`);
  const explanation = page.locator('#explanation');
  const summary = typeof inc.explanation === 'string' ? inc.explanation : inc.explanation.summary;
  assert.ok(summary, 'the server gave no explanation to show');
  await explanation.getByText(summary).waitFor();
  for (const step of (typeof inc.explanation === 'object' && inc.explanation.steps) || []) assert.ok((await explanation.textContent()).includes(step), step);
  const components = Object.keys(inc.risk.components || inc.risk).filter((k) => typeof (inc.risk.components || inc.risk)[k] === 'number');
  assert.ok(components.length > 0);
  const riskText = await page.locator('#risk').textContent();
  for (const c of components) assert.ok(riskText.includes(c), `risk component ${c} missing`);
  assert.ok((await inkPerCanvas(page, '#risk canvas'))[0] > 500, 'risk chart is empty');
  const tactics = attackIds(inc.record?.incident?.mitre?.tactics || inc.tactics);
  assert.ok(tactics.length > 0);
  const shown = await page.locator('#attack ul.tactics li').evaluateAll((ls) => ls.map((l) => l.title));
  assert.deepEqual(shown, tactics);
  if (inc.response?.actions?.length) assert.ok((await page.locator('#response').textContent()).includes(inc.response.actions[0]));
  assert.equal(await page.locator('#members tbody tr').count(), inc.members.length);
  await env.shot(page, 'incident');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a false-positive click with a reason reaches the server', async () => {
  const page = await env.page();
  await page.goto(`${env.url}/incidents/${env.incident}`);
  await page.locator('#verdict button.fp').click();
  await page.locator('#verdict select[name=reason]').selectOption('authorized_scanner');
  const note = `browser-test ${Date.now()}`;
  await page.locator('#verdict input[name=note]').fill(note);
  const [req] = await Promise.all([
    page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/api/v1/incidents/${env.incident}/feedback`)),
    page.locator('#verdict button[type=submit]').click(),
  ]);
  const expected = { verdict: 'false_positive', reason: 'authorized_scanner', note };
  assert.deepEqual(req.postDataJSON(), expected);
  assert.equal(req.headers().authorization, `Bearer ${env.token}`);
  await page.locator('#verdict .feedback-list li', { hasText: note }).waitFor();
  // What the server stored: the incident's feedback as its API returns it.
  const stored = (await env.api(`/incidents/${env.incident}`)).feedback.filter((f) => f.note === note);
  assert.equal(stored.length, 1, 'the feedback is not in the incident');
  assert.equal(stored[0].verdict, 'false_positive');
  assert.equal(stored[0].reason, 'authorized_scanner');
  if (env.mock) assert.deepEqual(env.mock.store.received.filter((f) => f.note === note).map(({ verdict, reason, note: n }) => ({ verdict, reason, note: n })), [expected]);
  await env.shot(page, 'incident-feedback');
  await page.context().close();
});

test('triage on an alert: a status change and a comment reach the server', async () => {
  const id = (await env.api('/alerts?limit=1')).items[0].id;
  const page = await env.page();
  await page.goto(`${env.url}/alerts/${id}`);
  const triage = page.locator('#triage');
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(`/api/v1/alerts/${id}`) && r.ok()),
    triage.locator('select[name=status]').selectOption('investigating'),
  ]);
  const text = `triage note ${Date.now()}`;
  await triage.locator('input[name=comment]').fill(text);
  await triage.getByText('Add comment').click();
  await triage.getByText(text).waitFor();
  const a = await env.api(`/alerts/${id}`);
  assert.equal(a.status, 'investigating');
  assert.ok(a.comments.some((c) => c.text === text), 'the comment is not stored');
  await env.shot(page, 'alert-triage');
  await page.context().close();
});

test('the alert list shows what the server answers to a filter', async () => {
  const page = await env.page();
  await page.goto(`${env.url}/alerts`);
  await page.locator('table.alerts tbody tr').first().waitFor();
  await page.locator('form.filters select[name=severity]').selectOption('2');
  await page.locator('form.filters button[type=submit]').click();
  await page.waitForURL(/\/alerts\?severity=2$/);
  const want = (await env.api('/alerts?severity=2&limit=100')).items.map((a) => a.id);
  assert.ok(want.length > 0, 'no severity-2 alerts to filter');
  await page.locator(`table.alerts tbody tr[data-id="${want[want.length - 1]}"]`).waitFor();
  const shown = await page.locator('table.alerts tbody tr').evaluateAll((rs) => rs.map((r) => +r.dataset.id));
  assert.deepEqual(shown, want);
  await page.context().close();
});

test('a true-positive verdict on an alert reaches the server', async () => {
  const id = (await env.api('/alerts?limit=2')).items[1].id;
  const page = await env.page();
  await page.goto(`${env.url}/alerts/${id}`);
  await page.locator('button.tp').click();
  await page.locator('select[name=reason]').selectOption('confirmed_attack');
  const [req] = await Promise.all([
    page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/api/v1/alerts/${id}/feedback`)),
    page.locator('.feedback-form button[type=submit]').click(),
  ]);
  assert.deepEqual(req.postDataJSON(), { verdict: 'true_positive', reason: 'confirmed_attack', note: '' });
  await page.locator('.feedback-list li[data-verdict=true_positive]').waitFor();
  const fb = (await env.api(`/alerts/${id}`)).feedback;
  assert.ok(fb.some((f) => f.verdict === 'true_positive' && f.reason === 'confirmed_attack'), JSON.stringify(fb));
  await page.context().close();
});

test('the incident PDF report downloads with the token', async () => {
  const page = await env.page();
  await page.goto(`${env.url}/incidents/${env.incident}`);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#triage').getByText('PDF report').click()]);
  const chunks = [];
  for await (const c of await dl.createReadStream()) chunks.push(c);
  assert.equal(Buffer.concat(chunks).subarray(0, 5).toString(), '%PDF-');
  assert.equal(dl.suggestedFilename(), `incident-${env.incident}.pdf`);
  await page.context().close();
});

test('the live page shows the recent alerts, then events arriving over the WebSocket', async (t) => {
  // CONSOLE_TEST_LIVE=alerts: the server publishes alerts by itself (spectre-cp --fake-dataplane), no incidents.
  const selfFeeding = process.env.CONSOLE_TEST_LIVE === 'alerts';
  if (!env.mock && !env.emit && !selfFeeding)
    return t.skip('set CONSOLE_TEST_EMIT to a command that makes spectre-cp publish events (or CONSOLE_TEST_LIVE=alerts)');
  const recent = (await env.api('/alerts?limit=30')).items.map((a) => a.id);
  const page = await env.page();
  const frames = [];
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => frames.push(['sent', JSON.parse(String(f.payload))]));
    ws.on('framereceived', (f) => frames.push(['got', JSON.parse(String(f.payload))]));
  });
  await page.goto(`${env.url}/live`);
  await expectSocket(page);
  const snapshot = await page.locator('tr.event.alert.rest').evaluateAll((rs) => rs.map((r) => +r.dataset.seq));
  // A server that publishes by itself may have newer alerts by the time the page asked.
  if (selfFeeding) assert.ok(snapshot.length >= recent.length && snapshot[0] >= (recent[0] ?? 0), `snapshot ${snapshot} after ${recent}`);
  else assert.deepEqual(snapshot, recent, 'the snapshot is the newest alerts of the list');
  // The subscription continues exactly after the snapshot.
  const sub = frames.find(([d, m]) => d === 'sent' && m.op === 'subscribe');
  assert.deepEqual(sub[1].resume, snapshot.length ? { alerts: snapshot[0] } : {});
  recent.splice(0, recent.length, ...snapshot);
  if (env.emit) execSync(env.emit, { stdio: 'inherit', timeout: 60000 });
  await page.locator('tr.event.alert.ws').nth(2).waitFor({ timeout: 15000 });
  if (!selfFeeding) await page.locator('tr.event.incident').first().waitFor();
  const seqs = await page.locator('tr.event.alert.ws').evaluateAll((rs) => rs.map((r) => +r.dataset.seq));
  // Playwright may report a received frame after the page has drawn its row: up to 2 s for them to catch up.
  const got = (s) => frames.some(([d, m]) => d === 'got' && m.type === 'event' && m.channel === 'alerts' && m.seq === s);
  for (let i = 0; i < 20 && !seqs.every(got); i++) await page.waitForTimeout(100);
  const events = frames.filter(([d, m]) => d === 'got' && m.type === 'event').map(([, m]) => m);
  for (const s of seqs) {
    assert.ok(events.some((e) => e.channel === 'alerts' && e.seq === s), `row ${s} not from the socket`);
    assert.ok(!recent.length || s > recent[0], `row ${s} is not newer than the snapshot`);
  }
  const first = events.find((e) => e.channel === 'alerts');
  assert.ok(await page.locator(`tr.event.alert[data-seq="${first.seq}"]`).getByText(first.data.signature).count());
  const all = await page.locator('tr.event.alert').evaluateAll((rs) => rs.map((r) => +r.dataset.seq));
  assert.equal(new Set(all).size, all.length, 'an alert shown twice');
  // The server sent no alert twice and none the snapshot had (the page would hide both).
  const sent = events.filter((e) => e.channel === 'alerts').map((e) => e.seq);
  assert.equal(new Set(sent).size, sent.length, `duplicate alert frames: ${sent}`);
  assert.ok(sent.every((q) => !recent.includes(q)), 'the stream re-sent an alert of the snapshot');
  await env.shot(page, 'live');
  await page.context().close();
});

test('the live page resumes after a seq: the server replays newer alerts over the WebSocket', async () => {
  const newest = (await env.api('/alerts?limit=1')).items[0].id;
  const after = Math.max(0, newest - 3);
  const page = await env.page();
  const frames = [];
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => frames.push(['sent', JSON.parse(String(f.payload))]));
    ws.on('framereceived', (f) => frames.push(['got', JSON.parse(String(f.payload))]));
  });
  await page.goto(`${env.url}/live?resume=alerts:${after}`);
  await expectSocket(page);
  for (let seq = after + 1; seq <= newest; seq++) await page.locator(`tr.event.alert[data-seq="${seq}"]`).waitFor();
  const sub = frames.find(([d, m]) => d === 'sent' && m.op === 'subscribe');
  assert.deepEqual(sub[1].resume, { alerts: after });
  assert.deepEqual(sub[1].channels, ['alerts', 'incidents']);
  const replayed = frames.filter(([d, m]) => d === 'got' && m.type === 'event' && m.channel === 'alerts' && m.seq <= newest).map(([, m]) => m.seq);
  assert.deepEqual(replayed, Array.from({ length: newest - after }, (_, i) => after + 1 + i), 'replayed oldest first, no gap or duplicate');
  await page.context().close();
});

test('after a dropped socket the live page reconnects and resumes where it was (mock)', async (t) => {
  if (!env.mock) return t.skip('needs the mock to drop the socket');
  const page = await env.page();
  const subs = [], got = [];
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => { const m = JSON.parse(String(f.payload)); if (m.op === 'subscribe') subs.push(m); });
    ws.on('framereceived', (f) => { const m = JSON.parse(String(f.payload)); if (m.type === 'event' && m.channel === 'alerts') got.push(m.seq); });
  });
  await page.goto(`${env.url}/live`);
  await expectSocket(page);
  await page.locator('tr.event.alert.ws').nth(2).waitFor();
  const lastSeen = Math.max(...got);
  for (const ws of env.mock.store.sockets) ws.terminate();
  const missed = addAlerts(env.mock.store, 2).map((e) => e.seq);  // published while the page was away
  for (const seq of missed) await page.locator(`tr.event.alert.ws[data-seq="${seq}"]`).waitFor({ timeout: 15000 });
  assert.equal(subs.length, 2);
  assert.deepEqual(subs[1].resume.alerts, lastSeen, 'the second subscription resumes after the last alert seen');
  assert.equal(new Set(got).size, got.length, `an alert came twice: ${got}`);
  await page.context().close();
});

test('the live page falls back to polling when the socket is refused (mock)', async (t) => {
  if (!env.mock) return t.skip('needs the mock to refuse the WebSocket');
  env.mock.store.control.websocket = false;
  try {
    const page = await env.page();
    await page.goto(`${env.url}/live`);
    await page.locator('.stream-status[data-mode=polling]').waitFor();
    await page.locator('tr.event.alert.rest').first().waitFor();
    const [added] = addAlerts(env.mock.store, 1);  // a new alert in the mock's store: the next poll shows it
    await page.locator(`tr.event.alert.poll[data-seq="${added.seq}"]`).waitFor({ timeout: 15000 });
    assert.equal(await page.locator('tr.event.alert.poll').count(), 1, 'polling re-added alerts it had');
    await page.context().close();
  } finally {
    env.mock.store.control.websocket = true;
  }
});

test('the dashboard renders its charts', async () => {
  const page = await env.page();
  await page.goto(`${env.url}/dashboard`);
  for (const c of ['severity', 'levels', 'threats', 'day']) await page.locator(`.chart[data-chart=${c}] canvas`).waitFor();
  const ink = await inkPerCanvas(page);
  assert.equal(ink.length, 4);
  for (const n of ink) assert.ok(n > 500, `a chart drew only ${n} pixels`);
  const d = await env.api('/dashboard');
  assert.ok((await page.locator('.tiles').textContent()).includes(String(d.alerts.total)));
  await env.shot(page, 'dashboard');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the trends page charts the series and the top lists', async () => {
  const page = await env.page();
  await page.goto(`${env.url}/trends?range=7d&bucket=day&by=severity`);
  await page.locator('.chart[data-chart=trends] canvas').waitFor();
  await page.locator('.chart[data-chart=top-talkers] canvas').waitFor();
  const ink = await inkPerCanvas(page);
  assert.equal(ink.length, 5);
  for (const n of ink) assert.ok(n > 500);
  await env.shot(page, 'trends');
  await page.context().close();
});

// Both servers give a drift report and a model status (spectre-cp with its fake
// data plane too); the page without a report is the (mock) test after this one.
test('the model page shows drift', async () => {
  const drift = await env.apiRaw('/ml/drift'), status = await env.apiRaw('/ml/status');
  assert.equal(drift.status, 200, 'GET /ml/drift');
  assert.equal(status.status, 200, 'GET /ml/status');
  const page = await env.page();
  await page.goto(`${env.url}/model`);
  const features = drift.body.features;
  if (features.length) await page.locator('table.drift tbody tr').first().waitFor();
  else await page.locator('#drift p').waitFor();
  assert.equal(await page.locator('table.drift tbody tr').count(), features.length);
  const flagged = await page.locator('table.drift tr.drifted').evaluateAll((rs) => rs.map((r) => r.dataset.feature));
  assert.deepEqual(flagged, features.filter((f) => f.drifted).map((f) => f.name));
  assert.ok((await page.locator('#drift').textContent()).includes(drift.body.score.drifted ? 'DRIFTED' : 'stable'));
  const active = page.locator('#active');
  await active.locator('dl, .muted').first().waitFor();
  assert.ok((await active.textContent()).includes(status.body.active ? status.body.active.version : 'none'));
  if (status.body.shadow) assert.ok((await page.locator('#shadow').textContent()).includes(status.body.shadow.version));
  await env.shot(page, 'model');
  await page.context().close();
});

test('the model page says why drift is missing (mock)', async (t) => {
  if (!env.mock) return t.skip('needs the mock to withhold the drift report');
  env.mock.store.control.drift = false;
  try {
    const page = await env.page();
    await page.goto(`${env.url}/model`);
    const err = page.locator('#drift .error[data-status="404"]');
    await err.waitFor();
    assert.match(await err.textContent(), /no drift report/);
    await page.locator('#active dl').first().waitFor();  // the rest of the page still shows
    await page.context().close();
  } finally {
    env.mock.store.control.drift = true;
  }
});

test('search finds alerts and incidents of an address', async () => {
  const inc = await env.api(`/incidents/${env.incident}`);
  const found = await env.api(`/search?q=${encodeURIComponent(inc.attacker)}`);
  const page = await env.page();
  await page.goto(`${env.url}/search`);
  await page.locator('input[name=q]').fill(inc.attacker);
  await page.locator('input[name=q]').press('Enter');
  await page.getByText(`Alerts (${found.alerts.length})`).waitFor();
  assert.equal(await page.locator('ul.results.alerts li').count(), found.alerts.length);
  assert.equal(await page.locator('ul.results.incidents li').count(), found.incidents.length);
  await page.context().close();
});

test('a bad token shows the 401 error and the token prompt recovers', async () => {
  const page = await env.page('not-a-valid-token');
  await page.goto(`${env.url}/alerts`);
  const err = page.locator('.error[data-status="401"]');
  await err.waitFor();
  assert.match(await err.textContent(), /token was rejected \(401/);
  await env.shot(page, 'bad-token');
  await err.getByText('Change token').click();
  await page.locator('input[name=token]').fill(env.token);
  await page.locator('.token button[type=submit]').click();
  await page.locator('table.list.alerts tbody tr').first().waitFor();
  await page.context().close();
});

test('without a token the console asks for one first', async () => {
  const page = await env.page(null);
  await page.goto(`${env.url}/incidents/${env.incident}`);
  await page.locator('input[name=token]').fill(env.token);
  await page.locator('.token button[type=submit]').click();
  await page.locator('#explanation').waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('spectre.token')), env.token);
  await page.context().close();
});

test('a viewer token gets the 403 message on a verdict', async (t) => {
  if (!env.viewer) return t.skip('set CONSOLE_TEST_VIEWER_TOKEN');
  const page = await env.page(env.viewer);
  await page.goto(`${env.url}/incidents/${env.incident}`);
  await page.locator('#verdict button.tp').click();
  await page.locator('#verdict button[type=submit]').click();
  assert.match(await page.locator('#verdict .error[data-status="403"]').textContent(), /role may not do that \(403/);
  await page.context().close();
});

test('an unreachable server shows a network error', async () => {
  const page = await env.page();
  await page.route('**/api/v1/**', (r) => r.abort('connectionrefused'));
  await page.goto(`${env.url}/model`);
  const err = page.locator('.error[data-status="0"]').first();
  await err.waitFor();
  assert.match(await err.textContent(), /Cannot reach spectre-cp/);
  await env.shot(page, 'network-error');
  await page.context().close();
});
