// Incident page: what happened (timeline, members), why it matters (risk,
// ATT&CK, explanation), what to do (response), and the analyst's verdict.
import { api } from '../api';
import { AttackList, ErrorBox, KV, Level, Link, Loading, Section, time, useLoad } from '../components/common';
import { Download, Triage } from '../components/actions';
import { barConfig, ChartView } from '../components/chart';
import { FeedbackPanel } from '../components/feedback';
import type { Attack, IncidentDetail, Json } from '../types';

// The record's mitre block has names; the list fields may carry ids only.
function attack(inc: IncidentDetail, key: 'tactics' | 'techniques'): Attack[] {
  const inner = (inc.record?.incident as Json | undefined)?.mitre as Json | undefined;
  const named = inner?.[key] as Attack[] | undefined;
  return named?.length ? named : inc[key] || [];
}

function riskComponents(inc: IncidentDetail): Record<string, number> {
  const r = inc.risk || {};
  const c = (r.components || r) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(c).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
}

export function IncidentPage({ id }: { id: string }) {
  const { data: inc, error, loading, reload } = useLoad(() => api.incident(id), [id]);
  if (!inc) return <div><h1>Incident #{id}</h1><Loading when={loading} /><ErrorBox error={error} /></div>;
  const comps = riskComponents(inc);
  const ex = inc.explanation;
  return (
    <div class="incident">
      <h1>Incident #{inc.id} <Level level={inc.level} /> <span class="muted">score {inc.score}, confidence {inc.confidence}</span></h1>
      <p>{inc.attacker} → {inc.victim} · {time(inc.first_seen)} – {time(inc.last_seen)} · status {inc.status}
        {inc.assignee && ` · ${inc.assignee}`} · {inc.members_total} detections</p>
      <div class="grid">
        <Section title="Explanation" id="explanation">
          {typeof ex === 'string' ? <p>{ex}</p> : ex ? (
            <><p class="summary">{ex.summary}</p><ol>{ex.steps?.map((s) => <li>{s}</li>)}</ol></>
          ) : <span class="muted">none</span>}
        </Section>
        <Section title="Risk components" id="risk">
          <ChartView label="risk" config={barConfig(Object.keys(comps), Object.values(comps), 'points', true)} />
          <table class="list compact">{Object.entries(comps).map(([k, v]) => <tr><td>{k}</td><td class="num">{v}</td></tr>)}</table>
        </Section>
        <Section title="ATT&CK" id="attack">
          <h3>Tactics</h3><AttackList items={attack(inc, 'tactics')} kind="tactics" />
          <h3>Techniques</h3><AttackList items={attack(inc, 'techniques')} kind="techniques" />
        </Section>
        <Section title="Recommended response" id="response">
          {inc.response ? (
            <>
              <p><b>{inc.response.title || inc.response.playbook}</b></p>
              <ol>{inc.response.actions?.map((a) => <li>{a}</li>)}</ol>
              {inc.response.escalation && <p>Escalation: {inc.response.escalation}</p>}
              {inc.response.investigation?.length ? <><h3>Investigate</h3><ul>{inc.response.investigation.map((s) => <li>{s}</li>)}</ul></> : null}
            </>
          ) : <span class="muted">no playbook matched</span>}
        </Section>
      </div>
      <div class="grid">
        <Section title="Verdict" id="verdict">
          <FeedbackPanel target="incidents" id={inc.id} history={inc.feedback} />
        </Section>
        <Section title="Triage" id="triage">
          <Triage status={inc.status} assignee={inc.assignee} save={(b) => api.patchIncident(inc.id, b)} done={reload} />
          {inc.comments?.length ? <ul class="comments">{inc.comments.map((c) => <li>{time(c.ts)} {c.author}: {c.text}</li>)}</ul> : null}
          <Download path={`/incidents/${inc.id}/report.pdf`} label="PDF report" name={`incident-${inc.id}.pdf`} />
        </Section>
      </div>
      <Section title="Timeline" id="timeline">
        <table class="list">
          <thead><tr><th>time</th><th>kind</th><th>summary</th></tr></thead>
          <tbody>{inc.timeline?.map((t) => <tr><td>{time(t.ts)}</td><td>{t.kind}</td><td>{t.summary}</td></tr>)}</tbody>
        </table>
      </Section>
      <Section title={`Member detections (${inc.members?.length ?? 0} of ${inc.members_total})`} id="members">
        <table class="list">
          <thead><tr><th>time</th><th>kind</th><th>signature</th><th>technique</th><th>attacker → victim</th></tr></thead>
          <tbody>
            {inc.members?.map((m) => (
              <tr><td>{time(m.timestamp || m.ts)}</td><td>{m.kind}</td>
                <td>{m.signature_id ? <Link href={`/alerts?sid=${m.signature_id}`}>{m.signature}</Link> : m.signature}</td>
                <td>{m.technique}</td><td>{m.attacker} → {m.victim}</td></tr>
            ))}
          </tbody>
        </table>
      </Section>
      <details><summary>Record</summary><KV obj={inc.record} /></details>
    </div>
  );
}
