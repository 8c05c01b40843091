// The REST API without sockets: router, tokens and roles, the rate limiter,
// the cursor codec, query validation and the SQL it builds, the PDF writer,
// CSV quoting, static files, and ApiService::handle over a real store.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "ctrlplane/api/auth.h"
#include "ctrlplane/api/explain.h"
#include "ctrlplane/api/params.h"
#include "ctrlplane/api/pdf.h"
#include "ctrlplane/api/router.h"
#include "ctrlplane/api/service.h"
#include "ctrlplane/store/sqlite_store.h"

using namespace spectre::api;
namespace st = spectre::store;

TEST(ApiRouter, LiteralsBeatPlaceholdersAnd405) {
  Router r;
  int hit = 0;
  r.add("GET", "/api/v1/alerts/{id}", Role::kViewer, [&](Request&) { hit = 1; return Response{}; });
  r.add("GET", "/api/v1/alerts/export", Role::kViewer, [&](Request&) { hit = 2; return Response{}; });
  r.add("POST", "/api/v1/alerts/bulk", Role::kAnalyst, [&](Request&) { hit = 3; return Response{}; });
  Request q;
  const Route* rt = nullptr;
  std::string allow;
  q.method = "GET";
  q.path = "/api/v1/alerts/export";
  ASSERT_EQ(r.match(q, rt, allow), Router::Match::kFound);
  rt->fn(q);
  EXPECT_EQ(hit, 2);
  q.path = "/api/v1/alerts/42";
  ASSERT_EQ(r.match(q, rt, allow), Router::Match::kFound);
  EXPECT_EQ(q.params, std::vector<std::string>{"42"});
  q.path = "/api/v1/alerts/42/x";
  EXPECT_EQ(r.match(q, rt, allow), Router::Match::kNoPath);
  q.method = "DELETE";
  q.path = "/api/v1/alerts/bulk";
  EXPECT_EQ(r.match(q, rt, allow), Router::Match::kNoMethod);
  EXPECT_NE(allow.find("POST"), std::string::npos);
}

TEST(ApiRouter, QueryAndPercentDecoding) {
  std::map<std::string, std::string> m;
  ASSERT_TRUE(parse_query("a=1&b=x+y%2Fz&c=&a=2", m));
  EXPECT_EQ(m["a"], "2");
  EXPECT_EQ(m["b"], "x y/z");
  EXPECT_EQ(m["c"], "");
  m.clear();
  EXPECT_FALSE(parse_query("a=%zz", m));
  EXPECT_FALSE(parse_query("a=%2", m));
  std::string out;
  EXPECT_TRUE(url_decode("/a%20b", out, false));
  EXPECT_EQ(out, "/a b");
}

TEST(ApiAuth, TokensFileAndBearer) {
  TokenStore t;
  std::string err;
  std::string yaml = "tokens:\n  - {name: a, role: analyst, token: plain-token-123}\n  - {name: b, role: admin, sha256: " +
                     sha256_hex("other-token-456") + "}\n";
  ASSERT_TRUE(t.load_yaml(yaml, err)) << err;
  auto a = t.find("plain-token-123");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->role, Role::kAnalyst);
  EXPECT_EQ(t.find("other-token-456")->name, "b");
  EXPECT_FALSE(t.find("nope"));
  EXPECT_FALSE(t.find(""));
  for (const char* bad : {"tokens: 3", "tokens:\n  - {name: a, role: root, token: 12345678}",
                          "tokens:\n  - {role: admin, token: 12345678}", "tokens:\n  - {name: a, role: admin, token: short}",
                          "tokens:\n  - {name: a, role: admin, sha256: abc}", "tokens:\n  - {name: a, role: admin}", "[: bad"}) {
    TokenStore u;
    EXPECT_FALSE(u.load_yaml(bad, err)) << bad;
    EXPECT_FALSE(err.empty());
  }
  TokenStore u;
  EXPECT_FALSE(u.load_yaml("tokens:\n  - {name: a\n", err));
  EXPECT_EQ(err.rfind("line ", 0), 0u) << err;  // load_file prefixes the path
  EXPECT_EQ(bearer("Bearer abc"), "abc");
  EXPECT_EQ(bearer("bearer  abc "), "abc");
  EXPECT_EQ(bearer("Basic abc"), "");
  EXPECT_EQ(bearer(""), "");
}

