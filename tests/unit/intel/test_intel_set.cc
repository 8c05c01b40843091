// The compiled indicator set: CIDR longest prefix, IPv6, domain suffix and
// case, URL normalisation, JA3/SHA-1, expiry against packet time.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include "dataplane/intel/intel.h"

namespace spectre::intel {
namespace {

Indicator ind(Type t, const std::string& v, bool sub = false, uint64_t expires = 0) {
  Indicator i;
  std::string why;
  i.subdomains = sub;
  i.feed = "test";
  i.expires = expires;
  // The readers' normalisation, through the public helpers.
  switch (t) {
    case Type::kIp: EXPECT_TRUE(parse_cidr(v, i.addr, i.prefix, i.ip_ver)) << v; break;
    case Type::kDomain: {
      char b[256];
      size_t n;
      EXPECT_TRUE(norm_domain(v, b, sizeof b, n));
      i.key.assign(b, n);
      break;
    }
    case Type::kUrl: EXPECT_TRUE(norm_url(v, i.key)) << v; break;
    case Type::kJa3: {
      char b[32];
      EXPECT_TRUE(norm_hex(v, 32, b));
      i.key.assign(b, 32);
      break;
    }
    case Type::kCertSha1: {
      char b[40];
      EXPECT_TRUE(norm_hex(v, 40, b));
      i.key.assign(b, 40);
      break;
    }
    default: break;
  }
  i.type = t;
  i.value = v;
  return i;
}

std::vector<uint32_t> ip_hits(const IntelSet& s, const char* a, uint64_t now = 1) {
  uint8_t b[16] = {};
  uint8_t ver = inet_pton(AF_INET, a, b) == 1 ? 4 : (inet_pton(AF_INET6, a, b), 6);
  Hits h;
  s.match_ip(b, ver, now, h);
  return {h.idx, h.idx + h.n};
}

std::vector<uint32_t> dom_hits(const IntelSet& s, const char* n, uint64_t now = 1) {
  Hits h;
  s.match_domain(n, now, h);
  return {h.idx, h.idx + h.n};
}

TEST(IntelSet, Ipv4ExactAndLongestPrefix) {
  std::vector<Indicator> v = {ind(Type::kIp, "10.0.0.0/8"), ind(Type::kIp, "10.1.0.0/16"),
                              ind(Type::kIp, "192.0.2.7")};
  IntelSet s(std::move(v), {});
  EXPECT_EQ(ip_hits(s, "192.0.2.7"), std::vector<uint32_t>{2});
  EXPECT_TRUE(ip_hits(s, "192.0.2.8").empty());
  EXPECT_EQ(ip_hits(s, "10.1.2.3"), std::vector<uint32_t>{1});  // /16 beats /8
  EXPECT_EQ(ip_hits(s, "10.2.2.3"), std::vector<uint32_t>{0});
  EXPECT_TRUE(ip_hits(s, "11.0.0.1").empty());
}

TEST(IntelSet, Ipv6AndCidrHostBitsCleared) {
  std::vector<Indicator> v = {ind(Type::kIp, "2001:db8::1"), ind(Type::kIp, "2001:db8:abcd::5/48")};
  EXPECT_EQ(v[1].prefix, 48);
  IntelSet s(std::move(v), {});
  EXPECT_EQ(ip_hits(s, "2001:db8::1"), std::vector<uint32_t>{0});
  EXPECT_EQ(ip_hits(s, "2001:db8:abcd:ffff::9"), std::vector<uint32_t>{1});
  EXPECT_TRUE(ip_hits(s, "2001:db8::2").empty());
  EXPECT_TRUE(ip_hits(s, "2001:db8:abce::1").empty());
  EXPECT_TRUE(ip_hits(s, "32.1.13.184").empty());  // IPv4 with the same leading bytes
}

TEST(IntelSet, DomainSuffixCaseAndTrailingDot) {
  std::vector<Indicator> v = {ind(Type::kDomain, "Evil.Example.", true), ind(Type::kDomain, "host.other.org", false)};
  IntelSet s(std::move(v), {});
  EXPECT_EQ(dom_hits(s, "evil.example"), std::vector<uint32_t>{0});
  EXPECT_EQ(dom_hits(s, "EVIL.example."), std::vector<uint32_t>{0});
  EXPECT_EQ(dom_hits(s, "a.b.evil.example"), std::vector<uint32_t>{0});
  EXPECT_TRUE(dom_hits(s, "notevil.example").empty());           // not a child
  EXPECT_TRUE(dom_hits(s, "evil.example.attacker.net").empty());  // prefix, not suffix
  EXPECT_TRUE(dom_hits(s, "example").empty());                    // a parent is not listed
  EXPECT_EQ(dom_hits(s, "HOST.other.org"), std::vector<uint32_t>{1});
  EXPECT_TRUE(dom_hits(s, "www.host.other.org").empty());  // hostname indicators are exact
}

TEST(IntelSet, UrlNormalisedHostAndPath) {
  std::vector<Indicator> v = {ind(Type::kUrl, "http://Bad.Example:80/dl/payload.exe"),
                              ind(Type::kUrl, "https://x.example/a?b=1#frag")};
  EXPECT_EQ(v[0].key, "bad.example/dl/payload.exe");
  EXPECT_EQ(v[1].key, "x.example/a?b=1");
  IntelSet s(std::move(v), {});
  Hits h;
  s.match_http_url("bad.example", "/dl/payload.exe", 1, h);
  EXPECT_EQ(h.n, 1u);
  Hits h2;
  s.match_http_url("BAD.EXAMPLE:80", "/dl/payload.exe?x=2", 1, h2);  // query not in the indicator
  EXPECT_EQ(h2.n, 1u);
  Hits h3;
  s.match_http_url("bad.example", "/dl/payload.exe2", 1, h3);
  EXPECT_EQ(h3.n, 0u);
  Hits h4;
  s.match_http_url("proxy", "http://bad.example/dl/payload.exe", 1, h4);  // absolute form
  EXPECT_EQ(h4.n, 1u);
  Hits h5;
  s.match_http_url("x.example", "/a?b=2", 1, h5);  // a different query
  EXPECT_EQ(h5.n, 0u);
}

TEST(IntelSet, Ja3AndSha1CaseInsensitive) {
  std::vector<Indicator> v = {ind(Type::kJa3, "B386946A5A44D1DDCC843BC75336DFCE"),
                              ind(Type::kCertSha1, "01:A2:5B:6E:2F:27:B1:D1:D7:BA:E6:AD:5C:2F:8C:4F:E8:A2:6D:EB")};
  IntelSet s(std::move(v), {});
  Hits h;
  s.match_ja3("b386946a5a44d1ddcc843bc75336dfce", 1, h);
  EXPECT_EQ(h.n, 1u);
  Hits h2;
  s.match_cert_sha1("01a25b6e2f27b1d1d7bae6ad5c2f8c4fe8a26deb", 1, h2);
  EXPECT_EQ(h2.n, 1u);
  Hits h3;
  s.match_ja3("b386946a5a44d1ddcc843bc75336dfcf", 1, h3);
  EXPECT_EQ(h3.n, 0u);
}

TEST(IntelSet, ExpiryAgainstPacketTime) {
  std::vector<Indicator> v = {ind(Type::kIp, "198.51.100.1", false, 1000)};
  v[0].valid_from = 100;
  IntelSet s(std::move(v), {});
  uint8_t a[16] = {198, 51, 100, 1};
  Hits before, during, after;
  s.match_ip(a, 4, 50, before);
  s.match_ip(a, 4, 999, during);
  s.match_ip(a, 4, 1000, after);
  EXPECT_EQ(before.n, 0u);
  EXPECT_EQ(before.expired, 1u);
  EXPECT_EQ(during.n, 1u);
  EXPECT_EQ(after.n, 0u);
  EXPECT_EQ(after.expired, 1u);
}

TEST(IntelSet, SameValueFromTwoFeedsBothReported) {
  std::vector<Indicator> v = {ind(Type::kDomain, "c2.example", true), ind(Type::kDomain, "c2.example", false)};
  v[1].feed = "other";
  IntelSet s(std::move(v), {});
  EXPECT_EQ(dom_hits(s, "c2.example").size(), 2u);
  EXPECT_EQ(dom_hits(s, "x.c2.example"), std::vector<uint32_t>{0});  // only the subdomain one
  EXPECT_NE(s.at(0).ident, 0u);
}

TEST(IntelSet, ManyIndicatorsNoFalseHits) {
  std::vector<Indicator> v;
  for (int i = 0; i < 5000; i++) v.push_back(ind(Type::kDomain, "d" + std::to_string(i) + ".example", true));
  IntelSet s(std::move(v), {});
  for (int i = 0; i < 5000; i += 499) EXPECT_EQ(dom_hits(s, ("www.d" + std::to_string(i) + ".example").c_str()).size(), 1u);
  EXPECT_TRUE(dom_hits(s, "d5000.example").empty());
}

TEST(IntelParse, TimesAndCidrs) {
  uint64_t ns = 0;
  EXPECT_TRUE(parse_time("2021-01-17 07:44:46", ns));
  EXPECT_EQ(ns, 1610869486ull * 1000000000ull);
  EXPECT_TRUE(parse_time("2021-01-17T07:44:46.500Z", ns));
  EXPECT_EQ(ns, 1610869486500000000ull);
  EXPECT_TRUE(parse_time("1465681304", ns));
  EXPECT_EQ(ns, 1465681304ull * 1000000000ull);
  EXPECT_TRUE(parse_time("2023-01-08", ns));
  EXPECT_FALSE(parse_time("yesterday", ns));
  uint8_t a[16], p, v;
  EXPECT_FALSE(parse_cidr("10.0.0.1/33", a, p, v));
  EXPECT_FALSE(parse_cidr("300.1.1.1", a, p, v));
  EXPECT_FALSE(parse_cidr("10.0.0.1/", a, p, v));
  EXPECT_TRUE(parse_cidr("10.9.8.7/24", a, p, v));
  EXPECT_EQ(a[3], 0);
  EXPECT_EQ(p, 24);
}

}  // namespace
}  // namespace spectre::intel
