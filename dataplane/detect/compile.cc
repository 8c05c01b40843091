// Rule compiler: rules::RuleSet -> CompiledRuleset.
//
// Design
// ------
// * Rules are validated one by one; a bad rule (pcre that does not compile,
//   offset/depth mixed with distance/within, contradictory flow options, ...) is dropped and listed in
//   rep.messages with its sid. The rest is compiled.
// * Evaluation order: pass rules first, then all others, each in file order
//   (Suricata's default action order puts pass first). Alerts therefore come
//   out in file order, and a matching pass rule is seen before any alert.
// * Each rule gets a category from its buffers and flow options:
//     header-only (no match items)  -> kPacket, kTcpPacket   (only_stream: kStreamChunk)
//     payload + dsize or no_stream  -> kPacket, kTcpPacket
//     payload + only_stream         -> kStreamChunk
//     payload otherwise             -> kPacket, kStreamChunk (on a held TCP packet,
//       DetectPacket::held, only with a payload offset/depth or stream_size)
//     app-layer buffers (and maybe payload) -> detect_app (dsize there is rejected);
//       payload items then inspect the transaction's bytes (BufferSet kPayload)
//   so one TCP byte is inspected once: either on the packet or on the stream.
// * Fast pattern: the positive content marked fast_pattern, else the longest
//   positive content (ties: the first). Suricata also ranks buffers; here any
//   buffer of the rule competes and the winner's buffer selects the database.
//   Rules without a positive content go to the group's "always" list
//   (inspected on every call), IP-only rules to its "iponly" list (first
//   packet of each flow direction), see ip_only().
// * Payload prefilter: for each (mode, protocol class tcp/udp/icmp/other,
//   direction to_server/to_client) a table maps the server port (dport for
//   to_server, sport for to_client; the rule side is dport resp. sport, both
//   for "<>") to a group. A port gets its own group only if at least
//   `min_rules_per_port` rules name it specifically, and at most
//   `max_port_groups` ports do (most rules first); rules on other ports, and
//   rules on more than `wide_port_set` ports or any port, are in the default
//   group. Each group is one Hyperscan block database over its rules' fast
//   patterns (identical groups share one database). Rules with to_server /
//   to_client are only in that direction's tables.
// * App prefilter: one database per (app buffer, direction) over the fast
//   patterns found in that buffer; rules without a fast pattern are evaluated
//   on every transaction of their direction.
// * Literal patterns (hs_compile_lit_multi), HS_FLAG_SINGLEMATCH, caseless for
//   nocase. Identical (bytes, nocase) patterns within a database share one id;
//   an id maps to a sorted rule list (CSR arrays).
// * Per worker: one Hyperscan scratch fitted to every database, PCRE2 match
//   data + match context + JIT stack, candidate stamp/list arrays sized to the
//   rule count. The ruleset owns all of it and frees it in its destructor.
// * Flowbit ids: a 16-bit hash of the name (linear probing on collision, names
//   in sorted order) so that ids usually survive a reload unchanged.
// Compile cost (this 2-core VM): 1k synthetic rules 0.11 s, 10k 0.34 s
// (2.5 MiB of databases); ET Open (19.5k rules, 99 databases, 43k patterns)
// 7 s and 16 MiB, nearly all of it hs_compile of the ~60 payload group
// databases (max_port_groups trades this against per-packet candidates).
// With CompileOptions::cache_dir the databases come from disk when unchanged
// (hs_cache.h): ET Open then compiles in ~0.6-0.8 s, mostly PCRE JIT.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include "dataplane/detect/compile_internal.h"
#include "dataplane/detect/hs_cache.h"
#include "dataplane/events/json.h"

