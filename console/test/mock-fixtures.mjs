// Fixture data for the MOCK API (mock-api.mjs), in the issue-14 contract's
// shapes. Deterministic: the same alerts and incidents every run, timestamps
// relative to the mock's start so "last 24 h" charts have points.
const HOUR = 3600e3;

const SIGS = [
  [2001219, 'ET SCAN Potential SSH Scan', 'Attempted Information Leak', 2],
  [2002910, 'ET SCAN Potential VNC Scan 5800-5820', 'Attempted Information Leak', 2],
  [2019876, 'ET SCAN SSH BruteForce Tool with fake PUTTY version', 'Attempted Administrator Privilege Gain', 1],
  [2100498, 'GPL ATTACK_RESPONSE id check returned root', 'Potentially Bad Traffic', 3],
  [2027390, 'ET POLICY Possible Kali Linux hostname in DHCP Request', 'Potential Corporate Privacy Violation', 4],
];
const TACTIC_OF = { 2001219: 'TA0043', 2002910: 'TA0043', 2019876: 'TA0006', 2100498: 'TA0004', 2027390: 'TA0043' };
const TECH_OF = { 2001219: 'T1046', 2002910: 'T1046', 2019876: 'T1110', 2100498: 'T1068', 2027390: 'T1592' };

export function makeAlert(id, ts, k, incidentId = null) {
  const [sid, signature, category, severity] = SIGS[k % SIGS.length];
  const src = `203.0.113.${10 + (k % 3)}`, dst = `10.1.0.${20 + (k % 4)}`, sport = 40000 + k, dport = [22, 5900, 22, 80, 67][k % 5];
  const timestamp = new Date(ts).toISOString();
  return {
    id, timestamp, severity, gid: 1, sid, rev: 3, signature, category,
    src_ip: src, src_port: sport, dest_ip: dst, dest_port: dport, proto: 'TCP', app_proto: dport === 22 ? 'ssh' : '',
    status: 'new', assignee: '', classification: '', incident_id: incidentId,
    tactics: [TACTIC_OF[sid]], techniques: [TECH_OF[sid]],
    eve: { timestamp, flow_id: 1000 + id, event_type: 'alert', src_ip: src, src_port: sport, dest_ip: dst,
           dest_port: dport, proto: 'TCP', alert: { action: 'allowed', gid: 1, signature_id: sid, rev: 3, signature, category, severity } },
  };
}

const TACTICS = [
  { id: 'TA0043', name: 'Reconnaissance' }, { id: 'TA0006', name: 'Credential Access' },
  { id: 'TA0008', name: 'Lateral Movement' },
];
const TECHNIQUES = [
  { id: 'T1046', name: 'Network Service Discovery' }, { id: 'T1110', name: 'Brute Force' },
  { id: 'T1021.004', name: 'Remote Services: SSH' },
];

// An incident as the list returns it, with `record` in the EVE "incident" shape of ctrlplane/cortex.
export function makeIncident(id, now, alerts) {
  const first = alerts[0].timestamp, last = alerts[alerts.length - 1].timestamp;
  const attacker = alerts[0].src_ip, victim = alerts[0].dest_ip;
  const stamp = (t, i) => ({ ...t, first_seen: alerts[Math.min(i * 3, alerts.length - 1)].timestamp });
  const components = { signatures: 38.5, anomaly: 12.0, correlation: 20.0, context: 6.5 };
  const members = alerts.map((a) => ({
    timestamp: a.timestamp, kind: 'signature', attacker: a.src_ip, victim: a.dest_ip, signature_id: a.sid, gid: 1,
    technique: a.techniques[0], tactic: a.tactics[0], signature: a.signature,
  }));
  const response = {
    playbook: 'ssh-bruteforce', title: 'SSH brute force against an internal host',
    actions: [`Block ${attacker} at the perimeter for 24 h`, `Reset credentials of accounts on ${victim}`,
              'Enable key-only SSH authentication'],
    escalation: 'Page the on-call if a login succeeded',
    investigation: [`Review auth.log on ${victim} for accepted logins`, `List other hosts contacted by ${attacker}`],
    automatic: [], audit: [],
  };
  const explanation = {
    summary: `${attacker} scanned ${victim} and then brute-forced SSH (${alerts.length} detections over ${TACTICS.length} tactics).`,
    steps: [`Reconnaissance: ${attacker} probed SSH and VNC ports on ${victim}`,
            `Credential access: repeated SSH logins with a brute-force tool banner`,
            `Correlation rule recon-then-bruteforce matched (+20 points)`],
  };
  const record = {
    timestamp: last, event_type: 'incident',
    incident: {
      incident_id: id, event: 'update', status: 'open', entity: 'attacker', first_seen: first, last_seen: last,
      entities: { attackers: [attacker], victims: [victim] },
      detections: { signature: alerts.length, total: alerts.length, flows: 0 },
      signature_ids: [...new Set(alerts.map((a) => a.sid))], ml_classes: [], behaviours: [],
      mitre: { attack_version: '15.1', tactics: TACTICS.map(stamp), techniques: TECHNIQUES.map(stamp) },
      correlations: [{ name: 'recon-then-bruteforce', title: 'Reconnaissance followed by brute force', matches: 1 }],
      campaign_id: 0,
      risk: { score: 77.0, level: 'high', confidence: 0.82, components,
              history: { points: 0.0, prior_risk: 0.0, prior_incidents: 0 },
              entity: { address: attacker, score: 77.0, incidents: 1, notable: true } },
      intel: [], assets: [], explanation, response, members, members_dropped: 0,
    },
  };
  const incident = {
    id, first_seen: first, last_seen: last, level: 'high', score: 77.0, confidence: 0.82, status: 'open',
    assignee: '', classification: '', attacker, victim, tactics: TACTICS.map((t) => t.id),
    techniques: TECHNIQUES.map((t) => t.id), signatures: [...new Set(alerts.map((a) => a.signature))],
    members_total: alerts.length, record,
  };
  const timeline = [
    { ts: first, kind: 'opened', summary: `Incident opened on ${alerts[0].signature}` },
    ...TACTICS.slice(1).map((t, i) => ({ ts: alerts[Math.min((i + 1) * 3, alerts.length - 1)].timestamp, kind: 'tactic', summary: `New tactic ${t.id} ${t.name}` })),
    { ts: last, kind: 'escalated', summary: 'Level raised to high (score 77)' },
  ];
  // risk: the record's risk components, flat (as spectre-cp's detail view gives them).
  const detail = { ...incident, timeline, members, explanation, risk: { ...components }, response, feedback: [], comments: [] };
  return { incident, detail };
}

