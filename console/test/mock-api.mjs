// MOCK of spectre-cp's /api/v1 for developing and testing the console without
// the real server: the contract's JSON shapes from mock-fixtures.mjs, the
// WebSocket stream (sends a few events after a subscribe), and the console's
// static files with the index.html fallback. It records every POSTed feedback.
// Mock-only extras live under /__mock/ (never under /api). Not a reference
// implementation: filters, aggregates and cursors are the simplest that work.
//   node test/mock-api.mjs [--port 8480] [--dist dist]
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer } from 'ws';
import { makeAlert, makeStore } from './mock-fixtures.mjs';

export const MOCK_TOKENS = { 'mock-analyst-token': 'analyst', 'mock-viewer-token': 'viewer' };
const ROLE_RANK = { viewer: 0, analyst: 1, admin: 2 };
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };
const BUCKET_MS = { hour: 3600e3, day: 864e5, week: 7 * 864e5 };

class HttpError extends Error { constructor(status, reason) { super(reason); this.status = status; } }

function role(req, url) {
  const h = req.headers.authorization || '';
  const token = h.startsWith('Bearer ') ? h.slice(7) : url.searchParams.get('token');
  if (!token) throw new HttpError(401, 'missing bearer token');
  if (!MOCK_TOKENS[token]) throw new HttpError(401, 'invalid token');
  return MOCK_TOKENS[token];
}

function matches(a, p) {
  const q = (p.get('q') || '').toLowerCase();
  const ip = p.get('ip');
  return (!p.get('severity') || a.severity === +p.get('severity')) &&
    (!p.get('sid') || a.sid === +p.get('sid')) &&
    (!p.get('signature') || a.signature.toLowerCase().includes(p.get('signature').toLowerCase())) &&
    (!p.get('category') || a.category === p.get('category')) &&
    (!p.get('status') || a.status === p.get('status')) &&
    (!ip || a.src_ip === ip || a.dest_ip === ip) &&
    (!p.get('tactic') || a.tactics.includes(p.get('tactic'))) &&
    (!p.get('technique') || a.techniques.includes(p.get('technique'))) &&
    (!p.get('from') || a.timestamp >= new Date(p.get('from')).toISOString()) &&
    (!p.get('to') || a.timestamp <= new Date(p.get('to')).toISOString()) &&
    (!q || JSON.stringify([a.signature, a.src_ip, a.dest_ip, a.category]).toLowerCase().includes(q));
}

// Offset cursors over a newest-first list.
function page(list, p) {
  const limit = Math.min(+(p.get('limit') || 100), 1000), at = +(p.get('cursor') || 0);
  const items = list.slice(at, at + limit);
  return { items, next_cursor: at + limit < list.length ? String(at + limit) : null };
}

function trends(store, p) {
  const bucket = BUCKET_MS[p.get('bucket') || 'hour'] ? p.get('bucket') || 'hour' : null;
  if (!bucket) throw new HttpError(400, 'bucket must be hour, day or week');
  const by = p.get('by') || 'severity';
  const keyOf = { severity: (a) => String(a.severity), category: (a) => a.category, signature: (a) => a.signature,
                  tactic: (a) => a.tactics[0] }[by];
  if (!keyOf) throw new HttpError(400, 'by must be severity, category, signature or tactic');
  const to = p.get('to') ? new Date(p.get('to')) : new Date(), from = p.get('from') ? new Date(p.get('from')) : new Date(to - 7 * 864e5);
  const series = new Map();
  for (const a of store.alerts.filter((a) => matches(a, p))) {
    const t = new Date(Math.floor(Date.parse(a.timestamp) / BUCKET_MS[bucket]) * BUCKET_MS[bucket]).toISOString();
    const s = series.get(keyOf(a)) || new Map();
    s.set(t, (s.get(t) || 0) + 1);
    series.set(keyOf(a), s);
  }
  return { bucket, by, from: from.toISOString(), to: to.toISOString(),
           series: [...series].sort().map(([key, pts]) => ({ key, points: [...pts].sort().map(([t, count]) => ({ t, count })) })) };
}