namespace spectre {

using namespace detect_internal;
using rules::MatchItem;

CompiledRuleset::CompiledRuleset() {
  for (auto& b : app_group) b[0] = b[1] = -1;
}

CompiledRuleset::~CompiledRuleset() {
  for (auto& w : workers) {
    if (w->scratch) hs_free_scratch(w->scratch);
    if (w->md) pcre2_match_data_free(w->md);
    if (w->mctx) pcre2_match_context_free(w->mctx);
    if (w->jit_stack) pcre2_jit_stack_free(w->jit_stack);
  }
  for (auto& g : groups)
    if (g.db) hs_free_database(g.db);
  for (auto& p : pcres)
    if (p.code) pcre2_code_free(p.code);
  for (auto& x : xforms) free_xform(x);
}

size_t ruleset_rule_count(const CompiledRuleset& rs) { return rs.hdr.size(); }
bool ruleset_uses_buffer(const CompiledRuleset& rs, rules::Buf b) { return rs.bufs_used.has(b); }
const rules::BufMask& ruleset_buffers(const CompiledRuleset& rs) { return rs.bufs_used; }

bool ruleset_uses_flowbits(const CompiledRuleset& rs) { return !rs.flowbit_map.empty() || !rs.flowint_ops.empty(); }

int ruleset_flowbit_id(const CompiledRuleset& rs, const std::string& name) {
  auto it = std::lower_bound(rs.flowbit_map.begin(), rs.flowbit_map.end(), name,
                             [](const auto& e, const std::string& n) { return e.first < n; });
  if (it == rs.flowbit_map.end() || it->first != name) return -1;
  return it->second;
}

namespace {

constexpr uint8_t kModePacket = 1, kModeTcpPacket = 2, kModeStream = 4;

// Suricata EVE form: keys in order of first appearance, values grouped.
uint8_t proto_classes(rules::Proto p) {
  switch (p) {
    case rules::Proto::kIp: return 0xF;
    case rules::Proto::kTcp: case rules::Proto::kHttp: case rules::Proto::kTls: return 1 << kClsTcp;
    case rules::Proto::kSmtp: case rules::Proto::kFtp: case rules::Proto::kFtpData: case rules::Proto::kSmb:
    case rules::Proto::kSsh: case rules::Proto::kMqtt: case rules::Proto::kHttp2:
      return 1 << kClsTcp;
    case rules::Proto::kUdp: case rules::Proto::kQuic: return 1 << kClsUdp;
    case rules::Proto::kDns: case rules::Proto::kSip: return (1 << kClsTcp) | (1 << kClsUdp);  // SIP: UDP and TCP
    case rules::Proto::kKrb5: return (1 << kClsTcp) | (1 << kClsUdp);
    case rules::Proto::kDcerpc: return (1 << kClsTcp) | (1 << kClsUdp);
    case rules::Proto::kIcmp: return 1 << kClsIcmp;
  }
  return 0xF;
}

// Checks one rule; compiles its pcres into `pcres`. Empty string: accepted.
// A decode-event rule: matched against packets the decoder rejected, which
// have no flow and no trustworthy payload, so only its header and thresholds.
std::string analyze_decode_event(const rules::Rule& r, Analysis& a) {
  Malformed ev = malformed_from_event(r.decode_event.c_str());
  if (ev == kMalformedCount) return "decode-event " + r.decode_event + ": an event this decoder does not raise";
  if (!r.items.empty() || r.has_dsize || r.has_flags || r.icmp.any() || !r.hdr_checks.empty() || r.flow ||
      !r.flowbits.empty() ||
      !r.xbits.empty() || !r.flowints.empty() || r.app_events || r.has_app_proto || r.has_stream_size)
    return "decode-event with payload, flow or packet keywords (not supported)";
  a.decode_event = ev;
  a.dirs = 3;
  return {};
}

// Suricata inspects an IP fragment as a packet of its own with no L4 header,
// payload or flow: only `ip` rules whose keywords all read the IP header can
// match it (address-only rules stay with the reassembled packet's flow).
bool fragment_rule(const rules::Rule& r) {
  return r.hdr.proto == rules::Proto::kIp && !r.hdr_checks.empty() && r.items.empty() && r.decode_event.empty() &&
         r.stream_event.empty() && !r.flow && r.flowbits.empty() && r.xbits.empty() && r.flowints.empty() &&
         !r.has_dsize && !r.has_flags && !r.icmp.any() && !r.app_events && !r.has_app_proto && !r.has_stream_size;
}

std::string analyze(const rules::Rule& r, uint32_t idx, std::vector<PcreC>& pcres, uint32_t& jit_ok,
                    Analysis& a) {
  a.orig = idx;
  a.classes = proto_classes(r.hdr.proto);
  if (!r.decode_event.empty()) return analyze_decode_event(r, a);
  if (!r.stream_event.empty()) {
    if (!stream_event_bit(r.stream_event))
      return "stream-event " + r.stream_event + ": " + stream_event_refusal(r.stream_event);
    if (!r.items.empty()) return "stream-event with content (not supported)";
  }
  bool ts = r.flow & rules::kFlowToServer, tc = r.flow & rules::kFlowToClient;
  if (ts && tc) return "flow: to_server and to_client";
  if ((r.flow & rules::kFlowEstablished) && (r.flow & rules::kFlowNotEstablished))
    return "flow: established and not_established";
  bool only_stream = r.flow & rules::kFlowOnlyStream, no_stream = r.flow & rules::kFlowNoStream;
  if (only_stream && no_stream) return "flow: only_stream and no_stream";
  a.dirs = ts ? 1 : tc ? 2 : 3;
  bool has_payload = false, has_app = false, has_hdr = false;  // has_hdr: ipv4.hdr .. icmpv6.hdr
  bool has_addr = false;                                         // ip.src / ip.dst
  size_t best_len = 0;
  bool best_marked = false;
  for (size_t i = 0; i < r.items.size(); i++) {
    const MatchItem& it = r.items[i];
    if (it.buf >= rules::kBufCount) return "bad buffer id";
    if (rules::is_addr_buf(it.buf)) has_addr = true;  // present in every call: decides no mode
    else if (rules::is_header_buf(it.buf)) has_hdr = true;
    else (it.buf == rules::kPayload ? has_payload : has_app) = true;
    if (it.kind == MatchItem::Kind::kContent) {
      const auto& c = it.content;
      if (c.bytes.empty()) return "empty content";
      bool rel = c.has_distance || c.has_within;
      if (rel && (c.has_offset || c.has_depth)) return "content mixes offset/depth with distance/within";
      // (the parser expresses startswith as depth = length too)
      if (c.startswith && (rel || (c.has_offset && c.offset != 0))) return "startswith with offset/distance/within";
      if ((c.has_offset && c.offset < 0) || (c.has_depth && c.depth < 0)) return "negative offset/depth";
      // Transformed/decoded data is not in the raw buffer's database; header
      // buffers have none (their rules are found through a payload pattern or
      // inspected on every packet).
      if (!c.negated && !it.xform && !it.b64 && !rules::is_header_buf(it.buf) && !rules::is_addr_buf(it.buf)) {
        bool take = a.fp < 0 || (c.fast_pattern && !best_marked) ||
                    (c.fast_pattern == best_marked && c.bytes.size() > best_len);
        if (take) {
          a.fp = static_cast<int>(i);
          best_len = c.bytes.size();
          best_marked = c.fast_pattern;
        }
      }
    } else if (it.kind == MatchItem::Kind::kPcre) {
      const auto& p = it.pcre;
      uint32_t opts = 0;
      if (p.caseless) opts |= PCRE2_CASELESS;
      if (p.dotall) opts |= PCRE2_DOTALL;
      if (p.multiline) opts |= PCRE2_MULTILINE;
      if (p.extended) opts |= PCRE2_EXTENDED;
      int ec = 0;
      PCRE2_SIZE eo = 0;
      pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.pattern.data()), p.pattern.size(), opts,
                                       &ec, &eo, nullptr);
      if (!code) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(ec, buf, sizeof buf);
        return "pcre \"" + p.pattern + "\" at " + std::to_string(eo) + ": " + reinterpret_cast<char*>(buf);
      }
      PcreC pc;
      pc.code = code;
      pc.jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
      jit_ok += pc.jit;
      a.pcre_ids.push_back(static_cast<uint32_t>(pcres.size()));
      pcres.push_back(pc);
    } else if (it.kind == MatchItem::Kind::kIsDataAt) {
      if (it.isdataat.n < 0) return "negative isdataat";
    }
  }
  for (const auto& chain : r.xforms) {
    XformC x;
    std::string why = build_xform(chain, x);
    free_xform(x);
    if (!why.empty()) return why;
  }
  auto fail = [](const char* why) { return std::string(why); };
  const bool pkt_kw = r.has_dsize || r.has_flags || r.icmp.any() || !r.hdr_checks.empty() || has_hdr;  // packet keywords
  // Payload mixed with app-layer buffers: an app rule whose payload items
  // inspect the transaction's own bytes in that direction (BufferSet kPayload,
  // set by the parsers: the HTTP head as received + stored body, the DNS
  // message). See docs/ARCHITECTURE.md "Mixed payload and app-layer rules".
  // ip.src / ip.dst alone under an app-layer header protocol: per transaction, as Suricata.
  if (has_addr && !has_payload && !has_hdr && header_app(r.hdr.proto) != rules::AppProto::kUnknown) has_app = true;
  if (has_app || r.app_events) {  // app-layer-event: per transaction, payload items on its bytes
    if (r.app_events && !has_payload && !has_app) return fail("app-layer-event without content (not supported)");
    if (r.has_dsize) return fail("dsize with app-layer buffers");
    if (r.has_flags) return fail("flags with app-layer buffers");
    if (r.icmp.any()) return fail("ICMP keywords with app-layer buffers");
    if (!r.hdr_checks.empty()) return fail("IP/TCP header keywords (ttl, id, fragbits, seq, ...) with app-layer buffers");
    if (has_hdr) return fail("header buffers (ipv4.hdr, tcp.hdr, ...) with app-layer buffers");
    a.app = true;
  } else if (!has_payload && !has_hdr) {
    a.modes = only_stream ? kModeStream : (kModePacket | kModeTcpPacket);
    if (only_stream && pkt_kw) return fail("dsize, flags, ICMP or IP/TCP header keywords or header buffers with only_stream");
  } else if (only_stream) {
    if (pkt_kw) return fail("dsize, flags, ICMP or IP/TCP header keywords or header buffers with only_stream");
    a.modes = kModeStream;
  } else if (pkt_kw || no_stream) {
    a.modes = kModePacket | kModeTcpPacket;
  } else {
    a.modes = kModePacket | kModeStream;
    // Suricata (SigValidate): a payload content with offset or depth, or
    // stream_size, makes a stream rule also inspect packets
    // (SIG_FLAG_REQUIRE_PACKET); the others skip a TCP packet whose data went
    // to the stream, even held out of order.
    a.not_on_held = !r.has_stream_size;
    for (const MatchItem& it : r.items)
      if (it.buf == rules::kPayload && it.kind == MatchItem::Kind::kContent &&
          (it.content.has_offset || it.content.has_depth || it.content.startswith))
        a.not_on_held = false;
  }
  return {};
}

