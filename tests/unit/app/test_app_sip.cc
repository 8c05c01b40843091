// SIP over UDP and TCP: request and response start lines and header buffers
// (long and compact names, every Via), EVE, detection by content (not HTTP
// on port 5060; TCP by probing), Content-Length framing over TCP split at
// every byte, bad messages counted, fuzz.
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


const std::string kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74b43\r\n"
    "Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK2\r\n"
    "Max-Forwards: 70\r\nFrom: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\nCall-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\nUser-Agent: Asterisk PBX 16.2\r\nContent-Type: application/sdp\r\n"
    "Content-Length: 14\r\n\r\nv=0\r\no=- 1 1\r\n";
const std::string kTrying =
    "SIP/2.0 100 Trying\r\nv: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74b43\r\n"
    "f: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\nt: Bob <sip:bob@biloxi.example.com>\r\n"
    "i: 3848276298220188511@atlanta.example.com\r\nCSeq: 1 INVITE\r\nc: text/plain\r\nl: 4\r\n\r\nabcd";

TEST(AppSip, HeaderBuffers) {
  AppCtx ctx(small_cfg());
  auto txs = run_udp(ctx, {{true, kInvite}, {false, kTrying}});
  ASSERT_EQ(txs.size(), 2u);
  const Tx& q = txs[0];
  EXPECT_EQ(q.get(kSipFrom), "Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl");
  EXPECT_EQ(q.get(kSipTo), "Bob <sip:bob@biloxi.example.com>");
  EXPECT_EQ(q.get(kSipUserAgent), "Asterisk PBX 16.2");
  EXPECT_EQ(q.get(kSipContentType), "application/sdp");
  EXPECT_EQ(q.get(kSipContentLength), "14");
  EXPECT_EQ(q.multi_buf, int(kSipVia));  // every Via is an instance
  ASSERT_EQ(q.multi.size(), 2u);
  EXPECT_EQ(q.multi[0], "SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74b43");
  EXPECT_EQ(q.multi[1], "SIP/2.0/TCP proxy.example.com;branch=z9hG4bK2");
  // Compact forms (RFC 3261 7.3.3) fill the same buffers.
  const Tx& r = txs[1];
  EXPECT_EQ(r.get(kSipFrom), "Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl");
  EXPECT_EQ(r.get(kSipTo), "Bob <sip:bob@biloxi.example.com>");
  EXPECT_EQ(r.get(kSipContentType), "text/plain");
  EXPECT_EQ(r.get(kSipContentLength), "4");
  EXPECT_EQ(r.get(kSipVia), "SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74b43");
  EXPECT_FALSE(r.has(kSipUserAgent));
  // A header name is case-insensitive; "Tox:" and "From-X:" are other headers.
  txs = run_udp(ctx, {{true, "OPTIONS sip:x@y SIP/2.0\r\nFROM :  a \r\nTox: no\r\nFrom-X: no\r\nUSER-AGENT:u\r\n\r\n"}});
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kSipFrom), "a");
  EXPECT_FALSE(txs[0].has(kSipTo));
  EXPECT_EQ(txs[0].get(kSipUserAgent), "u");
}