function top(store, p) {
  const what = p.get('what') || 'talkers';
  const keyOf = { talkers: (a) => a.src_ip, signatures: (a) => a.signature, tactics: (a) => a.tactics[0], assets: (a) => a.dest_ip }[what];
  if (!keyOf) throw new HttpError(400, 'what must be talkers, signatures, tactics or assets');
  const n = new Map();
  for (const a of store.alerts.filter((a) => matches(a, p))) n.set(keyOf(a), (n.get(keyOf(a)) || 0) + 1);
  const items = [...n].map(([key, count]) => ({ key, count })).sort((x, y) => y.count - x.count).slice(0, +(p.get('limit') || 10));
  const to = p.get('to') ? new Date(p.get('to')) : new Date(), from = p.get('from') ? new Date(p.get('from')) : new Date(to - 864e5);
  return { what, from: from.toISOString(), to: to.toISOString(), items };
}

function dashboard(store, started) {
  const by_severity = {}, by_level = {};
  for (const a of store.alerts) by_severity[a.severity] = (by_severity[a.severity] || 0) + 1;
  for (const i of store.incidents) by_level[i.level] = (by_level[i.level] || 0) + 1;
  const hour = store.alerts.filter((a) => Date.parse(a.timestamp) > Date.now() - 3600e3).length;
  return {
    rates: { alerts_per_min: hour / 60, incidents_per_min: 0.1, events_per_s: 1520.5 },
    top_threats: top(store, new URLSearchParams('what=signatures&limit=5')).items,
    alerts: { total: store.alerts.length, by_severity },
    incidents: { open: store.incidents.filter((i) => i.status === 'open').length, by_level },
    system: { uptime_s: Math.round((Date.now() - started) / 1000), store_rows: store.alerts.length + store.incidents.length,
              store_bytes: 1572864, dropped: 0, dataplane: 'detached' },
  };
}

function feedback(store, kind, id, body, author) {
  if (!['true_positive', 'false_positive'].includes(body?.verdict)) throw new HttpError(400, 'verdict must be true_positive or false_positive');
  if (typeof body.reason !== 'string' || !body.reason) throw new HttpError(400, 'reason is required');
  const list = kind === 'incidents' ? store.details[id]?.feedback : store.alerts.find((a) => a.id === id) && (store.alertFeedback[id] ||= []);
  if (!list) throw new HttpError(404, `no ${kind.slice(0, -1)} ${id}`);
  const fb = { id: store.received.length + 1, target: kind.slice(0, -1), target_id: id, verdict: body.verdict,
               reason: body.reason, note: String(body.note || ''), author, ts: new Date().toISOString() };
  list.push(fb);
  store.received.push(fb);
  return fb;
}

// PATCH: status/assignee/classification/comment, as the contract's PATCH fields.
function analystSet(obj, comments, b, author) {
  if (!b || typeof b !== 'object') throw new HttpError(400, 'expected a JSON object');
  for (const k of Object.keys(b)) if (!['status', 'assignee', 'classification', 'comment'].includes(k)) throw new HttpError(400, `unknown field '${k}'`);
  if (b.status !== undefined && !['new', 'investigating', 'resolved', 'false_positive'].includes(b.status))
    throw new HttpError(400, 'status: expected new, investigating, resolved or false_positive');
  for (const k of ['status', 'assignee', 'classification']) if (b[k] !== undefined) obj[k] = String(b[k]);
  if (b.comment) comments.push({ ts: new Date().toISOString(), author, text: String(b.comment) });
  return obj;
}

async function readBody(req) {
  let s = '';
  for await (const c of req) { s += c; if (s.length > 1 << 20) throw new HttpError(413, 'body too large'); }
  try { return s ? JSON.parse(s) : null; } catch { throw new HttpError(400, 'body is not JSON'); }
}

