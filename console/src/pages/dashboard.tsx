// Dashboard: live rates, alert/incident summaries, top threats, the last day's
// alerts by severity, system figures. Refreshed every 10 s.
import { useEffect } from 'preact/hooks';
import type { ChartConfiguration } from 'chart.js';
import { api } from '../api';
import { barConfig, ChartView, PALETTE } from '../components/chart';
import { ErrorBox, Loading, Section, useLoad } from '../components/common';
import type { Trends } from '../types';

const SEV_NAMES: Record<string, string> = { '1': 'high', '2': 'medium', '3': 'low', '4': 'info' };

export function lineConfig(t: Trends): ChartConfiguration {
  const labels = [...new Set(t.series.flatMap((s) => s.points.map((p) => p.t)))].sort();
  return {
    type: 'line',
    data: {
      labels: labels.map((l) => l.slice(5, 16).replace('T', ' ')),
      datasets: t.series.map((s, i) => {
        const at = new Map(s.points.map((p) => [p.t, p.count]));
        return { label: SEV_NAMES[s.key] ? `${s.key} ${SEV_NAMES[s.key]}` : s.key, data: labels.map((l) => at.get(l) ?? 0),
                 borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length], pointRadius: 0 };
      }),
    },
  };
}

export function DashboardPage() {
  const dash = useLoad(() => api.dashboard(), []);
  const day = useLoad(() => api.trends({ bucket: 'hour', by: 'severity', from: new Date(Date.now() - 864e5).toISOString() }), []);
  useEffect(() => {
    const t = setInterval(() => { dash.reload(); day.reload(); }, 10000);
    return () => clearInterval(t);
  }, []);
  const d = dash.data;
  return (
    <div>
      <h1>Dashboard</h1>
      <ErrorBox error={dash.error || day.error} />
      <Loading when={!d && dash.loading} />
      {d && (
        <>
          <div class="tiles">
            <Tile label="alerts / min" value={d.rates.alerts_per_min} />
            <Tile label="incidents / min" value={d.rates.incidents_per_min} />
            <Tile label="events / s" value={d.rates.events_per_s} />
            <Tile label="alerts stored" value={d.alerts.total} />
            <Tile label="open incidents" value={d.incidents.open} />
            <Tile label="data plane" value={d.system.dataplane} />
          </div>
          <div class="grid">
            <Section title="Alerts by severity">
              <ChartView label="severity" config={{
                type: 'doughnut',
                data: { labels: Object.keys(d.alerts.by_severity).map((k) => SEV_NAMES[k] || k),
                        datasets: [{ data: Object.values(d.alerts.by_severity), backgroundColor: PALETTE }] },
              }} />
            </Section>
            <Section title="Incidents by level">
              <ChartView label="levels" config={barConfig(Object.keys(d.incidents.by_level), Object.values(d.incidents.by_level), 'incidents')} />
            </Section>
            <Section title="Top threats">
              <ChartView label="threats" config={barConfig(d.top_threats.map((x) => x.key), d.top_threats.map((x) => x.count), 'alerts', true)} />
            </Section>
            <Section title="Last 24 h (alerts per hour by severity)">
              {day.data && <ChartView label="day" config={lineConfig(day.data)} />}
            </Section>
          </div>
          <Section title="System">
            <p>uptime {Math.round(d.system.uptime_s / 60)} min · {d.system.store_rows} rows stored
              ({(d.system.store_bytes / 1048576).toFixed(1)} MiB) · {d.system.dropped} dropped</p>
          </Section>
        </>
      )}
    </div>
  );
}

function Tile({ label, value }: { label: string; value: number | string }) {
  return <div class="tile"><div class="value">{typeof value === 'number' ? +value.toFixed(2) : value}</div><div>{label}</div></div>;
}
