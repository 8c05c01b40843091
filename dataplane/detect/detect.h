// Signature detection runtime. Rules are compiled off the fast path into a
// read-only CompiledRuleset (Hyperscan databases per buffer and direction,
// rules grouped by protocol and port); workers inspect with their own
// DetectCtx and the per-worker scratch held inside the ruleset.
//
// Threads: compile_ruleset() on the control thread; everything taking a
// DetectCtx on that worker's thread only. No allocation after construction.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/core/counter_def.h"
#include "dataplane/detect/buffers.h"
#include "dataplane/detect/counters.h"
#include "dataplane/rules/rule.h"
#include "dataplane/stream/stream_events.h"

namespace spectre {

// Per-flow detection state, kept in the worker's session for the flow.
struct FlowDetectState {
  uint16_t bits[7] = {};   // ids of set flowbits (ids assigned at compile)
  uint8_t nbits = 0;
  bool passed = false;     // a pass rule matched: no more inspection of this flow
  // flowint variables: name hash (stable across reloads) and value; at most
  // kMaxInts per flow (a new one beyond that is dropped: flowint_full).
  static constexpr int kMaxInts = 4;
  uint8_t nints = 0;
  uint32_t int_name[kMaxInts] = {}, int_val[kMaxInts] = {};
};

// Stream rules whose fast pattern was seen in an earlier chunk but that did
// not match yet (their other contents may still arrive). kStreamChunk calls
// scan only the new bytes (plus the longest pattern's overlap), so these are
// re-evaluated on the next chunks until they match or their pattern has left
// the kept window. Per flow direction, in the worker's session.
struct StreamPending {
  static constexpr int kMax = 6;
  uint32_t serial = 0;             // ruleset the ids belong to (0: none)
  uint8_t n = 0;
  uint32_t id[kMax] = {};
  uint32_t until[kMax] = {};       // stream offset (low 32 bits) after which it is dropped
};

// What the worker knows about the packet or stream chunk being inspected.
struct DetectPacket {
  const uint8_t* src = nullptr;   // addresses as in this packet (16 bytes; v4 in first 4)
  const uint8_t* dst = nullptr;
  uint8_t ip_ver = 4;
  uint8_t proto = 0;              // IP protocol number
  uint16_t sport = 0, dport = 0;  // as in this packet (for a stream chunk: its direction)
  bool has_flow = true;
  bool to_server = true;          // direction within the flow
  bool established = false;       // TCP: handshake seen (or midstream pickup); UDP: both directions seen
  uint16_t dsize = 0;             // packet payload size (packet modes)
  uint8_t tcp_flags = 0;          // packet modes, TCP
  uint8_t icmp_type = 0, icmp_code = 0;  // packet modes, ICMP and ICMPv6
  bool icmp_echo = false;         // an echo-style message: icmp_id / icmp_seq are valid
  uint16_t icmp_id = 0, icmp_seq = 0;
  rules::AppProto app_proto = rules::AppProto::kUnknown;
  uint64_t ts_ns = 0;
  FlowDetectState* flow = nullptr;  // null: flowbits read as unset, set is a no-op
  // kStreamChunk: the buffer is the previous chunk's tail followed by new
  // bytes from `stream_new_from` on; only matches that need a new byte count
  // (a rule that also matches within [0, stream_new_from) was reported before).
  // Absolute offset/depth/startswith/isdataat count from the chunk's first new
  // byte (buffer position `stream_new_from`), as Suricata and Snort apply them
  // per inspected chunk; unanchored contents may also match across the tail.
  // `stream_base`: stream offset of buffer byte 0 (pending-rule deadlines).
  // Packet modes: first packet of its flow direction. IP-only rules (see
  // detect_impl.h Group::iponly) are inspected then only, as Suricata does.
  bool first_in_dir = true;
  uint32_t stream_new_from = 0;
  uint64_t stream_base = 0;
  StreamPending* pending = nullptr;  // kStreamChunk with a session
  // stream_size: TCP session bytes by sequence numbers (delivered + 1 for the
  // SYN) of the client [0] and the server [1]; has_stream: a session is tracked.
  bool has_stream = false;
  uint32_t stream_size[2] = {};
  // Packet modes: the packet's IP header at l3 (options / IPv6 extension
  // headers included: l4_off bytes), then its L4 header (l4_hlen bytes: TCP
  // with options, UDP 8, ICMP as decoded), for ipv4.hdr .. icmpv6.hdr.
  // Null: no header buffers (stream chunks, app calls, flow end).
  const uint8_t* l3 = nullptr;
  uint16_t l4_off = 0, l4_hlen = 0;
  uint64_t stream_events = 0;     // packet modes, TCP: sev_bit(StreamEvent) raised by this packet
  // kPacket for a TCP packet whose data the stream holds out of order (behind
  // a hole): only rules Suricata also inspects on packets (payload offset or
  // depth or stream_size, and the kTcpPacket ones) are evaluated; the stream
  // inspects the rest.
  bool held = false;
};

// The bit of a stream-event name (stream/stream_events.h), or 0 when this
// engine never raises it; then stream_event_refusal says why.
uint64_t stream_event_bit(const std::string& name);
std::string stream_event_refusal(const std::string& name);

// The header buffer `b` (rules::is_header_buf) of packet p; false when the
// packet has no such header (a rule on it does not match).
bool header_buffer(const DetectPacket& p, rules::Buf b, const uint8_t*& d, uint32_t& n);

// Which payload rules an inspection call considers.
enum class PayloadMode : uint8_t {
  kPacket,        // packet not covered by reassembly (UDP, ICMP, IP, TCP without stream): all but only_stream rules;
                  // also a TCP packet held behind a stream hole (DetectPacket::held: fewer rules)
  kTcpPacket,     // TCP packet whose data also goes to the stream: only no_stream and dsize rules, plus rules with no payload items
  kStreamChunk,   // reassembled in-order stream data: payload rules without no_stream/dsize
};

// Stable for the ruleset's lifetime; alerts point at it.
struct RuleMeta {
  uint32_t gid, sid, rev;
  rules::Action action;
  uint8_t severity;             // priority: 1 high .. 4
  std::string msg, category;    // category: classification description
  std::string metadata_json;    // Suricata's EVE form: {"key":["v",...],...} or empty
  std::string target;           // "src_ip" / "dest_ip" / ""
};

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  // One call per rule per inspected packet/chunk/transaction that matched,
  // after thresholds and pass suppression. Worker thread.
  virtual void alert(const RuleMeta& rule, const DetectPacket& pkt) = 0;
};