TEST(ApiAuth, TokenBucket) {
  RateLimiter l(10, 5);  // 10/s, burst 5
  auto t0 = RateLimiter::Clock::now();
  int ok = 0;
  for (int i = 0; i < 20; i++) ok += l.allow("a", t0);
  EXPECT_EQ(ok, 5);
  EXPECT_TRUE(l.allow("b", t0));  // per key
  double retry = 0;
  EXPECT_FALSE(l.allow("a", 0, 0, t0, &retry));
  EXPECT_NEAR(retry, 0.1, 0.01);
  EXPECT_TRUE(l.allow("a", t0 + std::chrono::milliseconds(110)));   // one token back after 0.1 s
  EXPECT_FALSE(l.allow("a", t0 + std::chrono::milliseconds(120)));
  ok = 0;
  for (int i = 0; i < 20; i++) ok += l.allow("a", t0 + std::chrono::seconds(10));  // refilled to the burst, not more
  EXPECT_EQ(ok, 5);
  ok = 0;
  for (int i = 0; i < 5; i++) ok += l.allow("c", 1, 2, t0);  // per-token overrides
  EXPECT_EQ(ok, 2);
}

TEST(ApiParams, CursorCodec) {
  for (uint64_t id : {1ull, 42ull, 1234567890123ull, ~0ull}) {
    for (int64_t ts : {int64_t(0), int64_t(1764547200123), int64_t(-5)}) {
      uint64_t back = 0;
      int64_t bts = 7;
      std::string c = encode_cursor('a', id, ts);
      ASSERT_TRUE(decode_cursor(c, 'a', back, &bts)) << c;
      EXPECT_EQ(back, id);
      EXPECT_EQ(bts, ts);
      EXPECT_FALSE(decode_cursor(c, 'i', back));  // another list's cursor
    }
    uint64_t back = 0;
    ASSERT_TRUE(decode_cursor(encode_cursor('i', id), 'i', back));
    EXPECT_EQ(back, id);
  }
  uint64_t v = 0;
  for (std::string bad : {std::string(), std::string("!!!"), b64url_encode("a1:"), b64url_encode("a1:x"), b64url_encode("hello"),
                          b64url_encode("a1:5:0"), b64url_encode("a1:5"), b64url_encode("a1:x:5"), b64url_encode("i1:0"),
                          std::string(100, 'A')})
    EXPECT_FALSE(decode_cursor(bad, 'a', v)) << bad;
  std::string out;
  EXPECT_TRUE(b64url_decode(b64url_encode(std::string("\x00\xff\x10zz", 5)), out));
  EXPECT_EQ(out, std::string("\x00\xff\x10zz", 5));
}

TEST(ApiParams, NumbersAndSeverities) {
  uint64_t v = 0;
  ASSERT_TRUE(parse_u64("18446744073709551615", v));
  EXPECT_EQ(v, ~0ull);
  ASSERT_TRUE(parse_u64("007", v));
  EXPECT_EQ(v, 7u);
  for (const char* bad : {"", "18446744073709551616", "000000000000000000001", "+1", "-1", " 1", "1 ", "1x", "0x10"}) {
    v = 42;
    EXPECT_FALSE(parse_u64(bad, v)) << bad;
    EXPECT_EQ(v, 42u) << bad;  // untouched on failure
  }
  int sev = 0;
  for (auto [text, want] : std::vector<std::pair<const char*, int>>{
           {"1", 1}, {"4", 4}, {"critical", 1}, {"high", 1}, {"medium", 2}, {"low", 3}, {"info", 4}}) {
    ASSERT_TRUE(parse_severity(text, sev)) << text;
    EXPECT_EQ(sev, want) << text;
  }
  for (const char* bad : {"0", "5", "", "High", "informational", "12"}) EXPECT_FALSE(parse_severity(bad, sev)) << bad;
  EXPECT_EQ(level_rank("info"), 0);
  EXPECT_EQ(level_rank("medium"), 2);
  EXPECT_EQ(level_rank("critical"), 4);
  EXPECT_EQ(level_rank("informational"), -1);
  EXPECT_EQ(level_rank(""), -1);
}

