// Model page: active and shadow models, shadow agreement, drift per feature and
// of the scores, the alert-rate change detector, feature importance.
import { api } from '../api';
import { barConfig, ChartView } from '../components/chart';
import { ErrorBox, KV, Loading, Section, time, useLoad } from '../components/common';
import type { ModelInfo } from '../types';

// PSI/KS may be null (not finite on the server): a dash then.
const num = (x: unknown, digits = 3) => (typeof x === 'number' && isFinite(x) ? x.toFixed(digits) : '–');

function Model({ m }: { m: ModelInfo | null }) {
  if (!m) return <span class="muted">none</span>;
  return (
    <dl class="kv">
      <dt>version</dt><dd>{m.version}</dd>
      {m.sha256 && <><dt>sha256</dt><dd class="mono">{m.sha256.slice(0, 16)}…</dd></>}
      {Array.isArray(m.classes) && <><dt>classes</dt><dd>{m.classes.join(', ')}</dd></>}
      {m.metrics && <><dt>metrics</dt><dd><KV obj={m.metrics} /></dd></>}
    </dl>
  );
}

export function ModelPage() {
  const status = useLoad(() => api.mlStatus(), []);
  const drift = useLoad(() => api.mlDrift(), []);
  const imp = useLoad(() => api.mlImportance(), []);
  const s = status.data, d = drift.data, i = imp.data;
  return (
    <div>
      <h1>Model</h1>
      <ErrorBox error={status.error} />
      <Loading when={status.loading && !s} />
      {s && (
        <div class="grid">
          <Section title="Active model" id="active"><Model m={s.active} /></Section>
          <Section title="Shadow model" id="shadow">
            <Model m={s.shadow} />
            <h3>Agreement with the active model</h3><KV obj={s.agreement} />
          </Section>
        </div>
      )}
      <Section title="Drift" id="drift">
        <ErrorBox error={drift.error} />
        {d && (
          <>
            <p class={d.score.drifted ? 'warn' : ''}>
              Window {time(d.window.from)} – {time(d.window.to)}, {d.window.rows} rows.
              Scores: PSI {num(d.score.psi)}, KS {num(d.score.ks)} — {d.score.drifted ? 'DRIFTED' : 'stable'}.
              Alert rate {num(d.alert_rate.rate, 2)}/min (baseline {num(d.alert_rate.baseline, 2)}){d.alert_rate.change ? ' — CHANGED' : ''}.
            </p>
            <ChartView label="drift" config={barConfig(d.features.map((f) => f.name), d.features.map((f) => f.psi ?? 0), 'PSI', true)} />
            <table class="list drift">
              <thead><tr><th>feature</th><th>PSI</th><th>KS</th><th>drifted</th></tr></thead>
              <tbody>{d.features.map((f) => (
                <tr class={f.drifted ? 'drifted' : ''} data-feature={f.name}>
                  <td>{f.name}</td><td class="num">{num(f.psi)}</td><td class="num">{num(f.ks)}</td><td>{f.drifted ? 'yes' : 'no'}</td>
                </tr>))}</tbody>
            </table>
          </>
        )}
      </Section>
      <ErrorBox error={imp.error} />
      {i && (
        <div class="grid">
          <Section title="Feature importance (model)">
            <ChartView label="importance" config={barConfig(i.model.map((f) => f.feature), i.model.map((f) => f.importance), 'importance', true)} />
          </Section>
          <Section title="Contributions (recent alerts)">
            <ChartView label="contributions" config={barConfig(i.recent.map((f) => f.feature), i.recent.map((f) => f.contribution), 'contribution', true)} />
          </Section>
        </div>
      )}
      {s?.versions?.length ? <Section title="Versions"><ul>{s.versions.map((v) => typeof v === 'string' ? <li>{v}</li> : (
          <li>{v.version} <span class="muted">{v.sha256?.slice(0, 12)}{v.active ? ' · active' : ''}{v.shadow ? ' · shadow' : ''}</span></li>))}</ul></Section> : null}
    </div>
  );
}
