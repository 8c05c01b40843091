// Streaming file digests (app_file_hash.cc): a 1 MB file, far larger than
// the kept part, delivered in random TCP splits over HTTP (Content-Length,
// chunked, gzip, PUT), SMTP (base64), ftp-data and SMB (READ in and out of
// order, WRITE) gets the MD5 / SHA-1 / SHA-256 of libcrypto's one-shot
// digests; only the wanted digests are run; a file not seen whole (a hole,
// the decompression limit) gets none; every state returns to the pool.
#include <zlib.h>

#include "dataplane/app/app_internal.h"
#include "dataplane/app/app_x509.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

constexpr uint8_t kAll = AppCtx::kHashMd5 | AppCtx::kHashSha1 | AppCtx::kHashSha256;
constexpr uint32_t kStates = AppConfig{}.file_hash_states;

std::string hexs(const uint8_t* h, size_t n) {
  static const char x[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) s += x[h[i] >> 4], s += x[h[i] & 15];
  return s;
}
struct Ref {
  std::string md5, sha1, sha256;
};
Ref ref(const std::string& d) {
  Ref r;
  char m[33];
  app::md5_hex(d.data(), d.size(), m);
  r.md5 = m;
  uint8_t h[32];
  app::sha1(d.data(), d.size(), h);
  r.sha1 = hexs(h, 20);
  app::sha256(d.data(), d.size(), h);
  r.sha256 = hexs(h, 32);
  return r;
}

// 1 MB (decimal: under the 1 MiB decompression limit), half compressible.
std::string big_file(uint32_t seed, size_t n = 1000000) {
  std::mt19937 rng(seed);
  std::string d(n, '\0');
  for (size_t i = 0; i < n; i++) d[i] = (i / 4096) & 1 ? char(rng()) : char('a' + rng() % 8);
  return d;
}

// Random cut points of a segment (about one per 1.5 KB, some 1-byte pieces).
std::vector<uint32_t> random_cuts(std::mt19937& rng, size_t n) {
  std::vector<uint32_t> v;
  for (uint32_t at = 0; at < n;) {
    at += 1 + (rng() % 8 == 0 ? rng() % 3 : rng() % 3000);
    if (at < n) v.push_back(at);
  }
  return v;
}
std::vector<std::vector<uint32_t>> cuts_for(const std::vector<Seg>& segs, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<uint32_t>> c;
  for (auto& s : segs) c.push_back(random_cuts(rng, s.data.size()));
  return c;
}

const Tx* the_file(std::vector<Tx>&&) = delete;  // would point into a temporary
const Tx* the_file(const std::vector<Tx>& txs) {
  const Tx* f = nullptr;
  for (auto& t : txs)
    if (t.meta.file_tx) {
      EXPECT_EQ(f, nullptr) << "one file expected";
      f = &t;
    }
  return f;
}

void expect_digests(const Tx* f, const Ref& r, const char* what) {
  ASSERT_NE(f, nullptr) << what;
  EXPECT_EQ(f->meta.file_md5, r.md5) << what;
  EXPECT_EQ(f->meta.file_sha1, r.sha1) << what;
  EXPECT_EQ(f->meta.file_sha256, r.sha256) << what;
  EXPECT_EQ(hexs(reinterpret_cast<const uint8_t*>(f->get(kFileMd5).data()), f->get(kFileMd5).size()), r.md5)
      << what;  // the buffer filemd5 looks up
  EXPECT_EQ(f->get(kFileSha256).size(), 32u) << what;
}

// Runs segs whole and in three random splittings; each gives r's digests.
void check(const std::vector<Seg>& segs, uint16_t sport, uint16_t dport, const Ref& r, const char* what) {
  for (uint32_t seed = 0; seed < 4; seed++) {
    AppConfig cfg = small_cfg();
    AppCtx ctx(cfg);
    ctx.want_hash = kAll;
    auto txs = run_tcp(ctx, segs, seed ? cuts_for(segs, seed) : std::vector<std::vector<uint32_t>>{}, sport, dport);
    expect_digests(the_file(txs), r, what);
    EXPECT_EQ(app::fhash_free(ctx), kStates) << what;
    EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << what;
    EXPECT_EQ(app_decoders_free(ctx), app_decoders_size(ctx)) << what;
  }
}

