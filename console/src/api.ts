// The one place that talks to spectre-cp's /api/v1: token handling, errors
// turned into readable messages. Every page fetches through get/post/patch.
import type { Alert, Dashboard, Drift, Feedback, Importance, Incident, IncidentDetail,
              KeyCount, MlStatus, Page, Trends, Verdict } from './types';

const TOKEN_KEY = 'spectre.token';
export const API = '/api/v1';

export function getToken(): string { return localStorage.getItem(TOKEN_KEY) || ''; }
export function setToken(t: string) {
  if (t) localStorage.setItem(TOKEN_KEY, t);
  else localStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(public status: number, message: string) { super(message); }
  get auth() { return this.status === 401 || this.status === 403; }
}

// A message an analyst can act on, by status (0: the request never got an answer).
function describe(status: number, reason: string, path: string): string {
  switch (status) {
    case 0: return `Cannot reach spectre-cp (network error on ${path}): ${reason}`;
    case 401: return `The token was rejected (401 Unauthorized): ${reason}. Enter a valid token.`;
    case 403: return `This token's role may not do that (403 Forbidden): ${reason}.`;
    case 429: return `Too many requests for this token (429): ${reason}. Retry shortly.`;
    default: return `${path} failed with ${status}: ${reason}`;
  }
}

type Query = Record<string, string | number | undefined | null>;

export function qs(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, describe(0, (e as Error).message, path));
  }
  const text = await res.text();
  let data: unknown = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* a non-JSON answer: reported below */ }
  if (!res.ok) {
    const reason = (data as { error?: string } | null)?.error || res.statusText || 'no reason given';
    throw new ApiError(res.status, describe(res.status, reason, path));
  }
  if (data === null && text) throw new ApiError(res.status, `${path}: the answer is not JSON`);
  return data as T;
}

// A binary answer (PDF, CSV) as an object URL: links cannot send the bearer header.
export async function download(path: string, q?: Query): Promise<string> {
  let res: Response;
  try {
    res = await fetch(API + path + qs(q), { headers: { Authorization: `Bearer ${getToken()}` } });
  } catch (e) {
    throw new ApiError(0, describe(0, (e as Error).message, path));
  }
  if (!res.ok) {
    let reason = res.statusText;
    try { reason = (await res.json()).error || reason; } catch { /* not JSON */ }
    throw new ApiError(res.status, describe(res.status, reason, path));
  }
  return URL.createObjectURL(await res.blob());
}

export const get = <T>(path: string, q?: Query) => request<T>('GET', path + qs(q));
export const post = <T>(path: string, body: unknown) => request<T>('POST', path, body);
export const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, body);

// Typed endpoints (one line each; the contract is the reference).
export const api = {
  health: () => get<{ status: string; dataplane: string }>('/health'),
  alerts: (q: Query) => get<Page<Alert>>('/alerts', q),
  alert: (id: number | string) => get<Alert>(`/alerts/${id}`),
  patchAlert: (id: number | string, body: Record<string, string>) => patch<Alert>(`/alerts/${id}`, body),
  incidents: (q: Query) => get<Page<Incident>>('/incidents', q),
  incident: (id: number | string) => get<IncidentDetail>(`/incidents/${id}`),
  patchIncident: (id: number | string, body: Record<string, string>) => patch<Incident>(`/incidents/${id}`, body),
  feedback: (target: 'alerts' | 'incidents', id: number | string, verdict: Verdict, reason: string, note: string) =>
    post<Feedback>(`/${target}/${id}/feedback`, { verdict, reason, note }),
  trends: (q: Query) => get<Trends>('/analytics/trends', q),
  top: (what: string, q: Query = {}) => get<{ what: string; items: KeyCount[] }>('/analytics/top', { what, ...q }),
  dashboard: () => get<Dashboard>('/dashboard'),
  search: (q: string) => get<{ alerts: Alert[]; incidents: Incident[] }>('/search', { q }),
  mlStatus: () => get<MlStatus>('/ml/status'),
  mlDrift: () => get<Drift>('/ml/drift'),
  mlImportance: () => get<Importance>('/ml/importance'),
};

// The stream's WebSocket address on this origin; browsers cannot set headers on
// a WebSocket, so the token travels as ?token= (the contract allows it).
export function streamUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${API}/stream${qs({ token: getToken() })}`;
}
