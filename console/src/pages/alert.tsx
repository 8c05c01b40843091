// One alert: its fields, the EVE record, status/assignee changes and the verdict.
import { api } from '../api';
import { Triage } from '../components/actions';
import { AttackList, ErrorBox, Link, Loading, Section, Sev, time, useLoad } from '../components/common';
import { FeedbackPanel } from '../components/feedback';

export function AlertPage({ id }: { id: string }) {
  const { data: a, error, loading, reload } = useLoad(() => api.alert(id), [id]);
  if (!a) return <div><h1>Alert #{id}</h1><Loading when={loading} /><ErrorBox error={error} /></div>;
  return (
    <div class="alert-detail">
      <h1>Alert #{a.id} <Sev n={a.severity} /> {a.signature}</h1>
      <div class="grid">
        <Section title="Detection">
          <dl class="kv">
            <dt>time</dt><dd>{time(a.timestamp)}</dd>
            <dt>rule</dt><dd>{a.gid}:{a.sid}:{a.rev}</dd>
            <dt>category</dt><dd>{a.category}</dd>
            <dt>flow</dt><dd>{a.proto} {a.src_ip}:{a.src_port} → {a.dest_ip}:{a.dest_port} {a.app_proto}</dd>
            <dt>incident</dt><dd>{a.incident_id != null ? <Link href={`/incidents/${a.incident_id}`}>#{a.incident_id}</Link> : 'none'}</dd>
            <dt>tactics</dt><dd><AttackList items={a.tactics} kind="tactics" /></dd>
            <dt>techniques</dt><dd><AttackList items={a.techniques} kind="techniques" /></dd>
          </dl>
        </Section>
        <Section title="Triage" id="triage">
          <p>Status <b>{a.status}</b>{a.assignee && <> · assigned to {a.assignee}</>}
            {a.classification && <> · {a.classification}</>}</p>
          <Triage status={a.status} assignee={a.assignee} save={(b) => api.patchAlert(a.id, b)} done={reload} />
          <h3>Verdict</h3>
          <FeedbackPanel target="alerts" id={a.id} history={a.feedback || []} />
          {a.comments?.length ? <><h3>Comments</h3><ul>{a.comments.map((c) => <li>{time(c.ts)} {c.author}: {c.text}</li>)}</ul></> : null}
        </Section>
      </div>
      <Section title="EVE record"><pre class="json">{JSON.stringify(a.eve, null, 2)}</pre></Section>
    </div>
  );
}
