// Free-text search over alerts and incidents (/search?q=).
import { api } from '../api';
import { ErrorBox, Level, Link, Loading, Sev, time, useLoad } from '../components/common';
import { navigate, useLocation } from '../router';

export function SearchPage() {
  const q = useLocation().query.get('q') || '';
  const { data, error, loading } = useLoad(() => (q ? api.search(q) : Promise.resolve(null)), [q]);
  return (
    <div>
      <h1>Search</h1>
      <form class="filters" onSubmit={(e) => {
        e.preventDefault();
        const v = new FormData(e.target as HTMLFormElement).get('q');
        navigate(`/search?q=${encodeURIComponent(String(v || ''))}`);
      }}>
        <input name="q" value={q} size={40} placeholder="address, signature, technique, text…" />
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={error} /><Loading when={loading && !!q} />
      {data && (
        <>
          <h2>Incidents ({data.incidents.length})</h2>
          <ul class="results incidents">{data.incidents.map((i) => (
            <li><Level level={i.level} /> <Link href={`/incidents/${i.id}`}>#{i.id} {i.attacker} → {i.victim}</Link> {time(i.last_seen)}</li>
          ))}</ul>
          <h2>Alerts ({data.alerts.length})</h2>
          <ul class="results alerts">{data.alerts.map((a) => (
            <li><Sev n={a.severity} /> <Link href={`/alerts/${a.id}`}>{a.signature}</Link> {a.src_ip} → {a.dest_ip} {time(a.timestamp)}</li>
          ))}</ul>
        </>
      )}
    </div>
  );
}
