// Live events: the WebSocket stream (/api/v1/stream) with resume from the last
// seen seq per channel; if the socket cannot be opened, polls the REST lists.
import { api, streamUrl } from './api';
import type { Json, StreamMsg } from './types';

export type Mode = 'connecting' | 'websocket' | 'polling' | 'closed';
// source: how the event came (the socket, a poll, or the page's REST snapshot of recent alerts).
export interface LiveEvent { channel: 'alerts' | 'incidents'; seq: number; count: number; data: Json; source: 'ws' | 'poll' | 'rest' }

export interface Handlers {
  onEvent(e: LiveEvent): void;
  onMode(m: Mode, detail?: string): void;
  onGap(channel: string, missed: number): void;
}

const POLL_MS = 5000;
const ACK_EVERY = 20;  // acks let the server keep a resume point without one per event

// "alerts:120,incidents:4" (the SSE endpoint's ?resume= form) → {alerts: 120, incidents: 4}.
export function parseResume(s: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (s || '').split(',')) {
    const [ch, seq] = part.split(':');
    if ((ch === 'alerts' || ch === 'incidents') && /^\d+$/.test(seq || '')) out[ch] = Number(seq);
  }
  return out;
}

export class LiveStream {
  private ws: WebSocket | null = null;
  private timer = 0;
  private last: Record<string, number> = {};    // stream seq per channel (resume)
  private polled: Record<string, number> = {};  // highest id seen per list while polling
  private failures = 0;
  private stopped = false;
  private unacked = 0;
  private why = '';  // why the socket was given up (shown while polling)

  // resume: seq per channel to continue after (the server replays newer events).
  constructor(private h: Handlers, private filter: Json = {}, resume: Record<string, number> = {}) {
    this.last = { ...resume };
    // Alert seq == alert id: polling continues after the same point (incident seqs are update rows, not ids).
    if (resume.alerts) this.polled.alerts = resume.alerts;
  }

  start() { this.connect(); }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close();
    this.h.onMode('closed');
  }

  private connect() {
    this.h.onMode('connecting');
    let opened = false;
    let ws: WebSocket;
    try { ws = new WebSocket(streamUrl()); } catch { return this.fallback('WebSocket unavailable'); }
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.h.onMode('websocket');
      ws.send(JSON.stringify({ op: 'subscribe', channels: ['alerts', 'incidents'], filter: this.filter,
                               aggregate_ms: 0, resume: this.last }));
    };
    ws.onmessage = (m) => this.message(m.data);
    ws.onclose = () => {
      if (this.stopped) return;
      // Never opened (refused, 401, no stream hub): poll instead. Opened and dropped: retry twice.
      if (!opened || ++this.failures > 2) return this.fallback(opened ? 'stream closed repeatedly' : 'stream refused');
      this.timer = window.setTimeout(() => this.connect(), 1000 * this.failures);
    };
  }

  private message(raw: string) {
    let m: StreamMsg;
    try { m = JSON.parse(raw); } catch { return; }
    this.failures = 0;  // the server talks: a later drop starts a fresh series of retries
    if (m.type === 'event' && (m.channel === 'alerts' || m.channel === 'incidents')) {
      this.last[m.channel] = Math.max(this.last[m.channel] || 0, m.seq);
      this.h.onEvent({ channel: m.channel, seq: m.seq, count: m.count || 1, data: m.data, source: 'ws' });
      if (++this.unacked >= ACK_EVERY) this.ack();
    } else if (m.type === 'gap') {
      this.h.onGap(m.channel, m.missed);
    } else if (m.type === 'heartbeat') {
      this.ack();
    } else if (m.type === 'error') {
      this.h.onMode('websocket', `server: ${m.reason}`);
    }
  }

  private ack() {
    this.unacked = 0;
    for (const [channel, seq] of Object.entries(this.last))
      this.ws?.send(JSON.stringify({ op: 'ack', channel, seq }));
  }

  private fallback(why: string) {
    this.ws = null;
    this.why = why;
    this.h.onMode('polling', why);
    this.poll();
  }

  // Newest first from the REST lists; only ids above the last seen are new.
  private async poll() {
    if (this.stopped) return;
    try {
      const [a, i] = await Promise.all([api.alerts({ limit: 50 }), api.incidents({ limit: 20 })]);
      this.emit('alerts', a.items as unknown as Json[]);
      this.emit('incidents', i.items as unknown as Json[]);
      this.h.onMode('polling', this.why);
    } catch (e) {
      this.h.onMode('polling', (e as Error).message);
    }
    this.timer = window.setTimeout(() => this.poll(), POLL_MS);
  }

  private emit(channel: 'alerts' | 'incidents', items: Json[]) {
    const after = this.polled[channel] || 0, min = Number(this.filter.min_severity) || 0;
    // The subscription's severity filter, applied here to the polled alerts.
    const fresh = items.filter((x) => Number(x.id) > after && (channel !== 'alerts' || !min || Number(x.severity) <= min)).reverse();
    for (const data of fresh) {
      this.polled[channel] = Math.max(this.polled[channel] || 0, Number(data.id));
      this.h.onEvent({ channel, seq: Number(data.id), count: 1, data, source: 'poll' });
    }
  }
}
