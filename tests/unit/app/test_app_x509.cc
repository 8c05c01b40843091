// X.509 reader and the TLS Certificate message: certificates made by
// libcrypto at test time (random names, serials and validity) checked against
// libcrypto's own view of them (entries, SHA-1 digest, times); the Certificate
// message through the TLS parser split at every byte, cut by a small buffer,
// and fuzzed; TLS rule keywords from parsed rules on the parser's buffers.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>

#include "dataplane/app/app_internal.h"
#include "dataplane/app/app_x509.h"
#include "dataplane/detect/detect.h"
#include "dataplane/rules/parser.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

struct Key {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ~Key() { EVP_PKEY_free(k); }
};

struct Attr {
  std::string field, value;
  bool same_rdn = false;  // joins the previous RDN (multi-valued RDN)
};

struct Spec {
  std::vector<Attr> subject, issuer;
  std::string serial_hex = "01";
  time_t not_before = 1471824000, not_after = 1503360000;  // 2016-08-22, 2017-08-22
};

void add_name(X509_NAME* n, const std::vector<Attr>& attrs) {
  for (const Attr& a : attrs)
    ASSERT_EQ(X509_NAME_add_entry_by_txt(n, a.field.c_str(), MBSTRING_UTF8,
                                         reinterpret_cast<const unsigned char*>(a.value.data()),
                                         int(a.value.size()), -1, a.same_rdn ? -1 : 0),
              1)
        << a.field;
}

// DER of a certificate built from s, signed with key.
std::string make_cert(const Spec& s, EVP_PKEY* key, X509** keep = nullptr) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, s.serial_hex.c_str());
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  ASN1_TIME_set(X509_getm_notBefore(x), s.not_before);
  ASN1_TIME_set(X509_getm_notAfter(x), s.not_after);
  add_name(X509_get_subject_name(x), s.subject);
  add_name(X509_get_issuer_name(x), s.issuer);
  X509_set_pubkey(x, key);
  X509_sign(x, key, EVP_sha256());
  unsigned char* der = nullptr;
  int n = i2d_X509(x, &der);
  std::string out(reinterpret_cast<char*>(der), size_t(n > 0 ? n : 0));
  OPENSSL_free(der);
  X509_free(x);
  if (keep) {  // as decoded from the DER: the entries of an RDN in encoded (sorted) order
    const unsigned char* q = reinterpret_cast<const unsigned char*>(out.data());
    *keep = d2i_X509(nullptr, &q, long(out.size()));
  }
  return out;
}

// The expected text of a name, from libcrypto's parsed entries: the test's
// own table of Suricata's abbreviations by dotted OID.
std::string expected_dn(const X509_NAME* n) {
  static const std::map<std::string, std::string> kAbbrev = {
      {"2.5.4.3", "CN"}, {"2.5.4.6", "C"}, {"2.5.4.7", "L"}, {"2.5.4.8", "ST"}, {"2.5.4.10", "O"},
      {"2.5.4.11", "OU"}, {"0.9.2342.19200300.100.1.25", "DC"}, {"1.2.840.113549.1.9.1", "Email"},
      {"2.5.4.5", "serialNumber"}, {"2.5.4.12", "title"}};
  std::string out;
  int prev_set = -1;
  for (int i = 0; i < X509_NAME_entry_count(n); i++) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(n, i);
    char oid[128];
    OBJ_obj2txt(oid, sizeof oid, X509_NAME_ENTRY_get_object(e), 1);
    auto it = kAbbrev.find(oid);
    std::string key = it != kAbbrev.end() ? it->second : "OID(" + std::string(oid) + ")";
    const ASN1_STRING* v = X509_NAME_ENTRY_get_data(e);
    int set = X509_NAME_ENTRY_set(e);
    if (i) out += set == prev_set ? " + " : ", ";
    prev_set = set;
    out += key + "=" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)), size_t(ASN1_STRING_length(v)));
  }
  return out;
}

std::string iso(time_t t) {
  struct tm tm;
  gmtime_r(&t, &tm);
  char b[32];
  strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
  return b;
}

