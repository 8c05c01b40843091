// SSH parser: banners, KEXINIT and HASSH (against an md5 of the lists joined
// here), one tx per side, NEWKEYS ends inspection, SSH-1, pre-banner lines,
// bounded state (pool empty, oversize records), split invariance and fuzz.
#include <openssl/evp.h>

#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

std::string md5_ref(const std::string& s) {
  unsigned char d[16];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d, &n, EVP_md5(), nullptr);
  char hex[33];
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
  return hex;
}

std::string be32(uint32_t v) {
  return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

// A binary-packet-protocol record: length, padding length, payload, padding.
std::string record(const std::string& payload, uint8_t pad = 6) {
  return be32(uint32_t(1 + payload.size() + pad)) + char(pad) + payload + std::string(pad, '\0');
}

// The 10 name-lists of a KEXINIT in RFC 4253 order.
struct Lists {
  std::string v[10];
};

std::string kexinit(const Lists& l) {
  std::string p(1, char(20));
  p += "0123456789abcdef";  // cookie
  for (const std::string& x : l.v) p += be32(uint32_t(x.size())) + x;
  p += std::string(1, '\0') + be32(0);  // first_kex_packet_follows, reserved
  return record(p);
}

Lists client_lists() {
  return {{"curve25519-sha256,ecdh-sha2-nistp256,ext-info-c", "ssh-ed25519,rsa-sha2-512",
           "chacha20-poly1305@openssh.com,aes128-ctr", "aes256-ctr,aes128-ctr",
           "umac-64-etm@openssh.com,hmac-sha2-256", "hmac-sha1",
           "none,zlib@openssh.com,zlib", "none", "", ""}};
}
Lists server_lists() {
  return {{"curve25519-sha256,diffie-hellman-group14-sha1", "rsa-sha2-512,ssh-rsa",
           "aes128-ctr", "aes256-gcm@openssh.com,aes128-ctr",
           "hmac-sha2-512", "umac-128-etm@openssh.com,hmac-sha2-256",
           "none", "none,zlib@openssh.com", "en", ""}};
}

const std::string kNewkeys = record(std::string(1, char(21)), 10);

// Whether a tx has rule buffers (not only the event's internal HASSH strings).
bool inspected(const Tx& t) {
  for (auto& [b, v] : t.bufs)
    if (b != kSshHasshClient && b != kSshHasshServer) return true;
  return false;
}

// The txs with buffers; `logged_alone`: whether a final buffer-less tx
// carried the EVE event (a side handed on while the other was still open,
// the other never showing a banner).
std::vector<Tx> with_bufs(const std::vector<Tx>& txs, bool* logged_alone = nullptr) {
  std::vector<Tx> v;
  for (auto& t : txs)
    if (inspected(t)) v.push_back(t);
  if (logged_alone) *logged_alone = !txs.empty() && !inspected(txs.back()) && txs.back().meta.ssh_log;
  return v;
}

std::vector<Seg> session() {
  return {{false, "SSH-2.0-srv_1.0\r\n"},
          {true, "SSH-2.0-OpenSSH_8.4p1 Debian-5\r\n"},
          {false, kexinit(server_lists())},
          {true, kexinit(client_lists())},
          {true, record(std::string(1, char(30)) + "ecdh-init")},
          {false, record(std::string(1, char(31)) + "ecdh-reply") + kNewkeys},
          {true, kNewkeys + "\x8f\x01\x02 encrypted SSH-2.0-not-a-banner"},
          {false, "\xaa\xbb encrypted"}};
}

TEST(AppSsh, BannersAndHassh) {
  AppCtx ctx(small_cfg());
  AppProto p;
  auto txs = run_tcp(ctx, session(), {}, 40000, 2222, &p);  // any port
  EXPECT_EQ(p, AppProto::kSsh);
  ASSERT_EQ(txs.size(), 2u);
  const Tx& srv = txs[0];
  const Tx& cli = txs[1];
  EXPECT_FALSE(srv.to_server);
  EXPECT_TRUE(cli.to_server);
  const Lists c = client_lists(), s = server_lists();
  std::string chs = c.v[0] + ";" + c.v[2] + ";" + c.v[4] + ";" + c.v[6];
  std::string shs = s.v[0] + ";" + s.v[3] + ";" + s.v[5] + ";" + s.v[7];
  EXPECT_EQ(cli.get(kSshProto), "2.0");
  EXPECT_EQ(cli.get(kSshSoftware), "OpenSSH_8.4p1");
  EXPECT_EQ(cli.get(kSshHasshString), chs);
  EXPECT_EQ(cli.get(kSshHassh), md5_ref(chs));
  EXPECT_EQ(srv.get(kSshProto), "2.0");
  EXPECT_EQ(srv.get(kSshSoftware), "srv_1.0");
  EXPECT_EQ(srv.get(kSshHasshString), shs);
  EXPECT_EQ(srv.get(kSshHassh), md5_ref(shs));
  // The second side completes the EVE event; it has both sides, the HASSH
  // strings as its (internal) buffers: AppMeta keeps the md5s only.
  EXPECT_FALSE(srv.meta.ssh_log);
  EXPECT_TRUE(cli.meta.ssh_log);
  EXPECT_FALSE(srv.has(kSshHasshClient) || srv.has(kSshHasshServer));
  EXPECT_EQ(cli.get(kSshHasshClient), chs);
  EXPECT_EQ(cli.get(kSshHasshServer), shs);
  const std::string hc = cli.get(kSshHasshClient), hsv = cli.get(kSshHasshServer);
  const char* hs[2] = {hc.c_str(), hsv.c_str()};
  std::string j;
  format_app_json(cli.meta, j, hs);
  EXPECT_EQ(j, "\"ssh\":{\"client\":{\"proto_version\":\"2.0\",\"software_version\":\"OpenSSH_8.4p1\","
               "\"hassh\":{\"hash\":\"" + md5_ref(chs) + "\",\"string\":\"" + chs + "\"}},"
               "\"server\":{\"proto_version\":\"2.0\",\"software_version\":\"srv_1.0\","
               "\"hassh\":{\"hash\":\"" + md5_ref(shs) + "\",\"string\":\"" + shs + "\"}}}");
  EXPECT_EQ(ctx.ctr.ssh_banners, 2u);
  EXPECT_EQ(ctx.ctr.ssh_kexinits, 2u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

// The review finding: the HASSH strings (2 x 1 KiB) made every AppMeta, and
// so every alert record and session slot, 2 KiB larger. Measured before the
// fix: sizeof(AppMeta) 7928, AlertRecord 12656, AppState 8640; after (with
// the bounded MQTT fields, 620): 6496, 11224, 7208 (g++ 12, x86-64); with
// the file digests for filesha1/filesha256 (sets, merged with it): 6608.
TEST(AppSsh, HasshStringsAreNotInAppMeta) {
  static_assert(sizeof(AppMeta) <= 6656, "AppMeta grew: it is copied into every alert record");
  static_assert(sizeof(AppMeta::Mqtt) <= 640, "the MQTT fields are bounded");
  RecordProperty("sizeof_AppMeta", int(sizeof(AppMeta)));
  RecordProperty("sizeof_AppMeta_Mqtt", int(sizeof(AppMeta::Mqtt)));
  EXPECT_LE(sizeof(AppMeta), 6656u);
  // Pool accounting with the held KEXINITs: a flow with only the client's
  // KEXINIT keeps its buffer until the flow ends, then returns it.
  AppCtx ctx(small_cfg());
  auto txs = with_bufs(run_tcp(ctx, {{true, "SSH-2.0-c\r\n" + kexinit(client_lists())}}, {}, 40000, 22));
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_TRUE(txs[0].has(kSshHassh));
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppSsh, SplitAtEveryByte) { expect_split_invariant(small_cfg(), session(), 40000, 22); }

TEST(AppSsh, Ssh1AndCompat) {
  AppCtx ctx(small_cfg());
  AppProto p;
  // SSH-1.5: no KEXINIT follows; the tx comes with the banner.
  auto txs = run_tcp(ctx, {{true, "SSH-1.5-PuTTY_2.123\n"}, {false, "SSH-1.5-1.2.27\n\x00\x00\x01\x04 binary"}},
                     {}, 40000, 22, &p);
  EXPECT_EQ(p, AppProto::kSsh);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].get(kSshSoftware), "PuTTY_2.123");
  EXPECT_EQ(txs[0].get(kSshProto), "1.5");
  EXPECT_FALSE(txs[0].has(kSshHassh));
  EXPECT_EQ(txs[1].get(kSshSoftware), "1.2.27");
  EXPECT_TRUE(txs[1].meta.ssh_log);
  // 1.99 speaks SSH-2: its KEXINIT is parsed.
  auto all = run_tcp(ctx, {{true, "SSH-1.99-Cisco-1.25\r\n" + kexinit(client_lists())}}, {}, 40000, 22, &p);
  bool alone = false;
  txs = with_bufs(all, &alone);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kSshProto), "1.99");
  EXPECT_EQ(txs[0].get(kSshSoftware), "Cisco-1.25");
  EXPECT_TRUE(txs[0].has(kSshHassh));
  EXPECT_FALSE(txs[0].meta.ssh_log);
  EXPECT_TRUE(alone);  // the other side never spoke: the event at the flow's end
  EXPECT_EQ(all.size(), 2u);
  // ... still with the client's HASSH string (its KEXINIT was held for it).
  EXPECT_EQ(all.back().get(kSshHasshClient), txs[0].get(kSshHasshString));
  EXPECT_FALSE(all.back().has(kSshHasshServer));
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppSsh, ServerLinesBeforeBanner) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, "SSH-2.0-c\r\n"}, {false, "hello there\r\nsecond\r\nSSH-2.0-s comment\r\n"}},
                     {}, 40000, 22);
  ASSERT_EQ(txs.size(), 2u);  // both at the end: no KEXINIT
  EXPECT_EQ(txs[1].get(kSshSoftware), "s");
  // More than 8 lines: not a banner any more, nothing from that side.
  std::string junk;
  for (int i = 0; i < 9; i++) junk += "line\r\n";
  txs = run_tcp(ctx, {{true, "SSH-2.0-c\r\n"}, {false, junk + "SSH-2.0-s\r\n"}}, {}, 40000, 22);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_TRUE(txs[0].to_server);
  EXPECT_TRUE(txs[0].meta.ssh_log);
}

