// TLS: MD5 against libcrypto, JA3/JA3S from hand-built and real hellos,
// reassembly across records and segments, fuzz.
#include <openssl/evp.h>

#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

#include "tests/unit/app/tls_samples.inc"

std::string bytes(const uint8_t* p, size_t n) { return std::string(reinterpret_cast<const char*>(p), n); }

std::string md5_ref(const std::string& s) {
  unsigned char d[16];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d, &n, EVP_md5(), nullptr);
  char hex[33];
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
  return hex;
}

TEST(AppTls, Md5MatchesLibcrypto) {
  std::mt19937 rng(5);
  for (size_t n = 0; n < 300; n++) {
    std::string s;
    for (size_t i = 0; i < n; i++) s += char(rng());
    char out[33];
    app::md5_hex(s.data(), s.size(), out);
    EXPECT_EQ(std::string(out), md5_ref(s)) << n;
  }
}

struct Hs {
  std::string b;
  void u8(uint8_t v) { b += char(v); }
  void u16(uint16_t v) { b += char(v >> 8), b += char(v & 0xFF); }
  void u24(uint32_t v) { u8(uint8_t(v >> 16)), u16(uint16_t(v)); }
  void ext(uint16_t type, const std::string& data) { u16(type), u16(uint16_t(data.size())), b += data; }
};

// A ClientHello with GREASE in ciphers, extensions and groups.
std::string client_hello_body() {
  Hs h;
  h.u16(0x0303);
  h.b += std::string(32, 'r');
  h.u8(0);
  uint16_t ciphers[] = {0x0a0a, 0x1301, 0x1302, 0xc02b, 0x002f};
  h.u16(sizeof(ciphers));
  for (uint16_t c : ciphers) h.u16(c);
  h.u8(1), h.u8(0);
  Hs e;
  e.ext(0x1a1a, "");
  Hs sni;
  sni.u16(14), sni.u8(0), sni.u16(11);
  sni.b += "example.org";
  e.ext(0, sni.b);
  Hs grp;
  grp.u16(8), grp.u16(0x2a2a), grp.u16(29), grp.u16(23), grp.u16(24);
  e.ext(10, grp.b);
  e.ext(11, std::string("\x02\x00\x01", 3));
  e.ext(43, std::string("\x04\x03\x04\x03\x03", 5));
  e.ext(0xfafa, std::string("\x00", 1));
  h.u16(uint16_t(e.b.size()));
  h.b += e.b;
  return h.b;
}

std::string handshake(uint8_t type, const std::string& body) {
  Hs h;
  h.u8(type), h.u24(uint32_t(body.size()));
  return h.b + body;
}

std::string records(const std::string& hs, size_t max_rec) {
  std::string out;
  for (size_t i = 0; i < hs.size(); i += max_rec) {
    std::string part = hs.substr(i, max_rec);
    Hs r;
    r.u8(22), r.u16(0x0301), r.u16(uint16_t(part.size()));
    out += r.b + part;
  }
  return out;
}

std::string server_hello_body() {
  Hs h;
  h.u16(0x0303);
  h.b += std::string(32, 's');
  h.u8(0);
  h.u16(0x1301);
  h.u8(0);
  Hs e;
  e.ext(43, std::string("\x03\x04", 2));
  e.ext(51, std::string(36, 'k'));
  h.u16(uint16_t(e.b.size()));
  h.b += e.b;
  return h.b;
}

TEST(AppTls, HandBuiltHellosJa3) {
  // By hand: version 771; ciphers without 0x0a0a; extensions in order without
  // 0x1a1a and 0xfafa; groups without 0x2a2a; point formats 0,1.
  const std::string ja3 = "771,4865-4866-49195-47,0-10-11-43,29-23-24,0-1";
  const std::string ja3s = "771,4865,43-51";
  std::vector<Seg> segs = {
      {true, records(handshake(1, client_hello_body()), 40)},  // hello over several records
      {false, std::string("\x15\x03\x03\x00\x02\x01\x00", 7) +  // alert record first
                  records(handshake(2, server_hello_body()), 1000) +
                  records(handshake(11, std::string(50, 'c')), 1000)},
  };
  AppCtx ctx(small_cfg());
  AppProto p;
  auto txs = run_tcp(ctx, segs, {}, 50000, 443, &p);
  EXPECT_EQ(p, AppProto::kTls);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_TRUE(txs[0].to_server);
  EXPECT_EQ(txs[0].get(kJa3String), ja3);
  EXPECT_EQ(txs[0].get(kJa3Hash), md5_ref(ja3));
  EXPECT_EQ(txs[0].get(kTlsSni), "example.org");
  EXPECT_STREQ(txs[0].meta.tls_sni, "example.org");
  EXPECT_FALSE(txs[1].to_server);
  EXPECT_EQ(txs[1].get(kJa3sString), ja3s);
  EXPECT_EQ(txs[1].get(kJa3sHash), md5_ref(ja3s));
  EXPECT_STREQ(txs[1].meta.tls_version, "TLS 1.3");
  // (tls.state), ssl_state / ssl_version: the message; TLS 1.0 records (4)
  // carrying a TLS 1.2 ClientHello (16) / a ServerHello negotiating 1.3 (32),
  // the versions of the flow so far, as Snort's session flags.
  EXPECT_EQ(txs[0].get(kTlsState), std::string("\x01\x14", 2));
  // The server's: its alert record's TLS 1.2 (16) joins the flow's bits.
  EXPECT_EQ(txs[1].get(kTlsState), std::string("\x02\x34", 2));
  EXPECT_STREQ(txs[1].meta.ja3_hash, md5_ref(ja3).c_str());
  EXPECT_EQ(ctx.ctr.tls_client_hellos, 1u);
  EXPECT_EQ(ctx.ctr.tls_server_hellos, 1u);
  expect_split_invariant(small_cfg(), segs, 50000, 443);
}