std::string hexc(const uint8_t* p, size_t n, bool upper) {
  std::string s;
  char t[4];
  for (size_t i = 0; i < n; i++) {
    snprintf(t, sizeof t, upper ? "%02X" : "%02x", p[i]);
    if (i) s += ':';
    s += t;
  }
  return s;
}

// Serial as Suricata prints it: the INTEGER's content bytes (a leading 00
// when the top bit is set), from the hex digits alone.
std::string expected_serial(std::string hex) {
  while (hex.size() > 1 && hex[0] == '0') hex.erase(0, 1);
  if (hex.size() % 2) hex = "0" + hex;
  std::vector<uint8_t> b;
  for (size_t i = 0; i < hex.size(); i += 2) b.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
  if (b[0] & 0x80) b.insert(b.begin(), 0);
  return hexc(b.data(), b.size(), true);
}

std::string field(const uint8_t* p, uint32_t n) {
  std::vector<char> out(4 * n + 16);
  int32_t k = app::x509_dn_string(p, n, out.data(), uint32_t(out.size()));
  return k < 0 ? "<malformed>" : std::string(out.data(), size_t(k));
}

TEST(X509, Sha1MatchesLibcrypto) {
  std::mt19937 rng(9);
  for (size_t n = 0; n < 300; n++) {
    std::string s;
    for (size_t i = 0; i < n; i++) s += char(rng());
    uint8_t a[20], b[20];
    unsigned int bl = 0;
    app::sha1(s.data(), s.size(), a);
    EVP_Digest(s.data(), s.size(), b, &bl, EVP_sha1(), nullptr);
    ASSERT_EQ(hexc(a, 20, false), hexc(b, 20, false)) << n;
  }
}

TEST(X509, RandomCertificatesAgreeWithLibcrypto) {
  Key key;
  std::mt19937 rng(42);
  const char* fields[] = {"C", "ST", "L", "O", "OU", "CN", "DC", "emailAddress", "serialNumber", "title", "1.2.3.4.5"};
  for (int it = 0; it < 200; it++) {
    Spec s;
    for (auto* name : {&s.subject, &s.issuer}) {
      int k = 1 + int(rng() % 6);
      for (int j = 0; j < k; j++) {
        std::string f = fields[rng() % (sizeof fields / sizeof *fields)];
        std::string v = f == "C" ? "US" : "v" + std::to_string(rng() % 100000) + " Let's, go";
        name->push_back({f, v, j > 0 && rng() % 5 == 0});
      }
    }
    s.serial_hex.clear();
    for (int j = 0, n = 1 + int(rng() % 20); j < n; j++) s.serial_hex += "0123456789ABCDEF"[rng() % 16];
    if (s.serial_hex.find_first_not_of('0') == std::string::npos) s.serial_hex = "7F";
    // 1950..2049 are UTCTime, later years GeneralizedTime.
    s.not_before = time_t(int64_t(rng() % 3000000000u) - 600000000);
    s.not_after = s.not_before + time_t(rng() % 4000000000u);
    X509* x = nullptr;
    std::string der = make_cert(s, key.k, &x);
    ASSERT_FALSE(der.empty());
    app::X509Info info;
    ASSERT_TRUE(app::x509_parse(reinterpret_cast<const uint8_t*>(der.data()), uint32_t(der.size()), info)) << it;
    EXPECT_EQ(field(info.subject, info.subject_len), expected_dn(X509_get_subject_name(x))) << it;
    EXPECT_EQ(field(info.issuer, info.issuer_len), expected_dn(X509_get_issuer_name(x))) << it;
    char serial[128];
    uint32_t sl = app::hex_colon(info.serial, info.serial_len, true, serial, sizeof serial);
    EXPECT_EQ(std::string(serial, sl), expected_serial(s.serial_hex)) << s.serial_hex;
    char t[20];
    app::x509_time_iso(info.not_before, t);
    EXPECT_EQ(std::string(t), iso(s.not_before));
    app::x509_time_iso(info.not_after, t);
    EXPECT_EQ(std::string(t), iso(s.not_after));
    X509_free(x);
  }
}

