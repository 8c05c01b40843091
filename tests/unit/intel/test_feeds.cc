// Feed readers: the documented layouts of MISP feeds (manifest.json + event
// files, MISP core format), STIX 2.1 indicator bundles, abuse.ch CSV lists
// and plain lists, plus malformed input (clear error naming file and line).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <random>

#include "dataplane/intel/intel.h"
#include "tests/unit/tmpdir.h"

namespace spectre::intel {
namespace {

namespace fs = std::filesystem;

struct Tmp : testutil::TmpDir {
  Tmp() : testutil::TmpDir("intel-test") {}
  const fs::path& dir = p;
};

struct Read {
  bool ok;
  std::vector<Indicator> ind;
  FeedSummary sum;
  std::string err;
};

Read read(const std::string& path, Format f = Format::kAuto, const char* name = "f") {
  FeedSpec s;
  s.name = name;
  s.path = path;
  s.format = f;
  Read r;
  r.ok = read_feed(s, r.ind, r.sum, r.err);
  return r;
}

// A JSON string literal for s (quotes, backslashes and controls escaped).
std::string nlohmann_quote(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      o += c == '\n' ? "\\n" : c == '\t' ? "\\t" : " ";
      continue;
    }
    o += c;
  }
  return o + "\"";
}

uint64_t skipped(const FeedSummary& s, const std::string& reason) {
  for (auto& [r, n] : s.skip_reasons)
    if (r == reason) return n;
  return 0;
}

const char* kMispEvent = R"({"Event": {
  "uuid": "5a1b2c3d-0000-4000-8000-000000000001", "info": "Emotet C2 servers", "threat_level_id": "1",
  "Tag": [{"name": "tlp:white"}, {"name": "misp-galaxy:malpedia=\"Emotet\""}],
  "Attribute": [
    {"type": "ip-dst", "value": "203.0.113.10", "to_ids": true, "category": "Network activity", "timestamp": "1600000000"},
    {"type": "ip-dst|port", "value": "203.0.113.11|8080", "to_ids": true, "timestamp": "1600000000"},
    {"type": "domain", "value": "Bad.Example", "to_ids": true, "timestamp": "1600000000",
     "first_seen": "2020-09-01T00:00:00Z", "last_seen": "2020-09-10T00:00:00Z"},
    {"type": "hostname", "value": "www.host.example", "to_ids": true},
    {"type": "url", "value": "http://bad.example/gate.php", "to_ids": true, "category": "Network activity"},
    {"type": "ip-src", "value": "198.51.100.99", "to_ids": false},
    {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "to_ids": true},
    {"type": "ja3-fingerprint-md5", "value": "B386946A5A44D1DDCC843BC75336DFCE", "to_ids": true}
  ],
  "Object": [{"name": "domain-ip", "Attribute": [
    {"type": "domain|ip", "value": "c2.example|2001:db8::66", "to_ids": true},
    {"type": "x509-fingerprint-sha1", "value": "01a25b6e2f27b1d1d7bae6ad5c2f8c4fe8a26deb", "to_ids": true, "Tag": [{"name": "cert"}]}
  ]}]
}})";

TEST(MispFeed, ManifestAndEventFiles) {
  Tmp t;
  t.put("misp/manifest.json", R"({"5a1b2c3d-0000-4000-8000-000000000001": {"info": "Emotet C2 servers",
      "threat_level_id": "1", "timestamp": "1600000000", "Tag": [{"name": "tlp:white"}]}})");
  t.put("misp/5a1b2c3d-0000-4000-8000-000000000001.json", kMispEvent);
  Read r = read((t.dir / "misp").string());
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_EQ(r.sum.format, Format::kMisp);
  ASSERT_EQ(r.ind.size(), 9u);  // 8 to_ids network attributes, domain|ip gives two
  EXPECT_EQ(r.sum.loaded, 9u);
  EXPECT_EQ(skipped(r.sum, "not to_ids"), 1u);
  EXPECT_EQ(skipped(r.sum, "type md5"), 1u);
  const Indicator& ip = r.ind[0];
  EXPECT_EQ(ip.type, Type::kIp);
  EXPECT_EQ(ip.threat, "Emotet");   // from the galaxy tag
  EXPECT_EQ(ip.confidence, 90);     // threat_level_id 1
  EXPECT_EQ(ip.kind, Kind::kC2);    // "C2" in the event info
  EXPECT_EQ(ip.first_seen, 1600000000ull * 1000000000ull);
  EXPECT_EQ(r.ind[1].value, "203.0.113.11");  // the address part of ip-dst|port
  EXPECT_EQ(r.ind[1].prefix, 32);
  EXPECT_EQ(r.ind[2].key, "bad.example");
  EXPECT_TRUE(r.ind[2].subdomains);
  EXPECT_EQ(r.ind[2].last_seen, 1599696000ull * 1000000000ull);
  EXPECT_FALSE(r.ind[3].subdomains);  // hostname: exact
  EXPECT_EQ(r.ind[4].key, "bad.example/gate.php");
  EXPECT_EQ(r.ind[5].type, Type::kJa3);
  EXPECT_EQ(r.ind[5].key, "b386946a5a44d1ddcc843bc75336dfce");
  EXPECT_EQ(r.ind[6].type, Type::kDomain);
  EXPECT_EQ(r.ind[7].type, Type::kIp);
  EXPECT_EQ(r.ind[7].ip_ver, 6);
  EXPECT_EQ(r.ind[8].type, Type::kCertSha1);
  EXPECT_EQ(r.ind[8].tags.back(), "cert");  // attribute tags after the event's
}

