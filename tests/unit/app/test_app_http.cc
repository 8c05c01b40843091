// HTTP/1.x parser: buffers, framing, pipelining, limits, split invariance, fuzz.
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

const char kReq[] =
    "GET /a/./b/../c//d%41%2F%7e?x=%41 HTTP/1.1\r\n"
    "Host: WWW.Example.COM:8080\r\n"
    "User-Agent: curl/8.0\r\n"
    "X-Folded: one\r\n"
    "\t two\r\n"
    "Cookie: id=1\r\n"
    "Accept: */*\r\n"
    "\r\n";

const char kResp[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx\r\n"
    "Content-Type: text/html\r\n"
    "Content-Length: 5\r\n"
    "Set-Cookie: s=2\r\n"
    "\r\n"
    "hello";

// Suricata's http.start, http.header.raw, http.host.raw, http.accept_enc,
// http.accept_lang (http-keywords.rst), and kPayload: the head as received
// plus the stored body, for rules mixing payload and HTTP buffers.
TEST(AppHttp, StartRawAndAcceptBuffers) {
  AppCtx ctx(small_cfg());
  const char req[] =
      "POST /p HTTP/1.1\r\n"
      "Host: WWW.Example.COM:8080\r\n"
      "Accept-Encoding: gzip, deflate\r\n"
      "Accept-Language: en-US\r\n"
      "Cookie: c=1\r\n"
      "X-Folded: one\r\n"
      "\t two\r\n"
      "Content-Length: 3\r\n"
      "\r\n"
      "abc";
  auto txs = run_tcp(ctx, {{true, req}, {false, kResp}});
  ASSERT_EQ(txs.size(), 2u);
  const Tx& q = txs[0];
  EXPECT_EQ(q.get(kHttpStart),
            "POST /p HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\nAccept-Encoding: gzip, deflate\r\n"
            "Accept-Language: en-US\r\nCookie: c=1\r\nX-Folded: one two\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(q.get(kHttpHeaderRaw),
            "Host: WWW.Example.COM:8080\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US\r\n"
            "Cookie: c=1\r\nX-Folded: one\r\n\t two\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(q.get(kHttpHostRaw), "WWW.Example.COM:8080");
  EXPECT_EQ(q.get(kHttpHost), "www.example.com");
  EXPECT_EQ(q.get(kHttpAcceptEnc), "gzip, deflate");
  EXPECT_EQ(q.get(kHttpAcceptLang), "en-US");
  EXPECT_EQ(q.get(kPayload), std::string(req));
  const Tx& r = txs[1];
  EXPECT_EQ(r.get(kHttpStart),
            "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 5\r\n"
            "Set-Cookie: s=2\r\n\r\n");
  EXPECT_EQ(r.get(kPayload), std::string(kResp));
  EXPECT_FALSE(r.has(kHttpHostRaw));
  EXPECT_FALSE(r.has(kHttpAcceptEnc));
}

// libhtp's "Invalid T-E value in request": Transfer-Encoding other than
// "chunked" raises app-layer-event http.invalid_transfer_encoding_value_in_request.
TEST(AppHttp, InvalidTransferEncodingEvent) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"},
                           {false, kResp},
                           {true, "POST /b HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"},
                           {false, kResp}});
  ASSERT_EQ(txs.size(), 4u);
  EXPECT_EQ(txs[0].events, uint32_t(kEvHttpInvalidTeRequest));
  EXPECT_EQ(txs[1].events, 0u);  // responses: not this event
  EXPECT_EQ(txs[2].events, 0u);  // "chunked" in any case is valid
}

