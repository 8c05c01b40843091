// HTTP/1 leniency as libhtp: chunk-size junk, invalid chunk sizes, odd
// Transfer-Encoding and Content-Length values, unusual status lines,
// headerless and HTTP/0.9 replies, 1xx/204/304, spaces in URIs, uploads in
// file.data; each split at every byte. Then a fuzz run over mutated
// conversations (no crash, no leak of pooled buffers or decoders).
#include <zlib.h>

#include <chrono>

#include "tests/unit/app/app_test_util.h"

namespace spectre::apptest {
namespace {

using namespace rules;

const std::string kReq = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";

std::vector<Tx> responses(AppCtx& ctx, const std::vector<Seg>& segs) {
  std::vector<Tx> out;
  for (auto& t : run_tcp(ctx, segs))
    if (!t.to_server) out.push_back(t);
  return out;
}

TEST(AppHttpLenient, ChunkSizesAsLibhtp) {
  AppConfig cfg = small_cfg();
  AppCtx ctx(cfg);
  const std::pair<const char*, const char*> cases[] = {
      {"5;ext=1\r\nhello\r\n0\r\n\r\n", "hello"},
      {"5 junk\r\nhello\r\n0\r\n\r\n", "hello"},
      {"5xyz\r\nhello\r\n0\r\n\r\n", "hello"},       // junk right after the digits
      {"  5\r\nhello\r\n0\r\n\r\n", "hello"},        // leading whitespace
      {"\r\n5\r\nhello\r\n0\r\n\r\n", "hello"},      // a blank line before the size
      {"0005\r\nhello\r\n0\r\n\r\n", "hello"},
      {"5\r\nhelloJUNK\r\n0\r\n\r\n", "hello"},     // the rest of the line after data
      {"zz\r\nraw body ATTACK", "zz\r\nraw body ATTACK"},  // no size: the rest is the body
  };
  for (auto& [body, want] : cases) {
    std::vector<Seg> segs = {{true, kReq},
                             {false, std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + body}};
    auto rs = responses(ctx, segs);
    ASSERT_EQ(rs.size(), 1u) << body;
    EXPECT_EQ(rs[0].get(kFileData), want) << body;
    expect_split_invariant(cfg, segs);
  }
}

TEST(AppHttpLenient, TransferEncodingAndContentLengthSpellings) {
  AppConfig cfg = small_cfg();
  AppCtx ctx(cfg);
  const char* heads[] = {
      "Transfer-Encoding: ChUnKeD\r\n",
      "Transfer-Encoding: identity, chunked\r\n",
      "Transfer-Encoding:\r\n chunked\r\n",
      "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",  // chunked wins
  };
  for (const char* h : heads) {
    std::vector<Seg> segs = {{true, kReq},
                             {false, std::string("HTTP/1.1 200 OK\r\n") + h + "\r\n5\r\nhello\r\n0\r\n\r\n"}};
    auto rs = responses(ctx, segs);
    ASSERT_EQ(rs.size(), 1u) << h;
    EXPECT_EQ(rs[0].get(kFileData), "hello") << h;
  }
  const char* lens[] = {"Content-Length: 5\r\nContent-Length: 5\r\n", "Content-Length: 5, 5\r\n",
                        "Content-Length:    5   \r\n", "Content-Length:\r\n 5\r\n"};
  for (const char* h : lens) {
    std::vector<Seg> segs = {{true, kReq + kReq},
                             {false, std::string("HTTP/1.1 200 OK\r\n") + h + "\r\nhello" +
                                         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}};
    auto rs = responses(ctx, segs);
    ASSERT_EQ(rs.size(), 2u) << h;
    EXPECT_EQ(rs[0].get(kFileData), "hello") << h;
    EXPECT_EQ(rs[1].get(kFileData), "ok") << h;
    expect_split_invariant(cfg, segs);
  }
}

TEST(AppHttpLenient, StatusLinesAndBodilessReplies) {
  AppConfig cfg = small_cfg();
  AppCtx ctx(cfg);
  const std::pair<const char*, uint16_t> lines[] = {
      {"HTTP/1.1 200", 200}, {"http/1.0 200 OK", 200}, {"HTTP/1.1 2OO OK", 0}, {"HTTP/1.1   404   Not Found", 404},
      {"HTTP/1.1 999 Odd", 999}};
  for (auto& [line, code] : lines) {
    std::vector<Seg> segs = {{true, kReq}, {false, std::string(line) + "\r\nContent-Length: 5\r\n\r\nhello"}};
    auto rs = responses(ctx, segs);
    ASSERT_EQ(rs.size(), 1u) << line;
    EXPECT_EQ(rs[0].get(kFileData), "hello") << line;
    EXPECT_EQ(rs[0].meta.http_status, code) << line;
  }
  // 100 Continue, then 204 and 304 with a Content-Length: no body; the next
  // response on the connection is framed right.
  std::vector<Seg> segs = {
      {true, kReq + kReq + kReq},
      {false, "HTTP/1.1 100 Continue\r\nX: y\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"
              "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"
              "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nATTACK"}};
  auto rs = responses(ctx, segs);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].meta.http_status, 204);
  EXPECT_FALSE(rs[0].has(kFileData));
  EXPECT_EQ(rs[1].meta.http_status, 304);
  EXPECT_EQ(rs[2].get(kFileData), "ATTACK");
  expect_split_invariant(cfg, segs);
}