TEST(AppSsh, NotSsh) {
  AppCtx ctx(small_cfg());
  AppProto p;
  run_tcp(ctx, {{true, "SSH 2.0 something\r\n"}}, {}, 40000, 22, &p);
  EXPECT_NE(p, AppProto::kSsh);
  run_tcp(ctx, {{true, "SSX-2.0-x\r\n"}}, {}, 40000, 22, &p);
  EXPECT_NE(p, AppProto::kSsh);
}

TEST(AppSsh, BoundedState) {
  // No pooled buffer free: the KEXINIT is skipped (counted), banners still work.
  AppConfig cfg = small_cfg();
  cfg.tx_buffers = 0;
  AppCtx ctx(cfg);
  auto txs = run_tcp(ctx, session(), {}, 40000, 22);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].get(kSshSoftware), "OpenSSH_8.4p1");
  EXPECT_FALSE(txs[1].has(kSshHassh));
  EXPECT_EQ(ctx.ctr.ssh_kex_skipped, 2u);
  // A KEXINIT larger than the buffer: skipped; an absurd length: the side stops.
  AppCtx ctx2(small_cfg());
  Lists big = client_lists();
  big.v[0] = std::string(20000, 'k');
  txs = with_bufs(run_tcp(ctx2, {{true, "SSH-2.0-c\r\n" + kexinit(big) + kexinit(client_lists())}}, {}, 40000, 22));
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_FALSE(txs[0].has(kSshHassh));  // handed on at the unread KEXINIT
  EXPECT_EQ(ctx2.ctr.ssh_kex_skipped, 1u);
  txs = with_bufs(run_tcp(ctx2, {{true, "SSH-2.0-c\r\n" + be32(0x7fffffff) + "\x04\x14rest"}}, {}, 40000, 22));
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kSshSoftware), "c");
  // A long banner is cut to 255 bytes; the software buffer is its start.
  std::string soft(400, 'S');
  txs = run_tcp(ctx2, {{true, "SSH-2.0-" + soft + "\r\n"}}, {}, 40000, 22);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kSshSoftware), soft.substr(0, 255 - 8));
  EXPECT_EQ(app_pool_free(ctx2), app_pool_size(ctx2));
}

