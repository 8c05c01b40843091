// HTTP/2: HPACK against RFC 7541 Appendix C (C.2-C.6, plain and Huffman,
// eviction at 256 bytes), Huffman and integer errors; frames to HTTP
// transactions (the http.* buffers, :authority as the host, gzip DATA,
// interleaved streams), the (http2.hdr) facts of control frames, h2c
// upgrade, the stream bound, malformed and truncated frames counted, split
// at every byte, fuzz.
#include <zlib.h>

#include "dataplane/app/app_http2.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;
using namespace app;

std::string unhex(const std::string& h) {
  std::string o;
  for (size_t i = 0; i + 1 < h.size(); i += 2) o += char(std::stoi(h.substr(i, 2), nullptr, 16));
  return o;
}

struct Fields final : HpackSink {
  std::vector<std::pair<std::string, std::string>> f;
  std::vector<uint32_t> sizes;
  void field(const uint8_t* n, uint32_t nl, const uint8_t* v, uint32_t vl, bool) override {
    f.emplace_back(std::string(reinterpret_cast<const char*>(n), nl),
                   std::string(reinterpret_cast<const char*>(v), vl));
  }
  void size_update(uint32_t s) override { sizes.push_back(s); }
};

using FieldList = std::vector<std::pair<std::string, std::string>>;

struct Hpack {
  HpackTable t;
  std::vector<uint8_t> tmp = std::vector<uint8_t>(2 * kHpackStr);
  explicit Hpack(uint32_t max = kHpackTable) {
    hpack_init(t);
    t.max_size = max;
  }
  FieldList decode(const std::string& hex, HpackErr want = HpackErr::kOk) {
    Fields s;
    std::string b = unhex(hex);
    EXPECT_EQ(int(hpack_decode(t, reinterpret_cast<const uint8_t*>(b.data()), uint32_t(b.size()), tmp.data(), s)),
              int(want)) << hex;
    return s.f;
  }
};

// RFC 7541 C.2: each example with a fresh table.
TEST(Hpack, RfcC2Literals) {
  Hpack a;
  EXPECT_EQ(a.decode("400a637573746f6d2d6b65790d637573746f6d2d686561646572"),
            (FieldList{{"custom-key", "custom-header"}}));
  EXPECT_EQ(a.t.size, 55u);
  EXPECT_EQ(a.t.n, 1u);
  Hpack b;
  EXPECT_EQ(b.decode("040c2f73616d706c652f70617468"), (FieldList{{":path", "/sample/path"}}));
  EXPECT_EQ(b.t.n, 0u);
  Hpack c;
  EXPECT_EQ(c.decode("100870617373776f726406736563726574"), (FieldList{{"password", "secret"}}));
  EXPECT_EQ(c.t.n, 0u);
  Hpack d;
  EXPECT_EQ(d.decode("82"), (FieldList{{":method", "GET"}}));
  EXPECT_EQ(d.t.size, 0u);
}

// C.3 (plain) and C.4 (Huffman): three requests on one table.
void requests(bool huffman) {
  Hpack h;
  const char* const hex[2][3] = {
      {"828684410f7777772e6578616d706c652e636f6d", "828684be58086e6f2d6361636865",
       "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"},
      {"828684418cf1e3c2e5f23a6ba0ab90f4ff", "828684be5886a8eb10649cbf",
       "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"}};
  FieldList r1{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "www.example.com"}};
  EXPECT_EQ(h.decode(hex[huffman][0]), r1);
  EXPECT_EQ(h.t.size, 57u);
  FieldList r2 = r1;
  r2.push_back({"cache-control", "no-cache"});
  EXPECT_EQ(h.decode(hex[huffman][1]), r2);
  EXPECT_EQ(h.t.size, 110u);
  FieldList r3{{":method", "GET"}, {":scheme", "https"}, {":path", "/index.html"},
               {":authority", "www.example.com"}, {"custom-key", "custom-value"}};
  EXPECT_EQ(h.decode(hex[huffman][2]), r3);
  EXPECT_EQ(h.t.size, 164u);
  EXPECT_EQ(h.t.n, 3u);
}
TEST(Hpack, RfcC3Requests) { requests(false); }
TEST(Hpack, RfcC4RequestsHuffman) { requests(true); }