TEST(ApiParams, AlertQueryValidationAndSql) {
  Request r;
  r.query = {{"severity", "high"}, {"sid", "2001"}, {"cidr", "10.0.0.0/8"}, {"from", "2025-12-01T00:00:00Z"},
             {"status", "new"}, {"limit", "50"}, {"q", "50%_off"}, {"tactic", "TA0001"}};
  st::AlertQuery q;
  std::string err;
  ASSERT_TRUE(alert_query(r, q, err)) << err;
  EXPECT_EQ(q.max_severity, 1);
  EXPECT_EQ(q.sid, 2001u);
  EXPECT_EQ(q.cidr->lo, 0x0a000000u);
  EXPECT_EQ(q.limit, 50u);
  std::string sql;
  std::vector<st::Bind> b;
  st::build_alert_query(q, sql, b);
  EXPECT_NE(sql.find("ORDER BY ts DESC, id DESC LIMIT 50"), std::string::npos) << sql;
  EXPECT_NE(sql.find("sid = ?"), std::string::npos);
  EXPECT_NE(sql.find("ts >= ?"), std::string::npos);
  EXPECT_EQ(sql.find("ts <= ?"), std::string::npos);  // no upper bound given
  bool escaped = false;
  for (auto& x : b)
    if (auto s = std::get_if<std::string>(&x)) escaped |= *s == "%50\\%\\_off%";
  EXPECT_TRUE(escaped);  // LIKE wildcards in user text are literal
  size_t marks = 0;
  for (char c : sql) marks += c == '?';
  EXPECT_EQ(marks, b.size());
  std::vector<std::map<std::string, std::string>> bad = {
      {{"limit", "0"}}, {{"limit", "1001"}}, {{"limit", "x"}}, {{"severity", "9"}}, {{"sid", "-1"}},
      {{"ip", "10.0.0.300"}}, {{"cidr", "::/0"}}, {{"status", "done"}}, {{"from", "yesterday"}},
      {{"cursor", "zzz"}}, {{"bogus", "1"}}, {{"from", "2025-12-02T00:00:00Z"}, {"to", "2025-12-01T00:00:00Z"}}};
  for (auto& m : bad) {
    Request x;
    x.query = m;
    st::AlertQuery y;
    EXPECT_FALSE(alert_query(x, y, err)) << m.begin()->first;
    EXPECT_FALSE(err.empty());
  }
  Request inc;
  inc.query = {{"level", "high"}, {"ip", "::1"}};
  st::IncidentQuery iq;
  ASSERT_TRUE(incident_query(inc, iq, err)) << err;
  inc.query = {{"level", "severe"}};
  EXPECT_FALSE(incident_query(inc, iq, err));
}

