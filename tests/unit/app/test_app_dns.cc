// DNS parser over UDP and TCP: names, compression, loops, detection, fuzz.
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

// Minimal DNS message builder (independent of the parser).
struct Msg {
  std::string b;
  void u16(uint16_t v) { b += char(v >> 8), b += char(v & 0xFF); }
  void u32(uint32_t v) { u16(uint16_t(v >> 16)), u16(uint16_t(v)); }
  void name(const std::string& dotted) {
    size_t i = 0;
    while (i < dotted.size()) {
      size_t j = dotted.find('.', i);
      if (j == std::string::npos) j = dotted.size();
      b += char(j - i);
      b += dotted.substr(i, j - i);
      i = j + 1;
    }
    b += '\0';
  }
  void ptr(uint16_t off) { u16(uint16_t(0xC000 | off)); }
};

std::string query(uint16_t id, const std::string& qname, uint16_t qtype) {
  Msg m;
  m.u16(id), m.u16(0x0100), m.u16(1), m.u16(0), m.u16(0), m.u16(0);
  m.name(qname);
  m.u16(qtype), m.u16(1);
  return m.b;
}

// Response: question + one A answer whose name points at the question.
std::string answer(uint16_t id, const std::string& qname, uint8_t rcode) {
  Msg m;
  m.u16(id), m.u16(uint16_t(0x8180 | rcode)), m.u16(1), m.u16(1), m.u16(0), m.u16(0);
  m.name(qname);
  m.u16(1), m.u16(1);
  m.ptr(12);
  m.u16(1), m.u16(1), m.u32(300), m.u16(4);
  m.b += std::string("\x0a\x00\x00\x01", 4);
  return m.b;
}

std::vector<Tx> run_udp(AppCtx& ctx, const std::vector<Seg>& dgrams, uint16_t port = 53,
                        AppProto* proto = nullptr) {
  Flow f;
  Rec r;
  for (auto& d : dgrams)
    app_datagram(ctx, f.s, d.to_server, d.to_server ? 33333 : port, d.to_server ? port : 33333,
                 reinterpret_cast<const uint8_t*>(d.data.data()), uint32_t(d.data.size()), 0, r);
  app_finish(ctx, f.s, r);
  if (proto) *proto = app_proto(f.s);
  return r.txs;
}

TEST(AppDns, UdpQueryAndAnswer) {
  AppCtx ctx(small_cfg());
  AppProto p;
  auto txs = run_udp(ctx, {{true, query(0x1234, "www.example.com", 28)},
                           {false, answer(0x1234, "www.example.com", 3)}}, 53, &p);
  EXPECT_EQ(p, AppProto::kDns);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_TRUE(txs[0].to_server);
  EXPECT_EQ(txs[0].get(kDnsQuery), "www.example.com");
  EXPECT_EQ(txs[0].meta.dns_rrtype, 28);
  EXPECT_EQ(txs[0].meta.dns_id, 0x1234);
  EXPECT_FALSE(txs[0].meta.dns_is_response);
  EXPECT_FALSE(txs[1].to_server);
  EXPECT_FALSE(txs[1].has(kDnsQuery));  // responses do not feed dns.query
  EXPECT_TRUE(txs[1].meta.dns_is_response);
  EXPECT_EQ(txs[1].meta.dns_rcode, 3);
  EXPECT_EQ(txs[1].meta.dns_answers, 1);
  EXPECT_STREQ(txs[1].meta.dns_rrname, "www.example.com");
  EXPECT_EQ(ctx.ctr.dns_queries, 1u);
  EXPECT_EQ(ctx.ctr.dns_answers, 1u);
}