export function makeStore(now = Date.now()) {
  const alerts = [];
  for (let k = 0; k < 60; k++) alerts.push(makeAlert(k + 1, now - (60 - k) * 0.4 * HOUR, k));
  const member = alerts.slice(40, 52);
  for (const a of member) a.incident_id = 7;
  const inc7 = makeIncident(7, now, member);
  const inc3 = makeIncident(3, now, alerts.slice(10, 14).map((a) => ({ ...a, incident_id: 3 })));
  inc3.incident.level = inc3.detail.level = 'medium';
  inc3.incident.score = inc3.detail.score = 41.0;
  return {
    alerts, incidents: [inc7.incident, inc3.incident], details: { 7: inc7.detail, 3: inc3.detail },
    alertFeedback: {}, comments: {},
    ml: {
      status: {
        active: { version: '2026.11.30-1', sha256: 'a3f1c2d4e5b6978812ab34cd56ef7890a3f1c2d4e5b6978812ab34cd56ef7890',
                  classes: ['benign', 'scan', 'bruteforce', 'dos'], metrics: { macro_f1: 0.94, benign_fpr: 0.0021 } },
        shadow: { version: '2026.12.06-2', sha256: 'b4e2d3c5f6a7089923bc45de67f08901b4e2d3c5f6a7089923bc45de67f08901',
                  classes: ['benign', 'scan', 'bruteforce', 'dos'], metrics: { macro_f1: 0.95, benign_fpr: 0.0018 } },
        // As ctrlplane/learn's Learning::status gives them.
        versions: [['2026.11.02-1', 'c1'], ['2026.11.30-1', 'a3'], ['2026.12.06-2', 'b4']].map(([version, sha], i) => ({
          version, sha256: sha.padEnd(64, '0'), name: 'model', kind: 'xgboost', loaded_at: new Date(now - (3 - i) * 864e5).toISOString(),
          active: i === 1, shadow: i === 2, evaluation: i === 2 ? { passed: true, failed: [], job: 'j1' } : null })),
        agreement: { candidate: 'b4'.padEnd(64, '0'), against: 'a3'.padEnd(64, '0'), holdout_flows: 48211,
                     holdout: 0.987, source: 'hold-out rows at evaluation' },
      },
      drift: {
        window: { from: new Date(now - 6 * HOUR).toISOString(), to: new Date(now).toISOString(), rows: 48211 },
        features: [
          { name: 'flow_duration', psi: 0.04, ks: 0.03, drifted: false },
          { name: 'bytes_toserver', psi: 0.31, ks: 0.22, drifted: true },
          { name: 'pkts_toclient', psi: 0.08, ks: 0.06, drifted: false },
          { name: 'dst_port_entropy', psi: 0.27, ks: 0.19, drifted: true },
          { name: 'syn_ratio', psi: 0.02, ks: 0.02, drifted: false },
        ],
        score: { name: 'score', psi: 0.12, ks: null, drifted: false },
        alert_rate: { rate: 2.5, baseline: 1.1, change: true, changes: 1, buckets: 360, bucket_s: 60 },
        reference: 200000, psi_threshold: 0.25,
      },
      importance: {
        model: [{ feature: 'syn_ratio', importance: 0.31 }, { feature: 'dst_port_entropy', importance: 0.24 },
                { feature: 'bytes_toserver', importance: 0.17 }, { feature: 'flow_duration', importance: 0.11 }],
        recent: [{ feature: 'dst_port_entropy', contribution: 0.42 }, { feature: 'syn_ratio', contribution: 0.28 },
                 { feature: 'pkts_toclient', contribution: 0.09 }],
      },
    },
  };
}