TEST(ApiPdf, HeaderAndXrefOffsets) {
  std::vector<PdfLine> lines;
  for (int i = 0; i < 150; i++) lines.push_back({"line (" + std::to_string(i) + ") \\ caf\xc3\xa9 \xe2\x82\xac"});
  std::string pdf = make_pdf("Title", lines);
  ASSERT_EQ(pdf.rfind("%PDF-1.4", 0), 0u);
  ASSERT_NE(pdf.find("%%EOF"), std::string::npos);
  size_t sx = pdf.rfind("startxref\n");
  size_t xref = std::stoul(pdf.substr(sx + 10));
  ASSERT_EQ(pdf.compare(xref, 5, "xref\n"), 0);
  std::smatch m;
  std::string tail = pdf.substr(xref);
  ASSERT_TRUE(std::regex_search(tail, m, std::regex("xref\n0 (\\d+)\n")));
  int n = std::stoi(m[1]);
  EXPECT_EQ(n, 3 + 2 * 3 + 1);  // 151 lines: 3 pages
  size_t pos = xref + m[0].length() + 20;  // past the free entry
  for (int obj = 1; obj < n; obj++, pos += 20) {
    size_t off = std::stoul(pdf.substr(pos, 10));
    EXPECT_EQ(pdf.compare(off, std::to_string(obj).size() + 6, std::to_string(obj) + " 0 obj"), 0) << obj;
  }
  EXPECT_NE(pdf.find("(line \\(0\\) \\\\ caf\\351 ?)"), std::string::npos);  // escaped, Latin-1, ? for the euro
}

TEST(ApiViews, CsvFieldAndSet) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("=cmd()"), "'=cmd()");
  st::AnalystSet s;
  std::string c, err;
  EXPECT_TRUE(parse_set(J{{"status", "resolved"}, {"comment", "x"}}, s, &c, err)) << err;
  EXPECT_EQ(*s.status, "resolved");
  EXPECT_FALSE(s.assignee);
  EXPECT_FALSE(parse_set(J{{"status", "done"}}, s, &c, err));
  EXPECT_FALSE(parse_set(J::object(), s, &c, err));
  EXPECT_FALSE(parse_set(J{{"owner", "x"}}, s, &c, err));
  EXPECT_FALSE(parse_set(J{{"assignee", 5}}, s, &c, err));
  EXPECT_FALSE(parse_set(J{{"comment", "x"}}, s, nullptr, err));  // bulk takes no comment
}

namespace {
struct Fixture {
  std::string dir;
  std::unique_ptr<st::SqliteStore> store;
  std::unique_ptr<ApiService> svc;
  explicit Fixture(ServiceHooks hooks = {}, size_t q_scan_rows = 50000) {
    char t[] = "/tmp/api-test-XXXXXX";
    dir = mkdtemp(t);
    st::SqliteOptions o;
    o.path = dir + "/s.db";
    std::string err;
    store = st::SqliteStore::open(o, err);
    TokenStore tk;
    tk.add("viewer-token", {"v", Role::kViewer});
    tk.add("analyst-token", {"a", Role::kAnalyst});
    tk.add("admin-token", {"root", Role::kAdmin, 1, 3});
    tk.add("ops-token", {"ops", Role::kAdmin});
    std::filesystem::create_directories(dir + "/console/assets");
    std::ofstream(dir + "/console/index.html") << "<html>console</html>";
    std::ofstream(dir + "/console/assets/app.js") << "console.log(1)";
    std::ofstream(dir + "/secret.txt") << "secret";
    symlink((dir + "/secret.txt").c_str(), (dir + "/console/link.txt").c_str());
    ServiceOptions so;
    so.console_dir = dir + "/console";
    so.q_scan_rows = q_scan_rows;
    svc = std::make_unique<ApiService>(*store, std::move(tk), so, std::move(hooks));
    for (int i = 0; i < 5; i++) {
      st::AlertRow a;
      a.ts_ms = 1764547200000 + i;
      a.sid = 7;
      a.signature = "S";
      a.src_ip = "1.1.1.1";
      a.dest_ip = "2.2.2.2";
      a.eve = "{}";
      store->enqueue_alert(a);
    }
    store->flush();
  }
  ~Fixture() { store->close(); std::filesystem::remove_all(dir); }
  Response call(const std::string& m, const std::string& path, const std::string& token, const std::string& body = "",
                std::map<std::string, std::string> q = {}) {
    Request r;
    r.method = m;
    r.path = path;
    r.query = std::move(q);
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    r.headers["content-type"] = "application/json";
    r.body = body;
    return svc->handle(r);
  }
};
}  // namespace

