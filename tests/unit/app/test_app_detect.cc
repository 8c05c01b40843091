// Protocol detection by content, and the EVE formatting of the meta.
#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

AppProto detect(const std::vector<Seg>& segs, uint16_t sport = 40000, uint16_t dport = 12345) {
  AppCtx ctx(small_cfg());
  AppProto p;
  run_tcp(ctx, segs, {}, sport, dport, &p);
  return p;
}

TEST(AppDetect, HttpMethodsAndResponses) {
  for (const char* m : {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE",
                        "PATCH"}) {
    std::string req = std::string(m) + " / HTTP/1.1\r\n\r\n";
    EXPECT_EQ(detect({{true, req}}), AppProto::kHttp) << m;
    // Every prefix split point (1-byte feeding) decides the same way.
    AppCtx ctx(small_cfg());
    AppProto p;
    run_tcp(ctx, {{true, req}}, {every_byte(req.size())}, 1, 2, &p);
    EXPECT_EQ(p, AppProto::kHttp) << m;
  }
  EXPECT_EQ(detect({{false, "HTTP/1.0 200 OK\r\n\r\n"}}), AppProto::kHttp);
  // Server speaks first with a response: the client side becomes the request side.
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"},
                           {true, "GET /late HTTP/1.1\r\n\r\n"}});
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].get(kHttpStatCode), "404");
  EXPECT_EQ(txs[1].get(kHttpUri), "/late");
  // Near misses.
  EXPECT_EQ(detect({{true, "GETS / HTTP/1.1\r\n\r\n"}, {false, "xxxxxxxxxxxxxxxxxxxx"}}),
            AppProto::kFailed);
  EXPECT_EQ(detect({{true, "get / HTTP/1.1\r\n\r\n"}, {false, "HTTP/2.0 200\r\n\r\n"}}),
            AppProto::kFailed);
}

// WebDAV and DeltaV requests are HTTP as in Suricata (webdav.pcap of the nDPI corpus: curl's MKCOL,
// MOVE, LOCK ... requests fired ET 2013028 on http.user_agent in Suricata 7, none here before).
TEST(AppDetect, HttpWebDavMethods) {
  for (const char* m : {"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "CHECKOUT",
                        "UNCHECKOUT", "CHECKIN", "UPDATE", "LABEL", "REPORT", "MKWORKSPACE",
                        "MKACTIVITY", "MERGE", "VERSION-CONTROL", "BASELINE-CONTROL"}) {
    std::string req = std::string(m) + " /webdav HTTP/1.1\r\nUser-Agent: curl/7.68.0\r\n\r\n";
    AppCtx ctx(small_cfg());
    AppProto p;
    auto txs = run_tcp(ctx, {{true, req}}, {every_byte(req.size())}, 40000, 80, &p);
    EXPECT_EQ(p, AppProto::kHttp) << m;
    ASSERT_EQ(txs.size(), 1u) << m;
    EXPECT_EQ(txs[0].get(kHttpMethod), m);
    EXPECT_EQ(txs[0].get(kHttpUserAgent), "curl/7.68.0") << m;
  }
  // SIP's UPDATE stays SIP (probed first), a method cut short is not HTTP.
  EXPECT_EQ(detect({{true, "UPDATE sip:bob@example.com SIP/2.0\r\n\r\n"}}, 40000, 5060), AppProto::kSip);
  EXPECT_EQ(detect({{true, "MKCOLX / HTTP/1.1\r\n\r\n"}, {false, "xxxxxxxxxxxxxxxxxxxx"}}), AppProto::kFailed);
}

TEST(AppDetect, TlsAndPortsDoNotMatter) {
  std::string ch("\x16\x03\x01\x00\x30\x01\x00\x00\x2c", 9);
  ch += std::string(0x2c, '\0');
  EXPECT_EQ(detect({{true, ch}}, 40000, 80), AppProto::kTls);
  EXPECT_EQ(detect({{true, "GET / HTTP/1.1\r\n\r\n"}}, 40000, 443), AppProto::kHttp);
  std::string bad = ch;
  bad[5] = 11;  // a Certificate first is not a hello
  EXPECT_EQ(detect({{true, bad}, {false, bad}}), AppProto::kFailed);
  bad = ch;
  bad[2] = 5;
  EXPECT_EQ(detect({{true, bad}, {false, bad}}), AppProto::kFailed);
}