// One record of `type` and version `ver` around `body`.
std::string rec(uint8_t type, uint16_t ver, const std::string& body) {
  Hs r;
  r.u8(type), r.u16(ver), r.u16(uint16_t(body.size()));
  return r.b + body;
}

std::string hello_body(uint16_t ver) {  // a ServerHello of `ver`, no extensions
  Hs h;
  h.u16(ver);
  h.b += std::string(32, 's');
  h.u8(0), h.u16(0xc02f), h.u8(0);
  return h.b;
}

// A TLS 1.2 full handshake: each side's flight is one transaction whose
// `payload` is the flight's records as sent (Snort's ssl_state PDU), with the
// ssl_state bits of its messages; ClientKeyExchange and ServerKeyExchange
// are tracked; the ChangeCipherSpec ends each side.
TEST(AppTls, FlightsCarryStateAndPayload) {
  const std::string der = "\x30\x03\x02\x01\x05";  // not a certificate: tls.certs all the same
  Hs cl;
  cl.u24(3 + uint32_t(der.size())), cl.u24(uint32_t(der.size()));
  cl.b += der;
  const std::string hs_srv = handshake(2, hello_body(0x0303)) + handshake(11, cl.b) +
                             handshake(12, std::string(100, 'k')) + handshake(14, "");
  const std::string c1 = rec(22, 0x0301, handshake(1, client_hello_body()));
  const std::string fin = rec(20, 0x0303, "\x01") + rec(22, 0x0303, std::string(40, 'e'));
  const std::string c2 = rec(22, 0x0303, handshake(16, std::string(66, 'x')));
  for (size_t max_rec : {size_t(16000), size_t(7)}) {  // one record, or messages split over many
    std::string s1;
    for (size_t i = 0; i < hs_srv.size(); i += max_rec) s1 += rec(22, 0x0303, hs_srv.substr(i, max_rec));
    std::vector<Seg> segs = {{true, c1}, {false, s1 + fin}, {true, c2 + fin}};
    AppCtx ctx(small_cfg());
    auto txs = run_tcp(ctx, segs, {}, 50000, 443);
    ASSERT_EQ(txs.size(), 3u) << max_rec;
    EXPECT_TRUE(txs[0].to_server);
    EXPECT_EQ(txs[0].get(kPayload), c1);
    EXPECT_EQ(txs[0].get(kTlsState), std::string("\x01\x14", 2));
    EXPECT_FALSE(txs[1].to_server);
    EXPECT_EQ(txs[1].get(kPayload), s1);  // the flight through ServerHelloDone's record
    EXPECT_EQ(txs[1].get(kTlsState), std::string("\x0a\x14", 2));  // server_hello + server_keyx
    EXPECT_EQ(txs[1].get(kTlsCerts), der);
    EXPECT_STREQ(txs[1].meta.tls_version, "TLS 1.2");
    EXPECT_TRUE(txs[2].to_server);
    EXPECT_EQ(txs[2].get(kPayload), c2);
    EXPECT_EQ(txs[2].get(kTlsState), std::string("\x04\x14", 2));  // client_keyx
    EXPECT_EQ(ctx.ctr.tls_certificates, 1u);
    EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
    if (max_rec == 7) expect_split_invariant(small_cfg(), segs, 50000, 443);
  }
}