TEST(X509, KnownNameText) {
  Key key;
  Spec s;
  s.issuer = {{"C", "US"}, {"O", "Let's Encrypt"}, {"CN", "R3"}};
  s.subject = {{"CN", "a.example"}, {"OU", "x", true}};
  std::string der = make_cert(s, key.k);
  app::X509Info info;
  ASSERT_TRUE(app::x509_parse(reinterpret_cast<const uint8_t*>(der.data()), uint32_t(der.size()), info));
  EXPECT_EQ(field(info.issuer, info.issuer_len), "C=US, O=Let's Encrypt, CN=R3");
  // A multi-valued RDN is a DER SET OF: encoded sorted (shorter first), printed in that order.
  EXPECT_EQ(field(info.subject, info.subject_len), "OU=x + CN=a.example");
  char t[20], d[15];
  app::x509_time_iso(info.not_before, t);
  EXPECT_STREQ(t, "2016-08-22T00:00:00");
  app::x509_time_digits(info.not_after, d);
  EXPECT_STREQ(d, "20170822000000");
}

TEST(X509, MalformedDerFuzz) {
  Key key;
  Spec s;
  s.subject = {{"CN", "fuzz.example"}, {"O", "Org"}};
  s.issuer = {{"CN", "Issuer"}};
  const std::string seed = make_cert(s, key.k);
  std::mt19937 rng(1234);
  int parsed = 0;
  for (int it = 0; it < 100000; it++) {
    std::string m = mutate(rng, seed);
    std::vector<uint8_t> buf(m.begin(), m.end());  // exact size: ASan sees any over-read
    app::X509Info info;
    if (!app::x509_parse(buf.data(), uint32_t(buf.size()), info)) continue;
    parsed++;
    ASSERT_LE(info.subject + info.subject_len, buf.data() + buf.size());
    ASSERT_LE(info.issuer + info.issuer_len, buf.data() + buf.size());
    field(info.subject, info.subject_len);
    field(info.issuer, info.issuer_len);
  }
  EXPECT_GT(parsed, 100);  // some mutations keep the outer structure
  for (uint32_t n = 0; n < seed.size(); n++) {  // every truncation is refused
    app::X509Info info;
    std::vector<uint8_t> buf(seed.begin(), seed.begin() + n);
    EXPECT_FALSE(app::x509_parse(buf.data(), n, info)) << n;
  }
}

// ---- the Certificate message through the TLS parser -------------------------

std::string u24(size_t v) { return std::string{char(v >> 16), char(v >> 8), char(v)}; }

std::string tls_records(const std::string& hs, size_t max_rec) {
  std::string out;
  for (size_t i = 0; i < hs.size(); i += max_rec) {
    std::string part = hs.substr(i, max_rec);
    out += std::string{22, 3, 3, char(part.size() >> 8), char(part.size() & 0xff)} + part;
  }
  return out;
}

std::string server_flight(const std::vector<std::string>& chain, size_t max_rec) {
  std::string sh = std::string{3, 3} + std::string(32, 's') + std::string{0, char(0xc0), 0x2f, 0};
  std::string hs = std::string{2} + u24(sh.size()) + sh;
  std::string list;
  for (const auto& c : chain) list += u24(c.size()) + c;
  std::string body = u24(list.size()) + list;
  hs += std::string{11} + u24(body.size()) + body;
  hs += std::string{14, 0, 0, 0};  // ServerHelloDone
  return tls_records(hs, max_rec) + std::string{20, 3, 3, 0, 1, 1};
}

std::string client_hello() {
  std::string b = std::string{3, 3} + std::string(32, 'c') + std::string{0, 0, 2, char(0xc0), 0x2f, 1, 0};
  return tls_records(std::string{1} + u24(b.size()) + b, 1000);
}