TEST(AppHttp, RequestBuffers) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, kReq}, {false, kResp}});
  ASSERT_EQ(txs.size(), 2u);
  const Tx& q = txs[0];
  EXPECT_TRUE(q.to_server);
  EXPECT_EQ(q.get(kHttpMethod), "GET");
  EXPECT_EQ(q.get(kHttpUriRaw), "/a/./b/../c//d%41%2F%7e?x=%41");
  EXPECT_EQ(q.get(kHttpUri), "/a/c/dA%2F~?x=A");
  EXPECT_EQ(q.get(kHttpProtocol), "HTTP/1.1");
  EXPECT_EQ(q.get(kHttpRequestLine), "GET /a/./b/../c//d%41%2F%7e?x=%41 HTTP/1.1");
  EXPECT_EQ(q.get(kHttpHost), "www.example.com");
  EXPECT_EQ(q.get(kHttpUserAgent), "curl/8.0");
  EXPECT_EQ(q.get(kHttpCookie), "id=1");
  EXPECT_EQ(q.get(kHttpAccept), "*/*");
  EXPECT_EQ(q.get(kHttpHeader),
            "Host: WWW.Example.COM:8080\r\nUser-Agent: curl/8.0\r\nX-Folded: one two\r\n"
            "Accept: */*\r\n");
  EXPECT_EQ(q.get(kHttpHeaderNames), "\r\nHost\r\nUser-Agent\r\nX-Folded\r\nCookie\r\nAccept\r\n\r\n");
  // Absent headers give absent buffers.
  for (Buf b : {kHttpReferer, kHttpContentType, kHttpContentLen, kHttpConnection,
                kHttpRequestBody, kHttpStatCode, kHttpResponseBody})
    EXPECT_FALSE(q.has(b)) << int(b);
  EXPECT_STREQ(q.meta.http_hostname, "www.example.com");
  EXPECT_STREQ(q.meta.http_url, "/a/./b/../c//d%41%2F%7e?x=%41");
  EXPECT_STREQ(q.meta.http_method, "GET");
  EXPECT_STREQ(q.meta.http_protocol, "HTTP/1.1");
  EXPECT_STREQ(q.meta.http_user_agent, "curl/8.0");

  const Tx& r = txs[1];
  EXPECT_FALSE(r.to_server);
  EXPECT_EQ(r.get(kHttpStatCode), "200");
  EXPECT_EQ(r.get(kHttpStatMsg), "OK");
  EXPECT_EQ(r.get(kHttpResponseLine), "HTTP/1.1 200 OK");
  EXPECT_EQ(r.get(kHttpServer), "nginx");
  EXPECT_EQ(r.get(kHttpContentType), "text/html");
  EXPECT_EQ(r.get(kHttpContentLen), "5");
  EXPECT_EQ(r.get(kHttpResponseBody), "hello");
  EXPECT_EQ(r.get(kHttpHeader),
            "Server: nginx\r\nContent-Type: text/html\r\nContent-Length: 5\r\n");
  EXPECT_FALSE(r.has(kHttpLocation));
  EXPECT_FALSE(r.has(kHttpMethod));
  EXPECT_EQ(r.meta.http_status, 200);
  EXPECT_EQ(r.meta.http_length, 5u);
  EXPECT_STREQ(r.meta.http_content_type, "text/html");
  EXPECT_STREQ(r.meta.http_hostname, "www.example.com");  // the request's, same tx
  EXPECT_EQ(ctx.ctr.http_requests, 1u);
  EXPECT_EQ(ctx.ctr.http_responses, 1u);
  EXPECT_EQ(ctx.ctr.detected[int(AppProto::kHttp)], 1u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

// EVE http.http_refer (request) and http.http_content_type (response): in
// the meta the http event and alert app data are formatted from; a second
// request without Referer must not inherit the first one's.
TEST(AppHttp, RefererAndContentTypeInEveMeta) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, "GET /x HTTP/1.1\r\nHost: a\r\nReferer: http://b.example/p?q=\"1\"\r\n\r\n"},
                           {false, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"},
                           {true, "GET /y HTTP/1.1\r\nHost: a\r\n\r\n"}});
  ASSERT_EQ(txs.size(), 3u);
  EXPECT_STREQ(txs[0].meta.http_refer, "http://b.example/p?q=\"1\"");
  EXPECT_STREQ(txs[1].meta.http_content_type, "application/json");
  std::string j;
  format_app_json(txs[1].meta, j);
  EXPECT_NE(j.find("\"http_refer\":\"http://b.example/p?q=\\\"1\\\"\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"http_content_type\":\"application/json\""), std::string::npos) << j;
  EXPECT_STREQ(txs[2].meta.http_refer, "");
  j.clear();
  format_app_json(txs[2].meta, j);
  EXPECT_EQ(j.find("http_refer"), std::string::npos) << j;
}