// The REST routes: [method, pattern, minimum role, handler(params, query, body, role)].
function routes(store, started) {
  const alert = (id) => store.alerts.find((a) => a.id === +id) || (() => { throw new HttpError(404, `no alert ${id}`); })();
  return [
    ['GET', /^\/health$/, null, () => ({ status: 'ok', dataplane: 'detached' })],
    ['GET', /^\/alerts$/, 'viewer', (m, p) => page(store.alerts.filter((a) => matches(a, p)).reverse(), p)],
    ['GET', /^\/alerts\/(\d+)$/, 'viewer', (m) => ({ ...alert(m[1]), feedback: store.alertFeedback[m[1]] || [], comments: store.comments[m[1]] || [] })],
    ['PATCH', /^\/alerts\/(\d+)$/, 'analyst', (m, p, b, r, who) => analystSet(alert(m[1]), (store.comments[m[1]] ||= []), b, who)],
    ['PATCH', /^\/incidents\/(\d+)$/, 'analyst', (m, p, b, r, who) => {
      const d = store.details[m[1]] || (() => { throw new HttpError(404, `no incident ${m[1]}`); })();
      analystSet(d, d.comments, b, who);
      const i = store.incidents.find((x) => x.id === d.id);
      for (const k of ['status', 'assignee', 'classification']) i[k] = d[k];
      return i;
    }],
    ['GET', /^\/incidents\/(\d+)\/report\.pdf$/, 'viewer', (m) => {
      if (!store.details[m[1]]) throw new HttpError(404, `no incident ${m[1]}`);
      return { pdf: `%PDF-1.4\n% MOCK report of incident ${m[1]}\n%%EOF\n` };
    }],
    ['POST', /^\/(alerts|incidents)\/(\d+)\/feedback$/, 'analyst', (m, p, b, r, who) => feedback(store, m[1], +m[2], b, who)],
    ['GET', /^\/incidents$/, 'viewer', (m, p) => page(store.incidents.filter((i) => (!p.get('level') || i.level === p.get('level')) &&
                                                     (!p.get('q') || JSON.stringify(i).includes(p.get('q')))), p)],
    ['GET', /^\/incidents\/(\d+)$/, 'viewer', (m) => store.details[m[1]] || (() => { throw new HttpError(404, `no incident ${m[1]}`); })()],
    ['GET', /^\/analytics\/trends$/, 'viewer', (m, p) => trends(store, p)],
    ['GET', /^\/analytics\/top$/, 'viewer', (m, p) => top(store, p)],
    ['GET', /^\/dashboard$/, 'viewer', () => dashboard(store, started)],
    ['GET', /^\/search$/, 'viewer', (m, p) => ({ alerts: store.alerts.filter((a) => matches(a, new URLSearchParams({ q: p.get('q') || '' }))).reverse(),
                                                  incidents: store.incidents.filter((i) => JSON.stringify(i).includes(p.get('q') || '')) })],
    ['GET', /^\/ml\/status$/, 'viewer', () => store.ml.status],
    ['GET', /^\/ml\/drift$/, 'viewer', () => {
      if (!store.control.drift) throw new HttpError(404, 'no drift report: the active model has no reference distributions');
      return store.ml.drift;
    }],
    ['GET', /^\/ml\/importance$/, 'viewer', () => store.ml.importance],
  ];
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function serveStatic(res, dist, path) {
  let file = normalize(join(dist, path));
  if (!file.startsWith(normalize(dist))) return send(res, 400, { error: 'bad path' });
  try { if (!(await stat(file)).isFile()) throw 0; } catch { file = join(dist, 'index.html'); }  // client route
  try {
    const data = await readFile(file);
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream' });
    res.end(data);
  } catch { send(res, 404, { error: `console not built (${dist})` }); }
}

// New alerts in the store (polling sees them) as stream events.
export function addAlerts(store, n) {
  const out = [];
  for (let k = 0; k < n; k++) {
    const id = store.alerts.length + 1;
    const a = makeAlert(id, Date.now(), id);
    a.signature = `MOCK LIVE ${a.signature}`;
    store.alerts.push(a);
    out.push({ type: 'event', channel: 'alerts', seq: id, data: a });
  }
  return out;
}

// The next stream events: new alerts and an update of incident 7.
function nextEvents(store, n) {
  const out = addAlerts(store, n);
  store.incidentSeq += 1;
  out.push({ type: 'event', channel: 'incidents', seq: store.incidentSeq, data: store.incidents[0] });
  return out;
}

function streams(server, store) {
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url, 'http://x');
    let ok = url.pathname === '/api/v1/stream' && store.control.websocket;
    try { role(req, url); } catch { ok = false; }
    if (!ok) { socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n'); return; }
    wss.handleUpgrade(req, socket, head, (ws) => {
      store.sockets.add(ws);
      ws.on('close', () => store.sockets.delete(ws));
      ws.on('message', (raw) => {
        let m; try { m = JSON.parse(raw); } catch { return ws.send(JSON.stringify({ type: 'error', reason: 'not JSON' })); }
        if (m.op === 'ping') return ws.send(JSON.stringify({ type: 'pong' }));
        if (m.op === 'ack') return store.acks.push(m);
        if (m.op !== 'subscribe') return;
        store.subscriptions.push(m);
        ws.send(JSON.stringify({ type: 'subscribed', channels: m.channels, seq: {} }));  // as ctrlplane/stream answers
        // Resume: the stored alerts after the given seq (oldest first), then a few new events 150 ms apart.
        const min = m.filter?.min_severity || 0, keep = (e) => e.channel !== 'alerts' || !min || e.data.severity <= min;
        const after = m.resume?.alerts;
        if (Number.isInteger(after))
          for (const a of store.alerts.filter((a) => a.id > after)) if (keep({ channel: 'alerts', data: a }))
            ws.send(JSON.stringify({ type: 'event', channel: 'alerts', seq: a.id, data: a }));
        nextEvents(store, store.control.events).filter(keep)
          .forEach((e, i) => setTimeout(() => ws.readyState === 1 && ws.send(JSON.stringify(e)), 150 * (i + 1)));
      });
    });
  });
  return wss;
}