TEST(AppHttpLenient, HeaderlessAndHttp09Replies) {
  AppConfig cfg = small_cfg();
  AppCtx ctx(cfg);
  // The reply to an HTTP/0.9 request is all body, whatever it starts with.
  std::vector<Seg> segs = {{true, "GET /old\r\n"}, {false, "HTTP-looking? no: <html>ATTACK</html>"}};
  auto txs = run_tcp(ctx, segs);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].get(kHttpUri), "/old");
  EXPECT_EQ(txs[1].get(kFileData), "HTTP-looking? no: <html>ATTACK</html>");
  expect_split_invariant(cfg, segs);
  // A first line that is no status line is read as the body (libhtp).
  segs = {{true, kReq}, {false, "<html>\r\nATTACK\r\n</html>"}};
  txs = run_tcp(ctx, segs);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].get(kFileData), "<html>\r\nATTACK\r\n</html>");
  EXPECT_FALSE(txs[1].has(kHttpStatCode));
  expect_split_invariant(cfg, segs);
  // Decided on the first 4 bytes: a body without any line end is found too.
  segs = {{true, kReq}, {false, std::string(3000, 'b') + "ATTACK"}};
  AppConfig big = cfg;
  big.response_body_limit = 4096;
  AppCtx ctx2(big);
  txs = run_tcp(ctx2, segs);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].get(kFileData), std::string(3000, 'b') + "ATTACK");
  // A short reply line ("OK\n") is body too.
  segs = {{true, kReq}, {false, "OK\n"}};
  txs = run_tcp(ctx, segs);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].get(kFileData), "OK\n");
}

TEST(AppHttpLenient, SpacesInUriAndRequestBodies) {
  AppConfig cfg = small_cfg();
  AppCtx ctx(cfg);
  std::vector<Seg> segs = {{true, "GET /a b/c d.php?x=1 2 HTTP/1.1\r\nHost: h\r\n\r\n"
                                  "POST /up HTTP/1.1\r\nContent-Length: 6\r\n\r\nATTACK"
                                  "POST /up2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nATT\r\n3\r\nACK\r\n0\r\n\r\n"}};
  auto txs = run_tcp(ctx, segs);
  ASSERT_EQ(txs.size(), 3u);
  EXPECT_EQ(txs[0].get(kHttpUriRaw), "/a b/c d.php?x=1 2");
  EXPECT_EQ(txs[0].get(kHttpUri), "/a b/c d.php?x=1 2");
  EXPECT_EQ(txs[0].get(kHttpProtocol), "HTTP/1.1");
  EXPECT_EQ(txs[1].get(kFileData), "ATTACK");
  EXPECT_EQ(txs[1].get(kHttpRequestBody), "ATTACK");
  EXPECT_EQ(txs[2].get(kFileData), "ATTACK");
  EXPECT_FALSE(txs[0].has(kFileData));
  expect_split_invariant(cfg, segs);
}

// Mutated conversations, split at random points: the parser neither crashes
// nor leaks pooled buffers or decoders. 100k iterations, bounded in time.
TEST(AppHttpLenient, Fuzz100k) {
  std::string plain = "<p>" + std::string(200, 'a') + "</p>";
  std::string gzb(512, '\0');
  uLongf gl = uLongf(gzb.size());
  ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(gzb.data()), &gl, reinterpret_cast<const Bytef*>(plain.data()),
                      uLong(plain.size()), 9), Z_OK);
  gzb.resize(gl);
  const std::vector<Seg> seeds[] = {
      {{true, "GET /a/../b%41 HTTP/1.1\r\nHost: h\r\n\r\n"},
       {false, "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: " + std::to_string(gzb.size()) +
                   "\r\n\r\n" + gzb}},
      {{true, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;e\r\nabcd\r\n0\r\nT: 1\r\n\r\nGET /09\r\n"},
       {false, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
               "Content-Encoding: gzip, deflate\r\n\r\n5\r\nhello\r\n0\r\n\r\nraw 0.9 reply"}},
      {{true, "GET http://h/x y HTTP/1.0\r\nX: a\r\n b\r\n\r\n"},
       {false, "HTTP/1.0 2OO\r\nContent-Length: 5, 5\r\n\r\nhello"}},
  };
  AppConfig cfg = small_cfg();
  cfg.decompress_streams = 2;
  AppCtx ctx(cfg);
  std::mt19937 rng(12345);
  const char alphabet[] = "\r\n :;,0123456789abcdefHTTP/%.\t\x1f\x8b\x78\x9c";
  auto t0 = std::chrono::steady_clock::now();
  uint64_t txs = 0;
  for (int it = 0; it < 100000; it++) {
    std::vector<Seg> segs = seeds[it % std::size(seeds)];
    for (auto& s : segs) {
      int muts = int(rng() % 6);
      for (int m = 0; m < muts && !s.data.empty(); m++) {
        size_t at = rng() % s.data.size();
        switch (rng() % 4) {
          case 0: s.data[at] = alphabet[rng() % (sizeof(alphabet) - 1)]; break;
          case 1: s.data.insert(at, 1, alphabet[rng() % (sizeof(alphabet) - 1)]); break;
          case 2: s.data.erase(at, 1 + rng() % 8); break;
          default: s.data[at] = char(rng()); break;
        }
      }
    }
    std::vector<std::vector<uint32_t>> cuts(segs.size());
    for (size_t i = 0; i < segs.size(); i++)
      for (int k = int(rng() % 4); k > 0; k--) cuts[i].push_back(uint32_t(rng() % (segs[i].data.size() + 1)));
    for (auto& c : cuts) std::sort(c.begin(), c.end());
    txs += run_tcp(ctx, segs, cuts).size();
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << "iteration " << it;
    ASSERT_EQ(app_decoders_free(ctx), app_decoders_size(ctx)) << "iteration " << it;
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(txs, 100000u);  // the mutations leave most conversations parseable
  EXPECT_LT(s, 120.0) << "100k iterations took " << s << " s";
}

}  // namespace
}  // namespace spectre::apptest
