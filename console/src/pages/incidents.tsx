// Incident list (newest first) with level/status/text filters.
import { api } from '../api';
import { AttackList, ErrorBox, Level, Link, Loading, time, useLoad } from '../components/common';
import { navigate, useLocation } from '../router';

export function IncidentsPage() {
  const { query } = useLocation();
  const level = query.get('level') || '', status = query.get('status') || '', q = query.get('q') || '';
  const { data, error, loading } = useLoad(() => api.incidents({ level, status, q, limit: 100 }), [level, status, q]);
  const apply = (e: Event) => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(e.target as HTMLFormElement).entries()) if (v) p.set(k, String(v));
    navigate(`/incidents${p.toString() ? '?' + p : ''}`);
  };
  return (
    <div>
      <h1>Incidents</h1>
      <form class="filters" onSubmit={apply}>
        <label>level <select name="level" value={level}><option value="">any</option>
          {['critical', 'high', 'medium', 'low', 'info'].map((l) => <option value={l}>{l}</option>)}</select></label>
        <label>status <input name="status" value={status} size={10} /></label>
        <label>text <input name="q" value={q} size={18} /></label>
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={error} /><Loading when={loading} />
      <table class="list incidents">
        <thead><tr><th>last seen</th><th>level</th><th>score</th><th>attacker → victim</th><th>tactics</th><th>detections</th><th>status</th></tr></thead>
        <tbody>
          {data?.items.map((i) => (
            <tr key={i.id}>
              <td>{time(i.last_seen)}</td><td><Level level={i.level} /></td><td class="num">{i.score}</td>
              <td><Link href={`/incidents/${i.id}`}>#{i.id} {i.attacker} → {i.victim}</Link></td>
              <td><AttackList items={i.tactics} kind="tactics" /></td><td class="num">{i.members_total}</td><td>{i.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
