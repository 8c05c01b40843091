// HTTP body decoding: gzip / zlib / raw deflate under the Content-Encoding
// spellings libhtp accepts, layers, mislabelled bodies, the decompression
// limit, corrupt data, the decoder pool; split at every byte.
#include <zlib.h>

#include "tests/unit/app/app_test_util.h"

namespace spectre::apptest {
namespace {

using rules::kFileData;
using rules::kHttpResponseBody;

// wbits: 15 zlib, -15 raw deflate, 31 gzip.
std::string gz(const std::string& s) { return zcompress(s, 31); }
std::string zl(const std::string& s) { return zcompress(s, 15); }
std::string raw(const std::string& s) { return zcompress(s, -15); }

std::string chunked(const std::string& b, size_t size) {
  std::string out;
  char hex[16];
  for (size_t i = 0; i < b.size(); i += size) {
    std::string part = b.substr(i, size);
    snprintf(hex, sizeof hex, "%zx", part.size());
    out += std::string(hex) + "\r\n" + part + "\r\n";
  }
  return out + "0\r\n\r\n";
}

std::vector<Seg> exchange(const std::string& headers, const std::string& body) {
  return {{true, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"},
          {false, "HTTP/1.1 200 OK\r\n" + headers + "\r\n" + body}};
}
std::string cl(const std::string& body) { return "Content-Length: " + std::to_string(body.size()) + "\r\n"; }

const std::string kPlain = "<html>" + std::string(300, 'x') + "ATTACK here" + std::string(200, 'y') + "</html>";

TEST(AppHttpDecomp, EncodingsAndSpellingsAsLibhtp) {
  AppConfig cfg = small_cfg();
  AppCtx ctx(cfg);
  const std::pair<const char*, std::string> cases[] = {
      {"gzip", gz(kPlain)},          {"x-gzip", gz(kPlain)},        {"GZIP", gz(kPlain)},
      {"deflate", zl(kPlain)},       {"deflate", raw(kPlain)},      {"x-deflate", zl(kPlain)},
      {"Deflate", gz(kPlain)},       // mislabelled: the bytes decide
      {"gzip", zl(kPlain)},          {" gzip ", gz(kPlain)},        {"identity, gzip", gz(kPlain)},
      {"gzip, deflate", zl(gz(kPlain))},  // applied gzip then deflate: undone in reverse
      {"deflate,gzip", gz(raw(kPlain))},
  };
  for (const auto& [ce, body] : cases) {
    auto txs = run_tcp(ctx, exchange(std::string("Content-Encoding: ") + ce + "\r\n" + cl(body), body));
    ASSERT_EQ(txs.size(), 2u) << ce;
    EXPECT_EQ(txs[1].get(kHttpResponseBody), kPlain) << ce;
    EXPECT_EQ(txs[1].get(kFileData), kPlain) << ce;
    EXPECT_EQ(txs[1].meta.http_length, body.size()) << ce;  // bytes on the wire
  }
  EXPECT_EQ(ctx.ctr.http_decompressed, std::size(cases));
  EXPECT_EQ(ctx.ctr.http_decompress_errors, 0u);
  EXPECT_EQ(app_decoders_free(ctx), app_decoders_size(ctx));
}

TEST(AppHttpDecomp, TwoHeadersAndFoldedHeaderLayer) {
  AppCtx ctx(small_cfg());
  std::string b = gz(gz(kPlain));
  auto txs = run_tcp(ctx, exchange("Content-Encoding: gzip\r\nContent-Encoding: gzip\r\n" + cl(b), b));
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].get(kFileData), kPlain);
  b = gz(kPlain);
  txs = run_tcp(ctx, exchange("Content-Encoding:\r\n\tgzip\r\n" + cl(b), b));
  EXPECT_EQ(txs.at(1).get(kFileData), kPlain);
}

TEST(AppHttpDecomp, UnknownOrTooManyCodingsLeaveTheBodyAsItIs) {
  AppCtx ctx(small_cfg());
  std::string b = gz(kPlain);
  auto txs = run_tcp(ctx, exchange("Content-Encoding: gzip, br\r\n" + cl(b), b));
  EXPECT_EQ(txs.at(1).get(kFileData), b);  // the outermost coding is unknown
  // Three layers: two are undone (Suricata's default layer limit), the
  // innermost stays.
  std::string inner = gz(kPlain);
  b = gz(gz(inner));
  txs = run_tcp(ctx, exchange("Content-Encoding: gzip, gzip, gzip\r\n" + cl(b), b));
  EXPECT_EQ(txs.at(1).get(kFileData), inner);
  EXPECT_EQ(app_decoders_free(ctx), app_decoders_size(ctx));
}

TEST(AppHttpDecomp, ChunkedGzipSplitAtEveryByte) {
  AppConfig cfg = small_cfg();
  std::string b = gz(kPlain);
  auto segs = exchange("Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", chunked(b, 13));
  segs.push_back({true, "GET /2 HTTP/1.1\r\n\r\n"});
  std::string b2 = raw(kPlain + "2");
  segs.push_back({false, "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n" + cl(b2) + "\r\n" + b2});
  AppCtx ctx(cfg);
  auto txs = run_tcp(ctx, segs);
  ASSERT_EQ(txs.size(), 4u);
  EXPECT_EQ(txs[1].get(kFileData), kPlain);
  EXPECT_EQ(txs[3].get(kFileData), kPlain + "2");
  expect_split_invariant(cfg, segs);
}

TEST(AppHttpDecomp, BombIsCutAtTheLimitAndCounted) {
  AppConfig cfg = small_cfg();
  cfg.response_body_limit = 1 << 16;
  cfg.decompress_limit = 10000;
  AppCtx ctx(cfg);
  std::string bomb = gz(std::string(4 << 20, '\0') + "ATTACK");
  EXPECT_LT(bomb.size(), 8000u);
  auto txs = run_tcp(ctx, exchange(cl(bomb) + "Content-Encoding: gzip\r\n", bomb));
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].get(kFileData), std::string(10000, '\0'));
  EXPECT_EQ(ctx.ctr.http_decompress_cut, 1u);
  // The body limit below the decompression limit: the body stops there;
  // with no digest wanted decoding stops too, not counted as a cut.
  cfg.response_body_limit = 4096;
  cfg.decompress_limit = 1 << 20;
  AppCtx ctx2(cfg);
  ctx2.want_hash = 0;
  txs = run_tcp(ctx2, exchange(cl(bomb) + "Content-Encoding: gzip\r\n", bomb));
  EXPECT_EQ(txs.at(1).get(kFileData), std::string(4096, '\0'));
  EXPECT_EQ(ctx2.ctr.http_decompress_cut, 0u);
  EXPECT_EQ(app_decoders_free(ctx2), app_decoders_size(ctx2));
  // A digest wanted (the file's md5): decoding goes on for it up to the
  // decompression limit (cut, counted): not seen whole, no md5.
  AppCtx ctx3(cfg);
  txs = run_tcp(ctx3, exchange(cl(bomb) + "Content-Encoding: gzip\r\n", bomb));
  EXPECT_EQ(txs.at(1).get(kFileData), std::string(4096, '\0'));
  EXPECT_EQ(ctx3.ctr.http_decompress_cut, 1u);
  for (auto& t : txs) EXPECT_STREQ(t.meta.file_md5, "");
  EXPECT_EQ(app_decoders_free(ctx3), app_decoders_size(ctx3));
}