// Independent model of the documented normalization, checked through http.uri.
TEST(AppHttp, UriNormalization) {
  const std::pair<const char*, const char*> cases[] = {
      {"/", "/"},
      {"/a/b/c", "/a/b/c"},
      {"/a/./b", "/a/b"},
      {"/a/../b", "/b"},
      {"/../../x", "/x"},
      {"/a/b/..", "/a/"},
      {"/a/b/.", "/a/b/"},
      {"//a///b//", "/a/b/"},
      {"/%2e%2e/%2E/x", "/x"},
      {"/%41%5a%61%7a%30%39%2d%2e%5f%7e", "/AZaz09-._~"},
      {"/%2f%25%20%zz%4", "/%2f% %zz%4"},  // path: all but %2F and %00; bad escapes kept
      {"/a%2Fb/%00/x?q=%20%41%00", "/a%2Fb/%00/x?q= A%00"},  // query: every escape but %00
      {"/?id=1%20UNION%20SELECT%20a", "/?id=1 UNION SELECT a"},
      {"/%2e%2e%2f..%2fetc", "/..%2f..%2fetc"},  // one segment: %2F is no separator
      {"/a/%2e%2e/b", "/b"},
      {"/a/../b?q=/../x&%41=1", "/b?q=/../x&A=1"},
      {"http://Host:80/x/../y?z", "/y?z"},
      {"http://host", "/"},
      {"http://host?q", "/?q"},
      {"*", "*"},
      {"/a#frag/../b", "/a#frag/../b"},
  };
  AppCtx ctx(small_cfg());
  for (auto& [in, want] : cases) {
    std::string req = std::string("GET ") + in + " HTTP/1.1\r\nHost: h\r\n\r\n";
    auto txs = run_tcp(ctx, {{true, req}});
    ASSERT_EQ(txs.size(), 1u) << in;
    EXPECT_EQ(txs[0].get(kHttpUri), want) << in;
    EXPECT_EQ(txs[0].get(kHttpUriRaw), in);
  }
}

TEST(AppHttp, HostNormalization) {
  AppCtx ctx(small_cfg());
  const std::pair<const char*, const char*> cases[] = {
      {"Example.ORG", "example.org"}, {"a.b:443", "a.b"}, {"[::1]:80", "[::1]"},
      {"x:y", "x:y"}, {"  h.example.  ", "h.example"},
  };
  for (auto& [in, want] : cases) {
    std::string req = std::string("GET / HTTP/1.0\r\nhOsT: ") + in + "\r\n\r\n";
    auto txs = run_tcp(ctx, {{true, req}});
    ASSERT_EQ(txs.size(), 1u);
    EXPECT_EQ(txs[0].get(kHttpHost), want) << in;
  }
}

const std::vector<Seg> kChunked = {
    {true,
     "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"},
    {false,
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "a\r\n0123456789\r\n1\r\n!\r\n0\r\n\r\n"},
};

TEST(AppHttp, ChunkedBodies) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, kChunked);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].get(kHttpRequestBody), "hello world");
  EXPECT_EQ(txs[1].get(kHttpResponseBody), "0123456789!");
  EXPECT_EQ(txs[1].meta.http_length, 11u);
  EXPECT_EQ(ctx.ctr.parse_errors, 0u);
}

// Pipelined requests (HEAD among them) in one segment, responses in one
// segment: the HEAD response's Content-Length announces no body.
const std::vector<Seg> kPipelined = {
    {true,
     "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
     "HEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n"
     "POST /3 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
     "GET /4 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"},
    {false,
     "HTTP/1.1 100 Continue\r\n\r\n"
     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr1"
     "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
     "HTTP/1.1 204 No Content\r\n\r\n"
     "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\nuntil close"},
};

