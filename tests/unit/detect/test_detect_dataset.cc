// dataset / datarep / filemd5 at detection time: rules loaded with their set
// files (the loader), compiled, and run on app transactions. Suricata's
// semantics (detect-dataset.c): set fires for a value not yet in the set and
// adds it after the rule matched; unset fires for a value in the set and
// removes it; an empty buffer matches nothing. The overlay is per worker and
// bounded: a full table is counted.
#include <gtest/gtest.h>

#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>

#include "dataplane/detect/detect.h"
#include "dataplane/rules/loader.h"

namespace fs = std::filesystem;

namespace spectre {
namespace {

struct Sink : AlertSink {
  std::vector<uint32_t> sids;
  void alert(const RuleMeta& m, const DetectPacket&) override { sids.push_back(m.sid); }
};

struct Fixture {
  fs::path dir;
  rules::RuleSet rs;
  rules::LoadReport rep;
  std::shared_ptr<const CompiledRuleset> crs;
  std::unique_ptr<DetectCtx> ctx;
  std::deque<std::string> keep;
  uint8_t s[16] = {10, 0, 0, 1}, d[16] = {192, 168, 0, 1};

  Fixture(const std::map<std::string, std::string>& files, const std::string& rules, uint32_t ds_slots = 4096) {
    dir = fs::temp_directory_path() / ("spectre-dsdet-" + std::to_string(getpid()) + "-" +
                                       std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(dir);
    for (const auto& [n, t] : files) std::ofstream(dir / n) << t;
    std::ofstream(dir / "t.rules") << rules;
    rules::LoadOptions o;
    o.files = {(dir / "t.rules").string()};
    std::string err;
    EXPECT_TRUE(rules::load_rules(o, rs, rep, err)) << err;
    EXPECT_EQ(rep.skipped + rep.errors, 0u) << rep.summary() << (rep.messages.empty() ? "" : rep.messages[0]);
    CompileReport crep;
    crs = compile_ruleset(rs, 1, crep, err);
    EXPECT_TRUE(crs) << err;
    EXPECT_EQ(crep.rejected, 0u);
    ctx = std::make_unique<DetectCtx>(0, 1 << 16, 1 << 14, ds_slots);
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void put(BufferSet& b, rules::Buf id, const std::string& v) {
    keep.push_back(v);
    b.set(id, reinterpret_cast<const uint8_t*>(keep.back().data()), uint32_t(keep.back().size()));
  }
  std::vector<uint32_t> run(const BufferSet& b) {
    DetectPacket p;
    p.src = s;
    p.dst = d;
    p.proto = 6;
    p.sport = 40000;
    p.dport = 80;
    p.established = true;
    p.to_server = true;
    p.app_proto = rules::AppProto::kHttp;
    Sink k;
    detect_app(*ctx, *crs, p, b, k);
    return k.sids;
  }
  std::vector<uint32_t> ua(const std::string& v) {
    BufferSet b;
    put(b, rules::kHttpUserAgent, v);
    return run(b);
  }
};

using Sids = std::vector<uint32_t>;
const std::string kHdr = "alert http any any -> any any (msg:\"m\"; ";

TEST(DetectDataset, IssetIsnotsetAndNearMisses) {
  // "EvilBot/1.0" and "curl" in base64.
  Fixture f({{"ua.lst", "RXZpbEJvdC8xLjA=\nY3VybA==\n"}},
            kHdr + "http.user_agent; dataset:isset,ua,type string,load ua.lst; sid:1;)\n" +
                kHdr + "http.user_agent; dataset:isnotset,ua; sid:2;)\n" +
                kHdr + "http.user_agent; to_lowercase; dataset:isset,ua; sid:3;)\n");
  EXPECT_EQ(f.ua("EvilBot/1.0"), (Sids{1}));  // lowercased "evilbot/1.0" is not in the set
  EXPECT_EQ(f.ua("curl"), (Sids{1, 3}));
  EXPECT_EQ(f.ua("CURL"), (Sids{2, 3}));
  EXPECT_EQ(f.ua("EvilBot/1.0x"), (Sids{2}));
  EXPECT_EQ(f.ua("EvilBot/1."), (Sids{2}));
  EXPECT_EQ(f.ua(""), (Sids{}));  // empty buffer: no match, not even isnotset
  BufferSet none;
  f.put(none, rules::kHttpHost, "x");
  EXPECT_EQ(f.run(none), (Sids{}));  // no user agent at all
}

TEST(DetectDataset, SetFiresOncePerNewValueUnsetOncePerListedValue) {
  Fixture f({{"ua.lst", "RXZpbEJvdC8xLjA=\n"}},
            kHdr + "http.user_agent; dataset:set,seen,type string; sid:1;)\n" +
                kHdr + "http.user_agent; dataset:unset,bad,type string,load ua.lst; sid:2;)\n" +
                kHdr + "http.user_agent; dataset:isset,seen; sid:3;)\n" +
                // set only when the rest of the rule matched too (postmatch)
                kHdr + "http.user_agent; dataset:set,gated,type string; http.host; content:\"gate\"; sid:4;)\n" +
                kHdr + "http.user_agent; dataset:isset,gated; sid:5;)\n");
  auto run = [&](const std::string& ua, const std::string& host) {
    BufferSet b;
    f.put(b, rules::kHttpUserAgent, ua);
    f.put(b, rules::kHttpHost, host);
    return f.run(b);
  };
  // Rules run in file order, each rule's set/unset right after its match:
  // sid 3 sees the value sid 1 added in the same transaction.
  EXPECT_EQ(run("A", "h"), (Sids{1, 3}));
  EXPECT_EQ(run("A", "h"), (Sids{3}));
  EXPECT_EQ(run("EvilBot/1.0", "h"), (Sids{1, 2, 3}));
  EXPECT_EQ(run("EvilBot/1.0", "h"), (Sids{3}));  // removed: unset does not fire again
  EXPECT_EQ(run("B", "h"), (Sids{1, 3}));          // sid 4's lookup matched, its content did not: not added
  EXPECT_EQ(run("B", "gate"), (Sids{3, 4, 5}));
  EXPECT_EQ(run("B", "gate"), (Sids{3, 5}));
  EXPECT_EQ(f.ctx->ctr.dataset_full, 0u);
}

TEST(DetectDataset, DatarepOperators) {
  // bad.example 200, mid.example 100, ok.example 0
  Fixture f({{"h.rep", "YmFkLmV4YW1wbGU=,200\nbWlkLmV4YW1wbGU=,100\nb2suZXhhbXBsZQ==,0\n"}},
            kHdr + "http.host; datarep:h, >, 100, type string, load h.rep; sid:1;)\n" +
                kHdr + "http.host; datarep:h, >=, 100; sid:2;)\n" + kHdr + "http.host; datarep:h, <, 100; sid:3;)\n" +
                kHdr + "http.host; datarep:h, <=, 100; sid:4;)\n" + kHdr + "http.host; datarep:h, ==, 0; sid:5;)\n");
  auto host = [&](const std::string& v) {
    BufferSet b;
    f.put(b, rules::kHttpHost, v);
    return f.run(b);
  };
  EXPECT_EQ(host("bad.example"), (Sids{1, 2}));
  EXPECT_EQ(host("mid.example"), (Sids{2, 4}));
  EXPECT_EQ(host("ok.example"), (Sids{3, 4, 5}));
  EXPECT_EQ(host("other.example"), (Sids{}));  // not in the list: no reputation, no match
}

TEST(DetectDataset, FileHashBuffers) {
  const std::string md5 = "\x2f\x8d\x03\x55\xf0\x03\x2c\x3e\x63\x11\xc6\x40\x8d\x7c\x2d\xc2";
  Fixture f({{"md5.lst", "2f8d0355f0032c3e6311c6408d7c2dc2  util-path.c\n"}},
            kHdr + "filemd5:md5.lst; sid:1;)\n" + kHdr + "filemd5:!md5.lst; sid:2;)\n");
  BufferSet b;
  f.put(b, rules::kFileMd5, md5);
  EXPECT_EQ(f.run(b), (Sids{1}));
  BufferSet o;
  std::string other = md5;
  other[15] ^= 1;
  f.put(o, rules::kFileMd5, other);
  EXPECT_EQ(f.run(o), (Sids{2}));
  BufferSet none;  // no digest (file cut short): neither
  f.put(none, rules::kFileName, "a");
  EXPECT_EQ(f.run(none), (Sids{}));
  EXPECT_TRUE(ruleset_uses_buffer(*f.crs, rules::kFileMd5));
  EXPECT_FALSE(ruleset_uses_buffer(*f.crs, rules::kFileSha256));
}

// ip.src / ip.dst: the packet's addresses (4 or 16 bytes); type ip holds IPv4 mapped.
TEST(DetectDataset, AddressBuffersWithIpSets) {
  Fixture f({{"ips.lst", "10.0.0.1\n2001:db8::5\n"}, {"v4.lst", "192.168.0.1\n"}},
            "alert tcp any any -> any any (msg:\"m\"; ip.src; dataset:isset,ips,type ip,load ips.lst; sid:1;)\n"
            "alert tcp any any -> any any (msg:\"m\"; ip.dst; dataset:isset,v4,type ipv4,load v4.lst; sid:2;)\n"
            "alert tcp any any -> any any (msg:\"m\"; ip.dst; dataset:isnotset,ips; pkt_data; content:\"x\"; sid:3;)\n");
  auto pkt = [&](const uint8_t* src, const uint8_t* dst, uint8_t ver) {
    DetectPacket p;
    p.src = src;
    p.dst = dst;
    p.ip_ver = ver;
    p.proto = 6;
    p.sport = 1234;
    p.dport = 80;
    p.dsize = 1;
    Sink k;
    detect_payload(*f.ctx, *f.crs, p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("x"), 1, k);
    return k.sids;
  };
  uint8_t a[16] = {10, 0, 0, 1}, b[16] = {192, 168, 0, 1}, near[16] = {10, 0, 0, 2};
  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8}, v6b[16] = {0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 5, v6b[15] = 6;
  EXPECT_EQ(pkt(a, b, 4), (Sids{1, 2, 3}));
  EXPECT_EQ(pkt(near, b, 4), (Sids{2, 3}));
  EXPECT_EQ(pkt(b, a, 4), (Sids{}));  // reversed: src not listed, dst listed (isnotset fails)
  EXPECT_EQ(pkt(v6, v6b, 6), (Sids{1, 3}));
  EXPECT_EQ(pkt(v6b, v6, 6), (Sids{}));
}

TEST(DetectDataset, OverlayIsBoundedAndCounted) {
  Fixture f({}, kHdr + "http.user_agent; dataset:set,seen,type string; sid:1;)\n", 16);
  int fired = 0;
  for (int i = 0; i < 200; i++) fired += int(f.ua("agent-" + std::to_string(i)).size());
  EXPECT_EQ(fired, 200);  // each new value fires
  const uint64_t dropped = f.ctx->ctr.dataset_full;
  EXPECT_GT(dropped, 150u);  // 16 slots: most additions dropped, counted
  EXPECT_LT(dropped, 200u);
  // A kept value fires no more; a dropped one fires again (it was not kept).
  int again = 0;
  for (int i = 0; i < 200; i++) again += int(f.ua("agent-" + std::to_string(i)).size());
  EXPECT_EQ(uint64_t(again), dropped);
}

}  // namespace
}  // namespace spectre