// C.5 (plain) and C.6 (Huffman): responses with a 256-byte table (evictions).
void responses(bool huffman) {
  Hpack h(256);
  const char* const hex[2][3] = {
      {"4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e17687474"
       "70733a2f2f7777772e6578616d706c652e636f6d",
       "4803333037c1c0bf",
       "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d41534"
       "44a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31"},
      {"488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae"
       "82ae43d3",
       "4883640effc1c0bf",
       "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960"
       "d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007"}};
  FieldList r1{{":status", "302"}, {"cache-control", "private"}, {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
               {"location", "https://www.example.com"}};
  EXPECT_EQ(h.decode(hex[huffman][0]), r1);
  EXPECT_EQ(h.t.size, 222u);
  FieldList r2 = r1;
  r2[0].second = "307";
  EXPECT_EQ(h.decode(hex[huffman][1]), r2);
  EXPECT_EQ(h.t.size, 222u);  // ":status: 302" evicted for ":status: 307"
  FieldList r3{{":status", "200"}, {"cache-control", "private"}, {"date", "Mon, 21 Oct 2013 20:13:22 GMT"},
               {"location", "https://www.example.com"}, {"content-encoding", "gzip"},
               {"set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"}};
  EXPECT_EQ(h.decode(hex[huffman][2]), r3);
  EXPECT_EQ(h.t.size, 215u);
  EXPECT_EQ(h.t.n, 3u);
}
TEST(Hpack, RfcC5ResponsesEviction) { responses(false); }
TEST(Hpack, RfcC6ResponsesHuffman) { responses(true); }

TEST(Hpack, Errors) {
  Hpack h;
  h.decode("be", HpackErr::kIndex);     // dynamic index 62 in an empty table
  h.decode("80", HpackErr::kIndex);     // index 0
  h.decode("ff", HpackErr::kInteger);   // integer cut short
  h.decode("ffffffffffff01", HpackErr::kInteger);  // too many continuation bytes
  h.decode("0003616263", HpackErr::kTruncated);    // value missing
  h.decode("0085616263", HpackErr::kTruncated);  // Huffman name longer than the block
  h.decode("0081ff0161", HpackErr::kHuffman);      // 8 bits of padding
  h.decode("00840000000001", HpackErr::kHuffman);  // zero padding bits ('0' symbols then 0s)
  h.decode("0084ffffffff0161", HpackErr::kHuffman);  // EOS inside the string
  h.decode("823e", HpackErr::kSizeUpdate);  // a size update after a field
  Hpack u;
  Fields s;
  std::string b = unhex("3fe11f82");  // size update to 4096 then :method GET
  EXPECT_EQ(int(hpack_decode(u.t, reinterpret_cast<const uint8_t*>(b.data()), uint32_t(b.size()), u.tmp.data(), s)),
            int(HpackErr::kOk));
  ASSERT_EQ(s.sizes.size(), 1u);
  EXPECT_EQ(s.sizes[0], 4096u);
  ASSERT_EQ(s.f.size(), 1u);
}

TEST(Hpack, HuffmanAllSymbolsRoundTrip) {
  // The RFC's C.4.1 string and an entry larger than the table (empties it).
  uint8_t out[64];
  uint32_t n = 0;
  bool cut = false;
  std::string e = unhex("f1e3c2e5f23a6ba0ab90f4ff");
  ASSERT_TRUE(hpack_huffman(reinterpret_cast<const uint8_t*>(e.data()), uint32_t(e.size()), out, 64, &n, &cut));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), n), "www.example.com");
  ASSERT_TRUE(hpack_huffman(reinterpret_cast<const uint8_t*>(e.data()), uint32_t(e.size()), out, 5, &n, &cut));
  EXPECT_TRUE(cut);
  EXPECT_EQ(n, 5u);
  Hpack h(64);
  h.decode("400a637573746f6d2d6b65790d637573746f6d2d686561646572");
  EXPECT_EQ(h.t.n, 1u);
  h.decode("40" "0a637573746f6d2d6b6579" "20" + std::string(64, '6').substr(0, 64));  // 10 + 32 + 32 > 64
  EXPECT_EQ(h.t.n, 0u);
  EXPECT_EQ(h.t.size, 0u);
}

// ---- frames ----

