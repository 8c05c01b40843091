// Shapes of the /api/v1 answers (docs: the issue-14 API contract). Fields the
// console does not read are left out; optional ones may be absent on older servers.

export type Json = Record<string, unknown>;

export interface Page<T> { items: T[]; next_cursor: string | null }

// A tactic or technique: an ATT&CK id ("TA0007") or an object with id and name.
export type Attack = string | { id: string; name?: string; first_seen?: string };

export interface Feedback {
  id: number; target: string; target_id: number; verdict: Verdict;
  reason: string; note: string; author: string; ts: string;
}
export type Verdict = 'true_positive' | 'false_positive';

export interface Alert {
  id: number; timestamp: string; severity: number; gid: number; sid: number; rev: number;
  signature: string; category: string; src_ip: string; src_port: number; dest_ip: string;
  dest_port: number; proto: string; app_proto: string; status: string; assignee: string;
  classification: string; incident_id: number | null; tactics: Attack[]; techniques: Attack[];
  eve: Json;
  feedback?: Feedback[]; comments?: { ts: string; author: string; text: string }[];
}

export interface Incident {
  id: number; first_seen: string; last_seen: string; level: string; score: number;
  confidence: number; status: string; assignee: string; classification: string;
  attacker: string; victim: string; tactics: Attack[]; techniques: Attack[];
  signatures: string[]; members_total: number; record: Json;
}

export interface Member {
  timestamp?: string; ts?: string; kind?: string; attacker?: string; victim?: string;
  signature_id?: number; signature?: string; technique?: string; tactic?: string;
}

export interface IncidentDetail extends Incident {
  timeline: { ts: string; kind: string; summary: string }[];
  members: Member[];
  explanation: string | { summary?: string; steps?: string[] } | null;
  risk: { components?: Record<string, number> } & Json;
  response: { playbook?: string; title?: string; actions?: string[]; escalation?: string;
              investigation?: string[] } | null;
  feedback: Feedback[];
  comments?: { ts: string; author: string; text: string }[];
}

export interface KeyCount { key: string; count: number }

export interface Trends {
  bucket: string; from: string; to: string;
  series: { key: string; points: { t: string; count: number }[] }[];
}

export interface Dashboard {
  rates: { alerts_per_min: number; incidents_per_min: number; events_per_s: number };
  top_threats: KeyCount[];
  alerts: { total: number; by_severity: Record<string, number> };
  incidents: { open: number; by_level: Record<string, number> };
  system: { uptime_s: number; store_rows: number; store_bytes: number; dropped: number; dataplane: string };
}

export interface ModelInfo { version: string; sha256?: string; classes?: string[]; metrics?: Json; active?: boolean; shadow?: boolean }
export interface MlStatus {
  active: ModelInfo | null; shadow: ModelInfo | null; versions: (string | ModelInfo)[];
  agreement: Json | null;
}
export interface Drift {
  window: { from: string; to: string; rows: number };
  features: { name: string; psi: number | null; ks: number | null; drifted: boolean }[];
  score: { psi: number | null; ks: number | null; drifted: boolean };
  alert_rate: { rate: number; baseline: number; change: boolean };
}
export interface Importance {
  model: { feature: string; importance: number }[];
  recent: { feature: string; contribution: number }[];
}

// Messages of the WebSocket stream (server → client).
export type StreamMsg =
  | { type: 'event'; channel: string; seq: number; count?: number; first_seq?: number; data: Json }
  | { type: 'gap'; channel: string; missed: number; from_seq: number; to_seq: number }
  | { type: 'heartbeat'; ts: string; seq: Record<string, number> }
  | { type: 'error'; reason: string };