TEST(AppDns, ContentWinsOverPort) {
  AppCtx ctx(small_cfg());
  AppProto p;
  // DNS on an unusual port is still detected (strict checks pass).
  auto txs = run_udp(ctx, {{true, query(7, "a.b", 1)}}, 9999, &p);
  EXPECT_EQ(p, AppProto::kDns);
  EXPECT_EQ(txs.size(), 1u);
  // Non-DNS on port 53 in both directions: failed.
  txs = run_udp(ctx, {{true, "hello there, not dns at all"}, {false, "nope nope nope nope"}}, 53, &p);
  EXPECT_EQ(p, AppProto::kFailed);
  EXPECT_TRUE(txs.empty());
  // Trailing garbage is accepted on port 53 only.
  std::string q = query(8, "x.y", 1) + "junk";
  run_udp(ctx, {{true, q}}, 53, &p);
  EXPECT_EQ(p, AppProto::kDns);
  run_udp(ctx, {{true, q}}, 4000, &p);
  EXPECT_NE(p, AppProto::kDns);
  // NetBIOS name service shares the wire format; port 137 is not DNS.
  run_udp(ctx, {{true, query(9, "EOEBEDEC", 32)}}, 137, &p);
  EXPECT_NE(p, AppProto::kDns);
}

TEST(AppDns, MdnsAnswerWithoutQuestion) {
  AppCtx ctx(small_cfg());
  Msg m;
  m.u16(0), m.u16(0x8400), m.u16(0), m.u16(1), m.u16(0), m.u16(0);
  m.name("printer.local");
  m.u16(1), m.u16(0x8001), m.u32(120), m.u16(4);
  m.b += std::string("\xc0\xa8\x01\x02", 4);
  AppProto p;
  auto txs = run_udp(ctx, {{false, m.b}}, 5353, &p);
  EXPECT_EQ(p, AppProto::kDns);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_FALSE(txs[0].has(kDnsQuery));  // an answer: no dns.query buffer
  EXPECT_STREQ(txs[0].meta.dns_rrname, "printer.local");
}

TEST(AppDns, CompressionLoopsAreErrors) {
  AppCtx ctx(small_cfg());
  // Question name is a pointer to itself.
  Msg a;
  a.u16(1), a.u16(0x0100), a.u16(1), a.u16(0), a.u16(0), a.u16(0);
  a.ptr(12);
  a.u16(1), a.u16(1);
  // Two pointers pointing at each other, reached from a label.
  Msg b;
  b.u16(1), b.u16(0x0100), b.u16(1), b.u16(0), b.u16(0), b.u16(0);
  b.b += "\x03www";
  b.ptr(18);  // offset 16
  b.ptr(16);  // offset 18
  b.u16(1), b.u16(1);
  // Pointer beyond the message.
  Msg c;
  c.u16(1), c.u16(0x0100), c.u16(1), c.u16(0), c.u16(0), c.u16(0);
  c.ptr(0x3FFF);
  c.u16(1), c.u16(1);
  for (const std::string& bad : {a.b, b.b, c.b}) {
    AppProto p;
    auto txs = run_udp(ctx, {{true, bad}}, 53, &p);
    EXPECT_TRUE(txs.empty());
    EXPECT_NE(p, AppProto::kDns);
  }
  // Once DNS, a malformed datagram is a counted parse error.
  uint64_t before = ctx.ctr.parse_errors;
  auto txs = run_udp(ctx, {{true, query(1, "ok.example", 1)}, {false, a.b}}, 53);
  EXPECT_EQ(txs.size(), 1u);
  EXPECT_EQ(ctx.ctr.parse_errors, before + 1);
  // A forward pointer chain (legal, if odd) within the jump limit works.
  Msg d;
  d.u16(2), d.u16(0x0100), d.u16(1), d.u16(0), d.u16(0), d.u16(0);
  d.b += "\x01q";
  d.ptr(20);   // 14: -> 20
  d.u16(1), d.u16(1);  // 16..19 qtype/qclass
  d.b += "\x04tail";
  d.b += '\0';  // 20: "tail"
  // Not strict (port 53): the trailing name bytes are tolerated.
  txs = run_udp(ctx, {{true, d.b}}, 53);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kDnsQuery), "q.tail");
}