TEST(MispFeed, Malformed) {
  Tmp t;
  // Missing event file.
  t.put("a/manifest.json", R"({"5a1b2c3d-0000-4000-8000-00000000000a": {}})");
  Read r = read((t.dir / "a").string());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("5a1b2c3d-0000-4000-8000-00000000000a.json"), std::string::npos) << r.err;
  // Bad JSON in the event file: file, line and column.
  t.put("b/manifest.json", R"({"e1": {}})");
  t.put("b/e1.json", "{\"Event\": {\n \"Attribute\": [\n {\"type\": \"ip-dst\" \"value\": \"1.2.3.4\"}]}}");
  r = read((t.dir / "b").string());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("e1.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
  // A to_ids attribute with a bad address.
  t.put("c/manifest.json", R"({"e2": {}})");
  t.put("c/e2.json", R"({"Event": {"Attribute": [{"type": "ip-dst", "value": "300.1.2.3", "to_ids": true}]}})");
  r = read((t.dir / "c").string());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("300.1.2.3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("e2.json"), std::string::npos) << r.err;
  // Missing value; not an event; no manifest; a manifest key escaping the directory.
  t.put("d/manifest.json", R"({"e3": {}})");
  t.put("d/e3.json", R"({"Event": {"Attribute": [{"type": "domain", "to_ids": true}]}})");
  r = read((t.dir / "d").string());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("no 'type' or 'value'"), std::string::npos) << r.err;
  t.put("e/manifest.json", R"({"e4": {}})");
  t.put("e/e4.json", R"({"Attribute": []})");
  EXPECT_FALSE(read((t.dir / "e").string()).ok);
  fs::create_directories(t.dir / "f");
  r = read((t.dir / "f").string());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("manifest.json"), std::string::npos) << r.err;
  t.put("g/manifest.json", R"({"../e4": {}})");
  EXPECT_FALSE(read((t.dir / "g").string()).ok);
}

const char* kStix = R"({"type": "bundle", "id": "bundle--1", "objects": [
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--1", "name": "Dridex C2",
   "pattern": "[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '203.0.113.0/24']", "pattern_type": "stix",
   "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z", "confidence": 85,
   "indicator_types": ["malicious-activity"]},
  {"type": "indicator", "id": "indicator--2", "pattern": "[domain-name:value = 'phish.example']", "pattern_type": "stix",
   "valid_from": "2020-01-01T00:00:00Z", "labels": ["phishing"]},
  {"type": "indicator", "id": "indicator--3", "pattern": "[url:value = 'http://x.example/a'] OR [ipv6-addr:value = '2001:db8::/32']",
   "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"},
  {"type": "indicator", "id": "indicator--4", "pattern": "[x509-certificate:hashes.'SHA-1' = '01A25B6E2F27B1D1D7BAE6AD5C2F8C4FE8A26DEB']",
   "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"},
  {"type": "indicator", "id": "indicator--5", "pattern": "[network-traffic:extensions.'x-tls-ext'.ja3 = 'b386946a5a44d1ddcc843bc75336dfce']",
   "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"},
  {"type": "indicator", "id": "indicator--6", "revoked": true, "pattern": "[ipv4-addr:value = '192.0.2.1']", "pattern_type": "stix"},
  {"type": "indicator", "id": "indicator--7", "pattern": "[ipv4-addr:value = '192.0.2.2' AND network-traffic:dst_port = 443]", "pattern_type": "stix"},
  {"type": "indicator", "id": "indicator--8", "pattern": "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']", "pattern_type": "stix"},
  {"type": "indicator", "id": "indicator--9", "pattern": "title: x", "pattern_type": "sigma"},
  {"type": "indicator", "id": "indicator--10", "pattern": "[domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']", "pattern_type": "stix"},
  {"type": "indicator", "id": "indicator--11", "pattern": "[ipv4-addr:value = '192.0.2.3'] WITHIN 600 SECONDS", "pattern_type": "stix"},
  {"type": "indicator", "id": "indicator--12", "pattern": "[ipv4-addr:value != '192.0.2.4']", "pattern_type": "stix"},
  {"type": "malware", "id": "malware--1", "name": "Dridex", "is_family": true}
]})";