std::string http_get() { return "GET /dl/big.bin HTTP/1.1\r\nHost: h\r\n\r\n"; }

TEST(AppFileHash, HttpContentLength) {
  const std::string d = big_file(1);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(d.size()) + "\r\n\r\n";
  check({{true, http_get()}, {false, head + d}}, 40000, 80, ref(d), "content-length");
}

TEST(AppFileHash, HttpChunked) {
  const std::string d = big_file(2);
  std::mt19937 rng(5);
  std::string body;
  char h[32];
  for (size_t at = 0; at < d.size();) {
    size_t k = std::min<size_t>(d.size() - at, 1 + rng() % 70000);
    snprintf(h, sizeof h, "%zx\r\n", k);
    body += h + d.substr(at, k) + "\r\n";
    at += k;
  }
  body += "0\r\n\r\n";
  check({{true, http_get()}, {false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body}}, 40000, 80,
        ref(d), "chunked");
}

// Suricata hashes what it stores: a gzip body's decompressed bytes.
TEST(AppFileHash, HttpGzipChunked) {
  const std::string d = big_file(3);
  const std::string z = gzip(d);
  std::string body;
  char h[32];
  for (size_t at = 0; at < z.size(); at += 4000) {
    size_t k = std::min<size_t>(z.size() - at, 4000);
    snprintf(h, sizeof h, "%zx\r\n", k);
    body += h + z.substr(at, k) + "\r\n";
  }
  body += "0\r\n\r\n";
  check({{true, http_get()},
         {false, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + body}},
        40000, 80, ref(d), "gzip");
  // Past the decompression limit: not seen whole, no digests.
  AppConfig cfg = small_cfg();
  cfg.decompress_limit = 100000;
  AppCtx ctx(cfg);
  auto txs = run_tcp(ctx, {{true, http_get()},
                           {false, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
                                       std::to_string(z.size()) + "\r\n\r\n" + z}},
                     {}, 40000, 80);
  const Tx* f = the_file(txs);
  ASSERT_NE(f, nullptr);
  EXPECT_STREQ(f->meta.file_md5, "");
  EXPECT_EQ(app::fhash_free(ctx), kStates);
  EXPECT_EQ(app_decoders_free(ctx), app_decoders_size(ctx));
}

// HTTP/2: two streams' large responses (one gzip) in interleaved DATA
// frames: each stream's file has its own state (kept in its HttpDir).
std::string frame(uint8_t type, uint8_t flags, uint32_t sid, const std::string& p) {
  uint32_t n = uint32_t(p.size());
  return std::string{char(n >> 16), char(n >> 8), char(n), char(type), char(flags), char(sid >> 24), char(sid >> 16),
                     char(sid >> 8), char(sid)} + p;
}
std::string lit(const std::string& n, const std::string& v) {
  return std::string(1, '\0') + char(n.size()) + n + char(v.size()) + v;
}

TEST(AppFileHash, Http2InterleavedStreams) {
  const std::string d1 = big_file(13, 200000), d3 = big_file(14, 300000), z3 = gzip(d3);
  const std::string set = frame(4, 0, 0, "");
  const std::string get = "\x82\x86" + lit(":authority", "h");  // GET, http
  std::string c = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + set + frame(1, 5, 1, get + lit(":path", "/one.bin")) +
                  frame(1, 5, 3, get + lit(":path", "/three.bin"));
  std::string sv = set + frame(4, 1, 0, "") + frame(1, 4, 1, "\x88") +  // :status 200
                   frame(1, 4, 3, "\x88" + lit("content-encoding", "gzip"));
  for (size_t a = 0, b = 0; a < d1.size() || b < z3.size(); a += 16000, b += 16000) {
    if (a < d1.size()) sv += frame(0, a + 16000 >= d1.size() ? 1 : 0, 1, d1.substr(a, 16000));
    if (b < z3.size()) sv += frame(0, b + 16000 >= z3.size() ? 1 : 0, 3, z3.substr(b, 16000));
  }
  const std::vector<Seg> segs = {{true, c}, {false, sv}};
  for (uint32_t seed = 0; seed < 3; seed++) {
    AppCtx ctx(small_cfg());
    ctx.want_hash = kAll;
    auto txs = run_tcp(ctx, segs, seed ? cuts_for(segs, seed) : std::vector<std::vector<uint32_t>>{});
    std::map<uint32_t, const Tx*> by_stream;
    for (auto& t : txs)
      if (t.meta.file_tx) by_stream[t.meta.h2_stream] = &t;
    ASSERT_EQ(by_stream.size(), 2u);
    expect_digests(by_stream[1], ref(d1), "h2 stream 1");
    expect_digests(by_stream[3], ref(d3), "h2 stream 3 (gzip)");
    EXPECT_EQ(app::fhash_free(ctx), kStates);
  }
}

