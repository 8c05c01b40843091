// Helpers for detection tests: rule builders, packets, a collecting sink, and
// a harness that runs the engine and the reference side by side.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/detect/detect.h"
#include "dataplane/rules/parser.h"
#include "tests/unit/detect/reference.h"

namespace spectre::detect_test {

using rules::Buf;
using rules::MatchItem;

// A rule from its text with Suricata's default variables; a test failure when it does not parse.
inline rules::Rule parse(const std::string& text) {
  rules::Rule r;
  std::string err;
  bool unsupported = false;
  EXPECT_TRUE(rules::parse_rule(text, rules::Vars::suricata_defaults(), r, err, unsupported)) << err << ": " << text;
  return r;
}

// Bytes from a list of values (0..255).
inline std::string bin(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s += char(x);
  return s;
}

inline rules::Rule make_rule(uint32_t sid, rules::Proto pr = rules::Proto::kTcp) {
  rules::Rule r;
  r.sid = sid;
  r.rev = 1;
  r.hdr.proto = pr;
  r.msg = "rule " + std::to_string(sid);
  return r;
}

struct C {
  MatchItem m;
  explicit C(std::string b, Buf buf = rules::kPayload) {
    m.kind = MatchItem::Kind::kContent;
    m.buf = buf;
    m.content.bytes = std::move(b);
  }
  C& nocase() { m.content.nocase = true; return *this; }
  C& neg() { m.content.negated = true; return *this; }
  C& fp() { m.content.fast_pattern = true; return *this; }
  C& starts() { m.content.startswith = true; return *this; }
  C& ends() { m.content.endswith = true; return *this; }
  C& offset(int v) { m.content.has_offset = true; m.content.offset = v; return *this; }
  C& depth(int v) { m.content.has_depth = true; m.content.depth = v; return *this; }
  C& distance(int v) { m.content.has_distance = true; m.content.distance = v; return *this; }
  C& within(int v) { m.content.has_within = true; m.content.within = v; return *this; }
  operator MatchItem() const { return m; }
};

inline MatchItem pcre(std::string pat, bool rel = false, bool neg = false, bool ci = false,
                      Buf buf = rules::kPayload) {
  MatchItem m;
  m.kind = MatchItem::Kind::kPcre;
  m.buf = buf;
  m.pcre.pattern = std::move(pat);
  m.pcre.relative = rel;
  m.pcre.negated = neg;
  m.pcre.caseless = ci;
  return m;
}

inline MatchItem isdataat(int n, bool rel = false, bool neg = false, Buf buf = rules::kPayload) {
  MatchItem m;
  m.kind = MatchItem::Kind::kIsDataAt;
  m.buf = buf;
  m.isdataat.n = n;
  m.isdataat.relative = rel;
  m.isdataat.negated = neg;
  return m;
}

inline rules::IpRange v4range(uint32_t lo, uint32_t hi) {
  rules::IpRange r;
  r.ver = 4;
  for (int i = 0; i < 4; i++) {
    r.lo[i] = uint8_t(lo >> (24 - 8 * i));
    r.hi[i] = uint8_t(hi >> (24 - 8 * i));
  }
  return r;
}

inline rules::PortSet ports(std::initializer_list<std::pair<uint16_t, uint16_t>> inc,
                            std::initializer_list<std::pair<uint16_t, uint16_t>> exc = {}) {
  rules::PortSet s;
  s.any = inc.size() == 0;
  for (auto [lo, hi] : inc) s.include.push_back({lo, hi});
  for (auto [lo, hi] : exc) s.exclude.push_back({lo, hi});
  return s;
}

inline rules::Flowbit flowbit(rules::Flowbit::Cmd cmd, std::vector<std::string> names, bool any_of = false) {
  rules::Flowbit f;
  f.cmd = cmd;
  f.names = std::move(names);
  f.any_of = any_of;
  return f;
}

// A packet with IPv4 addresses a -> b.
struct Pkt {
  uint8_t s[16] = {}, d[16] = {};
  DetectPacket p;
  Pkt(uint8_t proto, uint16_t sport, uint16_t dport, uint32_t src = 0x0a000001, uint32_t dst = 0xc0a80001) {
    for (int i = 0; i < 4; i++) {
      s[i] = uint8_t(src >> (24 - 8 * i));
      d[i] = uint8_t(dst >> (24 - 8 * i));
    }
    p.src = s;
    p.dst = d;
    p.proto = proto;
    p.sport = sport;
    p.dport = dport;
    p.established = true;
  }
  Pkt(const Pkt& o) : p(o.p) {
    memcpy(s, o.s, 16);
    memcpy(d, o.d, 16);
    p.src = s;
    p.dst = d;
  }
};

struct VecSink : AlertSink {
  std::vector<uint32_t> sids;
  std::vector<const RuleMeta*> metas;
  void alert(const RuleMeta& m, const DetectPacket&) override {
    sids.push_back(m.sid);
    metas.push_back(&m);
  }
};

// Engine and reference over the same rule set; each has its own flow state.
struct Harness {
  rules::RuleSet rs;
  std::shared_ptr<const CompiledRuleset> crs;
  std::unique_ptr<detect_ref::RefEngine> ref;
  CompileReport rep;
  std::unique_ptr<DetectCtx> ctx;
  FlowDetectState flow;
  detect_ref::RefFlow rflow;
  bool use_flow = true;

  void add(rules::Rule r) { rs.rules.push_back(std::move(r)); }
  void compile(const CompileOptions& opt = {}) {
    std::string err;
    crs = compile_ruleset(rs, 1, opt, rep, err);
    ASSERT_TRUE(crs) << err;
    ref = std::make_unique<detect_ref::RefEngine>(rs);
    ctx = std::make_unique<DetectCtx>(0);
  }
  // Runs both; fails the test if they differ; returns the engine's sids.
  std::vector<uint32_t> pay(DetectPacket p, const std::string& data, PayloadMode m = PayloadMode::kPacket) {
    p.flow = use_flow ? &flow : nullptr;
    if (p.dsize == 0) p.dsize = static_cast<uint16_t>(data.size());
    VecSink s;
    detect_payload(*ctx, *crs, p, m, reinterpret_cast<const uint8_t*>(data.data()), uint32_t(data.size()), s);
    auto r = ref->payload(p, m, reinterpret_cast<const uint8_t*>(data.data()), uint32_t(data.size()),
                          use_flow ? &rflow : nullptr);
    EXPECT_EQ(s.sids, r) << "engine vs reference on \"" << data << "\"";
    return s.sids;
  }
  std::vector<uint32_t> app(DetectPacket p, const BufferSet& b) {
    p.flow = use_flow ? &flow : nullptr;
    VecSink s;
    detect_app(*ctx, *crs, p, b, s);
    auto r = ref->app(p, b, use_flow ? &rflow : nullptr);
    EXPECT_EQ(s.sids, r) << "engine vs reference (app)";
    return s.sids;
  }
};

using Sids = std::vector<uint32_t>;

}  // namespace spectre::detect_test
