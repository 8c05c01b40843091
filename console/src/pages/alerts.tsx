// Alert list with the contract's filters (kept in the URL) and cursor paging.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorBox, Link, Loading, Sev, time, toApiError } from '../components/common';
import { navigate, useLocation } from '../router';
import type { ApiError } from '../api';
import type { Alert } from '../types';

const FILTERS: [string, string][] = [
  ['q', 'text'], ['severity', 'severity'], ['signature', 'signature'], ['sid', 'sid'], ['ip', 'ip'],
  ['cidr', 'cidr'], ['category', 'category'], ['status', 'status'], ['tactic', 'tactic'],
  ['technique', 'technique'], ['from', 'from'], ['to', 'to'],
];

export function AlertsPage() {
  const { query } = useLocation();
  const current = Object.fromEntries(FILTERS.map(([k]) => [k, query.get(k) || '']));
  const key = JSON.stringify(current);
  const [items, setItems] = useState<Alert[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(false);

  const load = async (after: string | null) => {
    setLoading(true);
    try {
      const page = await api.alerts({ ...current, limit: 100, cursor: after });
      setItems((l) => (after ? [...l, ...page.items] : page.items));
      setCursor(page.next_cursor);
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => { load(null); }, [key]);

  const apply = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const p = new URLSearchParams();
    for (const [k, v] of form.entries()) if (v) p.set(k, String(v));
    navigate(`/alerts${p.toString() ? '?' + p : ''}`);
  };

  return (
    <div>
      <h1>Alerts</h1>
      <form class="filters" onSubmit={apply}>
        {FILTERS.map(([k, label]) => k === 'severity' ? (
          <label>{label} <select name={k} value={current[k]}>
            <option value="">any</option>{[1, 2, 3, 4].map((n) => <option value={n}>{n}</option>)}
          </select></label>
        ) : k === 'status' ? (
          <label>{label} <select name={k} value={current[k]}>
            <option value="">any</option>
            {['new', 'investigating', 'resolved', 'false_positive'].map((s) => <option value={s}>{s}</option>)}
          </select></label>
        ) : (
          <label>{label} <input name={k} value={current[k]} size={k === 'q' || k === 'signature' ? 18 : 10} /></label>
        ))}
        <button type="submit">Filter</button> <Link href="/alerts">clear</Link>
      </form>
      <ErrorBox error={error} />
      <table class="list alerts">
        <thead><tr><th>time</th><th>sev</th><th>signature</th><th>category</th><th>source → destination</th><th>status</th><th>incident</th></tr></thead>
        <tbody>
          {items.map((a) => (
            <tr key={a.id} data-id={a.id}>
              <td>{time(a.timestamp)}</td><td><Sev n={a.severity} /></td>
              <td><Link href={`/alerts/${a.id}`}>{a.signature}</Link></td><td>{a.category}</td>
              <td>{a.src_ip}:{a.src_port} → {a.dest_ip}:{a.dest_port} {a.proto}</td><td>{a.status}</td>
              <td>{a.incident_id != null && <Link href={`/incidents/${a.incident_id}`}>#{a.incident_id}</Link>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Loading when={loading} />
      {!loading && !items.length && !error && <p class="muted">No alerts match.</p>}
      {cursor && <button onClick={() => load(cursor)} disabled={loading}>Load more</button>}
    </div>
  );
}