TEST(AppHttpDecomp, CorruptDataPassesThroughRawAndIsCounted) {
  AppCtx ctx(small_cfg());
  std::string b = gz(kPlain);
  std::string bad = b.substr(0, 10) + std::string(40, '\xff') + "RAWTAIL";
  auto txs = run_tcp(ctx, exchange("Content-Encoding: gzip\r\n" + cl(bad), bad));
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_NE(txs[1].get(kFileData).find("RAWTAIL"), std::string::npos);
  EXPECT_EQ(ctx.ctr.http_decompress_errors, 1u);
  // Bytes after the end of the compressed stream are ignored.
  std::string trail = b + "TRAILING";
  txs = run_tcp(ctx, exchange("Content-Encoding: gzip\r\n" + cl(trail), trail));
  EXPECT_EQ(txs.at(1).get(kFileData), kPlain);
}

TEST(AppHttpDecomp, EmptyPoolLeavesBodiesRawAndCounts) {
  AppConfig cfg = small_cfg();
  cfg.decompress_streams = 1;
  AppCtx ctx(cfg);
  ASSERT_EQ(app_decoders_size(ctx), 1u);
  std::string b = gz(kPlain);
  std::string head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n" + cl(b) + "\r\n";
  std::string req = "GET / HTTP/1.1\r\n\r\n";
  Flow f1, f2;
  Rec r1, r2;
  auto feed = [&](Flow& f, Rec& r, bool ts, const std::string& d) {
    app_stream(ctx, f.s, ts, ts ? 40000 : 80, ts ? 80 : 40000, reinterpret_cast<const uint8_t*>(d.data()),
               uint32_t(d.size()), 0, 0, r);
  };
  feed(f1, r1, true, req);
  feed(f2, r2, true, req);
  feed(f1, r1, false, head + b.substr(0, 20));  // takes the only decoder
  feed(f2, r2, false, head + b);                // none left: raw
  EXPECT_EQ(app_decoders_free(ctx), 0u);
  feed(f1, r1, false, b.substr(20));
  EXPECT_EQ(app_decoders_free(ctx), 1u);        // returned when the body ended
  app_finish(ctx, f1.s, r1);
  app_finish(ctx, f2.s, r2);
  ASSERT_EQ(r1.txs.size(), 2u);
  ASSERT_EQ(r2.txs.size(), 2u);
  EXPECT_EQ(r1.txs[1].get(kFileData), kPlain);
  EXPECT_EQ(r2.txs[1].get(kFileData), b);
  EXPECT_EQ(ctx.ctr.http_decompress_pool_empty, 1u);
  // A flow ending mid-body returns its decoder too.
  Flow f3;
  Rec r3;
  feed(f3, r3, true, req);
  feed(f3, r3, false, head + b.substr(0, 30));
  EXPECT_EQ(app_decoders_free(ctx), 0u);
  app_finish(ctx, f3.s, r3);
  EXPECT_EQ(app_decoders_free(ctx), 1u);
}

}  // namespace
}  // namespace spectre::apptest