// Suricata's IP-only rule type: nothing but addresses, ports (plain, lists,
// negated, "<>") and ip_proto. Checked with suricata -r (7.0.10): `udp any any
// -> any 53`, `any !80` and `ip_proto:17` alert the first packet of each flow
// direction only. Inspected once per flow direction; every other rule without
// a pattern is a packet rule, inspected on every packet (Suricata: flow and
// flowbits isset/isnotset make a rule a packet rule, so do negated addresses
// ("like IP-only") and app-layer header protocols). app-layer-protocol stays
// here: Suricata checks it once per direction after protocol detection.
bool ip_only(const rules::Rule& r) {
  for (const auto& fb : r.flowbits)
    if (fb.cmd == rules::Flowbit::Cmd::kIsSet || fb.cmd == rules::Flowbit::Cmd::kIsNotSet) return false;
  const auto& h = r.hdr;
  const bool plain_proto = h.proto == rules::Proto::kIp || h.proto == rules::Proto::kTcp ||
                           h.proto == rules::Proto::kUdp || h.proto == rules::Proto::kIcmp;
  if (r.has_stream_size || !r.xbits.empty() || !r.stream_event.empty() || !r.hdr_checks.empty()) return false;
  return r.items.empty() && !r.has_dsize && !r.has_flags && !r.icmp.any() && r.flow == 0 && plain_proto &&
         h.src.exclude.empty() && h.dst.exclude.empty();
}

