// Live page: alerts and incidents as they arrive over the stream (or polling).
import { useEffect, useState } from 'preact/hooks';
import { Level, Link, Sev, time } from '../components/common';
import { navigate, useLocation } from '../router';
import { LiveStream, parseResume, type LiveEvent, type Mode } from '../stream';
import { api } from '../api';
import type { Alert, Incident, Json } from '../types';

const KEEP = 200;     // rows kept on screen; older ones are in the alert list
const SNAPSHOT = 30;  // recent alerts shown before the stream's first event

// /live?resume=alerts:120 replays the alerts after seq 120 (from the server's store), then goes on live.
// ?min_severity=2 keeps severities 1..2 (the subscription's filter).
export function LivePage() {
  const { query } = useLocation();
  const resume = query.get('resume'), minSev = Number(query.get('min_severity')) || 0;
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [mode, setMode] = useState<{ m: Mode; detail?: string }>({ m: 'connecting' });
  const [gaps, setGaps] = useState(0);
  const [incidentsOnly, setIncidentsOnly] = useState(false);

  useEffect(() => {
    let s: LiveStream | null = null, live = true;
    const start = (from: Record<string, number>) => {
      if (!live) return;
      s = new LiveStream({
        // A replayed or re-sent event replaces its row (same channel and seq).
        onEvent: (e) => setEvents((l) => [e, ...l.filter((x) => x.channel !== e.channel || x.seq !== e.seq)].slice(0, KEEP)),
        onMode: (m, detail) => setMode({ m, detail }),
        onGap: (_c, missed) => setGaps((g) => g + missed),
      }, minSev ? { min_severity: minSev } : {}, from);
      s.start();
    };
    setEvents([]);
    if (resume) {
      start(parseResume(resume));
    } else {
      // The recent alerts from the list, then the stream from the newest of them: no gap between the two.
      api.alerts({ limit: SNAPSHOT }).then((page) => {
        const items = page.items.filter((a) => !minSev || a.severity <= minSev);
        if (live) setEvents(items.map((a) => ({ channel: 'alerts', seq: a.id, count: 1, data: a as unknown as Json, source: 'rest' })));
        start(page.items.length ? { alerts: page.items[0].id } : {});
      }, () => start({}));
    }
    return () => { live = false; s?.stop(); };
  }, [resume, minSev]);

  const shown = incidentsOnly ? events.filter((e) => e.channel === 'incidents') : events;
  return (
    <div>
      <h1>Live</h1>
      <p class="stream-status" data-mode={mode.m}>
        Stream: <b>{mode.m === 'websocket' ? 'live (WebSocket)' : mode.m === 'polling' ? 'polling every 5 s' : mode.m}</b>
        {mode.detail && <span class="muted"> — {mode.detail}</span>}
        {gaps > 0 && <span class="warn"> — {gaps} events skipped by the server (slow consumer)</span>}
        {' '}<label><input type="checkbox" checked={incidentsOnly} onChange={() => setIncidentsOnly(!incidentsOnly)} /> incidents only</label>
        {' '}<label>min severity <select value={minSev || ''} onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value;
          navigate(`/live${v ? `?min_severity=${v}` : ''}`);
        }}><option value="">any</option>{[1, 2, 3].map((n) => <option value={n}>{n}</option>)}</select></label>
      </p>
      <table class="list live">
        <thead><tr><th>time</th><th>kind</th><th>level</th><th>what</th><th>from → to</th></tr></thead>
        <tbody>
          {shown.map((e) => <LiveRow key={`${e.channel}:${e.seq}`} e={e} />)}
        </tbody>
      </table>
      {shown.length === 0 && <p class="muted">Waiting for events…</p>}
    </div>
  );
}

function LiveRow({ e }: { e: LiveEvent }) {
  if (e.channel === 'incidents') {
    const i = e.data as unknown as Incident;
    return (
      <tr class="event incident" data-seq={e.seq} data-source={e.source}>
        <td>{time(i.last_seen)}</td><td>incident</td><td><Level level={i.level} /></td>
        <td><Link href={`/incidents/${i.id}`}>Incident #{i.id}</Link> score {i.score} {i.signatures?.slice(0, 2).join(', ')}</td>
        <td>{i.attacker} → {i.victim}</td>
      </tr>
    );
  }
  const a = e.data as unknown as Alert;
  return (
    <tr class={`event alert ${e.source}`} data-seq={e.seq} data-source={e.source}>
      <td>{time(a.timestamp)}</td><td>alert{e.count > 1 && ` ×${e.count}`}</td><td><Sev n={a.severity} /></td>
      <td><Link href={`/alerts/${a.id}`}>{a.signature}</Link></td>
      <td>{a.src_ip}:{a.src_port} → {a.dest_ip}:{a.dest_port}</td>
    </tr>
  );
}