TEST(AppDns, LongNamesRejected) {
  AppCtx ctx(small_cfg());
  std::string name;
  for (int i = 0; i < 5; i++) name += std::string(60, char('a' + i)) + ".";
  name.pop_back();  // 304 characters > 255
  AppProto p;
  auto txs = run_udp(ctx, {{true, query(1, name, 1)}}, 53, &p);
  EXPECT_TRUE(txs.empty());
  std::string ok = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                   std::string(63, 'c') + "." + std::string(61, 'd');  // 253
  txs = run_udp(ctx, {{true, query(1, ok, 1)}}, 53, &p);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kDnsQuery), ok);
}

std::string tcp_framed(const std::string& m) {
  std::string s;
  s += char(m.size() >> 8);
  s += char(m.size() & 0xFF);
  return s + m;
}

TEST(AppDns, TcpMessagesAnySplit) {
  std::vector<Seg> segs = {
      {true, tcp_framed(query(1, "one.example", 1)) + tcp_framed(query(2, "two.example", 16))},
      {false, tcp_framed(answer(1, "one.example", 0)) + tcp_framed(answer(2, "two.example", 2))},
  };
  AppCtx ctx(small_cfg());
  AppProto p;
  auto txs = run_tcp(ctx, segs, {}, 40000, 53, &p);
  EXPECT_EQ(p, AppProto::kDns);
  ASSERT_EQ(txs.size(), 4u);
  EXPECT_EQ(txs[1].get(kDnsQuery), "two.example");
  EXPECT_EQ(txs[1].meta.dns_rrtype, 16);
  EXPECT_EQ(txs[3].meta.dns_rcode, 2);
  expect_split_invariant(small_cfg(), segs, 40000, 53);
  // Off port 53 too (content decides).
  txs = run_tcp(ctx, segs, {}, 40000, 7777, &p);
  EXPECT_EQ(p, AppProto::kDns);
  EXPECT_EQ(txs.size(), 4u);
}

TEST(AppDns, TcpCandidateRejected) {
  AppCtx ctx(small_cfg());
  // A plausible header whose message does not parse.
  std::string m = query(1, "x.example", 1);
  m[12] = 60;  // label length runs past the end
  AppProto p;
  auto txs = run_tcp(ctx, {{true, tcp_framed(m)}, {false, "RFB 003.008\nRFB 003.008\n"}}, {},
                     40000, 53, &p);
  EXPECT_TRUE(txs.empty());
  EXPECT_EQ(p, AppProto::kFailed);
}

TEST(AppDns, MutationFuzz) {
  AppCtx ctx(small_cfg());
  std::mt19937 rng(99);
  std::vector<std::string> seeds = {query(1, "www.example.com", 1), answer(2, "a.b.c", 0)};
  Msg loop;
  loop.u16(1), loop.u16(0x8180), loop.u16(1), loop.u16(2), loop.u16(0), loop.u16(0);
  loop.name("l.example");
  loop.u16(1), loop.u16(1);
  loop.ptr(12), loop.u16(5), loop.u16(1), loop.u32(1), loop.u16(2), loop.ptr(27);
  loop.ptr(27), loop.u16(1), loop.u16(1), loop.u32(1), loop.u16(4), loop.u32(0);
  seeds.push_back(loop.b);
  for (int it = 0; it < 100000; it++) {
    std::string m = mutate(rng, seeds[size_t(it) % seeds.size()]);
    uint16_t port = (it & 1) ? 53 : 4444;
    if (it % 3 == 0) {
      std::string t = tcp_framed(m);
      if (rng() % 4 == 0) t[0] = char(rng());  // broken length prefix
      std::vector<std::vector<uint32_t>> cuts = {{uint32_t(rng() % (t.size() + 1))}};
      run_tcp(ctx, {{true, t}, {false, tcp_framed(mutate(rng, m))}}, cuts, 40000, port);
    } else {
      run_udp(ctx, {{true, m}, {false, mutate(rng, m)}}, port);
    }
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << it;
  }
}

}  // namespace
}  // namespace spectre