struct Chain {
  Key key;
  std::vector<std::string> der;
  Chain() {
    Spec leaf;
    leaf.subject = {{"C", "US"}, {"CN", "www.example.com"}};
    leaf.issuer = {{"C", "US"}, {"O", "Let's Encrypt"}, {"CN", "R3"}};
    leaf.serial_hex = "0AE1E6BD51FB3D8F06BE0DB55EBDE9DF";
    Spec ca;
    ca.subject = leaf.issuer;
    ca.issuer = {{"O", "Digital Signature Trust Co."}, {"CN", "DST Root CA X3"}};
    der = {make_cert(leaf, key.k), make_cert(ca, key.k)};
  }
};

TEST(AppTlsCert, LeafFieldsAndChain) {
  Chain ch;
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, client_hello()}, {false, server_flight(ch.der, 700)}}, {}, 50000, 443);
  ASSERT_EQ(txs.size(), 2u);
  const Tx& t = txs[1];
  EXPECT_FALSE(t.to_server);
  EXPECT_EQ(t.get(kTlsCertSubject), "C=US, CN=www.example.com");
  EXPECT_EQ(t.get(kTlsCertIssuer), "C=US, O=Let's Encrypt, CN=R3");
  EXPECT_EQ(t.get(kTlsCertSerial), "0A:E1:E6:BD:51:FB:3D:8F:06:BE:0D:B5:5E:BD:E9:DF");
  uint8_t md[20];
  unsigned int ml = 0;
  EVP_Digest(ch.der[0].data(), ch.der[0].size(), md, &ml, EVP_sha1(), nullptr);
  EXPECT_EQ(t.get(kTlsCertFingerprint), hexc(md, 20, false));
  EXPECT_EQ(t.get(kTlsCerts), ch.der[0]);  // the first instance
  EXPECT_EQ(t.get(kTlsVersionNum), std::string("\x03\x03", 2));
  EXPECT_EQ(t.get(kTlsCertTimes), "V2016082200000020170822000000");  // time 0: not expired
  EXPECT_TRUE(t.has(kJa3sHash));
  EXPECT_STREQ(t.meta.tls_subject, "C=US, CN=www.example.com");
  EXPECT_STREQ(t.meta.tls_issuerdn, "C=US, O=Let's Encrypt, CN=R3");
  EXPECT_STREQ(t.meta.tls_notbefore, "2016-08-22T00:00:00");
  EXPECT_STREQ(t.meta.tls_notafter, "2017-08-22T00:00:00");
  EXPECT_STREQ(t.meta.tls_version, "TLS 1.2");
  EXPECT_EQ(ctx.ctr.tls_certificates, 1u);
  EXPECT_EQ(ctx.ctr.tls_cert_errors + ctx.ctr.tls_cert_truncated, 0u);
  std::string eve;
  format_app_json(t.meta, eve);
  EXPECT_NE(eve.find("\"subject\":\"C=US, CN=www.example.com\",\"issuerdn\":\"C=US, O=Let's Encrypt, CN=R3\","
                     "\"serial\":\"0A:E1:E6:BD:51:FB:3D:8F:06:BE:0D:B5:5E:BD:E9:DF\",\"fingerprint\":\"" +
                     hexc(md, 20, false) + "\""),
            std::string::npos)
      << eve;
  EXPECT_NE(eve.find("\"notbefore\":\"2016-08-22T00:00:00\",\"notafter\":\"2017-08-22T00:00:00\""), std::string::npos);
}

TEST(AppTlsCert, SplitAtEveryByte) {
  Chain ch;
  // Records of 300 bytes: the Certificate spans several records and segments.
  expect_split_invariant(small_cfg(), {{true, client_hello()}, {false, server_flight(ch.der, 300)}}, 50000, 443);
}