TEST(StixBundle, SupportedPatternsAndSkips) {
  Tmp t;
  Read r = read(t.put("b.json", kStix));
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_EQ(r.sum.format, Format::kStix);
  ASSERT_EQ(r.ind.size(), 7u);
  EXPECT_EQ(r.ind[0].value, "198.51.100.1");
  EXPECT_EQ(r.ind[1].prefix, 24);
  EXPECT_EQ(r.ind[0].confidence, 85);
  EXPECT_EQ(r.ind[0].threat, "Dridex C2");
  EXPECT_EQ(r.ind[0].kind, Kind::kC2);
  EXPECT_EQ(r.ind[0].valid_until, 1893456000ull * 1000000000ull);
  EXPECT_EQ(r.ind[0].expires, r.ind[0].valid_until);
  EXPECT_EQ(r.ind[2].type, Type::kDomain);
  EXPECT_TRUE(r.ind[2].subdomains);
  EXPECT_EQ(r.ind[2].kind, Kind::kPhishing);  // from labels
  EXPECT_EQ(r.ind[2].confidence, 50);         // no confidence: default
  EXPECT_EQ(r.ind[3].type, Type::kUrl);
  EXPECT_EQ(r.ind[4].ip_ver, 6);
  EXPECT_EQ(r.ind[5].type, Type::kCertSha1);
  EXPECT_EQ(r.ind[6].type, Type::kJa3);
  EXPECT_EQ(r.sum.skipped, 7u);
  EXPECT_EQ(skipped(r.sum, "revoked"), 1u);
  EXPECT_EQ(skipped(r.sum, "unsupported AND"), 1u);
  EXPECT_EQ(skipped(r.sum, "unsupported object path file:hashes.MD5"), 1u);
  EXPECT_EQ(skipped(r.sum, "pattern_type sigma"), 1u);
  EXPECT_EQ(skipped(r.sum, "unsupported FOLLOWEDBY"), 1u);
  EXPECT_EQ(skipped(r.sum, "unsupported qualifier"), 1u);
  EXPECT_EQ(skipped(r.sum, "unsupported operator !="), 1u);
}

