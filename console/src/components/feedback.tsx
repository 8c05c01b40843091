// True/false-positive verdict with a reason category and a note, posted to
// /alerts/{id}/feedback or /incidents/{id}/feedback.
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import type { Feedback, Verdict } from '../types';
import { ErrorBox, time, toApiError } from './common';

// Reason categories the learning loop groups FP rates by.
export const REASONS: Record<Verdict, [string, string][]> = {
  false_positive: [
    ['benign_app', 'Benign application'], ['authorized_scanner', 'Authorized scanner'],
    ['misconfigured_rule', 'Rule too broad'], ['test_traffic', 'Test traffic'],
    ['duplicate', 'Duplicate'], ['other', 'Other'],
  ],
  true_positive: [
    ['confirmed_attack', 'Confirmed attack'], ['policy_violation', 'Policy violation'],
    ['malware', 'Malware'], ['other', 'Other'],
  ],
};

interface Props { target: 'alerts' | 'incidents'; id: number; history: Feedback[] }

export function FeedbackPanel({ target, id, history }: Props) {
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [reason, setReason] = useState('');
  const [note, setNote] = useState('');
  const [list, setList] = useState<Feedback[]>(history || []);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const choose = (v: Verdict) => { setVerdict(v); setReason(REASONS[v][0][0]); setError(null); };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!verdict) return;
    setBusy(true);
    try {
      const fb = await api.feedback(target, id, verdict, reason, note);
      setList((l) => [...l, fb]);
      setVerdict(null);
      setNote('');
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="feedback">
      <div class="buttons">
        <button class="tp" data-verdict="true_positive" onClick={() => choose('true_positive')}>True positive</button>
        <button class="fp" data-verdict="false_positive" onClick={() => choose('false_positive')}>False positive</button>
      </div>
      {verdict && (
        <form class="feedback-form" onSubmit={submit}>
          <label>Reason{' '}
            <select name="reason" value={reason} onChange={(e) => setReason((e.target as HTMLSelectElement).value)}>
              {REASONS[verdict].map(([v, l]) => <option key={v} value={v}>{l}</option>)}
            </select>
          </label>
          <label>Note{' '}
            <input name="note" value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={busy}>Submit {verdict.replace('_', ' ')}</button>
          <button type="button" onClick={() => setVerdict(null)}>Cancel</button>
        </form>
      )}
      <ErrorBox error={error} />
      {list.length > 0 && (
        <ul class="feedback-list">
          {list.map((f) => (
            <li key={f.id} data-verdict={f.verdict}>
              <b>{f.verdict.replace('_', ' ')}</b> ({f.reason}) {f.note && `“${f.note}”`} — {f.author} {time(f.ts)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
