// Internal layout of a CompiledRuleset, shared by compile.cc (builder) and
// runtime.cc (workers). Not part of the public API.
#pragma once
#include <hs/hs.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dataplane/detect/datasets.h"
#include "dataplane/detect/detect.h"
#include "dataplane/decode/packet.h"
#include "dataplane/detect/transforms.h"

namespace spectre::detect_internal {

// Protocol classes used for grouping and the header check.
enum ProtoClass : uint8_t { kClsTcp, kClsUdp, kClsIcmp, kClsOther, kClsCount };
inline ProtoClass proto_class(uint8_t ipproto) {
  switch (ipproto) {
    case 6: return kClsTcp;
    case 17: return kClsUdp;
    case 1: case 58: return kClsIcmp;
    default: return kClsOther;
  }
}

struct IpRangeC {
  uint8_t ver;
  uint8_t lo[16], hi[16];
};
struct PortRangeC { uint16_t lo, hi; };
// A compiled address or port set: ranges in the ruleset's pools.
struct SetRef {
  uint32_t inc_begin = 0, inc_end = 0, exc_begin = 0, exc_end = 0;
  bool any = true;  // any (minus exclusions)
  bool all() const { return any && exc_begin == exc_end; }
};

// Item flags.
enum : uint16_t {
  kItNeg = 1, kItNocase = 2, kItStarts = 4, kItEnds = 8, kItRel = 16,  // kItRel: depends on previous match end
  kItOffset = 32, kItDepth = 64, kItDistance = 128, kItWithin = 256,
  kItDep = 512,  // positive matcher whose end position matters to a later item (else try first occurrence only)
  kItVar = 1024,  // reads byte_extract/byte_math variables (CItem::var, ByteOp var_*): fails are retried like relative ones
  // A later item of the chain reads variables: a fail after this item may be
  // due to a value set before it, so it is not final (earlier items retried).
  kItVarLater = 2048,
};
constexpr int kMaxVars = rules::kMaxByteVars;

struct CItem {
  uint8_t kind;       // rules::MatchItem::Kind
  uint16_t flags;
  int32_t offset, depth, distance, within;
  uint32_t pat_off, pat_len;  // content bytes (lowercased when nocase) in `bytes`
  uint32_t pcre;              // index into pcres (kPcre) or byteops (kByteTest, kByteJump)
  int32_t dataat;             // isdataat n
  uint8_t var[4];             // content offset, depth, distance, within / isdataat n: variable index + 1 (0: none)
};
struct Chain {
  uint8_t buf;
  uint8_t nvars;   // byte_extract / byte_math variables written here: vars[0, nvars) are zeroed per run
  uint16_t xform;  // 0: the buffer as is; k: CompiledRuleset::xforms[k - 1] applied first
  uint32_t item_begin, item_count;
};

struct FlowbitOp {
  uint8_t cmd;       // rules::Flowbit::Cmd
  bool any_of;
  uint32_t id_begin, id_count;  // into flowbit_ids
};

// Rule header check data, struct-of-arrays: the first array is read for
// every candidate, the rest only when it passes.
enum : uint32_t {
  kHdrBidir = 1u << 16, kHdrSrcAll = 1u << 17, kHdrDstAll = 1u << 18, kHdrSpAll = 1u << 19,
  kHdrDpAll = 1u << 20, kHdrDsize = 1u << 21, kHdrAppKw = 1u << 22, kHdrAppNeg = 1u << 23,
  kHdrNoAlert = 1u << 24, kHdrThreshold = 1u << 25, kHdrDetFilter = 1u << 26, kHdrPass = 1u << 27,
  kHdrFlowbitChecks = 1u << 28, kHdrFlags = 1u << 29, kHdrIcmp = 1u << 30,
  kHdrGlobalThr = 1u << 31,  // threshold.config suppress-by-address or rate_filter (RuleCold::gthr)
  kHdrExtra = 1u << 15,  // ip_proto, stream_size, xbits or stream-event: see RuleCold (FlowOpt uses bits 0-6)
  kHdrPktHdr = 1u << 14,  // IP/TCP header keywords (ttl, fragbits, seq, ...): RuleCold::hc_*
  kHdrNotOnHeld = 1u << 13,  // skipped on a held TCP packet (DetectPacket::held)
};
struct HdrQuick {
  uint32_t flags;      // low 16 bits: rules::FlowOpt; then kHdr*
  uint8_t proto_mask;  // bit per ProtoClass
  uint8_t app_hdr;     // AppProto required by the header protocol (kUnknown: none)
  uint8_t app_kw;      // app-layer-protocol keyword value
  uint8_t pad;
};

struct RuleCold {
  uint32_t orig;                    // index in the input RuleSet
  uint32_t chain_begin, chain_count;
  uint32_t fb_begin, fb_count;
  rules::BufMask buf_mask;          // buffers the rule inspects
  rules::Dsize dsize;
  uint8_t flags_set, flags_ignore, flags_mode;  // rules::Rule::flags_*
  rules::Threshold threshold, detection_filter;
  rules::IcmpMatch icmp;
  uint32_t gthr;                    // kHdrGlobalThr: index into CompiledRuleset::gthr
  bool has_ip_proto, has_stream_size, has_stream_size2;
  rules::Dsize ip_proto;
  rules::StreamSize stream_size, stream_size2;
  uint32_t xb_begin, xb_count;      // into CompiledRuleset::xbit_ops
  uint32_t app_events;              // rules::AppEvent bits the transaction must carry
  uint64_t stream_events;           // stream-event: DetectPacket::stream_events bits required
  uint32_t fi_begin, fi_count;      // into CompiledRuleset::flowint_ops, in rule order
  uint32_t hc_begin, hc_count;      // into CompiledRuleset::hdr_checks (kHdrPktHdr)
};

struct FlowintOp {
  uint8_t op;         // rules::Flowint::Op
  bool is_var;        // operand: the flowint `var` (else `value`)
  uint32_t name, var; // xbit_name_hash of the names
  uint32_t value;
};

struct XbitOp {
  uint8_t cmd;        // rules::Flowbit::Cmd
  uint8_t track;      // rules::Xbit::Track
  uint32_t name;      // xbit_name_hash
  uint64_t expire_ns;
};

// threshold.config entries of one rule that act at alert time (threshold_config.h).
struct SuppressC {
  uint8_t track;                    // ThresholdEntry::SupTrack
  SetRef ips;                       // in ip_pool, once per config entry (shared by the rules it names)
};
struct GlobalThrC {
  uint32_t sup_begin = 0, sup_end = 0;  // into CompiledRuleset::suppress
  bool has_rate = false;
  rules::Threshold rate{};          // track, count, seconds
  uint32_t timeout_s = 0;
  uint32_t rate_meta = 0;           // into CompiledRuleset::rate_meta: the rule with the new action
  bool rate_pass = false;           // new_action pass: the alert is not logged
};

// One prefilter group: a Hyperscan database over the fast patterns of its
// rules (pattern id -> rules, CSR) plus rules that have no fast pattern.
struct Group {
  hs_database_t* db = nullptr;
  std::vector<uint32_t> pat_off;    // npat + 1
  std::vector<uint32_t> pat_rules;  // rule indices, sorted per pattern
  std::vector<uint32_t> always;     // sorted rule indices
  uint32_t max_pat = 0;             // longest pattern in db
  // IP-only rules (compile.cc ip_only(): addresses and nothing else), e.g. IP
  // reputation lists: like Suricata's IP-only engine they are inspected on
  // the first packet of each flow direction only (DetectPacket::first_in_dir).
  // Other rules without a pattern are in `always`: every packet.
  std::vector<uint32_t> iponly;
  // Index of `iponly` by address: IPv4 CIDR blocks of each rule's narrower
  // address side, keyed by (prefix length << 32 | network). A packet looks up
  // its source and destination under each prefix length present; header_ok()
  // then checks the rule exactly. Rules it cannot index sit in `iponly_rest`.
  std::unordered_map<uint64_t, std::vector<uint32_t>> ip4_index;
  std::vector<uint8_t> ip4_plens;   // distinct prefix lengths in ip4_index
  std::vector<uint32_t> iponly_rest;  // any address family
  std::vector<uint32_t> iponly_v6;    // indexed side also has IPv6 ranges
};

// Rules of one (payload mode, protocol class, direction): port -> group.
struct Table {
  std::vector<uint16_t> port_group;  // 65536 entries, or empty: every port uses groups[0]
  std::vector<uint32_t> group_ids;   // local group -> index in CompiledRuleset::groups
};

struct PcreC {
  pcre2_code* code = nullptr;
  bool jit = false;
};

// Per-worker mutable state. Lives in the (otherwise read-only) ruleset
// because its sizes depend on the ruleset.
struct alignas(64) WorkerState {
  hs_scratch_t* scratch = nullptr;
  pcre2_match_data* md = nullptr;
  pcre2_match_context* mctx = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  uint32_t gen = 0;
  std::vector<uint32_t> stamp;  // per rule: generation it was last added as a candidate
  std::vector<uint32_t> cand;   // candidate rules of the current call
  uint32_t ncand = 0;
  uint32_t steps = 0;           // content-inspection recursion budget of the current rule
  std::unique_ptr<uint8_t[]> xbuf[2];  // transform outputs, kXformMax bytes each (only with transforms)
  std::unique_ptr<uint8_t[]> b64;      // base64_decode output, kXformMax bytes (only with base64_decode)
  uint32_t b64_len = 0;
  DsPending ds_pend[kMaxDsPending];    // dataset set/unset of the rule being evaluated
  uint8_t ds_npend = 0;
  int8_t dce_le = -1;                  // the tx's DCERPC byte order (1 little, 0 big, -1 none) for `dce`
  bool ds_dropped = false;             // a set/unset did not fit ds_pend
};

constexpr int kModes = 3;  // PayloadMode
constexpr uint32_t kRecursionLimit = 1u << 16;

}  // namespace spectre::detect_internal

