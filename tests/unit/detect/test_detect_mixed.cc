// Rules mixing payload and app-layer buffers (ET Open: ~320, e.g. a raw
// "../" in the request next to http.uri contents). Semantics chosen (see
// docs/ARCHITECTURE.md): an app rule whose payload items inspect the
// transaction's own bytes in that direction (BufferSet kPayload: the HTTP head
// as received + stored body, the DNS message). Engine and reference side by side.
#include <deque>

#include "tests/unit/detect/detect_util.h"

namespace spectre::detect_test {
namespace {

// Buffers point into strings kept here for the test's lifetime.
void put(BufferSet& b, rules::Buf id, std::string s) {
  static std::deque<std::string> keep;
  keep.push_back(std::move(s));
  b.set(id, reinterpret_cast<const uint8_t*>(keep.back().data()), uint32_t(keep.back().size()));
}

TEST(DetectMixed, PayloadAndHttpBuffersMustAllMatch) {
  Harness h;
  // ET Open 2009876 shape: raw "../" in the request, method and uri in buffers.
  h.add(parse(R"(alert http any any -> any any (msg:"lfi"; flow:to_server,established; content:"../"; depth:200; http.method; content:"GET"; http.uri; content:"/doku.php?"; nocase; sid:1; rev:1;))"));
  // Fast pattern in the payload part; the app part must hold too.
  h.add(parse(R"(alert http any any -> any any (msg:"fp payload"; flow:established,to_client; content:"|0d 0a 0d 0a 20 28 20 27|"; fast_pattern; http.stat_code; content:"200"; sid:2; rev:1;))"));
  // A negated payload content.
  h.add(parse(R"(alert http any any -> any any (msg:"neg"; flow:to_server; content:!"Referer|3a|"; http.uri; content:"/x.php"; sid:3; rev:1;))"));
  h.compile();
  EXPECT_EQ(h.rep.rejected, 0u);
  Pkt req(6, 40000, 80);
  req.p.app_proto = rules::AppProto::kHttp;
  req.p.to_server = true;
  // The normalised uri lost the "../": only the raw head has it.
  const std::string head = "GET /doku.php?x=../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n";
  BufferSet b;
  put(b, rules::kPayload, head);
  put(b, rules::kHttpMethod, "GET");
  put(b, rules::kHttpUri, "/doku.php?x=etc/passwd");
  EXPECT_EQ(h.app(req.p, b), Sids{1});
  // Near misses: the payload part beyond depth 200; the method differs; no payload.
  BufferSet far = b;
  put(far, rules::kPayload, "GET /doku.php?x=" + std::string(190, 'a') + "../ HTTP/1.1\r\n\r\n");
  EXPECT_EQ(h.app(req.p, far), Sids{});
  BufferSet post = b;
  put(post, rules::kHttpMethod, "POST");
  EXPECT_EQ(h.app(req.p, post), Sids{});
  BufferSet nopay;
  put(nopay, rules::kHttpMethod, "GET");
  put(nopay, rules::kHttpUri, "/doku.php?x=../");
  EXPECT_EQ(h.app(req.p, nopay), Sids{});  // a mixed rule needs the transaction's bytes
  // Mixed rules never run on packets or stream chunks.
  EXPECT_EQ(h.pay(req.p, head, PayloadMode::kStreamChunk), Sids{});
  EXPECT_EQ(h.pay(req.p, head, PayloadMode::kPacket), Sids{});

  Pkt resp(6, 80, 40000);
  resp.p.app_proto = rules::AppProto::kHttp;
  resp.p.to_server = false;
  const std::string rhead = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n ( '";  // head + body, contiguous
  BufferSet r;
  put(r, rules::kPayload, rhead);
  put(r, rules::kHttpStatCode, "200");
  EXPECT_EQ(h.app(resp.p, r), Sids{2});
  put(r, rules::kHttpStatCode, "404");
  EXPECT_EQ(h.app(resp.p, r), Sids{});

  BufferSet n3;
  put(n3, rules::kPayload, "GET /x.php HTTP/1.1\r\nHost: a\r\n\r\n");
  put(n3, rules::kHttpUri, "/x.php");
  EXPECT_EQ(h.app(req.p, n3), Sids{3});
  put(n3, rules::kPayload, "GET /x.php HTTP/1.1\r\nReferer: b\r\n\r\n");
  EXPECT_EQ(h.app(req.p, n3), Sids{});
}

TEST(DetectMixed, DnsMessageAndQuery) {
  Harness h;
  // ET Open 2030547: the SIG record type in the message, a query starting with a digit.
  h.add(parse(R"(alert dns any any -> any any (msg:"sig query"; content:"|00 00 18 00 01|"; fast_pattern; dns.query; pcre:"/^\d/"; sid:7; rev:1;))"));
  h.compile();
  Pkt q(17, 5353, 53);
  q.p.app_proto = rules::AppProto::kDns;
  std::string msg("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01" "1\x01x\x00\x00\x18\x00\x01", 21);
  BufferSet b;
  put(b, rules::kPayload, msg);
  put(b, rules::kDnsQuery, "1.x");
  EXPECT_EQ(h.app(q.p, b), Sids{7});
  put(b, rules::kDnsQuery, "a.x");
  EXPECT_EQ(h.app(q.p, b), Sids{});
}

// app-layer-event (ET Open CVE-2023-46747 shape): the transaction must carry
// the event; its payload items inspect the transaction's bytes.
TEST(DetectMixed, AppLayerEventWithPayload) {
  Harness h;
  h.add(parse(R"(alert http any any -> any any (msg:"ajp smuggling"; flow:established,to_server; app-layer-event:http.invalid_transfer_encoding_value_in_request; content:"|0d 0a 00 08|HTTP"; sid:9; rev:1;))"));
  h.add(parse(R"(alert http any any -> any any (msg:"event + cookie"; flow:to_server; app-layer-event:http.invalid_transfer_encoding_value_in_request; http.cookie; content:"X-Qlik-Session="; sid:10; rev:1;))"));
  h.compile();
  EXPECT_EQ(h.rep.rejected, 0u);
  Pkt req(6, 40000, 80);
  req.p.app_proto = rules::AppProto::kHttp;
  BufferSet b;
  put(b, rules::kPayload, std::string("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n") + std::string("\x00\x08", 2) + "HTTP");
  put(b, rules::kHttpCookie, "X-Qlik-Session=1");
  EXPECT_EQ(h.app(req.p, b), Sids{});  // no event raised
  b.events = rules::kEvHttpInvalidTeRequest;
  EXPECT_EQ(h.app(req.p, b), (Sids{9, 10}));
  EXPECT_EQ(h.pay(req.p, std::string("\r\n\x00\x08HTTP", 8), PayloadMode::kStreamChunk), Sids{});  // never on the stream
}

// ftpbounce (ET Open 2103441, "GPL FTP PORT bounce attempt"): a tcp rule
// with payload items and ftpbounce is an ftp transaction rule; the FTP parser
// gives the command line as payload and (ftp.bounce) only for a PORT naming
// another host than the client.
TEST(DetectMixed, FtpBounceWithPayload) {
  Harness h;
  h.add(parse(R"(alert tcp $EXTERNAL_NET any -> $HOME_NET 21 (msg:"GPL FTP PORT bounce attempt"; flow:to_server,established; content:"PORT"; nocase; ftpbounce; pcre:"/^PORT/smi"; classtype:misc-attack; sid:2103441; rev:2;))"));
  h.add(parse(R"(alert ftp any any -> any any (msg:"bounce alone"; ftpbounce; sid:11; rev:1;))"));
  h.compile();
  EXPECT_EQ(h.rep.rejected, 0u);
  Pkt req(6, 40000, 21, 0x50003a01, 0x0a000002);  // 80.0.58.1 ($EXTERNAL_NET) -> 10.0.0.2 ($HOME_NET)
  req.p.app_proto = rules::AppProto::kFtp;
  req.p.established = true;
  BufferSet b;
  put(b, rules::kPayload, "PORT 80,58,0,33,10,20\r");
  put(b, rules::kFtpCommand, "PORT");
  EXPECT_EQ(h.app(req.p, b), Sids{});  // the client's own address: no (ftp.bounce)
  put(b, rules::kFtpBounce, std::string(1, '\x01'));
  EXPECT_EQ(h.app(req.p, b), (Sids{2103441, 11}));  // in rule order
  put(b, rules::kPayload, "XPORT 80,58,0,33,10,20\r");  // pcre ^PORT fails
  EXPECT_EQ(h.app(req.p, b), Sids{11});
  EXPECT_EQ(h.pay(req.p, "PORT 80,58,0,33,10,20\r\n", PayloadMode::kStreamChunk), Sids{});  // never on the stream
  // Parsing: no value; not in a rule of another protocol.
  for (const char* t : {R"(alert tcp any any -> any 21 (content:"PORT"; ftpbounce:1; sid:1;))",
                        R"(alert http any any -> any any (content:"PORT"; ftpbounce; sid:1;))",
                        R"(alert udp any any -> any any (content:"PORT"; ftpbounce; sid:1;))"}) {
    rules::Rule r;
    std::string err;
    bool u = false;
    EXPECT_FALSE(rules::parse_rule(t, rules::Vars::suricata_defaults(), r, err, u)) << t;
    EXPECT_FALSE(u) << t << ": " << err;
  }
}

}  // namespace
}  // namespace spectre::detect_test