TEST(AppTlsCert, ChainBiggerThanBufferCutNotCrashed) {
  Chain ch;
  AppConfig cfg = small_cfg();
  cfg.header_limit = 512;
  cfg.request_body_limit = cfg.response_body_limit = 0;  // 512-byte message buffer
  ASSERT_LT(ch.der[0].size() + 10, 512u);
  ASSERT_GT(ch.der[0].size() + ch.der[1].size(), 512u);
  AppCtx ctx(cfg);
  auto txs = run_tcp(ctx, {{true, client_hello()}, {false, server_flight(ch.der, 16000)}}, {}, 50000, 443);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].get(kTlsCertSubject), "C=US, CN=www.example.com");  // the leaf fit
  EXPECT_EQ(ctx.ctr.tls_cert_truncated, 1u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
  // A leaf that does not fit either: the ServerHello's transaction alone.
  Spec big;
  for (int i = 0; i < 10; i++) big.subject.push_back({"OU", std::string(60, char('a' + i))});  // > 600 bytes
  big.issuer = {{"CN", "R3"}};
  std::vector<std::string> chain2 = {make_cert(big, ch.key.k), ch.der[1]};
  AppCtx small(cfg);
  txs = run_tcp(small, {{true, client_hello()}, {false, server_flight(chain2, 16000)}}, {}, 50000, 443);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_FALSE(txs[1].has(kTlsCertSubject));
  EXPECT_TRUE(txs[1].has(kJa3sHash));
  EXPECT_EQ(small.ctr.tls_cert_truncated, 1u);
  EXPECT_EQ(app_pool_free(small), app_pool_size(small));
}

// The flow ends inside the Certificate's record (tls_port_80.pcapng): as in
// Suricata, which parses a record only once it is whole, the certificate is
// not decoded even where the leaf is complete in the bytes that came; the
// ServerHello (its own, complete record) still is.
TEST(AppTlsCert, RecordNotReceivedWholeNotDecoded) {
  Chain ch;
  std::string sh = std::string{3, 3} + std::string(32, 's') + std::string{0, char(0xc0), 0x2f, 0};
  std::string list;
  for (const auto& c : ch.der) list += u24(c.size()) + c;
  std::string body = u24(list.size()) + list;
  std::string flight = tls_records(std::string{2} + u24(sh.size()) + sh, 16000) +
                       tls_records(std::string{11} + u24(body.size()) + body + std::string{14, 0, 0, 0}, 16000);
  const size_t cert_rec = 5 + 4 + sh.size();  // where the Certificate's record starts
  for (size_t keep : {cert_rec + 5 + 4 + 3 + 3 + ch.der[0].size() + 10, flight.size() - 2}) {
    AppCtx ctx(small_cfg());
    auto txs = run_tcp(ctx, {{true, client_hello()}, {false, flight.substr(0, keep)}}, {}, 50000, 443);
    ASSERT_EQ(txs.size(), 2u) << keep;
    EXPECT_TRUE(txs[1].has(kJa3sHash)) << keep;
    EXPECT_FALSE(txs[1].has(kTlsCertSubject)) << keep;
    EXPECT_FALSE(txs[1].has(kTlsCerts)) << keep;
    EXPECT_EQ(txs[1].meta.tls_subject[0], 0) << keep;
    EXPECT_EQ(ctx.ctr.tls_cert_truncated, 1u) << keep;
    EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
  }
  // The whole record (then the flow ends before ChangeCipherSpec): decoded.
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, client_hello()}, {false, flight}}, {}, 50000, 443);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].get(kTlsCertSubject), "C=US, CN=www.example.com");
}

TEST(AppTlsCert, NoCertificateStillOneServerTx) {
  // Resumption: ServerHello, ChangeCipherSpec. TLS 1.3: certificate encrypted.
  std::string sh = std::string{3, 3} + std::string(32, 's') + std::string{0, char(0xc0), 0x2f, 0};
  std::string flight = tls_records(std::string{2} + u24(sh.size()) + sh, 1000) + std::string{20, 3, 3, 0, 1, 1};
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, client_hello()}, {false, flight}});
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_TRUE(txs[1].has(kJa3sHash));
  EXPECT_FALSE(txs[1].has(kTlsCertSubject));
  EXPECT_EQ(ctx.ctr.tls_certificates, 0u);
}

TEST(AppTlsCert, MutationFuzz) {
  Chain ch;
  AppCtx ctx(small_cfg());
  std::mt19937 rng(99);
  const std::string seed = server_flight(ch.der, 400), ch_seed = client_hello();
  for (int it = 0; it < 20000; it++) {
    std::string s = mutate(rng, seed);
    std::vector<std::vector<uint32_t>> cuts = {{}, {uint32_t(rng() % (s.size() + 1)), uint32_t(rng() % (s.size() + 1))}};
    run_tcp(ctx, {{true, ch_seed}, {false, s}}, cuts, 1000, 443);
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << it;
  }
  EXPECT_GT(ctx.ctr.tls_certificates, 1000u);
}