std::string frame(uint8_t type, uint8_t flags, uint32_t sid, const std::string& p) {
  uint32_t n = uint32_t(p.size());
  std::string f{char(n >> 16), char(n >> 8), char(n), char(type), char(flags),
                char(sid >> 24), char(sid >> 16), char(sid >> 8), char(sid)};
  return f + p;
}
// Literal field without indexing, new name (no Huffman); or with indexing (0x40).
std::string lit(const std::string& n, const std::string& v, uint8_t kind = 0) {
  return std::string(1, char(kind)) + char(n.size()) + n + char(v.size()) + v;
}
const std::string kPre = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
std::string settings(std::vector<std::pair<uint16_t, uint32_t>> kv = {{3, 100}, {4, 65535}}) {
  std::string p;
  for (auto [k, v] : kv) p += std::string{char(k >> 8), char(k), char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  return frame(4, 0, 0, p);
}

// GET on stream 1 (:authority with a port and upper case, Huffman-coded
// :authority from C.4.1 on stream 3), response with a gzip body in two DATA frames.
std::vector<Seg> conversation() {
  std::string req1 = "\x82\x86" + lit(":path", "/a/./b/../c%41?q=1") + lit(":authority", "Example.COM:8080") +
                     lit("user-agent", "h2-test/1.0") + lit("accept", "*/*", 0x40);
  std::string req3 = std::string("\x83\x86\x84\x41\x8c", 5) + unhex("f1e3c2e5f23a6ba0ab90f4ff") + "\xbf" +
                     lit("content-type", "text/plain");
  std::string body = gzip(std::string(300, 'z') + "SECRET-MARKER");
  std::string resp1 = "\x88" + lit("content-type", "text/html") + lit("content-encoding", "gzip");
  std::string resp3 = std::string("\x8e", 1);  // :status 500
  return {
      {true, kPre + settings() + frame(1, 5, 1, req1)},
      {false, settings({{3, 128}}) + frame(4, 1, 0, "")},
      {true, frame(4, 1, 0, "") + frame(1, 4, 3, req3) + frame(0, 1, 3, "post-data")},
      {false, frame(1, 4, 1, resp1) + frame(0, 0, 1, body.substr(0, 10)) + frame(1, 5, 3, resp3) +
                  frame(0, 1, 1, body.substr(10))},
      {true, frame(7, 0, 0, std::string("\0\0\0\3\0\0\0\0", 8))},  // GOAWAY NO_ERROR
  };
}

std::vector<Tx> http_txs(const std::vector<Tx>& all) {
  std::vector<Tx> o;
  for (auto& t : all)
    if (!t.meta.h2_ctrl) o.push_back(t);
  return o;
}

TEST(AppHttp2, StreamsToHttpTransactions) {
  AppCtx ctx(small_cfg());
  AppProto proto;
  auto all = run_tcp(ctx, conversation(), {}, 40000, 8080, &proto);
  EXPECT_EQ(proto, AppProto::kHttp2);
  auto t = http_txs(all);
  ASSERT_EQ(t.size(), 4u);
  // Stream 1's request (handed on at END_STREAM on its HEADERS).
  EXPECT_TRUE(t[0].to_server);
  EXPECT_EQ(t[0].meta.proto, AppProto::kHttp2);
  EXPECT_EQ(t[0].meta.h2_stream, 1u);
  EXPECT_EQ(t[0].get(kHttpMethod), "GET");
  EXPECT_EQ(t[0].get(kHttpUriRaw), "/a/./b/../c%41?q=1");
  EXPECT_EQ(t[0].get(kHttpUri), "/a/cA?q=1");
  EXPECT_EQ(t[0].get(kHttpHost), "example.com");
  EXPECT_EQ(t[0].get(kHttpHostRaw), "Example.COM:8080");
  EXPECT_EQ(t[0].get(kHttpUserAgent), "h2-test/1.0");
  EXPECT_EQ(t[0].get(kHttpProtocol), "HTTP/2");
  EXPECT_EQ(t[0].get(kHttpRequestLine), "GET /a/./b/../c%41?q=1 HTTP/2");
  EXPECT_NE(t[0].get(kHttpHeader).find("user-agent: h2-test/1.0\r\n"), std::string::npos);
  EXPECT_EQ(t[0].multi_buf, int(kHttp2HeaderName));  // http2.header_name: one instance per name
  // Pseudo-headers included, in wire order, as Suricata's http2.header_name.
  EXPECT_EQ(t[0].multi, (std::vector<std::string>{":method", ":scheme", ":path", ":authority", "user-agent", "accept"}));
  EXPECT_STREQ(t[0].meta.http_hostname, "example.com");
  EXPECT_STREQ(t[0].meta.http_protocol, "HTTP/2");
  // Stream 3's POST: Huffman :authority, indexed from the table, and its body.
  EXPECT_EQ(t[1].meta.h2_stream, 3u);
  EXPECT_EQ(t[1].get(kHttpMethod), "POST");
  EXPECT_EQ(t[1].get(kHttpHost), "www.example.com");
  EXPECT_EQ(t[1].get(kHttpRequestBody), "post-data");
  EXPECT_EQ(t[1].get(kHttpAccept), "*/*");  // index 63: req1's accept, behind the new :authority
  // Stream 3's response (END_STREAM on HEADERS) ends before stream 1's.
  EXPECT_FALSE(t[2].to_server);
  EXPECT_EQ(t[2].meta.h2_stream, 3u);
  EXPECT_EQ(t[2].get(kHttpStatCode), "500");
  EXPECT_EQ(t[2].get(kHttp2HeaderName), ":status");  // a head of pseudo-headers only
  EXPECT_EQ(t[3].multi, (std::vector<std::string>{":status", "content-type", "content-encoding"}));
  EXPECT_FALSE(t[2].has(kFileData));
  // Stream 1's response: gzip body across two DATA frames, decoded.
  EXPECT_EQ(t[3].meta.h2_stream, 1u);
  EXPECT_EQ(t[3].get(kHttpStatCode), "200");
  EXPECT_EQ(t[3].meta.http_status, 200);
  EXPECT_EQ(t[3].get(kFileData), std::string(300, 'z') + "SECRET-MARKER");
  EXPECT_EQ(t[3].get(kHttpContentType), "text/html");
  // Each response's meta has its own request's fields (stream 3's came later).
  EXPECT_STREQ(t[2].meta.http_method, "POST");
  EXPECT_STREQ(t[2].meta.http_hostname, "www.example.com");
  EXPECT_STREQ(t[3].meta.http_method, "GET");
  EXPECT_STREQ(t[3].meta.http_url, "/a/./b/../c%41?q=1");
  EXPECT_STREQ(t[3].meta.http_user_agent, "h2-test/1.0");
  EXPECT_EQ(ctx.ctr.http2_malformed, 0u);
  EXPECT_EQ(ctx.ctr.http2_hpack_errors, 0u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
  EXPECT_EQ(app_decoders_free(ctx), app_decoders_size(ctx));
}

// EVE's request_headers / response_headers (Suricata's http2 logger): every
// decoded header of each head, pseudo-headers included, in wire order, on
// the response's tx (the one logged); a table size update as its own entry;
// a list past kH2HdrLog bytes leaves the rest out (counted).
TEST(AppHttp2, EveHeaderLists) {
  AppCtx ctx(small_cfg());
  auto t = http_txs(run_tcp(ctx, conversation()));
  ASSERT_EQ(t.size(), 4u);
  EXPECT_FALSE(t[0].has(kHttp2Headers));  // requests are not logged on their own
  std::string j;
  format_app_json(t[3].meta, j, nullptr, t[3].get(kHttp2Headers));
  EXPECT_NE(j.find("\"request_headers\":[{\"name\":\":method\",\"value\":\"GET\"},"
                   "{\"name\":\":scheme\",\"value\":\"http\"},{\"name\":\":path\",\"value\":\"/a/./b/../c%41?q=1\"},"
                   "{\"name\":\":authority\",\"value\":\"Example.COM:8080\"},"
                   "{\"name\":\"user-agent\",\"value\":\"h2-test/1.0\"},{\"name\":\"accept\",\"value\":\"*/*\"}],"
                   "\"response_headers\":[{\"name\":\":status\",\"value\":\"200\"},"
                   "{\"name\":\"content-type\",\"value\":\"text/html\"},"
                   "{\"name\":\"content-encoding\",\"value\":\"gzip\"}],\"http2\":{\"stream_id\":1}"),
            std::string::npos) << j;
  j.clear();
  format_app_json(t[2].meta, j, nullptr, t[2].get(kHttp2Headers));  // stream 3: Huffman and indexed fields
  EXPECT_NE(j.find("{\"name\":\":authority\",\"value\":\"www.example.com\"}"), std::string::npos) << j;
  EXPECT_NE(j.find("\"response_headers\":[{\"name\":\":status\",\"value\":\"500\"}]"), std::string::npos) << j;
  EXPECT_EQ(ctx.ctr.truncated, 0u);

  // A size update, and a request whose list overflows kH2HdrLog.
  AppCtx c2(small_cfg());
  std::string req = std::string("\x3f\xe1\x1f", 3) + "\x82\x86\x84" + lit(":authority", "h");
  for (int i = 0; i < 12; i++) req += lit("x-long-" + std::to_string(i), std::string(60, 'v'));
  auto t2 = http_txs(run_tcp(c2, {{true, kPre + settings() + frame(1, 5, 1, req)},
                                  {false, settings() + frame(1, 5, 1, "\x88")}}));
  ASSERT_EQ(t2.size(), 2u);
  j.clear();
  format_app_json(t2[1].meta, j, nullptr, t2[1].get(kHttp2Headers));
  EXPECT_NE(j.find("\"request_headers\":[{\"table_size_update\":4096},{\"name\":\":method\",\"value\":\"GET\"}"),
            std::string::npos) << j;
  EXPECT_NE(j.find("x-long-7"), std::string::npos) << j;  // 62 + 8 x 72 = 638 bytes of entries
  EXPECT_EQ(j.find("x-long-8"), std::string::npos) << j;  // past 640 bytes: the rest left out
  EXPECT_GT(c2.ctr.truncated, 0u);
  EXPECT_NE(j.find("\"response_headers\":[{\"name\":\":status\",\"value\":\"200\"}]"), std::string::npos) << j;
  // A cut buffer never reads past the bytes given (ASan) and still closes
  // its lists: whole entries only, the request list's prefix.
  const std::string whole = t[3].get(kHttp2Headers);
  for (size_t n = 0; n < 40; n++) {
    std::string b = whole.substr(0, n), o;
    app::h2_headers_json(o, reinterpret_cast<const uint8_t*>(b.data()), uint32_t(b.size()));
    if (n <= 2) EXPECT_EQ(o, "") << n;
    else EXPECT_TRUE(o.starts_with("\"request_headers\":[") && o.ends_with("]")) << n << " " << o;
    if (n >= 2 + 4 + 7 + 3) EXPECT_NE(o.find("{\"name\":\":method\",\"value\":\"GET\"}"), std::string::npos) << o;
  }
}

// Without EVE transaction logs (want_h2_log off) no header list is copied:
// no (http2.headers) buffer, everything else as before.
TEST(AppHttp2, NoHeaderListsWithoutTxLogs) {
  AppCtx ctx(small_cfg());
  ctx.want_h2_log = false;
  auto t = http_txs(run_tcp(ctx, conversation()));
  ASSERT_EQ(t.size(), 4u);
  for (const auto& x : t) EXPECT_FALSE(x.has(kHttp2Headers));
  EXPECT_EQ(t[3].get(kHttpStatCode), "200");
  EXPECT_EQ(t[3].multi, (std::vector<std::string>{":status", "content-type", "content-encoding"}));
  EXPECT_EQ(ctx.ctr.truncated, 0u);
}

TEST(AppHttp2, ControlFramesCarryKeywordFacts) {
  AppCtx ctx(small_cfg());
  auto all = run_tcp(ctx, conversation());
  std::vector<Tx> ctl;
  for (auto& t : all)
    if (t.meta.h2_ctrl) ctl.push_back(t);
  ASSERT_EQ(ctl.size(), 5u);  // SETTINGS x2 + ACK x2, GOAWAY
  auto hdr = [](const Tx& t) {
    std::string h = t.get(kHttp2Hdr);
    EXPECT_EQ(h.size(), kH2HdrBuf);
    return h;
  };
  std::string s = hdr(ctl[0]);  // the client's SETTINGS: MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW 65535
  EXPECT_EQ(uint8_t(s[1]), 1u << 4);
  EXPECT_EQ(s[19 + 5 * 2], 1);
  EXPECT_EQ(s.substr(20 + 5 * 2, 4), std::string("\0\0\0\x64", 4));
  EXPECT_EQ(s[19 + 5 * 3], 1);
  EXPECT_EQ(s[19], 0);  // HEADER_TABLE_SIZE not sent
  std::string g = hdr(ctl.back());  // GOAWAY
  EXPECT_EQ(uint8_t(g[1]), 1u << 7);
  EXPECT_EQ(g[2], 1);
  EXPECT_EQ(g.substr(3, 4), std::string(4, '\0'));
  // A stream's tx: HEADERS and DATA bits; the response of stream 1.
  auto t = http_txs(all);
  std::string r = t[3].get(kHttp2Hdr);
  ASSERT_EQ(r.size(), kH2HdrBuf);
  EXPECT_EQ(uint8_t(r[1]), (1u << 0) | (1u << 1));
}

// An unknown frame type (here 43 and 255) is ignored (RFC 9113 4.1): no
// frame-type bit, the streams around it parse (was a shift past 31 bits).
TEST(AppHttp2, UnknownFrameTypesSetNoBit) {
  AppCtx ctx(small_cfg());
  auto conv = conversation();
  conv[0].data += frame(43, 0, 0, "xyz") + frame(255, 0, 1, std::string(9, '\0'));
  auto all = run_tcp(ctx, conv);
  AppCtx ctx2(small_cfg());
  auto want = http_txs(run_tcp(ctx2, conversation()));
  auto got = http_txs(all);
  ASSERT_EQ(got.size(), want.size());
  for (auto& t : all) {
    std::string h = t.get(kHttp2Hdr);
    if (h.size() == kH2HdrBuf) EXPECT_EQ(uint8_t(h[0]), 0u) << "no bit past type 7 is set";
  }
}

TEST(AppHttp2, SplitInvariant) { expect_split_invariant(small_cfg(), conversation()); }

TEST(AppHttp2, PriorityWindowRstAndSizeUpdate) {
  AppCtx ctx(small_cfg());
  std::string prio = std::string("\x00\x00\x00\x00\x20", 5);  // exclusive 0, dep 0, weight 32
  std::string req = std::string("\x3f\xe1\x1f", 3) + "\x82\x86\x84" + lit(":authority", "h");
  auto all = run_tcp(ctx, {{true, kPre + settings() + frame(1, 0x24, 1, prio + req) +  // PRIORITY flag
                                      frame(8, 0, 0, std::string("\0\0\x10\0", 4)) +
                                      frame(3, 0, 1, std::string("\0\0\0\x08", 4))}});  // RST CANCEL
  auto t = http_txs(all);
  ASSERT_EQ(t.size(), 1u);  // the request cut by RST_STREAM
  std::string h = t[0].get(kHttp2Hdr);
  ASSERT_EQ(h.size(), kH2HdrBuf);
  EXPECT_EQ(h[7], 1);
  EXPECT_EQ(uint8_t(h[8]), 0x20);
  EXPECT_EQ(h[14], 1);  // the size update to 4096
  EXPECT_EQ(h.substr(15, 4), std::string("\0\0\x10\0", 4));
  EXPECT_EQ(h[2], 1);   // RST_STREAM's CANCEL
  EXPECT_EQ(h[6], 8);
  bool win = false;
  for (auto& c : all)
    if (c.meta.h2_ctrl && c.get(kHttp2Hdr)[9] == 1) win = c.get(kHttp2Hdr).substr(10, 4) == std::string("\0\0\x10\0", 4);
  EXPECT_TRUE(win);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppHttp2, H2cUpgrade) {
  AppCtx ctx(small_cfg());
  AppProto proto;
  std::string resp = "\x88" + lit("server", "nghttpd");
  auto all = run_tcp(
      ctx,
      {{true, "GET /up HTTP/1.1\r\nHost: u.example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
              "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"},
       {false, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" + settings() +
                   frame(1, 4, 1, resp)},
       {true, kPre + settings() + frame(4, 1, 0, "")},
       {false, frame(0, 1, 1, "upgraded-body")}},
      {}, 40000, 8080, &proto);
  EXPECT_EQ(proto, AppProto::kHttp2);
  auto t = http_txs(all);
  ASSERT_GE(t.size(), 3u);
  EXPECT_EQ(t[0].meta.proto, AppProto::kHttp);  // the upgrade request, as HTTP/1.1
  EXPECT_EQ(t[0].get(kHttpUri), "/up");
  EXPECT_EQ(t[1].get(kHttpStatCode), "101");
  EXPECT_EQ(t.back().meta.proto, AppProto::kHttp2);
  EXPECT_EQ(t.back().get(kHttpStatCode), "200");
  EXPECT_EQ(t.back().get(kFileData), "upgraded-body");
  EXPECT_EQ(t.back().get(kHttpServer), "nghttpd");
  EXPECT_STREQ(t.back().meta.http_url, "/up");  // the upgrade request's
  EXPECT_EQ(ctx.ctr.http2_malformed, 0u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppHttp2, StreamBoundFinishesTheOldest) {
  AppConfig cfg = small_cfg();
  cfg.tx_buffers = 64;
  AppCtx ctx(cfg);
  std::string c = kPre + settings();
  const uint32_t n = kH2Streams + 12;
  for (uint32_t i = 0; i < n; i++)  // requests with bodies still open
    c += frame(1, 4, 2 * i + 1, "\x83\x86" + lit(":path", "/s" + std::to_string(i)) + lit(":authority", "h"));
  auto all = run_tcp(ctx, {{true, c}});
  auto t = http_txs(all);
  ASSERT_EQ(t.size(), n);  // every request handed on: 12 early, the rest at the flow's end
  EXPECT_EQ(t[0].get(kHttpUri), "/s0");
  EXPECT_EQ(ctx.ctr.http2_streams, n);
  EXPECT_EQ(ctx.ctr.http2_streams_evicted, 12u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

// The worker's stream records are shared: a flow takes what it needs (more
// than the old 16 per flow); with the pool empty a flow finishes its own
// oldest stream, and one with none open is refused (counted, not tracked).
TEST(AppHttp2, StreamPoolSharedByFlows) {
  AppConfig cfg = small_cfg();
  cfg.tx_buffers = 64;
  cfg.http2_streams = 40;
  AppCtx ctx(cfg);
  Flow a, b, z;
  Rec r;
  auto send = [&](Flow& f, const std::string& d) {
    app_stream(ctx, f.s, true, 40000, 80, reinterpret_cast<const uint8_t*>(d.data()), uint32_t(d.size()), 0, 0, r);
  };
  auto open_reqs = [&](uint32_t from, uint32_t n) {  // requests whose bodies stay open
    std::string c;
    for (uint32_t i = from; i < from + n; i++)
      c += frame(1, 4, 2 * i + 1, "\x83\x86" + lit(":path", "/s" + std::to_string(i)) + lit(":authority", "h"));
    return c;
  };
  send(a, kPre + settings() + open_reqs(0, 30));  // 30 open streams in one flow
  EXPECT_EQ(ctx.ctr.http2_streams_evicted, 0u);
  EXPECT_EQ(h2_streams_free(ctx), 10u);
  send(b, kPre + settings() + open_reqs(0, 12));  // 10 from the pool, then b's own oldest twice
  EXPECT_EQ(ctx.ctr.http2_streams_evicted, 2u);
  EXPECT_EQ(h2_streams_free(ctx), 0u);
  send(z, kPre + settings() + open_reqs(0, 1));  // nothing free, nothing of its own: refused
  EXPECT_EQ(ctx.ctr.http2_streams_refused, 1u);
  send(z, frame(0, 1, 1, "body"));  // DATA of the untracked stream: ignored
  app_finish(ctx, a.s, r);
  app_finish(ctx, b.s, r);
  app_finish(ctx, z.s, r);
  EXPECT_EQ(http_txs(r.txs).size(), 30u + 12u);  // every tracked request handed on (2 early, the rest at the end)
  EXPECT_EQ(h2_streams_free(ctx), 40u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppHttp2, MalformedCountedNeverFatal) {
  struct Case {
    const char* what;
    std::string bytes;
    bool hpack;  // an HPACK error (else a framing one)
  } cases[] = {
      {"CONTINUATION without HEADERS", frame(9, 4, 1, "\x82"), false},
      {"HEADERS on stream 0", frame(1, 5, 0, "\x82"), false},
      {"padding longer than the frame", frame(1, 0x0d, 1, std::string("\x09\x82", 2)), false},
      {"bad HPACK index", frame(1, 5, 1, "\xbf"), true},
      {"bad Huffman", frame(1, 5, 1, std::string("\x82\x00\x81\xff\x01\x61", 6)), true},
      {"SETTINGS of 5 bytes", frame(4, 0, 0, std::string(5, '\0')), false},
      {"PING on a stream", frame(6, 0, 1, std::string(8, '\0')), false},
      {"WINDOW_UPDATE of 3 bytes", frame(8, 0, 0, std::string(3, '\0')), false},
      {"header block over the bound", frame(1, 5, 1, std::string(kH2Block + 10, '\x82')), true},
      {"DATA padding longer than the frame", frame(0, 9, 1, std::string("\x09" "abc", 4)), false},
  };
  for (auto& k : cases) {
    AppCtx ctx(small_cfg());
    run_tcp(ctx, {{true, kPre + k.bytes + frame(1, 5, 3, "\x82\x86\x84")}});
    EXPECT_EQ(k.hpack ? ctx.ctr.http2_hpack_errors : ctx.ctr.http2_malformed, 1u) << k.what;
    EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << k.what;
  }
  // A bad preface after the probe: the direction stops.
  AppCtx ctx(small_cfg());
  run_tcp(ctx, {{true, "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + settings()}});
  EXPECT_EQ(ctx.ctr.http2_malformed, 1u);
  // Truncated frame at the flow's end: the open request is handed on.
  AppCtx t(small_cfg());
  auto txs = run_tcp(t, {{true, kPre + frame(1, 4, 1, "\x83\x86\x84" + lit(":authority", "h")) +
                                    frame(0, 1, 1, "abcdef").substr(0, 12)}});
  ASSERT_EQ(http_txs(txs).size(), 1u);
  EXPECT_EQ(http_txs(txs)[0].get(kHttpRequestBody), "abc");
  EXPECT_EQ(app_pool_free(t), app_pool_size(t));
}

TEST(AppHttp2, ContextPoolBoundAndReuse) {
  RecordProperty("h2_conn_size", int(h2_conn_size()));
  RecordProperty("h2_stream_size", int(h2_stream_size()));
  EXPECT_LT(h2_conn_size(), 28u * 1024);  // docs/ARCHITECTURE.md: ~27 KiB per flow
  EXPECT_LT(h2_stream_size(), 2816u);     // ~2.7 KiB per pooled stream (1.25 KiB of it EVE's header lists)
  AppConfig cfg = small_cfg();
  cfg.http2_flows = 1;
  AppCtx ctx(cfg);
  Flow a, b;
  Rec r;
  std::string c = kPre + frame(1, 5, 1, "\x82\x86\x84" + lit(":authority", "h"));
  auto feed = [&](Flow& f, uint64_t ts = 0) {
    app_stream(ctx, f.s, true, 40000, 80, reinterpret_cast<const uint8_t*>(c.data()), uint32_t(c.size()), 0, ts, r);
  };
  feed(a);
  feed(b, 500000000);  // a idle for 0.5 s only: no context left, labelled only
  EXPECT_EQ(app_proto(b.s), AppProto::kHttp2);
  EXPECT_EQ(ctx.ctr.http2_no_ctx, 1u);
  EXPECT_EQ(http_txs(r.txs).size(), 1u);
  app_finish(ctx, a.s, r);
  app_finish(ctx, b.s, r);
  Flow d;
  feed(d);  // the slot came back
  EXPECT_EQ(http_txs(r.txs).size(), 2u);
  // d idle for a second, no message open: a new flow takes its context, d stops.
  Flow e;
  feed(e, 1100000000);
  EXPECT_EQ(ctx.ctr.http2_reclaimed, 1u);
  EXPECT_EQ(http_txs(r.txs).size(), 3u);
  std::string more = frame(1, 5, 3, "\x82\x86\x84" + lit(":authority", "h"));
  app_stream(ctx, d.s, true, 40000, 80, reinterpret_cast<const uint8_t*>(more.data()), uint32_t(more.size()), 0,
             1200000000, r);
  EXPECT_EQ(http_txs(r.txs).size(), 3u);  // ignored
  app_finish(ctx, d.s, r);
  app_finish(ctx, e.s, r);
  Flow g;
  feed(g, 1300000000);  // e's slot was returned at its end
  EXPECT_EQ(ctx.ctr.http2_no_ctx, 1u);
  EXPECT_EQ(http_txs(r.txs).size(), 4u);
  app_finish(ctx, g.s, r);
}

TEST(AppHttp2, PoolEmptyFallsBackToMetaOnly) {
  AppConfig cfg = small_cfg();
  cfg.tx_buffers = 1;  // stream 3's messages find no buffer while stream 1's request holds it
  AppCtx ctx(cfg);
  auto t = http_txs(run_tcp(ctx, conversation()));
  ASSERT_EQ(t.size(), 4u);
  EXPECT_GT(ctx.ctr.tx_pool_empty, 0u);
  EXPECT_EQ(t[3].get(kHttpStatCode), "200");  // a buffer again by then
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppHttp2, Fuzz) {
  std::mt19937 rng(12);
  AppCtx ctx(small_cfg());
  uint64_t frames = 0;
  for (int i = 0; i < 3000; i++) {
    std::vector<Seg> segs = conversation();
    for (size_t k = 0; k < segs.size(); k++) {
      if (rng() % 2) continue;
      size_t keep = k == 0 ? kPre.size() : 0;  // the preface stays (else nothing is parsed)
      segs[k].data = segs[k].data.substr(0, keep) + mutate(rng, segs[k].data.substr(keep));
    }
    run_tcp(ctx, segs);
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << i;
    ASSERT_EQ(app_decoders_free(ctx), app_decoders_size(ctx)) << i;
    ASSERT_EQ(h2_streams_free(ctx), small_cfg().http2_streams) << i;
    frames = ctx.ctr.http2_frames;
  }
  EXPECT_GT(frames, 3000u * 5);  // the mutants were parsed, not rejected at once
  EXPECT_GT(ctx.ctr.http2_malformed + ctx.ctr.http2_hpack_errors, 100u);
}

}  // namespace
}  // namespace spectre
