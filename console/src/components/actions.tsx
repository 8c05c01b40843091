// Triage controls shared by the alert and incident pages: status, assignee,
// comment (PATCH) and a download of a server-made file (PDF report, export).
import { useState } from 'preact/hooks';
import { download } from '../api';
import type { ApiError } from '../api';
import { ErrorBox, toApiError } from './common';

export const STATUSES = ['new', 'investigating', 'resolved', 'false_positive'];

interface TriageProps {
  status: string; assignee: string;
  save: (body: Record<string, string>) => Promise<unknown>;
  done: () => void;
}

export function Triage({ status, assignee, save, done }: TriageProps) {
  const [error, setError] = useState<ApiError | null>(null);
  const [comment, setComment] = useState('');
  const run = async (body: Record<string, string>) => {
    try { await save(body); setError(null); done(); } catch (e) { setError(toApiError(e)); }
  };
  return (
    <div class="triage">
      <label>Status{' '}
        <select name="status" value={status} onChange={(e) => run({ status: (e.target as HTMLSelectElement).value })}>
          {(STATUSES.includes(status) ? STATUSES : [status, ...STATUSES]).map((s) => <option value={s}>{s}</option>)}
        </select>
      </label>{' '}
      <label>Assignee{' '}
        <input name="assignee" value={assignee} size={12}
               onChange={(e) => run({ assignee: (e.target as HTMLInputElement).value })} />
      </label>
      <form class="comment" onSubmit={(e) => { e.preventDefault(); if (comment) run({ comment }).then(() => setComment('')); }}>
        <input name="comment" value={comment} size={40} placeholder="comment"
               onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
        <button type="submit">Add comment</button>
      </form>
      <ErrorBox error={error} />
    </div>
  );
}

export function Download({ path, label, name }: { path: string; label: string; name: string }) {
  const [error, setError] = useState<ApiError | null>(null);
  const click = async () => {
    try {
      const url = await download(path);
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    }
  };
  return <span class="download"><button onClick={click}>{label}</button><ErrorBox error={error} /></span>;
}