TEST(AppSsh, GapHandsOnWhatWasSeen) {
  AppCtx ctx(small_cfg());
  std::string k = kexinit(client_lists());
  auto txs = with_bufs(run_tcp(ctx, {{true, "SSH-2.0-c\r\n" + k.substr(0, 40)}, {true, k.substr(60), 20}}, {}, 40000, 22));
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kSshSoftware), "c");
  EXPECT_FALSE(txs[0].has(kSshHassh));
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppSsh, MutationFuzz) {
  AppCtx ctx(small_cfg());
  std::mt19937 rng(12);
  auto seed = session();
  uint64_t hassh = 0;
  for (int it = 0; it < 100000; it++) {
    std::vector<Seg> segs;
    std::vector<std::vector<uint32_t>> cuts;
    for (auto& s : seed) {
      std::string m = rng() % 3 ? s.data : mutate(rng, s.data);
      std::vector<uint32_t> c;
      if (!m.empty() && rng() % 2) c.push_back(uint32_t(rng() % m.size()));
      segs.push_back({s.to_server, m, rng() % 50 == 0 ? 7u : 0u});
      cuts.push_back(c);
    }
    for (auto& t : run_tcp(ctx, segs, cuts, 40000, 22)) hassh += t.has(kSshHassh);
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << "iteration " << it;
  }
  EXPECT_GT(hassh, 50000u);
}

}  // namespace
}  // namespace spectre
