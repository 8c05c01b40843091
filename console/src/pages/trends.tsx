// Trends over a chosen range and bucket, by severity/category/signature/tactic,
// and the top talkers, signatures, tactics and targeted assets of that range.
import { api } from '../api';
import { barConfig, ChartView } from '../components/chart';
import { ErrorBox, Loading, Section, useLoad } from '../components/common';
import { navigate, useLocation } from '../router';
import { lineConfig } from './dashboard';

const RANGES: Record<string, number> = { '24h': 864e5, '7d': 7 * 864e5, '30d': 30 * 864e5 };
const TOPS = ['talkers', 'signatures', 'tactics', 'assets'];

export function TrendsPage() {
  const { query } = useLocation();
  const range = query.get('range') || '7d', bucket = query.get('bucket') || 'day', by = query.get('by') || 'severity';
  const from = new Date(Date.now() - (RANGES[range] || RANGES['7d'])).toISOString();
  const trends = useLoad(() => api.trends({ from, bucket, by }), [range, bucket, by]);
  const tops = useLoad(() => Promise.all(TOPS.map((w) => api.top(w, { from, limit: 10 }))), [range]);
  const set = (k: string, v: string) => {
    const p = new URLSearchParams({ range, bucket, by });
    p.set(k, v);
    navigate(`/trends?${p}`);
  };
  const pick = (k: string, v: string, opts: string[]) => (
    <label>{k} <select name={k} value={v} onChange={(e) => set(k, (e.target as HTMLSelectElement).value)}>
      {opts.map((o) => <option value={o}>{o}</option>)}</select></label>
  );
  return (
    <div>
      <h1>Trends</h1>
      <div class="filters">
        {pick('range', range, Object.keys(RANGES))}{pick('bucket', bucket, ['hour', 'day', 'week'])}
        {pick('by', by, ['severity', 'category', 'signature', 'tactic'])}
      </div>
      <ErrorBox error={trends.error || tops.error} />
      <Loading when={trends.loading} />
      <Section title={`Alerts per ${bucket} by ${by}`}>
        {trends.data && <ChartView label="trends" config={lineConfig(trends.data)} />}
      </Section>
      <div class="grid">
        {tops.data?.map((t) => (
          <Section title={`Top ${t.what}`}>
            <ChartView label={`top-${t.what}`} config={barConfig(t.items.map((x) => x.key), t.items.map((x) => x.count), 'count', true)} />
          </Section>
        ))}
      </div>
    </div>
  );
}