TEST(AppHttp, PipeliningAndNoBodyResponses) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, kPipelined);
  ASSERT_EQ(txs.size(), 8u);
  for (int i = 0; i < 4; i++) EXPECT_TRUE(txs[i].to_server);
  EXPECT_EQ(txs[0].get(kHttpUri), "/1");
  EXPECT_EQ(txs[1].get(kHttpMethod), "HEAD");
  EXPECT_EQ(txs[2].get(kHttpRequestBody), "abc");
  EXPECT_EQ(txs[2].get(kHttpContentLen), "3");
  EXPECT_EQ(txs[3].get(kHttpConnection), "close");
  EXPECT_EQ(txs[4].get(kHttpResponseBody), "r1");
  EXPECT_EQ(txs[5].get(kHttpStatCode), "200");
  EXPECT_FALSE(txs[5].has(kHttpResponseBody));  // HEAD: no body despite Content-Length
  EXPECT_EQ(txs[6].get(kHttpStatCode), "204");
  EXPECT_EQ(txs[6].get(kHttpStatMsg), "No Content");
  EXPECT_EQ(txs[7].get(kHttpLocation), "/x");
  EXPECT_EQ(txs[7].get(kHttpResponseBody), "until close");  // completed by app_finish
  EXPECT_EQ(txs[7].meta.http_length, 11u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppHttp, SplitInvariance) {
  std::vector<Seg> all = {{true, kReq}, {false, kResp}};
  expect_split_invariant(small_cfg(), all);
  expect_split_invariant(small_cfg(), kChunked);
  expect_split_invariant(small_cfg(), kPipelined);
  // Bare LF line ends and leading empty lines.
  expect_split_invariant(small_cfg(), {{true, "\r\n\nGET /lf HTTP/1.0\nHost: x\n\n"},
                                       {false, "HTTP/1.0 200 OK\nContent-Length: 2\n\nok"}});
}

TEST(AppHttp, BodyLimits) {
  AppConfig cfg = small_cfg();
  cfg.request_body_limit = 10;
  cfg.response_body_limit = 4;
  AppCtx ctx(cfg);
  std::string body(100, 'b');
  std::vector<Seg> segs = {
      {true, "PUT /big HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + body + "GET /next HTTP/1.1\r\n\r\n"},
      {false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nABCDEFGH\r\n0\r\n\r\n"
              "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
  };
  auto all = run_tcp(ctx, segs);
  // Files inspected at the limit (the PUT body, the response) get a record
  // at their end with the whole size (EVE fileinfo) and its digest only.
  std::vector<Tx> txs;
  std::vector<uint64_t> file_sizes;
  for (auto& t : all) {
    if (t.meta.file_tx && t.bufs.size() == 1 && t.has(kFileMd5)) file_sizes.push_back(t.meta.file_size);
    else txs.push_back(t);
  }
  EXPECT_EQ(file_sizes, (std::vector<uint64_t>{100, 8}));
  ASSERT_EQ(txs.size(), 4u);
  EXPECT_EQ(txs[0].get(kHttpRequestBody), std::string(10, 'b'));
  EXPECT_EQ(txs[1].get(kHttpUri), "/next");  // framing survived the long body
  EXPECT_EQ(txs[2].get(kHttpResponseBody), "ABCD");
  EXPECT_FALSE(txs[3].has(kHttpResponseBody));
  expect_split_invariant(cfg, segs);
}

TEST(AppHttp, HeadLimitAndHttp09) {
  AppConfig cfg = small_cfg();
  cfg.header_limit = 600;
  AppCtx ctx(cfg);
  std::string big = "GET /x HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(2000, 'p') +
                    "\r\n\r\nGET /after HTTP/1.1\r\n\r\n";
  auto txs = run_tcp(ctx, {{true, big}});
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].get(kHttpHost), "h");
  EXPECT_FALSE(txs[0].get(kHttpHeader).find("X-Pad") != std::string::npos &&
               txs[0].get(kHttpHeader).size() > 600);
  EXPECT_EQ(txs[1].get(kHttpUri), "/after");
  EXPECT_GE(ctx.ctr.truncated, 1u);
  auto t09 = run_tcp(ctx, {{true, "GET /old\r\n"}});
  ASSERT_EQ(t09.size(), 1u);
  EXPECT_EQ(t09[0].get(kHttpUri), "/old");
  EXPECT_FALSE(t09[0].has(kHttpProtocol));
}