// Ports a rule names on its server side, or any.
struct PortKey {
  bool any = true;
  std::vector<uint16_t> ports;
};

void add_ports(const rules::PortSet& ps, uint32_t wide, PortKey& k) {
  if (ps.any) {
    k.any = true;
    return;
  }
  uint64_t total = 0;
  for (const auto& r : ps.include) total += r.hi >= r.lo ? uint32_t(r.hi - r.lo) + 1 : 0;
  if (total + k.ports.size() > wide) {
    k.any = true;
    return;
  }
  for (const auto& r : ps.include)
    for (uint32_t p = r.lo; p <= r.hi; p++) {
      bool ex = false;
      for (const auto& e : ps.exclude) ex |= p >= e.lo && p <= e.hi;
      if (!ex) k.ports.push_back(static_cast<uint16_t>(p));
    }
}

PortKey port_key(const rules::Rule& r, int dir, uint32_t wide) {
  PortKey k;
  k.any = false;
  add_ports(dir == 0 ? r.hdr.dport : r.hdr.sport, wide, k);
  if (!k.any && r.hdr.bidir) add_ports(dir == 0 ? r.hdr.sport : r.hdr.dport, wide, k);
  if (k.any) k.ports.clear();
  std::sort(k.ports.begin(), k.ports.end());
  k.ports.erase(std::unique(k.ports.begin(), k.ports.end()), k.ports.end());
  return k;
}

uint16_t flowbit_hash(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return static_cast<uint16_t>(h ^ (h >> 16));
}