// SSLv3 hellos, and SSLv2's (2-byte record header): Snort's version bits.
TEST(AppTls, Sslv3AndSslv2Hellos) {
  Hs v3;
  v3.u16(0x0300);
  v3.b += std::string(32, 'r');
  v3.u8(0), v3.u16(2), v3.u16(0x000a), v3.u8(1), v3.u8(0);
  AppCtx ctx(small_cfg());
  auto t3 = run_tcp(ctx, {{true, rec(22, 0x0300, handshake(1, v3.b))},
                          {false, rec(22, 0x0300, handshake(2, hello_body(0x0300)) + handshake(14, ""))}},
                    {}, 50001, 443);
  ASSERT_EQ(t3.size(), 2u);
  EXPECT_EQ(t3[0].get(kTlsState), std::string("\x01\x02", 2));  // client_hello, sslv3
  EXPECT_EQ(t3[1].get(kTlsState), std::string("\x02\x02", 2));
  EXPECT_STREQ(t3[1].meta.tls_version, "SSLv3");
  // SSLv2 CLIENT-HELLO: length, type 1, version 0.2, cipher specs (3 bytes
  // each), session id, challenge; the SERVER-HELLO: type 4, session id hit,
  // certificate type, version, lengths of certificate, ciphers, connection id.
  auto v2 = [](const std::string& body) { return std::string{char(0x80 | (body.size() >> 8)), char(body.size())} + body; };
  const std::string ch = v2(std::string("\x01\x00\x02\x00\x06\x00\x00\x00\x10\x07\x00\xc0\x05\x00\x80", 15) +
                            std::string(16, 'C'));
  const std::string sh = v2(std::string("\x04\x00\x01\x00\x02\x00\x00\x00\x03\x00\x10\x07\x00\xc0", 14) +
                            std::string(16, 'I'));
  AppProto p;
  auto t2 = run_tcp(ctx, {{true, ch}, {false, sh}}, {}, 50002, 443, &p);
  EXPECT_EQ(p, AppProto::kTls);
  ASSERT_EQ(t2.size(), 2u);
  EXPECT_EQ(t2[0].get(kTlsState), std::string("\x01\x01", 2));  // client_hello, sslv2
  EXPECT_EQ(t2[0].get(kPayload), ch);
  EXPECT_EQ(t2[0].get(kTlsVersionNum), std::string("\x00\x02", 2));
  EXPECT_EQ(t2[1].get(kTlsState), std::string("\x02\x01", 2));
  EXPECT_EQ(t2[1].get(kPayload), sh);
  EXPECT_STREQ(t2[1].meta.tls_version, "SSLv2");
  expect_split_invariant(small_cfg(), {{true, ch}, {false, sh}}, 50002, 443);
  // An SSLv2 hello asking for TLS 1.0, answered in TLS: sslv2 is dropped
  // from the flow's bits at the ServerHello (Snort's SSL_V3_BACK_COMPAT_V2).
  std::string compat = ch;
  compat[3] = 3, compat[4] = 1;
  auto tc = run_tcp(ctx, {{true, compat}, {false, rec(22, 0x0301, handshake(2, hello_body(0x0301)))}}, {}, 50003, 443);
  ASSERT_EQ(tc.size(), 2u);
  EXPECT_EQ(tc[0].get(kTlsState), std::string("\x01\x01", 2));
  EXPECT_EQ(tc[1].get(kTlsState), std::string("\x02\x04", 2));
  // Not SSLv2 hellos: another message type, a cipher list not of 3-byte specs.
  std::string bad_type = ch, bad_specs = ch;
  bad_type[2] = 5;
  bad_specs[6] = 5;
  for (const std::string& bad : {bad_type, bad_specs}) {
    EXPECT_TRUE(run_tcp(ctx, {{true, bad}}, {}, 50004, 443, &p).empty());
    EXPECT_NE(p, AppProto::kTls);
  }
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppTls, RealHellosMatchNdpi) {
  AppCtx ctx(small_cfg());
  std::vector<Seg> segs = {
      {true, bytes(kFirefoxClientHello, sizeof(kFirefoxClientHello))},
      {false, bytes(kFirefoxServerHello, sizeof(kFirefoxServerHello))},
  };
  auto txs = run_tcp(ctx, segs, {}, 37506, 443);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].get(kJa3Hash), "d3e627f423a33ea41841c19b8af79293");
  EXPECT_EQ(txs[0].get(kTlsSni), "www.ntop.org");
  EXPECT_EQ(txs[1].get(kJa3sHash), "389ed42c02ebecc32e73aa31def07e14");
  EXPECT_STREQ(txs[1].meta.tls_version, "TLS 1.2");
  expect_split_invariant(small_cfg(), segs, 37506, 443);
  auto ech = run_tcp(ctx, {{true, bytes(kEchClientHello, sizeof(kEchClientHello))}}, {}, 47460, 443);
  ASSERT_EQ(ech.size(), 1u);
  EXPECT_EQ(ech[0].get(kJa3Hash), "6820f114cf3b0809ffdcb30cb277848a");
  // JA4: nDPI's values in the same .out files. nDPI prints the ALPN part of
  // "http/1.1" as "ht"; JA4's spec (first and last character) gives "h1".
  EXPECT_EQ(ech[0].get(kJa4Hash), "t13d1516h2_8daaf6152771_02713d6af862");
  EXPECT_EQ(txs[0].get(kJa4Hash), "t12d1612h1_94fc43e2fc61_c9eaec7dbab4");
  EXPECT_EQ(md5_ref(ech[0].get(kJa3String)), "6820f114cf3b0809ffdcb30cb277848a");
}

