// SIP over UDP: request and response start lines to buffers and EVE,
// detection by content (not HTTP on port 5060), bad datagrams counted, fuzz.
#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::vector<Tx> run_udp(AppCtx& ctx, const std::vector<Seg>& dgrams, uint16_t port = 5060,
                        AppProto* proto = nullptr) {
  Flow f;
  Rec r;
  for (auto& d : dgrams)
    app_datagram(ctx, f.s, d.to_server, d.to_server ? 5062 : port, d.to_server ? port : 5062, u8(d.data),
                 uint32_t(d.data.size()), 0, r);
  app_finish(ctx, f.s, r);
  if (proto) *proto = app_proto(f.s);
  return r.txs;
}

const std::string kRegister =
    "REGISTER sip:sip.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.2;branch=z9hG4bK1\r\n"
    "From: <sip:alice@sip.example.com>;tag=1\r\nTo: <sip:alice@sip.example.com>\r\nCall-ID: 1@h\r\n"
    "CSeq: 1 REGISTER\r\nUser-Agent: X-Lite\r\nContent-Length: 0\r\n\r\n";
const std::string k401 =
    "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 192.168.1.2;branch=z9hG4bK1\r\nCSeq: 1 REGISTER\r\n"
    "Content-Length: 0\r\n\r\n";

TEST(AppSip, RequestAndResponse) {
  AppCtx ctx(small_cfg());
  EXPECT_TRUE(app_datagram_candidate(40000, 7777, u8(kRegister), uint32_t(kRegister.size())));
  AppProto p;
  auto txs = run_udp(ctx, {{true, kRegister}, {false, k401}}, 7777, &p);  // content decides, any port
  EXPECT_EQ(p, AppProto::kSip);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_TRUE(txs[0].to_server);
  EXPECT_EQ(txs[0].get(kSipMethod), "REGISTER");
  EXPECT_EQ(txs[0].get(kSipUri), "sip:sip.example.com");
  EXPECT_EQ(txs[0].get(kSipProtocol), "SIP/2.0");
  EXPECT_EQ(txs[0].get(kSipRequestLine), "REGISTER sip:sip.example.com SIP/2.0");
  EXPECT_FALSE(txs[0].has(kSipStatCode));
  EXPECT_FALSE(txs[1].to_server);
  EXPECT_EQ(txs[1].get(kSipStatCode), "401");
  EXPECT_EQ(txs[1].get(kSipStatMsg), "Unauthorized");
  EXPECT_EQ(txs[1].get(kSipResponseLine), "SIP/2.0 401 Unauthorized");
  EXPECT_EQ(txs[1].get(kSipProtocol), "SIP/2.0");
  EXPECT_FALSE(txs[1].has(kSipMethod));
  std::string j;
  format_app_json(txs[0].meta, j);
  EXPECT_EQ(j, "\"sip\":{\"method\":\"REGISTER\",\"uri\":\"sip:sip.example.com\",\"version\":\"SIP/2.0\","
               "\"request_line\":\"REGISTER sip:sip.example.com SIP/2.0\"}");
  j.clear();
  format_app_json(txs[1].meta, j);
  EXPECT_EQ(j, "\"sip\":{\"version\":\"SIP/2.0\",\"code\":\"401\",\"reason\":\"Unauthorized\","
               "\"response_line\":\"SIP/2.0 401 Unauthorized\"}");
  EXPECT_EQ(ctx.ctr.sip_requests, 1u);
  EXPECT_EQ(ctx.ctr.sip_responses, 1u);
}

TEST(AppSip, NotSipAndBadDatagrams) {
  AppCtx ctx(small_cfg());
  AppProto p;
  // HTTP over UDP on the SIP port, a keep-alive, a line without its end: not SIP.
  for (std::string d : {std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), std::string("\r\n\r\n"),
                        std::string("INVITE sip:bob@example.com SIP/2.0"), std::string("SIP/2.0 20 OK\r\n"),
                        std::string("IN VITE sip:x SIP/2.0\r\n")}) {
    EXPECT_FALSE(app_datagram_candidate(5062, 6000, u8(d), uint32_t(d.size()))) << d;
    auto txs = run_udp(ctx, {{true, d}}, 6000, &p);
    EXPECT_TRUE(txs.empty()) << d;
    EXPECT_NE(p, AppProto::kSip) << d;
  }
  // A SIP flow: a keep-alive in the middle is a counted parse error.
  uint64_t errs = ctx.ctr.parse_errors;
  auto txs = run_udp(ctx, {{true, kRegister}, {true, "\r\n\r\n"}, {false, k401}}, 5060, &p);
  EXPECT_EQ(p, AppProto::kSip);
  EXPECT_EQ(txs.size(), 2u);
  EXPECT_EQ(ctx.ctr.parse_errors, errs + 1);
}

TEST(AppSip, MutationFuzz) {
  AppCtx ctx(small_cfg());
  std::mt19937 rng(5060);
  const std::vector<std::string> seeds = {kRegister, k401, "INVITE sip:bob@b.example SIP/2.0\r\n\r\n",
                                          "SIP/2.0 180 Ringing\r\n\r\n"};
  uint64_t txs = 0;
  for (int it = 0; it < 100000; it++) {
    const std::string& s = seeds[size_t(it) % seeds.size()];
    txs += run_udp(ctx, {{true, mutate(rng, s)}, {false, mutate(rng, k401)}, {true, mutate(rng, s)}},
                   (it & 1) ? 5060 : 9999).size();
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << it;
  }
  EXPECT_GT(txs, 50000u);
}

}  // namespace
}  // namespace spectre