TEST(ApiService, RolesTokensAndAudit) {
  Fixture f;
  EXPECT_EQ(f.call("GET", "/api/v1/alerts", "").status, 401);
  EXPECT_EQ(f.call("GET", "/api/v1/alerts", "wrong-token").status, 401);
  EXPECT_EQ(f.call("GET", "/api/v1/alerts", "viewer-token").status, 200);
  EXPECT_EQ(f.call("GET", "/api/v1/health", "").status, 200);
  EXPECT_EQ(f.call("PATCH", "/api/v1/alerts/1", "viewer-token", R"({"status":"resolved"})").status, 403);
  EXPECT_EQ(f.call("PATCH", "/api/v1/alerts/1", "analyst-token", R"({"status":"resolved"})").status, 200);
  EXPECT_EQ(f.call("GET", "/api/v1/webhooks", "analyst-token").status, 403);
  EXPECT_EQ(f.call("PATCH", "/api/v1/alerts/1", "analyst-token", "{bad json").status, 400);
  EXPECT_EQ(f.call("PATCH", "/api/v1/alerts/abc", "analyst-token", R"({"status":"resolved"})").status, 400);
  EXPECT_EQ(f.call("PATCH", "/api/v1/alerts/99", "analyst-token", R"({"status":"resolved"})").status, 404);
  EXPECT_EQ(f.call("DELETE", "/api/v1/alerts", "admin-token").status, 405);
  EXPECT_EQ(f.call("GET", "/api/v1/nope", "admin-token").status, 404);
  // The admin token's bucket: rate 1/s, burst 3 (3 calls above used none of it; these use it up).
  int limited = 0;
  for (int i = 0; i < 5; i++) limited += f.call("GET", "/api/v1/audit", "admin-token").status == 429;
  EXPECT_EQ(limited, 2);
  auto log = f.store->audit_log(100);
  ASSERT_GE(log.size(), 5u);
  bool ok_patch = false, refused = false;
  for (auto& e : log) {
    ok_patch |= e.action == "PATCH" && e.actor == "a" && e.target == "/alerts/1";
    refused |= e.action == "refused PATCH" && e.actor == "v";
  }
  EXPECT_TRUE(ok_patch);
  EXPECT_TRUE(refused);
  EXPECT_EQ(f.store->get_alert(1)->status, "resolved");
}

