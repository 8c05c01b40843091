// Detection over rules from the text parser, and the ET Open corpus (when
// present under ../shared/corpora/rules): compile figures and an
// engine-vs-reference check on a few realistic payloads.
#include <chrono>
#include <filesystem>
#include <map>

#include "dataplane/rules/loader.h"
#include "tests/unit/detect/detect_util.h"

namespace spectre::detect_test {
namespace {

TEST(DetectParsed, RealisticRules) {
  Harness h;
  h.add(parse(R"(alert http $EXTERNAL_NET any -> $HOME_NET any (msg:"admin uri"; flow:established,to_server; http.uri; content:"/admin"; nocase; http.host; content:"example"; sid:1; rev:1;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"shell"; flow:established; content:"/bin/"; content:"sh"; distance:0; within:4; pcre:"/\/bin\/(ba)?sh/"; sid:2; rev:1;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"no stream"; flow:no_stream; dsize:>3; content:"PING"; depth:4; sid:3; rev:1;))"));
  h.add(parse(R"(alert dns any any -> any any (msg:"dns"; dns.query; content:"evil"; endswith; sid:4; rev:1;))"));
  h.compile();
  EXPECT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 40000, 80, 0x08080808, 0xc0a80001);  // external -> home
  pk.p.app_proto = rules::AppProto::kHttp;
  std::string uri = "/ADMIN/login", host = "www.example.com";
  BufferSet b;
  b.set(rules::kHttpUri, reinterpret_cast<const uint8_t*>(uri.data()), uint32_t(uri.size()));
  b.set(rules::kHttpHost, reinterpret_cast<const uint8_t*>(host.data()), uint32_t(host.size()));
  EXPECT_EQ(h.app(pk.p, b), Sids{1});
  EXPECT_EQ(h.pay(pk.p, "x=/bin/bash", PayloadMode::kStreamChunk), Sids{2});
  EXPECT_EQ(h.pay(pk.p, "x=/bin/xsh", PayloadMode::kStreamChunk), Sids{});
  EXPECT_EQ(h.pay(pk.p, "PING x", PayloadMode::kTcpPacket), Sids{3});
  EXPECT_EQ(h.pay(pk.p, "PING x", PayloadMode::kStreamChunk), Sids{});
  Pkt dns(17, 5353, 53);
  dns.p.app_proto = rules::AppProto::kDns;
  std::string q = "www.evil";
  BufferSet d;
  d.set(rules::kDnsQuery, reinterpret_cast<const uint8_t*>(q.data()), uint32_t(q.size()));
  EXPECT_EQ(h.app(dns.p, d), Sids{4});
}

// A byte_extract value read after an absolute content: when the check fails
// for the first "k", the later ones are tried (the content "z" between them
// does not make the fail final). Found by the differential test (seed 316).
TEST(DetectParsed, VariableSetBeforeAnAbsoluteContentIsRetried) {
  Harness h;
  h.add(parse(R"(alert tcp any any -> any any (msg:"v"; content:"k"; byte_extract:1,0,v,relative,string,dec; content:"z"; isdataat:!v,relative; sid:5; rev:1;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"p"; content:"k"; byte_extract:1,0,v,relative,string,dec; pcre:"/z/"; isdataat:!v,relative; sid:6; rev:1;))"));
  h.compile();
  EXPECT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 40000, 80);
  EXPECT_EQ(h.pay(pk.p, "k1 k9 zab"), (Sids{5, 6}));  // the second k: 9 bytes past z's end
  EXPECT_EQ(h.pay(pk.p, "k1 k2 zab"), Sids{});        // no k leaves z's end near enough
  EXPECT_EQ(h.pay(pk.p, "k9 zab"), (Sids{5, 6}));
}

std::string et_open_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const char* d : {"/work/shared/corpora/rules/et-open", "../shared/corpora/rules/et-open",
                        "../../shared/corpora/rules/et-open"})
    if (fs::is_directory(d, ec)) return d;
  return "";
}

TEST(DetectParsed, EtOpenCompileAndReference) {
  std::string dir = et_open_dir();
  if (dir.empty()) GTEST_SKIP() << "ET Open corpus not present";
  rules::LoadOptions lo;
  lo.rules_dir = dir;
  Harness h;
  rules::LoadReport lrep;
  std::string err;
  ASSERT_TRUE(rules::load_rules(lo, h.rs, lrep, err)) << err;
  h.compile();
  const CompileReport& r = h.rep;
  printf("ET Open: %zu loaded, %u compiled, %u rejected, %u patterns, %u databases, %u groups, %u pcre jit, "
         "%.0f ms, db %.1f MiB, scratch %.1f KiB\n",
         h.rs.rules.size(), r.rules, r.rejected, r.patterns, r.databases, r.groups, r.pcre_jit, r.compile_ms,
         r.db_bytes / 1048576.0, r.scratch_bytes / 1024.0);
  std::map<std::string, int> why;
  for (const auto& m : r.messages) why[m.substr(m.find(": ") + 2, 40)]++;
  for (const auto& [k, n] : why) printf("  rejected %5d  %s\n", n, k.c_str());
  EXPECT_GT(r.rules, h.rs.rules.size() * 9 / 10);
  // A few realistic calls: both engines must agree.
  const char* payloads[] = {
      "GET /index.php?id=1%20UNION%20SELECT HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/4.0\r\n\r\n",
      "POST /cgi-bin/test.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n() { :;}; /bin/bash",
      "HTTP/1.1 200 OK\r\nServer: Apache\r\nContent-Type: text/html\r\n\r\n<html><script>eval(unescape(",
      "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
      "USER anonymous\r\nPASS guest\r\n",
      "",
  };
  uint64_t alerts = 0;
  for (const char* pl : payloads) {
    for (int dir2 = 0; dir2 < 2; dir2++) {
      Pkt pk = dir2 ? Pkt(6, 80, 40000, 0xc0a80001, 0x08080808) : Pkt(6, 40000, 80, 0x08080808, 0xc0a80001);
      pk.p.to_server = dir2 == 0;
      pk.p.app_proto = rules::AppProto::kHttp;
      for (int m = 0; m < 3; m++) alerts += h.pay(pk.p, pl, static_cast<PayloadMode>(m)).size();
    }
  }
  std::string uri = "/wp-admin/admin-ajax.php?action=revslider_show_image&img=../wp-config.php";
  std::string ua = "Mozilla/5.0 (compatible; Nmap Scripting Engine)", host = "example.com", meth = "GET";
  BufferSet b;
  b.set(rules::kHttpUri, reinterpret_cast<const uint8_t*>(uri.data()), uint32_t(uri.size()));
  b.set(rules::kHttpUriRaw, reinterpret_cast<const uint8_t*>(uri.data()), uint32_t(uri.size()));
  b.set(rules::kHttpUserAgent, reinterpret_cast<const uint8_t*>(ua.data()), uint32_t(ua.size()));
  b.set(rules::kHttpHost, reinterpret_cast<const uint8_t*>(host.data()), uint32_t(host.size()));
  b.set(rules::kHttpMethod, reinterpret_cast<const uint8_t*>(meth.data()), uint32_t(meth.size()));
  Pkt pk(6, 40000, 80, 0x08080808, 0xc0a80001);
  pk.p.app_proto = rules::AppProto::kHttp;
  alerts += h.app(pk.p, b).size();
  printf("ET Open: %llu alerts, engine == reference\n", (unsigned long long)alerts);
  EXPECT_GT(alerts, 0u);
}

}  // namespace
}  // namespace spectre::detect_test