TEST(AppDetect, FailedNeedsBothDirectionsOrFinish) {
  AppCtx ctx(small_cfg());
  Flow f;
  Rec r;
  const char junk[] = "RFB 003.008\nRFB 003.008\n";  // VNC: no parser here
  app_stream(ctx, f.s, true, 1, 22, reinterpret_cast<const uint8_t*>(junk), sizeof(junk) - 1, 0,
             0, r);
  EXPECT_EQ(app_proto(f.s), AppProto::kUnknown);
  app_stream(ctx, f.s, false, 22, 1, reinterpret_cast<const uint8_t*>(junk), sizeof(junk) - 1, 0,
             0, r);
  EXPECT_EQ(app_proto(f.s), AppProto::kFailed);
  EXPECT_EQ(ctx.ctr.detected[int(AppProto::kFailed)], 1u);
  // One-way junk: failed at finish. Too few bytes to decide: failed at finish too.
  EXPECT_EQ(detect({{true, junk}}), AppProto::kFailed);
  EXPECT_EQ(detect({{true, "GE"}}), AppProto::kFailed);
  // Nothing at all: unknown.
  EXPECT_EQ(detect({}), AppProto::kUnknown);
}

TEST(AppDetect, CountersPerProto) {
  AppCtx ctx(small_cfg());
  run_tcp(ctx, {{true, "GET / HTTP/1.1\r\n\r\n"}});
  run_tcp(ctx, {{true, "POST / HTTP/1.1\r\n\r\n"}});
  run_tcp(ctx, {{true, "junk junk junk junk"}});
  EXPECT_EQ(ctx.ctr.detected[int(AppProto::kHttp)], 2u);
  EXPECT_EQ(ctx.ctr.detected[int(AppProto::kFailed)], 1u);
  EXPECT_EQ(ctx.ctr.detected[int(AppProto::kTls)], 0u);
}

TEST(AppDetect, StateIsCompact) {
  // AppMeta dominates; parser state + fallback areas stay under 1 KiB.
  EXPECT_LT(app_state_size(), sizeof(AppMeta) + 1024);
}

// ---- format_app_json ----

TEST(AppEve, HttpObjectAndEscaping) {
  AppMeta m{};
  m.proto = AppProto::kHttp;
  copy_str(m.http_hostname, "h\"q\\", 4);
  copy_str(m.http_url, "/a\x01\n\t\xff", 6);
  copy_str(m.http_user_agent, "caf\xc3\xa9", 5);
  copy_str(m.http_method, "GET", 3);
  m.http_status = 200;
  m.http_length = 12;
  std::string out;
  format_app_json(m, out);
  EXPECT_EQ(out,
            "\"http\":{\"hostname\":\"h\\\"q\\\\\",\"url\":\"/a\\u0001\\n\\t\\u00ff\","
            "\"http_user_agent\":\"caf\xc3\xa9\",\"http_method\":\"GET\",\"status\":200,"
            "\"length\":12}");
}

TEST(AppEve, DnsAndTlsObjects) {
  AppMeta d{};
  d.proto = AppProto::kDns;
  copy_str(d.dns_rrname, "a.example", 9);
  d.dns_rrtype = 28;
  d.dns_id = 77;
  d.dns_is_response = true;
  d.dns_rcode = 3;
  std::string out;
  format_app_json(d, out);
  EXPECT_EQ(out, "\"dns\":{\"type\":\"answer\",\"id\":77,\"rrname\":\"a.example\","
                 "\"rrtype\":\"AAAA\",\"rcode\":\"NXDOMAIN\"}");
  d.dns_is_response = false;
  d.dns_rrtype = 4242;
  out.clear();
  format_app_json(d, out);
  EXPECT_EQ(out, "\"dns\":{\"type\":\"query\",\"id\":77,\"rrname\":\"a.example\",\"rrtype\":4242}");

  AppMeta t{};
  t.proto = AppProto::kTls;
  copy_str(t.tls_sni, "s.example", 9);
  copy_str(t.tls_version, "TLS 1.3", 7);
  copy_str(t.ja3_hash, "0123456789abcdef0123456789abcdef", 32);
  copy_str(t.ja3_string, "771,1-2,,,", 10);
  out.clear();
  format_app_json(t, out);
  EXPECT_EQ(out, "\"tls\":{\"sni\":\"s.example\",\"version\":\"TLS 1.3\",\"ja3\":{\"hash\":"
                 "\"0123456789abcdef0123456789abcdef\",\"string\":\"771,1-2,,,\"}}");
  AppMeta none{};
  none.proto = AppProto::kFailed;
  out.clear();
  format_app_json(none, out);
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace spectre