struct Builder {
  const rules::RuleSet& rs;
  CompiledRuleset& out;
  CompileReport& rep;
  const std::vector<Analysis>& an;  // by internal rule index
  std::map<std::pair<int, std::vector<uint32_t>>, uint32_t> group_index;  // (kind, rules) -> group
  std::vector<std::vector<uint32_t>> group_rules;
  std::vector<int> group_kind;  // -1 payload, else app buffer
  std::string cache_dir;        // CompileOptions::cache_dir
  HsCacheStats cache;

  uint32_t intern_group(int kind, std::vector<uint32_t> rules) {
    auto key = std::make_pair(kind, rules);
    auto it = group_index.find(key);
    if (it != group_index.end()) return it->second;
    uint32_t id = static_cast<uint32_t>(group_rules.size());
    group_index.emplace(std::move(key), id);
    group_rules.push_back(std::move(rules));
    group_kind.push_back(kind);
    return id;
  }

  // Builds the port table of one (mode, class, dir).
  void build_table(Table& t, uint8_t mode_bit, int cls, int dir, const CompileOptions& opt) {
    std::vector<uint32_t> elig;
    for (uint32_t i = 0; i < an.size(); i++)
      if ((an[i].modes & mode_bit) && (an[i].classes & (1 << cls)) && (an[i].dirs & (1 << dir))) elig.push_back(i);
    if (cls != kClsTcp && cls != kClsUdp) {
      t.group_ids.push_back(intern_group(-1, elig));
      return;
    }
    std::vector<PortKey> keys;
    keys.reserve(elig.size());
    std::vector<uint32_t> count(65536, 0);
    for (uint32_t i : elig) {
      keys.push_back(port_key(rs.rules[an[i].orig], dir, opt.wide_port_set));
      for (uint16_t p : keys.back().ports) count[p]++;
    }
    std::vector<uint32_t> cand;
    for (uint32_t p = 0; p < 65536; p++)
      if (count[p] >= std::max<uint32_t>(opt.min_rules_per_port, 1)) cand.push_back(p);
    std::stable_sort(cand.begin(), cand.end(), [&](uint32_t a, uint32_t b) { return count[a] > count[b]; });
    if (cand.size() > opt.max_port_groups) cand.resize(opt.max_port_groups);
    std::vector<uint8_t> promoted(65536, 0);
    for (uint32_t p : cand) promoted[p] = 1;
    std::vector<uint32_t> def;
    for (size_t j = 0; j < elig.size(); j++) {
      bool in_def = keys[j].any;
      for (uint16_t p : keys[j].ports) in_def |= !promoted[p];
      if (in_def) def.push_back(elig[j]);
    }
    t.group_ids.push_back(intern_group(-1, def));
    if (cand.empty()) return;
    t.port_group.assign(65536, 0);
    std::map<uint32_t, uint16_t> local;  // global group -> local index
    local[t.group_ids[0]] = 0;
    for (uint32_t p : cand) {
      std::vector<uint32_t> g;
      for (size_t j = 0; j < elig.size(); j++)
        if (keys[j].any || std::binary_search(keys[j].ports.begin(), keys[j].ports.end(), static_cast<uint16_t>(p)))
          g.push_back(elig[j]);
      uint32_t gid = intern_group(-1, g);
      auto it = local.find(gid);
      if (it == local.end()) {
        it = local.emplace(gid, static_cast<uint16_t>(t.group_ids.size())).first;
        t.group_ids.push_back(gid);
      }
      t.port_group[p] = it->second;
    }
  }

  // IPv4 addresses covered by a set's includes (its IPv6 ranges aside), or
  // -1 when it cannot be indexed (any, nothing included).
  int64_t ip4_span(const detect_internal::SetRef& set) const {
    if (set.any || set.inc_begin == set.inc_end) return -1;
    int64_t n = 0;
    for (uint32_t k = set.inc_begin; k < set.inc_end; k++) {
      const auto& r = out.ip_pool[k];
      if (r.ver == 4) n += int64_t(be32(r.hi)) - int64_t(be32(r.lo)) + 1;
    }
    return n;
  }
  bool has_v6(const detect_internal::SetRef& set) const {
    for (uint32_t k = set.inc_begin; k < set.inc_end; k++)
      if (out.ip_pool[k].ver != 4) return true;
    return false;
  }
  // Every included range lies in 10/8, 172.16/12 or 192.168/16.
  bool private_only(const detect_internal::SetRef& set) const {
    for (uint32_t k = set.inc_begin; k < set.inc_end; k++) {
      if (out.ip_pool[k].ver != 4) return false;
      uint32_t lo = be32(out.ip_pool[k].lo), hi = be32(out.ip_pool[k].hi);
      auto in = [&](uint32_t net, int plen) {
        uint32_t m = ~uint32_t(0) << (32 - plen);
        return (lo & m) == net && (hi & m) == net;
      };
      if (!in(0x0a000000u, 8) && !in(0xac100000u, 12) && !in(0xc0a80000u, 16)) return false;
    }
    return true;
  }
  static uint32_t be32(const uint8_t* a) {
    return uint32_t(a[0]) << 24 | uint32_t(a[1]) << 16 | uint32_t(a[2]) << 8 | a[3];
  }