namespace spectre {

struct CompiledRuleset {
  rules::BufMask bufs_used;  // buffers some rule inspects (e.g. file.magic: libmagic runs per file)
  // Rules in evaluation order: pass rules first, then the rest, each in file order.
  std::vector<detect_internal::HdrQuick> hdr;
  std::vector<detect_internal::SetRef> src, dst, sport, dport;
  std::vector<detect_internal::RuleCold> cold;
  std::vector<RuleMeta> meta;
  std::vector<detect_internal::GlobalThrC> gthr;      // threshold.config, see RuleCold::gthr
  std::vector<detect_internal::SuppressC> suppress;
  std::vector<RuleMeta> rate_meta;                    // meta with a rate_filter's new action
  std::vector<detect_internal::IpRangeC> ip_pool;
  std::vector<detect_internal::PortRangeC> port_pool;
  std::vector<detect_internal::Chain> chains;
  std::vector<detect_internal::CItem> items;
  std::string bytes;                           // content pool
  std::vector<detect_internal::PcreC> pcres;
  std::vector<rules::ByteOp> byteops;
  std::vector<detect_internal::XformC> xforms;  // transform chains of rule buffers
  bool has_b64 = false;                        // some rule uses base64_decode
  std::vector<detect_internal::FlowbitOp> fb_ops;
  std::vector<uint16_t> flowbit_ids;
  std::vector<std::pair<std::string, uint16_t>> flowbit_map;  // name -> id, sorted by name
  std::vector<detect_internal::XbitOp> xbit_ops;
  std::vector<detect_internal::FlowintOp> flowint_ops;
  std::vector<rules::HdrCheck> hdr_checks;     // RuleCold::hc_*
  std::vector<std::shared_ptr<const rules::DataSet>> datasets;  // dataset / datarep / filemd5 & co
  std::vector<detect_internal::DsOp> ds_ops;

  std::vector<detect_internal::Group> groups;
  // payload[mode][class][dir]; dir 0 = to_server, 1 = to_client
  detect_internal::Table payload[detect_internal::kModes][detect_internal::kClsCount][2];
  // app: per buffer and direction a group (no port grouping); always-list in app_always
  int32_t app_group[rules::kBufCount][2];      // -1: no db
  std::vector<uint32_t> app_always[2];
  // decode-event rules per decoder event (Malformed), in evaluation order.
  std::vector<uint32_t> decode_rules[kMalformedCount];
  // Header-only IP rules (ttl, id, fragbits, fragoffset, ...: nothing else but
  // addresses), also inspected on each IP fragment as its own packet.
  std::vector<uint32_t> frag_rules;

  std::vector<std::unique_ptr<detect_internal::WorkerState>> workers;
  uint32_t serial = 0;                         // distinct per compile, never 0
  std::vector<uint8_t> has_fp;                 // per rule: found through a fast pattern

  CompiledRuleset();
  ~CompiledRuleset();
  CompiledRuleset(const CompiledRuleset&) = delete;
  CompiledRuleset& operator=(const CompiledRuleset&) = delete;
};

}  // namespace spectre