TEST(AppTls, VersionNames) {
  const std::pair<uint16_t, const char*> cases[] = {
      {0x0300, "SSLv3"}, {0x0301, "TLSv1"}, {0x0302, "TLS 1.1"}, {0x0303, "TLS 1.2"},
      {0x7f1c, "0x7f1c"}};
  for (auto& [v, name] : cases) {
    Hs h;
    h.u16(v);
    h.b += std::string(32, 's');
    h.u8(0), h.u16(0x002f), h.u8(0);
    AppCtx ctx(small_cfg());
    auto txs = run_tcp(ctx, {{true, records(handshake(1, client_hello_body()), 500)},
                             {false, records(handshake(2, h.b), 500)}});
    ASSERT_EQ(txs.size(), 2u);
    EXPECT_STREQ(txs[1].meta.tls_version, name);
    EXPECT_EQ(txs[1].get(kJa3sString), std::to_string(v) + ",47,");
  }
}

TEST(AppTls, HugeHelloTruncatedNoLeak) {
  AppConfig cfg = small_cfg();
  cfg.header_limit = 512;
  cfg.request_body_limit = cfg.response_body_limit = 0;
  AppCtx ctx(cfg);
  std::string body = client_hello_body();
  body += std::string(2000, 'x');  // bigger than the 512-byte buffer
  auto txs = run_tcp(ctx, {{true, records(handshake(1, body), 16000)}});
  EXPECT_TRUE(txs.empty());
  EXPECT_GE(ctx.ctr.truncated, 1u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppTls, MutationFuzz) {
  AppCtx ctx(small_cfg());
  std::mt19937 rng(77);
  std::vector<std::string> seeds = {
      records(handshake(1, client_hello_body()), 60),
      bytes(kFirefoxClientHello, sizeof(kFirefoxClientHello)),
      bytes(kEchClientHello, sizeof(kEchClientHello)),
  };
  // An SSLv2 CLIENT-HELLO, then a ClientKeyExchange flight.
  std::string v2 = std::string("\x80\x1f\x01\x00\x02\x00\x06\x00\x00\x00\x10\x07\x00\xc0\x05\x00\x80", 17) +
                   std::string(16, 'C');
  seeds.push_back(v2 + rec(22, 0x0301, handshake(16, std::string(70, 'x'))) + rec(20, 0x0301, "\x01"));
  // Server: a real ServerHello flight, and one split in 9-byte records
  // (ServerHello, Certificate, ServerKeyExchange, ServerHelloDone).
  const std::string flight = handshake(2, hello_body(0x0303)) + handshake(11, std::string("\x00\x00\x07\x00\x00\x04\x30\x02\x01\x05", 10)) +
                             handshake(12, std::string(40, 'k')) + handshake(14, "");
  std::string split;
  for (size_t i = 0; i < flight.size(); i += 9) split += rec(22, 0x0303, flight.substr(i, 9));
  const std::string shs[2] = {bytes(kFirefoxServerHello, sizeof(kFirefoxServerHello)), split};
  for (int it = 0; it < 100000; it++) {
    const size_t k = size_t(it) % seeds.size();
    std::string c = mutate(rng, seeds[k]);
    if (k < 3 && !c.empty() && rng() % 8) c[0] = 0x16;  // keep most inputs detected as TLS
    if (k < 3 && c.size() > 5 && rng() % 8) c[5] = 1;
    std::string s = mutate(rng, shs[it & 1]);
    std::vector<std::vector<uint32_t>> cuts = {{uint32_t(rng() % (c.size() + 1))},
                                               {uint32_t(rng() % (s.size() + 1))}};
    run_tcp(ctx, {{true, c}, {false, s}}, cuts, 1000, 443);
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << it;
  }
  EXPECT_GT(ctx.ctr.tls_client_hellos, 1000u);
  EXPECT_GT(ctx.ctr.parse_errors, 1000u);
}

}  // namespace
}  // namespace spectre