export async function startMock({ port = 0, host = '127.0.0.1', dist = new URL('../dist', import.meta.url).pathname } = {}) {
  const started = Date.now();
  const store = { ...makeStore(started), received: [], acks: [], subscriptions: [], sockets: new Set(), incidentSeq: 100,
                  control: { websocket: true, events: 3, drift: true } };
  const table = routes(store, started);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    try {
      if (url.pathname === '/__mock/received') return send(res, 200, { feedback: store.received, subscriptions: store.subscriptions, acks: store.acks });
      if (url.pathname === '/__mock/control' && req.method === 'POST') return send(res, 200, Object.assign(store.control, await readBody(req)));
      if (!url.pathname.startsWith('/api/v1/')) return serveStatic(res, dist, url.pathname === '/' ? '/index.html' : url.pathname);
      const path = url.pathname.slice('/api/v1'.length);
      const hit = table.map(([method, re, need, f]) => ({ method, m: re.exec(path), need, f })).filter((r) => r.m);
      if (!hit.length) throw new HttpError(404, `no route ${path}`);
      const r = hit.find((x) => x.method === req.method);
      if (!r) throw new HttpError(405, `${req.method} not allowed on ${path}`);
      let who = null, author = null;
      if (r.need) {
        who = role(req, url);
        author = who === 'analyst' ? 'mock-analyst' : 'mock-viewer';
        if (ROLE_RANK[who] < ROLE_RANK[r.need]) throw new HttpError(403, `role ${who} may not ${req.method} ${path}`);
      }
      const body = req.method === 'GET' ? null : await readBody(req);
      const out = r.f(r.m, url.searchParams, body, who, author);
      if (out.pdf) { res.writeHead(200, { 'Content-Type': 'application/pdf' }); return res.end(out.pdf); }
      send(res, req.method === 'POST' && path.endsWith('/feedback') ? 201 : 200, out);
    } catch (e) {
      send(res, e.status || 500, { error: e.message });
    }
  });
  const wss = streams(server, store);
  await new Promise((ok) => server.listen(port, host, ok));
  const url = `http://${host}:${server.address().port}`;
  return { url, store, close: () => new Promise((ok) => { for (const s of store.sockets) s.terminate(); wss.close(); server.close(ok); }) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
  const m = await startMock({ port: +arg('--port', 8480), dist: arg('--dist', undefined) });
  console.log(`mock spectre-cp API on ${m.url} (tokens: ${Object.keys(MOCK_TOKENS).join(', ')})`);
}
