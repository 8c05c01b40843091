// Small shared pieces: links, loading/error states, badges, tables, time formatting.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { navigate } from '../router';
import type { Attack } from '../types';

export function Link(p: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={p.href} class={p.class} onClick={(e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      navigate(p.href);
    }}>{p.children}</a>
  );
}

// Loads once per change of `deps`; keeps the last error for <ErrorBox>.
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then((data) => live && setState({ data, loading: false }),
                (e) => live && setState({ error: toApiError(e), loading: false }));
    return () => { live = false; };
  }, [...deps, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

export function toApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(-1, String((e as Error)?.message ?? e));
}

export function ErrorBox({ error }: { error?: ApiError | null }) {
  if (!error) return null;
  return (
    <div class="error" role="alert" data-status={error.status}>
      {error.message}
      {error.auth && <> <Link href={`/token?next=${encodeURIComponent(location.pathname + location.search)}`}>Change token</Link></>}
    </div>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? <div class="loading">Loading…</div> : null;
}

// Suricata's priorities (the contract maps incident levels onto the same 1..4).
const SEV = ['', 'high', 'medium', 'low', 'info'];
export function Sev({ n }: { n: number }) {
  return <span class={`badge sev${n}`} title={`severity ${n}`}>{SEV[n] || n}</span>;
}
export function Level({ level }: { level: string }) {
  return <span class={`badge level-${level}`}>{level}</span>;
}

export function attackId(a: Attack): string { return typeof a === 'string' ? a : a.id; }
export function attackLabel(a: Attack): string {
  return typeof a === 'string' ? a : a.name ? `${a.id} ${a.name}` : a.id;
}
export function AttackList({ items, kind }: { items: Attack[]; kind: string }) {
  if (!items?.length) return <span class="muted">none</span>;
  return <ul class={`chips ${kind}`}>{items.map((a) => <li key={attackId(a)} title={attackId(a)}>{attackLabel(a)}</li>)}</ul>;
}

export function time(ts?: string): string {
  if (!ts) return '';
  const d = new Date(ts);
  return isNaN(d.getTime()) ? ts : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// A value in a key/value list: objects as JSON, SHA-256 digests shortened (the title has them whole).
function show(v: unknown): string {
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  const s = String(v);
  return /^[0-9a-f]{64}$/.test(s) ? s.slice(0, 12) + '…' : s;
}

export function KV({ obj }: { obj: Record<string, unknown> | null | undefined }) {
  if (!obj) return <span class="muted">none</span>;
  return (
    <dl class="kv">
      {Object.entries(obj).map(([k, v]) => (
        <><dt>{k}</dt><dd title={typeof v === 'string' ? v : undefined}>{show(v)}</dd></>
      ))}
    </dl>
  );
}

export function Section(p: { title: string; children: ComponentChildren; id?: string }) {
  return <section class="card" id={p.id}><h2>{p.title}</h2>{p.children}</section>;
}