// A TCP gap inside a body delimited by the connection's close: no digests.
TEST(AppFileHash, GapInBodyHasNone) {
  const std::string d = big_file(15, 100000);
  AppCtx ctx(small_cfg());
  std::vector<Seg> segs = {{true, http_get()}, {false, "HTTP/1.1 200 OK\r\n\r\n" + d.substr(0, 50000)},
                           {false, d.substr(51000), 1000}};
  auto txs = run_tcp(ctx, segs, {}, 40000, 80);
  const Tx* f = the_file(txs);
  ASSERT_NE(f, nullptr);
  EXPECT_STREQ(f->meta.file_md5, "");
  EXPECT_EQ(app::fhash_free(ctx), kStates);
}

TEST(AppFileHash, HttpPutUpload) {
  const std::string d = big_file(4);
  check({{true, "PUT /up/big.bin HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(d.size()) + "\r\n\r\n" + d},
         {false, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"}},
        40000, 80, ref(d), "put");
}

// Only the wanted digests run; a state per file while it is open.
TEST(AppFileHash, OnlyWantedAndNoneWanted) {
  const std::string d = big_file(6, 50000);
  const std::vector<Seg> segs = {
      {true, http_get()}, {false, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(d.size()) + "\r\n\r\n" + d}};
  AppCtx sha(small_cfg());
  sha.want_hash = AppCtx::kHashSha256;
  const auto sha_txs = run_tcp(sha, segs, {}, 40000, 80);  // kept: the_file points into it
  const Tx* f = the_file(sha_txs);
  ASSERT_NE(f, nullptr);
  EXPECT_STREQ(f->meta.file_md5, "");
  EXPECT_STREQ(f->meta.file_sha1, "");
  EXPECT_EQ(f->meta.file_sha256, ref(d).sha256);
  AppCtx none(small_cfg());
  none.want_hash = 0;
  auto txs = run_tcp(none, segs, {}, 40000, 80);
  f = the_file(txs);
  ASSERT_NE(f, nullptr);
  EXPECT_STREQ(f->meta.file_md5, "");
  EXPECT_TRUE(f->bufs.empty());  // the record alone, as before
  // The pool empty: no digests for the large file, counted.
  AppConfig one = small_cfg();
  one.file_hash_states = 1;
  AppCtx empty(one);
  const uint16_t held = app::fhash_take(empty);  // the only state in use
  ASSERT_NE(held, 0);
  txs = run_tcp(empty, segs, {}, 40000, 80);
  EXPECT_STREQ(the_file(txs)->meta.file_md5, "");
  EXPECT_EQ(empty.ctr.file_hash_pool_empty, 1u);
  uint16_t id = held;
  app::fhash_drop(empty, id);
  EXPECT_EQ(app::fhash_free(empty), 1u);
}

TEST(AppFileHash, SmtpBase64Attachment) {
  const std::string d = big_file(7);
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string enc, line;
  for (size_t i = 0; i < d.size(); i += 3) {
    uint32_t v = uint8_t(d[i]) << 16 | (i + 1 < d.size() ? uint8_t(d[i + 1]) << 8 : 0) |
                 (i + 2 < d.size() ? uint8_t(d[i + 2]) : 0);
    line += b64[v >> 18 & 63];
    line += b64[v >> 12 & 63];
    line += i + 1 < d.size() ? b64[v >> 6 & 63] : '=';
    line += i + 2 < d.size() ? b64[v & 63] : '=';
    if (line.size() == 76) enc += line + "\r\n", line.clear();
  }
  enc += line + "\r\n";
  const std::string msg =
      "From: a@b\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n"
      "Content-Type: text/plain\r\n\r\nhi\r\n--XX\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" + enc + "--XX--\r\n.\r\n";
  check({{false, "220 mx ESMTP\r\n"}, {true, "EHLO x\r\n"}, {false, "250 mx\r\n"},
         {true, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"}, {false, "250 Ok\r\n250 Ok\r\n354 go\r\n"},
         {true, msg}, {false, "250 queued\r\n"}},
        40000, 25, ref(d), "smtp");
}

TEST(AppFileHash, FtpData) {
  const std::string d = big_file(8);
  for (uint32_t seed = 0; seed < 3; seed++) {
    AppCtx ctx(small_cfg());
    ctx.want_hash = kAll;
    std::vector<Seg> ctl = {{false, "220 ready\r\n"}, {true, "USER a\r\n"}, {false, "230 ok\r\n"},
                            {true, "PASV\r\n"}, {false, "227 Entering Passive Mode (10,0,0,1,0,99).\r\n"},
                            {true, "RETR big.bin\r\n"}, {false, "150 go\r\n"}};
    // The control flow's expectation labels the data flow (same context, time 0).
    run_tcp(ctx, ctl, {}, 40000, 21);
    std::vector<Seg> data = {{false, d}};
    auto txs = run_tcp(ctx, data, seed ? cuts_for(data, seed) : std::vector<std::vector<uint32_t>>{}, 40001, 99);
    expect_digests(the_file(txs), ref(d), "ftp-data");
    EXPECT_EQ(app::fhash_free(ctx), kStates);
  }
}

// SMB2 (the test_app_smb_file.cc messages).
std::string le16(uint32_t v) { return std::string{char(v & 0xff), char(v >> 8 & 0xff)}; }
std::string le32(uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); }
std::string le64(uint64_t v) { return le32(uint32_t(v)) + le32(uint32_t(v >> 32)); }
std::string nbss(const std::string& m) {
  return std::string{0, char(m.size() >> 16), char(m.size() >> 8 & 0xff), char(m.size() & 0xff)} + m;
}
std::string smb2(uint16_t cmd, bool resp, uint64_t mid, const std::string& body) {
  return "\xfeSMB" + le16(64) + le16(0) + le32(0) + le16(cmd) + le16(1) + le32(resp ? 1 : 0) + le32(0) + le64(mid) +
         le32(0) + le32(3) + le64(0x1122334455667788ull) + std::string(16, '\0') + body;
}
const std::string kFid = le64(0x100000001ull) + le64(0xabc00001ull);
std::string create_pair() {
  std::string n;
  for (char ch : std::string("big.bin")) n += ch, n += '\0';
  return nbss(smb2(5, false, 1, le16(57) + std::string(42, '\0') + le16(64 + 56) + le16(uint32_t(n.size())) + le32(0) +
                                    le32(0) + n));
}
std::string create_resp() {
  return nbss(smb2(5, true, 1, le16(89) + std::string(54, '\0') + le32(0x20) + le32(0) + kFid + le32(0) + le32(0)));
}
std::string read_req(uint64_t mid, uint64_t off, uint32_t len) {
  return nbss(smb2(8, false, mid, le16(49) + std::string{0, 0} + le32(len) + le64(off) + kFid + le32(0) + le32(0) +
                                      le32(0) + le16(0) + le16(0) + std::string(1, '\0')));
}
std::string read_resp(uint64_t mid, const std::string& data) {
  return nbss(smb2(8, true, mid, le16(17) + std::string{char(64 + 16), 0} + le32(uint32_t(data.size())) + le32(0) +
                                     le32(0) + data));
}
std::string write_req(uint64_t mid, uint64_t off, const std::string& data) {
  return nbss(smb2(9, false, mid, le16(49) + le16(64 + 48) + le32(uint32_t(data.size())) + le64(off) + kFid + le32(0) +
                                      le32(0) + le16(0) + le16(0) + le32(0) + data));
}
std::string close_req(uint64_t mid) { return nbss(smb2(6, false, mid, le16(24) + le16(0) + le32(0) + kFid)); }

// READs of `chunk` bytes; `order` permutes each group of requests' answers.
std::vector<Seg> smb_read(const std::string& d, uint32_t chunk, const std::vector<int>& order) {
  std::vector<Seg> v = {{true, create_pair()}, {false, create_resp()}};
  uint64_t mid = 2;
  const size_t g = order.size();
  for (size_t at = 0; at < d.size(); at += chunk * g) {
    std::string reqs, resps[16];
    for (size_t i = 0; i < g; i++) {
      size_t off = at + i * chunk;
      if (off >= d.size()) break;
      reqs += read_req(mid + i, off, chunk);
      resps[i] = read_resp(mid + i, d.substr(off, chunk));
    }
    std::string out;
    for (int i : order) out += resps[i];
    v.push_back({true, reqs});
    v.push_back({false, out});
    mid += g;
  }
  v.push_back({true, close_req(mid)});
  return v;
}

TEST(AppFileHash, SmbReadInOrder) {
  const std::string d = big_file(9);
  check(smb_read(d, 65536, {0}), 50000, 445, ref(d), "smb read");
}

// Answers out of order inside the kept part (the first 8 KiB): the hole's
// filling hashes the kept bytes after it, in file order.
TEST(AppFileHash, SmbReadOutOfOrderInKeptPart) {
  const std::string d = big_file(10, 300000);
  std::vector<Seg> v = {{true, create_pair()}, {false, create_resp()},
                        {true, read_req(2, 0, 2000) + read_req(3, 2000, 2000) + read_req(4, 4000, 2000)},
                        {false, read_resp(4, d.substr(4000, 2000)) + read_resp(3, d.substr(2000, 2000)) +
                                    read_resp(2, d.substr(0, 2000))}};
  uint64_t mid = 10;
  for (size_t at = 6000; at < d.size(); at += 60000, mid++) {
    v.push_back({true, read_req(mid, at, 60000)});
    v.push_back({false, read_resp(mid, d.substr(at, 60000))});
  }
  v.push_back({true, close_req(mid)});
  check(v, 50000, 445, ref(d), "smb out of order");
}

// Out of order past the kept part: those bytes were not kept, so no
// digests (Suricata's file tracker would buffer them); the file is whole.
TEST(AppFileHash, SmbReadOutOfOrderPastKeptPartHasNone) {
  const std::string d = big_file(11, 200000);
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, smb_read(d, 20000, {1, 0}), {}, 50000, 445);
  const Tx* f = the_file(txs);
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->meta.file_incomplete);
  EXPECT_EQ(f->meta.file_size, d.size());
  EXPECT_STREQ(f->meta.file_md5, "");
  EXPECT_EQ(app::fhash_free(ctx), kStates);
}

TEST(AppFileHash, SmbWriteAndHole) {
  const std::string d = big_file(12);
  std::vector<Seg> v = {{true, create_pair()}, {false, create_resp()}};
  uint64_t mid = 2;
  for (size_t at = 0; at < d.size(); at += 65536) v.push_back({true, write_req(mid++, at, d.substr(at, 65536))});
  v.push_back({true, close_req(mid)});
  check(v, 50000, 445, ref(d), "smb write");
  // A WRITE lost (a hole): TRUNCATED, no digests.
  v.erase(v.begin() + 5);
  AppCtx ctx(small_cfg());
  const auto txs = run_tcp(ctx, v, {}, 50000, 445);
  const Tx* f = the_file(txs);
  ASSERT_NE(f, nullptr);
  EXPECT_STREQ(f->meta.file_md5, "");
  EXPECT_EQ(app::fhash_free(ctx), kStates);
}

TEST(AppFileHash, StateSize) {
  EXPECT_LE(app::fhash_state_size(), 320u);
  RecordProperty("state_bytes", int(app::fhash_state_size()));
  RecordProperty("app_state_bytes", int(app_state_size()));
}

}  // namespace
}  // namespace spectre