// /incidents?q= with a term the index cannot narrow (2 characters): with a
// bound of 4 incidents a page, the pages carry partial {scanned} and a cursor
// at the last incident tested until the last; followed, they list every match
// once, newest first. /search says incidents_partial. Answers follow the
// OpenAPI shape (IncidentList, Search).
TEST(ApiService, IncidentSearchBoundedWithPartialAndCursor) {
  Fixture f({}, 4);
  std::vector<uint64_t> want;
  for (uint64_t id = 1; id <= 18; id++) {
    st::IncidentRow r;
    r.id = id;
    r.first_ms = r.last_ms = 1764547200000 + int64_t(id);
    r.event = "opened";
    r.record = id % 5 == 2 ? R"({"summary":"qz here"})" : R"({"summary":"nothing"})";
    f.store->enqueue_incident(r);
    if (id % 5 == 2) want.insert(want.begin(), id);
  }
  f.store->flush();
  std::vector<uint64_t> got;
  std::map<std::string, std::string> q = {{"q", "QZ"}, {"limit", "3"}};
  int partial = 0;
  for (int page = 0; page < 20; page++) {
    auto r = f.call("GET", "/api/v1/incidents", "viewer-token", "", q);
    ASSERT_EQ(r.status, 200) << r.body;
    J j = J::parse(r.body);
    for (auto& x : j["items"]) got.push_back(x["id"].get<uint64_t>());
    if (j.contains("partial")) {
      partial++;
      EXPECT_EQ(j["partial"]["scanned"], 4) << r.body;
      EXPECT_LT(j["items"].size(), 3u);
      EXPECT_TRUE(j["next_cursor"].is_string());
    }
    if (j["next_cursor"].is_null()) break;
    q["cursor"] = j["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(got, want);  // 17, 12, 7, 2
  EXPECT_GE(partial, 3);  // 18 incidents at 4 a page
  auto r = f.call("GET", "/api/v1/search", "viewer-token", "", {{"q", "qz"}, {"limit", "10"}});
  ASSERT_EQ(r.status, 200) << r.body;
  J j = J::parse(r.body);
  EXPECT_EQ(j["incidents_partial"]["scanned"], 4) << r.body;
  EXPECT_EQ(j["incidents"].size(), 1u);  // 17: the only match among 18..15
  EXPECT_EQ(j["alerts_partial"]["scanned"], 4) << r.body;  // 5 alerts, none matches: cut at 4
}

TEST(ApiService, BulkLimitAndWebhookSecret) {
  Fixture f;
  J ids = J::array();
  for (int i = 1; i <= 10001; i++) ids.push_back(i);
  EXPECT_EQ(f.call("POST", "/api/v1/alerts/bulk", "analyst-token", J{{"ids", ids}, {"set", {{"status", "resolved"}}}}.dump()).status, 413);
  ids.erase(ids.end() - 1);
  auto r = f.call("POST", "/api/v1/alerts/bulk", "analyst-token", J{{"ids", ids}, {"set", {{"assignee", "bob"}}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  J j = J::parse(r.body);
  EXPECT_EQ(j["updated"], 5);
  EXPECT_EQ(j["missing"].size(), 9995u);
  r = f.call("POST", "/api/v1/webhooks", "admin-token", R"({"url":"https://soar.example/hook","secret":"0123456789abcdef0123"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body.find("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(J::parse(r.body)["secret_set"].get<bool>());
  auto log = f.store->audit_log(10);
  for (auto& e : log) EXPECT_EQ(e.detail.find("0123456789abcdef"), std::string::npos) << e.detail;
  EXPECT_EQ(f.call("POST", "/api/v1/webhooks", "admin-token", R"({"url":"ftp://x"})").status, 400);
}

// PUT /siem: bad input is a 400 with the reason and reaches neither the
// exporter nor the store; a refusal of the exporter (unresolvable host) is a
// 400 too; a good one is applied, stored (GET shows it) and audited with the
// previous value.
TEST(ApiService, SiemValidatedAppliedStoredAudited) {
  std::vector<std::string> applied;
  ServiceHooks h;
  h.siem_apply = [&](const std::string& t, const std::string& f, const std::string& l, std::string& err) {
    if (t.find("nowhere.invalid") != std::string::npos) { err = "target: syslog: cannot resolve 'nowhere.invalid'"; return false; }
    applied.push_back(t + " " + f + " " + l);
    return true;
  };
  Fixture f(h);
  std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"target":"udp://127.0.0.1:0"})", "port"},        {R"({"target":"udp://127.0.0.1:65536"})", "port"},
      {R"({"target":"udp://127.0.0.1"})", "HOST:PORT"},     {R"({"target":"udp://bad host:514"})", "host"},
      {R"({"target":"http://x:1"})", "target"},             {R"({"target":"udp://h:514","format":"xml"})", "format"},
      {R"({"target":"udp://h:514","min_level":"loud"})", "min_level"}, {R"({"target":5})", "string"},
      {R"({"target":"udp://h:514","extra":"1"})", "unknown field"}, {R"([1])", "object"},
      {R"({"target":"udp://nowhere.invalid:514"})", "cannot resolve"}};
  for (auto& [body, why] : bad) {
    auto r = f.call("PUT", "/api/v1/siem", "ops-token", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.body.find(why), std::string::npos) << body << " -> " << r.body;
  }
  EXPECT_TRUE(applied.empty());
  EXPECT_EQ(J::parse(f.call("GET", "/api/v1/siem", "ops-token").body)["target"], "");
  auto r = f.call("PUT", "/api/v1/siem", "ops-token", R"({"target":"tcp://[::1]:6514","format":"cef","min_level":"high"})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0], "tcp://[::1]:6514 cef high");
  J g = J::parse(f.call("GET", "/api/v1/siem", "ops-token").body);
  EXPECT_EQ(g["target"], "tcp://[::1]:6514");
  EXPECT_EQ(g["format"], "cef");
  EXPECT_EQ(g["min_level"], "high");
  ASSERT_EQ(f.call("PUT", "/api/v1/siem", "ops-token", R"({"target":""})").status, 200);  // off
  EXPECT_EQ(applied.back(), " json medium");
  int siem_rows = 0;
  for (auto& e : f.store->audit_log(100))
    if (e.action == "siem") {
      siem_rows++;
      EXPECT_EQ(e.actor, "ops");
      if (e.detail.find("\"target\":\"\"}") != std::string::npos && e.detail.rfind("{\"format\":\"cef\"", 0) == 0) siem_rows += 10;
    }
  EXPECT_EQ(siem_rows, 12);  // two changes; the second's detail starts with the previous (cef) value
  EXPECT_EQ(f.call("PUT", "/api/v1/siem", "analyst-token", R"({"target":""})").status, 403);
}

TEST(ApiService, StaticFilesNoTraversal) {
  Fixture f;
  auto r = f.call("GET", "/", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<html>console</html>");
  r = f.call("GET", "/assets/app.js", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/javascript");
  EXPECT_EQ(f.call("GET", "/incidents/42", "").body, "<html>console</html>");  // client route
  EXPECT_EQ(f.call("GET", "/missing.js", "").status, 404);
  EXPECT_EQ(f.call("GET", "/../secret.txt", "").status, 400);
  EXPECT_EQ(f.call("GET", "/assets/../../secret.txt", "").status, 400);
  EXPECT_EQ(f.call("GET", "/link.txt", "").status, 404);  // a symlink out of the directory
  EXPECT_EQ(f.call("POST", "/", "").status, 405);
}

#include "ctrlplane/api/ingest.h"
namespace stream = spectre::stream;

TEST(ApiIngest, SeqIsStoreIdPublishAndReplay) {
  char t[] = "/tmp/api-ingest-XXXXXX";
  std::string dir = mkdtemp(t);
  st::SqliteOptions o;
  o.path = dir + "/s.db";
  std::string err;
  auto store = st::SqliteStore::open(o, err);
  ASSERT_TRUE(store) << err;
  Ingest in(*store);
  std::vector<stream::StreamEvent> pub;
  in.set_publish([&](stream::StreamEvent&& e) { pub.push_back(std::move(e)); });
  for (int i = 0; i < 5; i++)
    in.on_alert(R"({"timestamp":"2025-12-01T00:00:0)" + std::to_string(i) +
                R"(Z","event_type":"alert","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","alert":{"signature_id":9,"signature":"S","severity":2}})");
  in.on_alert("not json");
  in.on_alert(R"({"event_type":"flow"})");
  const char* rec = R"({"timestamp":"2025-12-01T00:00:09Z","event_type":"incident","incident":{"incident_id":4,"event":"opened",)"
                    R"("first_seen":"2025-12-01T00:00:01Z","last_seen":"2025-12-01T00:00:09Z","risk":{"level":"high","score":80}}})";
  in.on_incident(rec);
  in.on_incident(rec);
  EXPECT_EQ(in.bad_lines(), 2u);
  ASSERT_EQ(pub.size(), 7u);
  for (int i = 0; i < 5; i++) {
    EXPECT_EQ(pub[i].channel, stream::Channel::kAlerts);
    EXPECT_EQ(pub[i].seq, uint64_t(i + 1));  // alerts: seq == the store id
    EXPECT_EQ(pub[i].key, "9:10.0.0.1:10.0.0.2");
    EXPECT_EQ(J::parse(pub[i].json)["id"], i + 1);
  }
  EXPECT_EQ(pub[5].channel, stream::Channel::kIncidents);
  EXPECT_EQ(pub[5].seq, 1u);  // incidents: seq == the update row id
  EXPECT_EQ(pub[6].seq, 2u);
  EXPECT_EQ(pub[5].severity, 1);
  EXPECT_EQ(pub[5].level, "high");
  store->flush();
  std::vector<stream::StreamEvent> rep;
  ASSERT_TRUE(in.replay(stream::Channel::kAlerts, 2, 100, rep));
  ASSERT_EQ(rep.size(), 3u);
  EXPECT_EQ(rep[0].seq, 3u);
  EXPECT_EQ(rep[0].json, pub[2].json);  // the same object as published
  rep.clear();
  ASSERT_TRUE(in.replay(stream::Channel::kIncidents, 0, 100, rep));
  EXPECT_EQ(rep.size(), 2u);
  rep.clear();
  EXPECT_TRUE(in.replay(stream::Channel::kFlows, 0, 100, rep));  // flows: from the store (none kept here)
  EXPECT_TRUE(rep.empty());
  st::RetentionPolicy p;
  p.max_age_ms = 1;
  store->apply_retention(p, 1764547203000);  // drops alerts 1..3 (before 00:00:03)
  rep.clear();
  EXPECT_FALSE(in.replay(stream::Channel::kAlerts, 1, 100, rep));   // 2 and 3 are gone: the caller must report a gap
  EXPECT_TRUE(in.replay(stream::Channel::kAlerts, 3, 100, rep));
  EXPECT_EQ(rep.size(), 2u);
  EXPECT_GE(in.rates()["alerts_per_min"].get<double>(), 5.0);
  store->close();
  std::filesystem::remove_all(dir);
}

// /alerts/{id}/explain's rule text: the EVE's alert.rule, else the --api-rules
// files (disabled rules left out, continued lines joined, gid taken into account).
TEST(ApiExplain, RuleTextFromTheRuleFiles) {
  RuleTexts::Map m;
  RuleTexts::parse("# alert tcp any any -> any any (msg:\"off\"; sid:7;)\n"
                   "alert tcp any any -> any 80 (msg:\"on\"; \\\n  content:\"a\"; sid: 7; rev:1;)\n"
                   "alert udp any any -> any any (msg:\"g3\"; gid:3; sid:7;)\n"
                   "alert tcp any any -> any any (msg:\"xsid:9\"; sid:8;)\n",
                   m);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ((m[{1, 7}]), "alert tcp any any -> any 80 (msg:\"on\";   content:\"a\"; sid: 7; rev:1;)");
  EXPECT_EQ((m[{3, 7}]), "alert udp any any -> any any (msg:\"g3\"; gid:3; sid:7;)");
  EXPECT_EQ(m.count({1, 9}), 0u);  // "sid:" inside msg is not the option
  char t[] = "/tmp/api-rules-XXXXXX";
  const std::string dir = mkdtemp(t);
  std::ofstream(dir + "/a.rules") << "alert tcp any any -> any any (msg:\"seven\"; sid:7; rev:1;)\n";
  RuleTexts rules({dir});
  ServiceHooks h;
  h.rules = &rules;
  Fixture f(h);
  auto e = J::parse(f.call("GET", "/api/v1/alerts/1/explain", "viewer-token").body);
  EXPECT_EQ(e["rule"]["text"], "alert tcp any any -> any any (msg:\"seven\"; sid:7; rev:1;)");
  EXPECT_EQ(e["rule"]["text_source"], "rule files");
  Fixture g;  // no rule files: null and a note saying why
  e = J::parse(g.call("GET", "/api/v1/alerts/1/explain", "viewer-token").body);
  EXPECT_TRUE(e["rule"]["text"].is_null());
  EXPECT_NE(e["rule"]["text_note"].get<std::string>().find("no rule files"), std::string::npos);
  std::filesystem::remove_all(dir);
}