TEST(AppSip, Tcp) {
  AppCtx ctx(small_cfg());
  AppProto p;
  // Two messages in one segment, a keep-alive CRLF between them, the reply.
  auto txs = run_tcp(ctx, {{true, kInvite + "\r\n\r\n" + kInvite}, {false, kTrying}}, {}, 40000, 7070, &p);
  EXPECT_EQ(p, AppProto::kSip);  // by probing, off the SIP port
  ASSERT_EQ(txs.size(), 3u);
  EXPECT_EQ(txs[0].get(kSipMethod), "INVITE");
  EXPECT_EQ(txs[0].get(kPayload), kInvite);  // framed by Content-Length
  EXPECT_EQ(txs[1].get(kPayload), kInvite);
  EXPECT_EQ(txs[2].get(kSipStatCode), "100");
  EXPECT_EQ(txs[2].get(kPayload), kTrying);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
  // HTTP's OPTIONS is not SIP, SIP's OPTIONS is not HTTP.
  run_tcp(ctx, {{true, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"}}, {}, 40000, 5060, &p);
  EXPECT_EQ(p, AppProto::kHttp);
  txs = run_tcp(ctx, {{true, "OPTIONS sip:carol@chicago.example.com SIP/2.0\r\nl: 0\r\n\r\n"}}, {}, 40000, 80, &p);
  EXPECT_EQ(p, AppProto::kSip);
  ASSERT_EQ(txs.size(), 1u);
  // An extension method: SIP on the SIP port only.
  run_tcp(ctx, {{true, "FOO sip:x@example.com SIP/2.0\r\n\r\n"}}, {}, 40000, 5060, &p);
  EXPECT_EQ(p, AppProto::kSip);
  run_tcp(ctx, {{true, "FOO sip:x@example.com SIP/2.0\r\n\r\n"}}, {}, 40000, 7000, &p);
  EXPECT_NE(p, AppProto::kSip);
  // Near misses: a method without a SIP URI, a status without "SIP/2.0 ".
  for (const char* m : {"INVITE http://x SIP/2.0\r\n\r\n", "SIP/3.0 200 OK\r\n\r\n", "REGISTERsip:x SIP/2.0\r\n\r\n"}) {
    run_tcp(ctx, {{true, m}}, {}, 40000, 5060, &p);
    EXPECT_NE(p, AppProto::kSip) << m;
  }
}

TEST(AppSip, TcpSplitAtEveryByte) {
  expect_split_invariant(small_cfg(), {{true, kInvite + "\r\n" + kInvite}, {false, kTrying}}, 40000, 5060);
}

TEST(AppSip, TcpMalformedAndBounded) {
  AppConfig cfg = small_cfg();
  cfg.header_limit = 512;
  cfg.request_body_limit = cfg.response_body_limit = 512;
  AppCtx ctx(cfg);
  AppProto p;
  // A head larger than the buffer: counted, the direction stops, no tx.
  uint64_t errs = ctx.ctr.parse_errors;
  std::string big = "INVITE sip:b@x SIP/2.0\r\nSubject: " + std::string(3000, 'a') + "\r\n\r\n";
  auto txs = run_tcp(ctx, {{true, big + kInvite}}, {}, 40000, 5060, &p);
  EXPECT_EQ(p, AppProto::kSip);
  EXPECT_TRUE(txs.empty());
  EXPECT_EQ(ctx.ctr.parse_errors, errs + 1);
  // A body larger than the buffer: the message is cut (counted), the next one is framed.
  uint64_t cut = ctx.ctr.truncated;
  std::string body(2000, 'b');
  std::string m1 = "MESSAGE sip:b@x SIP/2.0\r\nContent-Length: 2000\r\n\r\n" + body;
  txs = run_tcp(ctx, {{true, m1 + kInvite}}, {}, 40000, 5060, &p);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].get(kSipMethod), "MESSAGE");
  EXPECT_EQ(txs[1].get(kPayload), kInvite);
  EXPECT_EQ(ctx.ctr.truncated, cut + 1);
  // A huge Content-Length cannot hold a message back: it is handed on when
  // the buffer is full (its headers inspected).
  txs = run_tcp(ctx, {{true, "INVITE sip:b@x SIP/2.0\r\nUser-Agent: hidden\r\nContent-Length: 999999999\r\n\r\n" +
                                 std::string(1500, 'z')}}, {}, 40000, 5060, &p);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kSipUserAgent), "hidden");
  EXPECT_EQ(txs[0].get(kPayload).size(), 1024u);
  // A bad Content-Length is counted (the message has no body); a next
  // "message" that is not SIP stops the direction.
  errs = ctx.ctr.parse_errors;
  txs = run_tcp(ctx, {{true, "BYE sip:b@x SIP/2.0\r\nContent-Length: x1\r\n\r\nHELLO\r\n\r\n"}}, {}, 40000, 5060, &p);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(ctx.ctr.parse_errors, errs + 2);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppSip, TcpMutationFuzz) {
  AppCtx ctx(small_cfg());
  std::mt19937 rng(5061);
  uint64_t txs = 0;
  for (int it = 0; it < 100000; it++) {
    std::vector<Seg> segs = {{true, rng() % 3 ? kInvite : mutate(rng, kInvite)},
                             {false, rng() % 3 ? kTrying : mutate(rng, kTrying)},
                             {true, mutate(rng, kRegister)}};
    std::vector<std::vector<uint32_t>> cuts;
    for (auto& s : segs) cuts.push_back(s.data.empty() ? std::vector<uint32_t>{} : std::vector<uint32_t>{uint32_t(rng() % s.data.size())});
    txs += run_tcp(ctx, segs, cuts, 40000, (it & 1) ? 5060 : 9999).size();
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << it;
  }
  EXPECT_GT(txs, 100000u);
}

}  // namespace
}  // namespace spectre
