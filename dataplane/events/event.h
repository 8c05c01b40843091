// Fixed-size records that workers hand to the event writer through SPSC rings.
#pragma once
#include <cstdint>
#include <cstring>

#include "dataplane/app/app.h"
#include "dataplane/flow/flow.h"

namespace spectre {

struct FlowRecord {
  uint64_t flow_id;
  uint64_t first_ts, last_ts;     // ns since epoch
  uint64_t pkts[2], bytes[2];     // [0] to server, [1] to client
  uint8_t src[16], dst[16];       // initiator first
  uint16_t sport, dport;
  uint16_t vlan[2];               // 0x1000 | id, 0 when absent
  uint8_t ip_ver, proto, icmp_type, icmp_code;
  uint8_t tcp_flags_ts, tcp_flags_tc;
  TcpState tcp_state;
  EndReason reason;
  uint8_t flags;                  // FlowFlags
  uint8_t worker;
  uint8_t app_proto;              // rules::AppProto
};

enum class EventType : uint8_t { kFlow };

struct Event {
  EventType type;
  union {
    FlowRecord flow;
  };
};
static_assert(sizeof(Event) <= 128);

// What an ML alert adds (dataplane/features/scoring.h), copied out of the
// model (a reload may free it before the writer formats the alert).
struct MlAlertMeta {
  char model[64], version[32], cls[48];
  float score, threshold;
  uint16_t phase;                 // K of the early scoring point, 0 = flow end
  uint8_t ntop;
  bool anomaly;                   // isolation forest (category "anomaly")
  bool guarded;                   // the model has an open-set guard (issue 11)
  float guard_score, guard_threshold;  // guard score_samples (< threshold: unlike benign)
  struct Top {
    uint16_t feature;             // schemas/features.def id
    float value, contribution;
  } top[3];
};

// What a behaviour alert adds (dataplane/behave/): the episode and its
// evidence as of the alert. Counts a detector does not use stay zero.
struct BehaveAlertMeta {
  uint64_t episode_id, first_seen, last_seen;  // ns
  uint64_t flow_ids[4];
  uint64_t bytes_out, baseline_bytes;
  float distinct_dsts, distinct_ports, failed_ratio, half_open_per_s, flows_per_s;
  float intervals_cv, mean_interval_s, size_cv;
  uint32_t window_s, flows, attempts, sources;
  uint8_t detector, stage, nids;  // behave::Detector; stage 0 start, 1 grow, 2 end
};

// What a threat-intel alert adds (dataplane/intel/): the indicator's
// metadata, copied (a reload may free the set before the writer runs).
struct IntelAlertMeta {
  char feed[48], indicator[200], type[12], threat[64], match[16];
  char tags[160];                 // a JSON array, cut at a tag boundary
  uint64_t first_seen, last_seen, valid_until;  // ns; 0: unknown
  uint8_t confidence;
};

// YARA matches of one file (dataplane/yaramatch/): in an alert (one rule, n = 1,
// with its tags and meta) or in a fileinfo record (every rule, no tags or
// meta). Names copied (a reload may free the rules); cut to fit.
struct YaraEventMeta {
  struct Str {
    char id[24];                  // "$a"
    uint32_t offset, len;         // of the first matches in the scanned bytes
  };
  struct Hit {
    char rule[64], ns[40];
    uint8_t nstr;                 // str[] used
    bool str_cut;                 // more matches than str[] holds
    Str str[6];
  };
  uint8_t n;                      // hit[] used
  bool cut;                       // more matching rules than hit[] holds
  uint32_t scanned;               // bytes scanned
  Hit hit[4];
  char tags[160];                 // alert: the rule's tags, a JSON array
  char meta[420];                 // alert: the rule's meta, a JSON object
};

// Where the packet behind a record came from (EVE alert pkt_src, Suricata's
// names): none = no packet (flow timeout, shutdown, batched scoring).
enum PktSrc : uint8_t { kPktSrcNone, kPktSrcWire, kPktSrcDefrag };

// One alert, copied out of the ruleset (which a reload may free before the
// writer formats it). Written in place into the worker's alert ring.
struct AlertRecord {
  // kAppTx: an app-layer transaction log (event_type http/dns/tls);
  // kFeatureRow: one --dump-features CSV row (features, ml.phase).
  enum Kind : uint8_t { kAlert, kAppTx, kFeatureRow };
  uint8_t kind;
  uint64_t ts_ns, flow_id;
  uint64_t pcap_cnt;              // offline: the packet's number in the capture (1-based); 0: none
  uint8_t pkt_src;                // PktSrc
  uint8_t src[16], dst[16];       // as in the packet
  uint16_t sport, dport;
  uint8_t ip_ver, proto, app_proto;
  bool to_server, has_flow, has_app, has_ml;
  bool has_behave;
  bool has_intel;                 // gid 9200 (dataplane/intel/)
  uint8_t action;                 // rules::Action
  uint8_t severity;
  uint8_t worker;
  uint32_t gid, sid, rev;
  uint64_t flow_pkts[2], flow_bytes[2], flow_start;  // the flow so far (alerts): [0] to server
  char msg[256], category[128], metadata[512];  // NUL-terminated, truncated
  // eve.alert payload/packet (off: lengths 0, nothing copied): the bytes the
  // rule was inspected on (packet payload or stream chunk) and the IP packet
  // (from the IP header: EVE packet_info.linktype 101, raw IP); cut to fit.
  // The same area holds, instead, the HASSH strings of an SSH record
  // (has_hassh: the flow's EVE ssh event, or an alert raised on that tx).
  uint16_t payload_len, packet_len;
  bool payload_stream;             // payload is reassembled stream data
  bool has_hassh;
  uint16_t h2_headers_len;         // an HTTP/2 http record: x.h2_headers holds its (http2.headers)
  union {
    struct {
      uint8_t payload[1024], packet[1536];
    } raw;
    char hassh_string[2][1280];    // [0] client, [1] server; NUL-terminated, cut to fit
    uint8_t h2_headers[2 + 2 * 640];  // app/app_http2.h h2_log_buf (2 lists of kH2HdrLog)
    YaraEventMeta yara;            // has_yara: a YARA alert, or a fileinfo record's matches
  } x;
  AppMeta app;                    // valid when has_app
  MlAlertMeta ml;                 // valid when has_ml (phase also for kFeatureRow)
  BehaveAlertMeta behave;         // valid when has_behave
  IntelAlertMeta intel;           // valid when has_intel
  float features[64];             // kFeatureRow: the row (kNumFeatures used)
  bool has_yara;                  // x.yara: gid 9300 alert, or fileinfo's "yara" (dataplane/yaramatch/)
};

// The flow part of an alert raised about a flow rather than a packet (intel,
// YARA): addresses and ports of the flow's ends, the client first when
// `to_server`, its counters so far; kind kAlert.
inline void fill_flow_alert(AlertRecord& a, const Flow& f, bool to_server, uint8_t worker, uint64_t ts) {
  const FlowEnds e = flow_ends(f);
  a.kind = AlertRecord::kAlert;
  a.ts_ns = ts;
  a.flow_id = flow_id_of(f);
  std::memcpy(a.src, to_server ? e.src : e.dst, 16);
  std::memcpy(a.dst, to_server ? e.dst : e.src, 16);
  a.sport = to_server ? e.sport : e.dport;
  a.dport = to_server ? e.dport : e.sport;
  a.ip_ver = f.key.ip_ver;
  a.proto = f.key.proto;
  a.app_proto = f.app_proto;
  a.to_server = to_server;
  a.has_flow = true;
  a.worker = worker;
  for (int d = 0; d < 2; d++) {
    a.flow_pkts[d] = f.pkts[d];
    a.flow_bytes[d] = f.bytes[d];
  }
  a.flow_start = f.first_ts;
}
static_assert(sizeof(YaraEventMeta) <= 1024 + 1536, "YARA matches fit the payload area");

}  // namespace spectre