  // Fills the group's address index over its header-only rules.
  void index_iponly(detect_internal::Group& G) {
    std::vector<bool> plen_seen(33, false);
    for (uint32_t ri : G.iponly) {
      // Index the side most packets do not hit: not a private-only set (what
      // $HOME_NET usually is), else the one covering fewer addresses.
      const detect_internal::SetRef &S = out.src[ri], &D = out.dst[ri];
      int64_t s = ip4_span(S), d = ip4_span(D);
      bool ps = s >= 0 && private_only(S), pd = d >= 0 && private_only(D);
      bool use_src = s >= 0 && (d < 0 || (pd && !ps) || (ps == pd && s <= d));
      const detect_internal::SetRef* side = use_src ? &S : d >= 0 ? &D : nullptr;
      std::vector<std::pair<uint8_t, uint32_t>> blocks;  // (prefix length, network)
      for (uint32_t k = side ? side->inc_begin : 0; side && k < side->inc_end && blocks.size() <= 4096; k++) {
        if (out.ip_pool[k].ver != 4) continue;
        uint64_t lo = be32(out.ip_pool[k].lo), hi = be32(out.ip_pool[k].hi);
        while (lo <= hi && blocks.size() <= 4096) {  // largest aligned block starting at lo within [lo, hi]
          int bits = lo ? __builtin_ctz(uint32_t(lo)) : 32;
          while (bits > 0 && lo + (uint64_t(1) << bits) - 1 > hi) bits--;
          blocks.push_back({uint8_t(32 - bits), uint32_t(lo)});
          lo += uint64_t(1) << bits;
        }
      }
      if (!side || blocks.size() > 4096) {
        G.iponly_rest.push_back(ri);
        continue;
      }
      if (has_v6(*side)) G.iponly_v6.push_back(ri);  // IPv6 packets meet it through this list
      for (auto [plen, net] : blocks) {
        auto& v = G.ip4_index[uint64_t(plen) << 32 | net];
        if (v.empty() || v.back() != ri) v.push_back(ri);
        plen_seen[plen] = true;
      }
    }
    for (int l = 0; l <= 32; l++)
      if (plen_seen[l]) G.ip4_plens.push_back(uint8_t(l));
  }

  // Compiles every interned group into out.groups.
  bool compile_groups(std::string& err) {
    out.groups.resize(group_rules.size());
    out.has_fp.assign(out.hdr.size(), 0);
    for (size_t g = 0; g < group_rules.size(); g++) {
      Group& G = out.groups[g];
      std::map<std::pair<bool, std::string>, uint32_t> pat_ids;
      std::vector<std::vector<uint32_t>> pat_rules;
      std::vector<std::string> pats;
      std::vector<unsigned> flags;
      for (uint32_t ri : group_rules[g]) {
        const Analysis& a = an[ri];
        if (a.fp < 0) {
          (ip_only(rs.rules[a.orig]) ? G.iponly : G.always).push_back(ri);
          continue;
        }
        const auto& c = rs.rules[a.orig].items[a.fp].content;
        auto key = std::make_pair(c.nocase, c.nocase ? lower(c.bytes) : c.bytes);
        auto it = pat_ids.find(key);
        if (it == pat_ids.end()) {
          it = pat_ids.emplace(key, static_cast<uint32_t>(pats.size())).first;
          pats.push_back(key.second);
          flags.push_back(HS_FLAG_SINGLEMATCH | (c.nocase ? HS_FLAG_CASELESS : 0));
          pat_rules.emplace_back();
        }
        pat_rules[it->second].push_back(ri);
        G.max_pat = std::max<uint32_t>(G.max_pat, uint32_t(c.bytes.size()));
        out.has_fp[ri] = 1;
      }
      G.pat_off.push_back(0);
      for (auto& v : pat_rules) {
        G.pat_rules.insert(G.pat_rules.end(), v.begin(), v.end());
        G.pat_off.push_back(static_cast<uint32_t>(G.pat_rules.size()));
      }
      index_iponly(G);
      if (pats.empty()) continue;
      std::vector<const char*> exprs;
      std::vector<size_t> lens;
      std::vector<unsigned> ids;
      for (size_t i = 0; i < pats.size(); i++) {
        exprs.push_back(pats[i].data());
        lens.push_back(pats[i].size());
        ids.push_back(static_cast<unsigned>(i));
      }
      hs_compile_error_t* ce = nullptr;
      if (hs_compile_lit_cached(cache_dir, exprs.data(), flags.data(), ids.data(), lens.data(),
                                static_cast<unsigned>(pats.size()), HS_MODE_BLOCK, &G.db, &ce,
                                cache) != HS_SUCCESS) {
        err = std::string("hyperscan compile: ") + (ce && ce->message ? ce->message : "unknown error");
        if (ce) hs_free_compile_error(ce);
        return false;
      }
      rep.patterns += static_cast<uint32_t>(pats.size());
      rep.databases++;
      size_t sz = 0;
      if (hs_database_size(G.db, &sz) == HS_SUCCESS) rep.db_bytes += sz;
    }
    return true;
  }
};

}  // namespace