TEST(AppHttp, TunnelsStopParsing) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"},
                           {false, "HTTP/1.1 200 Connection established\r\n\r\n"},
                           {true, "\x16\x03\x01 binary GET / HTTP/1.1\r\n\r\n"}});
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].get(kHttpMethod), "CONNECT");
  EXPECT_EQ(txs[1].get(kHttpStatCode), "200");
  EXPECT_EQ(ctx.ctr.parse_errors, 0u);
}

TEST(AppHttp, GapGivesUpDirection) {
  AppCtx ctx(small_cfg());
  std::vector<Seg> segs = {{true, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab"},
                           {true, "GET /lost HTTP/1.1\r\n\r\n", 5}};
  auto txs = run_tcp(ctx, segs);
  // The POST is handed over at the gap with what it has; nothing after it.
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kHttpRequestBody), "ab");
  EXPECT_GE(ctx.ctr.truncated, 1u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppHttp, PoolEmptyGivesMetaOnly) {
  AppConfig cfg = small_cfg();
  cfg.tx_buffers = 1;
  AppCtx ctx(cfg);
  Flow a, b;
  Rec ra, rb;
  std::string ha = "GET /a HTTP/1.1\r\nHost: a.example\r\n";  // head not finished: holds the buffer
  std::string hb = "GET /b HTTP/1.1\r\nHost: b.example\r\nUser-Agent: u\r\n\r\n";
  auto feed = [&](Flow& f, Rec& r, const std::string& d) {
    app_stream(ctx, f.s, true, 1, 80, reinterpret_cast<const uint8_t*>(d.data()),
               uint32_t(d.size()), 0, 0, r);
  };
  feed(a, ra, ha);
  EXPECT_EQ(app_pool_free(ctx), 0u);
  feed(b, rb, hb);
  ASSERT_EQ(rb.txs.size(), 1u);
  EXPECT_EQ(rb.txs[0].bufs.size(), 0u);  // no buffers
  EXPECT_STREQ(rb.txs[0].meta.http_hostname, "b.example");
  EXPECT_STREQ(rb.txs[0].meta.http_url, "/b");
  EXPECT_EQ(ctx.ctr.tx_pool_empty, 1u);
  feed(a, ra, "\r\n");
  ASSERT_EQ(ra.txs.size(), 1u);
  EXPECT_EQ(ra.txs[0].get(kHttpHost), "a.example");
  app_finish(ctx, a.s, ra);
  app_finish(ctx, b.s, rb);
  EXPECT_EQ(app_pool_free(ctx), 1u);
}

TEST(AppHttp, MutationFuzz) {
  AppConfig cfg = small_cfg();
  cfg.request_body_limit = 64;
  cfg.response_body_limit = 64;
  cfg.header_limit = 512;
  AppCtx ctx(cfg);
  std::mt19937 rng(1234);
  std::vector<std::vector<Seg>> seeds = {{{true, kReq}, {false, kResp}}, kChunked, kPipelined};
  for (int it = 0; it < 100000; it++) {
    const auto& seed = seeds[size_t(it) % seeds.size()];
    std::vector<Seg> segs;
    std::vector<std::vector<uint32_t>> cuts;
    for (auto& s : seed) {
      std::string m = mutate(rng, s.data);
      std::vector<uint32_t> c;
      if (!m.empty() && rng() % 2) c.push_back(uint32_t(rng() % m.size()));
      segs.push_back({s.to_server, m, rng() % 50 == 0 ? 7u : 0u});
      cuts.push_back(c);
    }
    run_tcp(ctx, segs, cuts);
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << "iteration " << it;
  }
}

}  // namespace
}  // namespace spectre