// ---- keywords on the parser's buffers ----------------------------------------

struct DetectSink : AppSink, AlertSink {
  std::shared_ptr<const CompiledRuleset> rs;
  DetectCtx det{0};
  std::vector<uint32_t> sids;
  void on_tx(bool to_server, const BufferSet& b, const AppMeta&) override {
    uint8_t a[4] = {10, 0, 0, 1}, z[4] = {192, 168, 0, 1};
    DetectPacket p;
    p.src = to_server ? a : z;
    p.dst = to_server ? z : a;
    p.proto = 6;
    p.sport = to_server ? 50000 : 443;
    p.dport = to_server ? 443 : 50000;
    p.to_server = to_server;
    p.established = p.has_flow = true;
    p.app_proto = AppProto::kTls;
    detect_app(det, *rs, p, b, *this);
  }
  void alert(const RuleMeta& m, const DetectPacket&) override { sids.push_back(m.sid); }
};

TEST(AppTlsCert, RuleKeywordsOnParsedCertificates) {
  Chain ch;
  const char* texts[] = {
      R"(alert tls any any -> any any (msg:"subject"; flow:to_client; tls.cert_subject; content:"CN=www.example.com"; endswith; sid:1;))",
      R"(alert tls any any -> any any (msg:"issuer legacy"; tls_cert_issuer; content:"Let's Encrypt"; sid:2;))",
      R"(alert tls any any -> any any (msg:"serial"; tls.cert_serial; content:"0A:E1:E6:BD"; startswith; sid:3;))",
      R"(alert tls any any -> any any (msg:"2nd cert in chain"; tls.certs; content:"DST Root CA X3"; sid:4;))",
      R"(alert tls any any -> any any (msg:"version"; tls.version:1.2; flow:to_client; sid:5;))",
      R"(alert tls any any -> any any (msg:"not 1.3"; tls.version:1.3; sid:6;))",
      R"(alert tls any any -> any any (msg:"valid"; tls_cert_valid; sid:7;))",
      R"(alert tls any any -> any any (msg:"expired"; tls_cert_expired; sid:8;))",
      R"(alert tls any any -> any any (msg:"notafter"; tls.cert_notafter:>2017-01-01; tls.cert_notbefore:2015<>2017; sid:9;))",
      R"(alert tls any any -> any any (msg:"notafter no"; tls.cert_notafter:<2017; sid:10;))",
      R"(alert tls any any -> any any (msg:"wrong subject"; tls.cert_subject; content:"CN=other"; sid:11;))",
      R"(alert tls any any -> any any (msg:"legacy subject"; tls.subject:"www.example"; tls.issuerdn:!"Google"; sid:12;))",
      R"(alert tls any any -> any any (msg:"no cert has it"; tls.certs; content:"Nowhere Inc"; sid:13;))",
      R"(alert tls any any -> any any (msg:"one instance only"; tls.certs; content:"www.example.com"; content:"DST Root"; sid:14;))",
  };
  RuleSet set;
  for (const char* t : texts) {
    Rule r;
    std::string err;
    bool unsup = false;
    ASSERT_TRUE(parse_rule(t, Vars::suricata_defaults(), r, err, unsup)) << err << ": " << t;
    set.rules.push_back(std::move(r));
  }
  DetectSink sink;
  CompileReport rep;
  std::string err;
  sink.rs = compile_ruleset(set, 1, rep, err);
  ASSERT_TRUE(sink.rs) << err;
  EXPECT_EQ(rep.rejected, 0u);
  AppCtx ctx(small_cfg());
  Flow f;
  std::string c = client_hello(), s = server_flight(ch.der, 500);
  app_stream(ctx, f.s, true, 50000, 443, reinterpret_cast<const uint8_t*>(c.data()), uint32_t(c.size()), 0, 0, sink);
  // Packet time 2018: the certificate (until 2017-08-22) has expired.
  app_stream(ctx, f.s, false, 443, 50000, reinterpret_cast<const uint8_t*>(s.data()), uint32_t(s.size()), 0,
             1514764800ull * 1000000000ull, sink);
  app_finish(ctx, f.s, sink);
  std::sort(sink.sids.begin(), sink.sids.end());
  EXPECT_EQ(sink.sids, (std::vector<uint32_t>{1, 2, 3, 4, 5, 8, 9, 12}));
}

}  // namespace
}  // namespace spectre

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;