TEST(StixBundle, Malformed) {
  Tmp t;
  Read r = read(t.put("a.json", "{\"type\": \"bundle\", \"objects\": [\n{\"type\": \"indicator\",}]}"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("a.json: invalid JSON"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  r = read(t.put("b.json", R"({"type": "indicator", "pattern": "[ipv4-addr:value = '1.2.3.4']"})"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("not a STIX bundle"), std::string::npos) << r.err;
  r = read(t.put("c.json", R"({"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--x"}]})"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("indicator--x"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pattern"), std::string::npos) << r.err;
  r = read(t.put("d.json", R"({"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--y",
      "pattern": "[ipv4-addr:value = '10.0.0.256']", "pattern_type": "stix"}]})"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("10.0.0.256"), std::string::npos) << r.err;
  r = read(t.put("e.json", R"({"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--z",
      "pattern": "[ipv4-addr:value = '10.0.0.1']", "valid_until": "soon"}]})"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("valid_until"), std::string::npos) << r.err;
}

TEST(AbuseChCsv, FeodoWithHeaderCommentAndTtl) {
  Tmp t;
  std::string p = t.put("ipblocklist.csv",
                        "################################################################\n"
                        "# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)          #\n"
                        "################################################################\n"
                        "#\n"
                        "# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
                        "\"2021-01-17 07:44:46\",\"51.38.124.206\",\"443\",\"online\",\"2023-01-08\",\"Emotet\"\n"
                        "\"2022-05-01 10:00:00\",\"198.51.100.7\",\"8080\",\"offline\",\"\",\"QakBot\"\n"
                        "# \"Number of entries: 2\"\n");
  FeedSpec s;
  s.name = "feodo";
  s.path = p;
  s.ttl_s = 86400;
  std::vector<Indicator> v;
  FeedSummary sum;
  std::string err;
  ASSERT_TRUE(read_feed(s, v, sum, err)) << err;
  EXPECT_EQ(sum.format, Format::kFeodo);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].threat, "Emotet");
  EXPECT_EQ(v[0].kind, Kind::kC2);
  EXPECT_EQ(v[0].confidence, 90);
  uint64_t lo;
  ASSERT_TRUE(parse_time("2023-01-08", lo));
  EXPECT_EQ(v[0].last_seen, lo);
  EXPECT_EQ(v[0].expires, lo + 86400ull * 1000000000ull);
  ASSERT_TRUE(parse_time("2022-05-01 10:00:00", lo));  // no last_online: first seen + TTL
  EXPECT_EQ(v[1].expires, lo + 86400ull * 1000000000ull);
  EXPECT_EQ(v[1].tags[1], "c2_status:offline");
}

TEST(AbuseChCsv, SslblAndUrlhaus) {
  Tmp t;
  Read ja3 = read(t.put("ja3.csv", "# ja3_md5,Firstseen,Lastseen,Listingreason\n"
                                   "b386946a5a44d1ddcc843bc75336dfce,2017-07-14 18:08:15,2019-07-27 20:42:54,Dridex\n"));
  ASSERT_TRUE(ja3.ok) << ja3.err;
  EXPECT_EQ(ja3.sum.format, Format::kSslblJa3);
  ASSERT_EQ(ja3.ind.size(), 1u);
  EXPECT_EQ(ja3.ind[0].threat, "Dridex");
  Read cert = read(t.put("cert.csv", "# Listingdate,SHA1,Listingreason\n"
                                     "2022-01-05 11:46:06,01a25b6e2f27b1d1d7bae6ad5c2f8c4fe8a26deb,AsyncRAT C&C\n"));
  ASSERT_TRUE(cert.ok) << cert.err;
  EXPECT_EQ(cert.ind[0].type, Type::kCertSha1);
  EXPECT_EQ(cert.ind[0].threat, "AsyncRAT C&C");
  Read uh = read(t.put("urlhaus.csv",
                       "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"
                       "\"2841360\",\"2024-04-22 09:41:07\",\"http://dl.example:8080/bins/x.sh\",\"online\","
                       "\"2024-04-22 09:41:07\",\"malware_download\",\"elf,mozi\",\"https://urlhaus.abuse.ch/url/2841360/\","
                       "\"geenensp\"\n"));
  ASSERT_TRUE(uh.ok) << uh.err;
  EXPECT_EQ(uh.sum.format, Format::kUrlhaus);
  ASSERT_EQ(uh.ind.size(), 1u);
  EXPECT_EQ(uh.ind[0].key, "dl.example:8080/bins/x.sh");  // non-default port kept
  EXPECT_EQ(uh.ind[0].kind, Kind::kMalwareDownload);
  ASSERT_EQ(uh.ind[0].tags.size(), 3u);
  EXPECT_EQ(uh.ind[0].tags[1], "mozi");
}

TEST(AbuseChCsv, Malformed) {
  Tmp t;
  Read r = read(t.put("a.csv", "# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
                               "\"2021-01-17 07:44:46\",\"51.38.124.206\",\"443\",\"online\",\"2023-01-08\",\"Emotet\"\n"
                               "\"2021-01-17 07:44:46\",\"51.38.124.999\",\"443\",\"online\",\"2023-01-08\",\"Emotet\"\n"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("a.csv:3: bad IP address"), std::string::npos) << r.err;
  r = read(t.put("b.csv", "# ja3_md5,Firstseen,Lastseen,Listingreason\nb386946a5a44d1ddcc843bc75336dfce,2017-07-14\n"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("b.csv:2: expected 4 fields"), std::string::npos) << r.err;
  r = read(t.put("c.csv", "1.2.3.4\n5.6.7.8\n"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("set 'format:'"), std::string::npos) << r.err;
  r = read(t.put("d.csv", "# ja3_md5,Firstseen,Lastseen,Listingreason\nnothex,2017-07-14 18:08:15,2019-07-27 20:42:54,X\n"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("d.csv:2: bad JA3"), std::string::npos) << r.err;
  r = read(t.put("e.csv", "# Listingdate,SHA1,Listingreason\nnot a date,01a25b6e2f27b1d1d7bae6ad5c2f8c4fe8a26deb,X\n"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("e.csv:2: bad Listingdate time"), std::string::npos) << r.err;
  r = read((t.dir / "missing.csv").string());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
}

TEST(PlainList, TypedLinesAndComments) {
  Tmp t;
  FeedSpec s;
  s.name = "doms";
  s.path = t.put("doms.txt", "# my list\nevil.example\n\n  Other.Example.  # trailing comment\n");
  s.format = Format::kPlain;
  std::vector<Indicator> v;
  FeedSummary sum;
  std::string err;
  EXPECT_FALSE(read_feed(s, v, sum, err));  // no type
  EXPECT_NE(err.find("needs 'type:'"), std::string::npos) << err;
  s.has_type = true;
  s.type = Type::kDomain;
  s.confidence = 65;
  s.threat = "lab";
  err.clear();
  ASSERT_TRUE(read_feed(s, v, sum, err)) << err;
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].key, "other.example");
  EXPECT_EQ(v[1].confidence, 65);
  EXPECT_EQ(v[1].threat, "lab");
  s.type = Type::kIp;
  s.path = t.put("ips.txt", "10.0.0.1\n10.0.0.0/8\nbogus\n");
  v.clear();
  EXPECT_FALSE(read_feed(s, v, sum, err));
  EXPECT_NE(err.find("ips.txt:3: bad IP address or CIDR 'bogus'"), std::string::npos) << err;
}

TEST(LoadIntel, BrokenFeedFailsTheWholeSet) {
  Tmp t;
  FeedSpec good;
  good.name = "g";
  good.path = t.put("g.txt", "10.0.0.1\n");
  good.format = Format::kPlain;
  good.has_type = true;
  FeedSpec bad = good;
  bad.name = "b";
  bad.path = t.put("b.txt", "10.0.0.300\n");
  std::string err;
  auto s = load_intel({good}, err);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->size(), 1u);
  EXPECT_NE(s->summary_json().find("\"g\":{\"format\":\"plain\",\"loaded\":1"), std::string::npos) << s->summary_json();
  EXPECT_FALSE(load_intel({good, bad}, err));
  EXPECT_NE(err.find("b.txt:1"), std::string::npos) << err;
}

TEST(Kinds, FromWords) {
  EXPECT_EQ(kind_from_text("AsyncRAT C&C"), Kind::kC2);
  EXPECT_EQ(kind_from_text("botnet_cc"), Kind::kC2);
  EXPECT_EQ(kind_from_text("Phishing kit"), Kind::kPhishing);
  EXPECT_EQ(kind_from_text("malware_download"), Kind::kMalwareDownload);
  EXPECT_EQ(kind_from_text("tlp:white"), Kind::kUnknown);
}

}  // namespace
}  // namespace spectre::intel

namespace spectre::intel {
namespace {

// Mutated inputs: every reader returns (loaded, skipped or a clear error), never crashes or hangs.
TEST(FeedRobustness, MutatedInputs) {
  Tmp t;
  std::mt19937 rng(13);
  const std::string seeds[] = {
      "[ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'a.example'] OR [url:value = 'http://x/y']",
      "\"2021-01-17 07:44:46\",\"51.38.124.206\",\"443\",\"online\",\"2023-01-08\",\"Emotet\"",
      "\"1\",\"2024-04-22 09:41:07\",\"http://[::1]:8080/x?y#z\",\"online\",\"\",\"malware_download\",\"a,b\",\"u\",\"r\""};
  const char alphabet[] = "[]'\"=,:/.\\ ORANDabc019-#\n\t";
  int ok = 0, failed = 0;
  for (int i = 0; i < 900; i++) {
    std::string s = seeds[i % 3];
    int edits = 1 + int(rng() % 6);
    for (int e = 0; e < edits && !s.empty(); e++) {
      size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[at] = alphabet[rng() % (sizeof alphabet - 1)]; break;
        case 1: s.erase(at, 1 + rng() % 4); break;
        default: s.insert(at, 1, alphabet[rng() % (sizeof alphabet - 1)]); break;
      }
    }
    Read r;
    if (i % 3 == 0) {
      std::string j = "{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"id\":\"i\",\"pattern\":" +
                      nlohmann_quote(s) + "}]}";
      r = read(t.put("f.json", j));
    } else {
      std::string hdr = i % 3 == 1 ? "# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
                                   : "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n";
      r = read(t.put("f.csv", hdr + s + "\n"));
    }
    EXPECT_TRUE(r.ok || !r.err.empty()) << s;
    EXPECT_EQ(r.sum.loaded, r.ind.size());
    (r.ok ? ok : failed)++;
  }
  EXPECT_GT(ok, 50);  // the mutations reach both outcomes
  EXPECT_GT(failed, 50);
}

}  // namespace
}  // namespace spectre::intel