std::shared_ptr<const CompiledRuleset> compile_ruleset(const rules::RuleSet& rs, uint32_t workers,
                                                        CompileReport& rep, std::string& err) {
  return compile_ruleset(rs, workers, CompileOptions{}, rep, err);
}

std::shared_ptr<const CompiledRuleset> compile_ruleset(const rules::RuleSet& rs, uint32_t workers,
                                                        const CompileOptions& opt, CompileReport& rep,
                                                        std::string& err) {
  auto t0 = std::chrono::steady_clock::now();
  rep = CompileReport{};
  auto out = std::make_shared<CompiledRuleset>();
  if (workers == 0) workers = 1;

  // 1. Validate; pcres compiled into out->pcres.
  std::vector<Analysis> accepted;
  for (uint32_t i = 0; i < rs.rules.size(); i++) {
    Analysis a;
    std::string why;
    for (const auto& u : rs.rules[i].datasets)  // the loader resolves sets; a bare parse leaves them open
      if (u.set < 0 || size_t(u.set) >= rs.datasets.size()) why = "set '" + u.name + "' not loaded";
    if (why.empty()) why = analyze(rs.rules[i], i, out->pcres, rep.pcre_jit, a);
    if (!why.empty()) {
      for (uint32_t id : a.pcre_ids) {  // the rule's pcres compiled so far
        pcre2_code_free(out->pcres[id].code);
        out->pcres[id].code = nullptr;
      }
      rep.rejected++;
      rep.messages.push_back("sid " + std::to_string(rs.rules[i].sid) + ": " + why);
      continue;
    }
    accepted.push_back(std::move(a));
  }
  if (accepted.empty()) {
    err = "no rules left to compile";
    return nullptr;
  }
  // 2. Evaluation order: pass rules first.
  std::stable_partition(accepted.begin(), accepted.end(),
                        [&](const Analysis& a) { return rs.rules[a.orig].hdr.action == rules::Action::kPass; });
  // 3. Flowbit ids.
  std::set<std::string> names;
  for (const auto& a : accepted)
    for (const auto& fb : rs.rules[a.orig].flowbits)
      for (const auto& n : fb.names) names.insert(n);
  if (names.size() > 60000) {
    err = "too many flowbit names";
    return nullptr;
  }
  {
    std::vector<uint8_t> used(65536, 0);
    for (const auto& n : names) {
      uint16_t id = flowbit_hash(n);
      while (used[id]) id++;
      used[id] = 1;
      out->flowbit_map.emplace_back(n, id);
    }
  }
  // 4. Rules. Sets are shared with the RuleSet (immutable); a set some rule
  // adds to or removes from is looked up in the worker's overlay too.
  out->datasets = rs.datasets;
  for (const auto& a : accepted) add_rule(*out, rs, a);
  for (uint32_t i = 0; i < accepted.size(); i++) {
    if (accepted[i].decode_event >= 0) out->decode_rules[accepted[i].decode_event].push_back(i);
    if (fragment_rule(rs.rules[accepted[i].orig])) out->frag_rules.push_back(i);
  }
  {
    std::vector<uint8_t> dyn(rs.datasets.size(), 0);
    for (const auto& op : out->ds_ops)
      if (op.cmd == uint8_t(rules::DatasetUse::Cmd::kSet) || op.cmd == uint8_t(rules::DatasetUse::Cmd::kUnset))
        dyn[op.set] = 1;
    for (auto& op : out->ds_ops) op.dynamic = dyn[op.set];
  }
  rep.rules = static_cast<uint32_t>(accepted.size());
  if (opt.thresholds) apply_thresholds(*out, rs, *opt.thresholds, rep);

  // 5. Groups and databases.
  Builder b{rs, *out, rep, accepted, {}, {}, {}, opt.cache_dir, {}};
  const uint8_t mode_bits[kModes] = {kModePacket, kModeTcpPacket, kModeStream};
  for (int m = 0; m < kModes; m++)
    for (int c = 0; c < kClsCount; c++)
      for (int d = 0; d < 2; d++) b.build_table(out->payload[m][c][d], mode_bits[m], c, d, opt);
  for (int d = 0; d < 2; d++) {
    std::vector<uint32_t> per_buf[rules::kBufCount];
    for (uint32_t i = 0; i < accepted.size(); i++) {
      const Analysis& a = accepted[i];
      if (!a.app || !(a.dirs & (1 << d))) continue;
      if (a.fp < 0) {
        out->app_always[d].push_back(i);
        continue;
      }
      per_buf[rs.rules[a.orig].items[a.fp].buf].push_back(i);
    }
    for (int bf = 0; bf < rules::kBufCount; bf++)
      if (!per_buf[bf].empty()) out->app_group[bf][d] = static_cast<int32_t>(b.intern_group(bf, per_buf[bf]));
  }
  bool built = b.compile_groups(err);
  if (!opt.cache_dir.empty()) hs_cache_prune(opt.cache_dir, opt.cache_max_age_s, b.cache);
  rep.cache_hits = b.cache.hits;
  rep.cache_misses = b.cache.misses;
  rep.cache_errors = b.cache.errors;
  if (b.cache.errors) rep.messages.push_back("rule cache: " + b.cache.first_error);
  if (!built) return nullptr;
  static std::atomic<uint32_t> serials{0};
  out->serial = serials.fetch_add(1, std::memory_order_relaxed) + 1;
  if (out->serial == 0) out->serial = serials.fetch_add(1, std::memory_order_relaxed) + 1;
  rep.groups = static_cast<uint32_t>(out->groups.size());

  // 6. Per-worker state.
  hs_scratch_t* proto = nullptr;
  for (auto& g : out->groups)
    if (g.db && hs_alloc_scratch(g.db, &proto) != HS_SUCCESS) {
      err = "hyperscan: scratch allocation failed";
      if (proto) hs_free_scratch(proto);
      return nullptr;
    }
  uint32_t max_pairs = 1;
  for (const auto& p : out->pcres) {
    uint32_t caps = 0;
    if (p.code && pcre2_pattern_info(p.code, PCRE2_INFO_CAPTURECOUNT, &caps) == 0)
      max_pairs = std::max(max_pairs, caps + 1);
  }
  for (const auto& x : out->xforms) max_pairs = std::max(max_pairs, xform_pairs(x));
  for (uint32_t w = 0; w < workers; w++) {
    auto ws = std::make_unique<WorkerState>();
    if (proto) {
      if (w == 0) {
        ws->scratch = proto;
      } else if (hs_clone_scratch(proto, &ws->scratch) != HS_SUCCESS) {
        err = "hyperscan: scratch clone failed";
        out->workers.push_back(std::move(ws));
        return nullptr;
      }
      size_t sz = 0;
      if (hs_scratch_size(ws->scratch, &sz) == HS_SUCCESS) rep.scratch_bytes += sz;
    }
    ws->md = pcre2_match_data_create(max_pairs, nullptr);
    ws->mctx = pcre2_match_context_create(nullptr);
    ws->jit_stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, nullptr);
    if (!ws->md || !ws->mctx || !ws->jit_stack) {
      err = "pcre2: out of memory";
      out->workers.push_back(std::move(ws));
      return nullptr;
    }
    pcre2_set_match_limit(ws->mctx, 100000);
    pcre2_set_depth_limit(ws->mctx, 10000);
    pcre2_jit_stack_assign(ws->mctx, nullptr, ws->jit_stack);
    if (!out->xforms.empty())
      for (auto& b : ws->xbuf) b.reset(new uint8_t[kXformMax]);
    if (out->has_b64) ws->b64.reset(new uint8_t[kXformMax]);
    ws->stamp.assign(out->hdr.size(), 0);
    ws->cand.assign(out->hdr.size(), 0);
    out->workers.push_back(std::move(ws));
  }
  rep.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace spectre