TEST(Ja4, Sha256MatchesLibcrypto) {
  std::mt19937 rng(11);
  for (size_t n = 0; n < 300; n++) {
    std::string s;
    for (size_t i = 0; i < n; i++) s += char(rng());
    uint8_t a[32], b[32];
    unsigned int bl = 0;
    app::sha256(s.data(), s.size(), a);
    EVP_Digest(s.data(), s.size(), b, &bl, EVP_sha256(), nullptr);
    ASSERT_EQ(memcmp(a, b, 32), 0) << n;
  }
}

// A ClientHello with the lists of a published JA4_r example
// (t13d1011h2_00ff,1301,...,cca9_0005,...,0033_0503,...,0401 ->
// t13d1011h2_61a7ad8aa9b6_3fcd1a44f3e3), shuffled, with GREASE added.
std::string ja4_example_hello() {
  auto u16 = [](uint16_t v) { return std::string{char(v >> 8), char(v & 0xff)}; };
  std::string b = u16(0x0303) + std::string(32, 'r') + std::string(1, '\0');
  const uint16_t cs[] = {0x1a1a, 0xcca9, 0x1301, 0x00ff, 0xc02b, 0x1302, 0xc030, 0x1303, 0xc02c, 0xc02f, 0xcca8};
  b += u16(sizeof cs);
  for (uint16_t c : cs) b += u16(c);
  b += std::string{1, 0};
  auto ext = [&](uint16_t t, const std::string& d) { return u16(t) + u16(uint16_t(d.size())) + d; };
  std::string sigs;
  for (uint16_t v : {0x0503, 0x0403, 0x0807, 0x0806, 0x0805, 0x0804, 0x0601, 0x0501, 0x0401}) sigs += u16(v);
  std::string e = ext(0x2a2a, "") + ext(0x0033, std::string(6, 'k')) +
                  ext(0x0000, u16(14) + std::string(1, '\0') + u16(11) + "example.org") +
                  ext(0x0010, u16(3) + std::string(1, 2) + "h2") + ext(0x000d, u16(uint16_t(sigs.size())) + sigs) +
                  ext(0x002b, std::string(1, 6) + u16(0x3a3a) + u16(0x0304) + u16(0x0303)) + ext(0x0005, "") +
                  ext(0x000a, u16(2) + u16(29)) + ext(0x000b, std::string{1, 0}) + ext(0x0017, "") +
                  ext(0x0023, "") + ext(0x002d, std::string{1, 1});
  b += u16(uint16_t(e.size())) + e;
  std::string hs = std::string(1, 1) + std::string{0, char(b.size() >> 8), char(b.size() & 0xff)} + b;
  return std::string{22, 3, 1, char(hs.size() >> 8), char(hs.size() & 0xff)} + hs;
}

TEST(Ja4, PublishedExampleAndNdpiValues) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, ja4_example_hello()}}, {}, 40000, 443);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kJa4Hash), "t13d1011h2_61a7ad8aa9b6_3fcd1a44f3e3");
  EXPECT_STREQ(txs[0].meta.ja4, "t13d1011h2_61a7ad8aa9b6_3fcd1a44f3e3");
  std::string eve;
  format_app_json(txs[0].meta, eve);
  EXPECT_NE(eve.find("\"ja4\":\"t13d1011h2_61a7ad8aa9b6_3fcd1a44f3e3\""), std::string::npos) << eve;
}

}  // namespace
}  // namespace spectre