struct CompileReport {
  uint32_t rules = 0;               // compiled
  uint32_t rejected = 0;            // failed to compile (bad pcre, ...), listed in messages
  uint32_t patterns = 0, databases = 0, groups = 0;
  uint32_t pcre_jit = 0;
  double compile_ms = 0;
  size_t db_bytes = 0, scratch_bytes = 0;
  uint32_t cache_hits = 0, cache_misses = 0, cache_errors = 0;  // Hyperscan databases (CompileOptions::cache_dir)
  std::vector<std::string> messages;
};

struct CompiledRuleset;  // opaque, immutable after compile

// Port grouping knobs (defaults suit real rule sets; tests lower them).
struct ThresholdConfig;  // threshold_config.h

struct CompileOptions {
  uint32_t max_port_groups = 8;     // per (mode, protocol, direction), besides the default group
  uint32_t min_rules_per_port = 4;  // a port gets its own group only with this many port-specific rules
  uint32_t wide_port_set = 4096;    // a rule on more ports than this counts as any-port
  const ThresholdConfig* thresholds = nullptr;  // threshold.config entries applied to the rules
  std::string cache_dir;                  // compiled databases kept here (hs_cache.h); empty: none
  int64_t cache_max_age_s = 7 * 86400;    // cached databases unused this long are removed
};

// Builds scratch for `workers` workers. nullptr and `err` on failure (Hyperscan
// error, no rules left). Individual bad rules are dropped and reported.
std::shared_ptr<const CompiledRuleset> compile_ruleset(const rules::RuleSet& rs, uint32_t workers,
                                                        CompileReport& rep, std::string& err);
std::shared_ptr<const CompiledRuleset> compile_ruleset(const rules::RuleSet& rs, uint32_t workers,
                                                        const CompileOptions& opt, CompileReport& rep,
                                                        std::string& err);
size_t ruleset_rule_count(const CompiledRuleset& rs);
// Any rule sets or tests a flowbit or flowint (flows then need per-flow state).
bool ruleset_uses_flowbits(const CompiledRuleset& rs);
// Whether some rule inspects buffer b (e.g. file.magic: libmagic is run only then).
bool ruleset_uses_buffer(const CompiledRuleset& rs, rules::Buf b);
// Every buffer some rule inspects (one call where several are asked per packet).
const rules::BufMask& ruleset_buffers(const CompiledRuleset& rs);
// Flowbit id of `name` in this ruleset, or -1 (tests, diagnostics).
int ruleset_flowbit_id(const CompiledRuleset& rs, const std::string& name);

struct DetectCounters {
  SPECTRE_DETECT_COUNTERS(SPECTRE_COUNTER_FIELD)  // dataplane/detect/counters.h
};

struct alignas(64) DetectCtx {
  // xbit_slots: per-worker xbits table (48 bytes a slot; 16384 = 768 KiB).
  // ds_slots: per-worker dataset:set / unset overlay (48 bytes a slot; 4096 = 192 KiB).
  explicit DetectCtx(uint32_t worker_id, uint32_t threshold_slots = 1 << 16, uint32_t xbit_slots = 1 << 14,
                     uint32_t ds_slots = 1 << 12);
  ~DetectCtx();
  uint32_t worker_id;
  DetectCounters ctr{};
  struct Impl;
  std::unique_ptr<Impl> impl;  // threshold table (keyed by gid/sid: survives reloads), sized once.
                               // Scratch and candidate arrays depend on the ruleset and live in it,
                               // indexed by worker_id (must be < the `workers` given to compile).
};

void detect_payload(DetectCtx& c, const CompiledRuleset& rs, const DetectPacket& p, PayloadMode mode,
                    const uint8_t* data, uint32_t len, AlertSink& sink);

// One app-layer transaction direction completed (request or response, DNS
// message, TLS hello): rules over app buffers whose buffers are all present.
void detect_app(DetectCtx& c, const CompiledRuleset& rs, const DetectPacket& p, const BufferSet& bufs,
                AlertSink& sink);

// A packet the decoder rejected for reason `event` (a Malformed): the
// decode-event rules of that event (p: addresses when its IP header was
// read, else zeros; no flow). A few cycles when no rule names the event.
void detect_decode_event(DetectCtx& c, const CompiledRuleset& rs, uint8_t event, const DetectPacket& p,
                         AlertSink& sink);

// An IP fragment as its own packet (p: its IP header at l3, no L4, no flow),
// as Suricata inspects each fragment besides the reassembled datagram: the
// `ip` rules of IP header keywords only (fragbits, fragoffset, ttl, id, ...).
// Payload rules see only the reassembled datagram. Nothing when no rule fits.
void detect_fragment(DetectCtx& c, const CompiledRuleset& rs, const DetectPacket& p, AlertSink& sink);
// Whether any rule applies to fragments (callers skip building the packet and timing it otherwise).
bool detect_has_fragment_rules(const CompiledRuleset& rs);

}  // namespace spectre
