// The SQLite store: ingest and queries, analyst updates, aggregates, the
// bounded queue's drops, retention, and migration of a version-1 file.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <cctype>
#include <set>

#include "ctrlplane/store/eve_rows.h"
#include "ctrlplane/store/sqlite_store.h"
#include "tests/unit/store/store_util.h"

using namespace spectre::store;
using namespace spectre::store::testing;

namespace {

AlertRow alert(int64_t ts, int sev, uint32_t sid, const std::string& src, const std::string& dst,
               std::vector<std::string> tactics = {}) {
  AlertRow a;
  a.ts_ms = ts;
  a.severity = sev;
  a.sid = sid;
  a.signature = "SIG " + std::to_string(sid);
  a.category = sid % 2 ? "odd" : "even";
  a.src_ip = src;
  a.dest_ip = dst;
  a.tactics = std::move(tactics);
  a.eve = "{\"event_type\":\"alert\"}";
  return a;
}

// Enqueues n alerts, make(i) the i-th, and flushes: the rows with the ids
// enqueue_alert gave them (0: dropped).
template <typename Make>
std::vector<AlertRow> fill_alerts(Store& s, int n, Make&& make) {
  std::vector<AlertRow> v;
  v.reserve(size_t(n));
  for (int i = 0; i < n; i++) {
    v.push_back(make(i));
    v.back().id = s.enqueue_alert(v.back());
  }
  s.flush();
  return v;
}

}  // namespace

TEST(StoreText, TimeRoundTripAndForms) {
  int64_t ms = 0;
  ASSERT_TRUE(parse_time("2025-12-01T00:00:00.123456+0000", ms));
  EXPECT_EQ(ms, kT0 + 123);
  ASSERT_TRUE(parse_time("2025-12-01T01:00:00+01:00", ms));
  EXPECT_EQ(ms, kT0);
  ASSERT_TRUE(parse_time("2025-12-01", ms));
  EXPECT_EQ(ms, kT0);
  EXPECT_EQ(format_time(kT0 + 5), "2025-12-01T00:00:00.005Z");
  for (const char* bad : {"", "2025-13-01", "2025-12-01T25:00:00Z", "2025-12-01T00:00:00+5", "yesterday",
                          "2025-12-01T00:00:00Zjunk", "2025-12-01T00:00:00."})
    EXPECT_FALSE(parse_time(bad, ms)) << bad;
}

TEST(StoreText, CidrAndLists) {
  IpRange r;
  ASSERT_TRUE(parse_cidr4("10.1.2.3/8", r));
  EXPECT_EQ(r.lo, 0x0a000000u);
  EXPECT_EQ(r.hi, 0x0affffffu);
  ASSERT_TRUE(parse_cidr4("0.0.0.0/0", r));
  EXPECT_EQ(r.hi, 0xffffffffu);
  for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "::1/64", "10.0.0.256", "10.0.0.0/", "a.b.c.d"})
    EXPECT_FALSE(parse_cidr4(bad, r)) << bad;
  EXPECT_EQ(join_list({"TA0001", "TA0002"}), ",TA0001,TA0002,");
  EXPECT_EQ(split_list(",TA0001,TA0002,"), (std::vector<std::string>{"TA0001", "TA0002"}));
}

TEST(StoreEve, AlertAndIncidentRows) {
  AlertRow a;
  std::string err;
  ASSERT_TRUE(alert_from_eve(R"({"timestamp":"2025-12-01T00:00:01.000000+0000","event_type":"alert","src_ip":"10.0.0.1",)"
                             R"("src_port":1234,"dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP","alert":{"gid":1,)"
                             R"("signature_id":2001,"rev":3,"signature":"ET X","category":"Attempted","severity":2,)"
                             R"("metadata":{"mitre_tactic_id":["TA0001"]}}})", a, err)) << err;
  EXPECT_EQ(a.ts_ms, kT0 + 1000);
  EXPECT_EQ(a.sid, 2001u);
  EXPECT_EQ(a.severity, 2);
  EXPECT_EQ(a.tactics, std::vector<std::string>{"TA0001"});
  EXPECT_FALSE(alert_from_eve(R"({"event_type":"flow"})", a, err));
  EXPECT_FALSE(alert_from_eve("not json", a, err));
  IncidentRow r;
  ASSERT_TRUE(incident_from_eve(R"({"timestamp":"2025-12-01T00:00:02Z","event_type":"incident","incident":{)"
                                R"("incident_id":7,"event":"opened","status":"new","first_seen":"2025-12-01T00:00:01Z",)"
                                R"("last_seen":"2025-12-01T00:00:02Z","entities":{"attackers":["1.2.3.4"],"victims":["10.0.0.2"]},)"
                                R"("risk":{"score":71.5,"level":"high","confidence":0.8},"mitre":{"tactics":[{"id":"TA0043"}]},)"
                                R"("detections":{"total":3},"members":[{"signature":"ET X"}]}})", r, err)) << err;
  EXPECT_EQ(r.id, 7u);
  EXPECT_EQ(r.level, "high");
  EXPECT_EQ(r.attacker, "1.2.3.4");
  EXPECT_EQ(r.tactics, std::vector<std::string>{"TA0043"});
  EXPECT_EQ(r.signatures, std::vector<std::string>{"ET X"});
  EXPECT_FALSE(incident_from_eve(R"({"event_type":"incident","incident":{}})", r, err));
}

TEST(Store, IngestListFiltersAndCursor) {
  TmpDb t;
  auto s = open_store(t.path);
  auto rows = fill_alerts(*s, 250, [](int i) {
    return alert(kT0 + i * 60000, 1 + i % 3, 100 + i % 5, "10.0.0." + std::to_string(i % 7), "192.168.1.1",
                 i % 10 == 0 ? std::vector<std::string>{"TA0007"} : std::vector<std::string>{});
  });
  for (size_t i = 0; i < rows.size(); i++) EXPECT_EQ(rows[i].id, i + 1);
  std::vector<AlertRow> page;
  std::string err;
  AlertQuery q;
  q.limit = 100;
  std::vector<uint64_t> seen;
  for (;;) {
    page.clear();
    ASSERT_TRUE(s->list_alerts(q, page, err)) << err;
    for (auto& a : page) seen.push_back(a.id);
    if (page.size() < q.limit) break;
    q.before_id = page.back().id;
    q.before_ts = page.back().ts_ms;
  }
  ASSERT_EQ(seen.size(), 250u);
  for (size_t i = 0; i < seen.size(); i++) EXPECT_EQ(seen[i], 250 - i);  // newest first, no gap, no duplicate
  auto count = [&](AlertQuery q2) {
    q2.limit = 1000;
    std::vector<AlertRow> v;
    EXPECT_TRUE(s->list_alerts(q2, v, err)) << err;
    return v.size();
  };
  AlertQuery f;
  f.sid = 101;
  EXPECT_EQ(count(f), 50u);
  f = {};
  f.max_severity = 1;
  EXPECT_EQ(count(f), 84u);
  f = {};
  f.ip = "10.0.0.3";
  EXPECT_EQ(count(f), 36u);
  f = {};
  f.cidr = IpRange{0x0a000000u, 0x0a0000ffu};
  EXPECT_EQ(count(f), 250u);
  f.cidr = IpRange{0x0b000000u, 0x0b0000ffu};
  EXPECT_EQ(count(f), 0u);
  f = {};
  f.tactic = "TA0007";
  EXPECT_EQ(count(f), 25u);
  f = {};
  f.from_ms = kT0 + 60000 * 10;
  f.to_ms = kT0 + 60000 * 19;
  EXPECT_EQ(count(f), 10u);
  f = {};
  f.signature = "SIG 10";  // SIG 100..104
  EXPECT_EQ(count(f), 250u);
  f.signature = "%";       // a literal percent sign, not a wildcard
  EXPECT_EQ(count(f), 0u);
  auto one = s->get_alert(17);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->ts_ms, kT0 + 16 * 60000);
  EXPECT_FALSE(s->get_alert(9999));
  std::vector<AlertRow> after;
  ASSERT_TRUE(s->alerts_after(240, 100, after));
  ASSERT_EQ(after.size(), 10u);
  EXPECT_EQ(after.front().id, 241u);
}

TEST(Store, AnalystUpdatesFeedbackComments) {
  TmpDb t;
  auto s = open_store(t.path);
  fill_alerts(*s, 20, [](int i) { return alert(kT0 + i, 2, 5 + i % 2, "1.1.1.1", "2.2.2.2"); });
  AnalystSet set;
  set.status = "investigating";
  set.assignee = "alice";
  std::vector<uint64_t> missing;
  EXPECT_EQ(s->update_alerts({1, 2, 3, 999}, set, missing), 3u);
  EXPECT_EQ(missing, std::vector<uint64_t>{999});
  EXPECT_EQ(s->get_alert(2)->status, "investigating");
  EXPECT_EQ(s->get_alert(2)->assignee, "alice");
  EXPECT_EQ(s->get_alert(2)->classification, "");  // untouched
  EXPECT_EQ(s->get_alert(4)->status, "new");
  Feedback f{0, "alert", 1, "false_positive", "benign", "lab box", "bob", kT0};
  EXPECT_GT(s->add_feedback(f), 0u);
  Feedback f2{0, "alert", 2, "true_positive", "", "", "bob", kT0};
  s->add_feedback(f2);
  auto fb = s->feedback("alert", 1);
  ASSERT_EQ(fb.size(), 1u);
  EXPECT_EQ(fb[0].verdict, "false_positive");
  auto rules = s->feedback_by_rule();
  EXPECT_EQ(rules[5], std::make_pair(uint64_t(0), uint64_t(1)));  // alert 1 (i = 0): sid 5, a false positive
  EXPECT_EQ(rules[6], std::make_pair(uint64_t(1), uint64_t(0)));  // alert 2: sid 6, a true positive
  ASSERT_TRUE(s->add_comment("alert", 1, {kT0, "bob", "looked at it"}));
  EXPECT_EQ(s->comments("alert", 1).size(), 1u);
  EXPECT_TRUE(s->comments("incident", 1).empty());
}

TEST(Store, IncidentsUpdatesAndAnalystStatusWins) {
  TmpDb t;
  auto s = open_store(t.path);
  IncidentRow r;
  r.id = 42;
  r.first_ms = kT0;
  r.last_ms = kT0 + 1000;
  r.level = "medium";
  r.event = "opened";
  r.record = "{}";
  EXPECT_EQ(s->enqueue_incident(r), 1u);
  s->flush();
  AnalystSet set;
  set.status = "resolved";
  std::vector<uint64_t> missing;
  EXPECT_EQ(s->update_incidents({42}, set, missing), 1u);
  r.level = "high";
  r.event = "escalated";
  r.last_ms = kT0 + 5000;
  EXPECT_EQ(s->enqueue_incident(r), 2u);
  s->flush();
  auto got = s->get_incident(42);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->level, "high");
  EXPECT_EQ(got->status, "resolved");  // the analyst's, not the record's "new"
  EXPECT_EQ(got->update_id, 2u);
  auto ups = s->incident_updates(42, 100);
  ASSERT_EQ(ups.size(), 2u);
  EXPECT_EQ(ups[1].event, "escalated");
  auto lvl = s->top(Dim::kIncidentLevel, kT0 - 3600000, kT0 + 3600000, 10);
  ASSERT_EQ(lvl.size(), 1u);  // counted once, at its first record
  EXPECT_EQ(lvl[0].key, "medium");
}

TEST(Store, AggregatesMatchRows) {
  TmpDb t;
  auto s = open_store(t.path);
  // 3 days, one alert every 10 minutes: 432 alerts, 6 an hour.
  fill_alerts(*s, 432, [](int i) {
    return alert(kT0 + int64_t(i) * 600000, 1 + i % 4, 7 + i % 3, "10.9.9." + std::to_string(i % 2), "10.0.0.1");
  });
  auto tr = s->trends(Dim::kSeverity, kT0, kT0 + 3 * 86400000 - 1, 86400000, 10);
  ASSERT_EQ(tr.size(), 4u);
  uint64_t sum = 0;
  for (auto& se : tr) {
    ASSERT_EQ(se.points.size(), 3u);
    EXPECT_EQ(se.points[0].t_ms, kT0);
    for (auto& p : se.points) {
      sum += p.count;
      EXPECT_EQ(p.count, 36u);
    }
  }
  EXPECT_EQ(sum, 432u);
  auto hourly = s->trends(Dim::kSignature, kT0, kT0 + 3600000 - 1, 3600000, 10);
  uint64_t h = 0;
  for (auto& se : hourly) h += se.points.at(0).count;
  EXPECT_EQ(h, 6u);
  auto talkers = s->top(Dim::kSrc, kT0, kT0 + 3 * 86400000, 1);
  ASSERT_EQ(talkers.size(), 1u);
  EXPECT_EQ(talkers[0].count, 216u);
  auto capped = s->trends(Dim::kSignature, kT0, kT0 + 86400000, 3600000, 2);
  EXPECT_EQ(capped.size(), 2u);
  // Partial days at both edges: hourly rows there, daily rows for the whole day inside.
  const int64_t H = 3600000, from = kT0 + 5 * H, to = kT0 + 56 * H - 1;  // hours 5 .. 55: 51 hours, 306 alerts
  auto edge = s->top(Dim::kSrc, from, to, 10);
  ASSERT_EQ(edge.size(), 2u);
  EXPECT_EQ(edge[0].count + edge[1].count, 306u);
  EXPECT_EQ(edge[0].count, 153u);
  auto days = s->trends(Dim::kSeverity, from, to, 86400000, 10);
  std::vector<uint64_t> per_day(3);
  for (auto& se : days) {
    ASSERT_EQ(se.points.size(), 3u);
    for (size_t k = 0; k < 3; k++) per_day[k] += se.points[k].count;
  }
  EXPECT_EQ(per_day, (std::vector<uint64_t>{19 * 6, 24 * 6, 8 * 6}));
  auto hours = s->trends(Dim::kSeverity, from, to, H, 10);  // hour buckets never read daily rows
  uint64_t n = 0;
  for (auto& se : hours) {
    EXPECT_EQ(se.points.size(), 51u);
    for (auto& p : se.points) n += p.count;
  }
  EXPECT_EQ(n, 306u);
}

TEST(Store, FullQueueDropsAndCounts) {
  TmpDb t;
  auto s = open_store(t.path, 64);
  uint64_t ok = 0, zero = 0;
  for (auto& a : fill_alerts(*s, 20000, [](int i) { return alert(kT0 + i, 3, 1, "1.1.1.1", "2.2.2.2"); }))
    (a.id ? ok : zero)++;
  auto st = s->stats();
  EXPECT_EQ(st.dropped, zero);
  EXPECT_EQ(st.written, ok);
  EXPECT_GT(zero, 0u);  // 20,000 inserts outrun a 64-row queue
  EXPECT_EQ(st.alerts, ok);
  std::vector<AlertRow> v;
  std::string err;
  AlertQuery q;
  q.limit = 100000;
  s->list_alerts(q, v, err);
  EXPECT_EQ(v.size(), ok);  // ids of accepted rows only: no holes to fill later
  EXPECT_EQ(v.front().id, ok);
}

TEST(Store, RetentionByAgeAndSize) {
  TmpDb t;
  auto s = open_store(t.path);
  std::string pad(2000, 'x');
  fill_alerts(*s, 2000, [&pad](int i) {
    auto a = alert(kT0 + int64_t(i) * 60000, 3, 1, "1.1.1.1", "2.2.2.2");
    a.eve = "{\"pad\":\"" + pad + "\"}";
    return a;
  });
  RetentionPolicy age;
  age.max_age_ms = 1000LL * 60000;  // keep the last 1000 minutes
  uint64_t del = s->apply_retention(age, kT0 + 2000LL * 60000);
  EXPECT_EQ(del, 1000u);
  EXPECT_FALSE(s->get_alert(1000));
  EXPECT_TRUE(s->get_alert(1001));
  EXPECT_TRUE(s->top(Dim::kSeverity, kT0, kT0 + 16 * 3600000LL - 1, 10).empty());  // hours 0-15 gone (hour 16 holds kept rows)
  RetentionPolicy size;
  size.max_bytes = 1 << 20;  // 1000 rows of ~2 KB need ~2.3 MB
  EXPECT_GT(s->apply_retention(size, kT0), 0u);
  auto st = s->stats();
  EXPECT_LT(st.alerts, 600u);
  EXPECT_TRUE(s->get_alert(2000));  // the newest stay
}

TEST(Store, MigratesVersion1File) {
  TmpDb t;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(t.path.c_str(), &db), SQLITE_OK);
    const char* v1 =
        "CREATE TABLE alerts(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, severity INTEGER NOT NULL,"
        " sid INTEGER NOT NULL, signature TEXT NOT NULL, src_ip TEXT NOT NULL, dest_ip TEXT NOT NULL, eve TEXT NOT NULL);"
        "CREATE INDEX alerts_ts ON alerts(ts);"
        "CREATE TABLE incidents(id INTEGER PRIMARY KEY, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
        " level TEXT NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL);"
        "INSERT INTO alerts VALUES(5, 1764547200000, 2, 2001, 'OLD SIG', '10.0.0.1', '10.0.0.2', '{}');"
        "INSERT INTO alerts VALUES(6, 1764547260000, 1, 2002, 'OLD SIG 2', '10.0.0.1', '10.0.0.3', '{}');"
        "INSERT INTO incidents VALUES(3, 1764547200000, 1764547260000, 'high', 'investigating', '{\"x\":1}');"
        "PRAGMA user_version=1;";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = open_store(t.path);
  ASSERT_TRUE(s);
  {
    Db d;
    std::string err;
    ASSERT_TRUE(d.open(t.path, false, err));
    EXPECT_EQ(d.scalar("PRAGMA user_version"), kSchemaVersion);
  }
  auto a = s->get_alert(5);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->signature, "OLD SIG");
  EXPECT_EQ(a->status, "new");
  EXPECT_EQ(a->category, "");
  AlertQuery q;
  q.cidr = IpRange{0x0a000000u, 0x0a0000ffu};  // src_num of old rows is not backfilled
  std::vector<AlertRow> v;
  std::string err;
  ASSERT_TRUE(s->list_alerts(q, v, err));
  q = {};
  q.ip = "10.0.0.3";
  v.clear();
  ASSERT_TRUE(s->list_alerts(q, v, err));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].id, 6u);
  auto sev = s->top(Dim::kSeverity, 1764547200000, 1764547260000, 10);  // backfilled aggregates
  EXPECT_EQ(sev.size(), 2u);
  auto inc = s->get_incident(3);
  ASSERT_TRUE(inc);
  EXPECT_EQ(inc->status, "investigating");
  EXPECT_EQ(inc->update_id, 1u);
  EXPECT_EQ(s->incident_updates(3, 10).size(), 1u);
  q = {};
  q.q = "old sig";  // version 5 (FTS) indexed the rows already there
  v.clear();
  ASSERT_TRUE(s->list_alerts(q, v, err));
  EXPECT_EQ(v.size(), 2u);
  {
    Db d;
    ASSERT_TRUE(d.open(t.path, false, err));
    EXPECT_FALSE(alerts_q_match(d, "old sig").empty());
    EXPECT_EQ(d.scalar("SELECT count(*) FROM alerts WHERE text_id IN (SELECT rowid FROM alert_texts_fts WHERE "
                       "alert_texts_fts MATCH '\"OLD SIG 2\"')"), 1);
  }
  EXPECT_EQ(s->enqueue_alert(alert(kT0, 1, 1, "1.1.1.1", "2.2.2.2")), 7u);  // ids continue after the old rows
  s->flush();
  s.reset();
  Db d;
  ASSERT_TRUE(d.open(t.path, false, err));
  d.exec("PRAGMA user_version=99");
  d.close();
  SqliteOptions o;
  o.path = t.path;
  EXPECT_FALSE(SqliteStore::open(o, err));
  EXPECT_NE(err.find("newer"), std::string::npos) << err;
}

TEST(Store, KeysetPagesWithTiesAndOutOfOrderTimes) {
  TmpDb t;
  auto s = open_store(t.path);
  fill_alerts(*s, 300, [](int i) { return alert(kT0 + (i * 7) % 10, 3, 1, "1.1.1.1", "2.2.2.2"); });
  std::vector<std::pair<int64_t, uint64_t>> seen;
  AlertQuery q;
  q.limit = 13;
  std::string err;
  for (int guard = 0; guard < 100; guard++) {
    std::vector<AlertRow> page;
    ASSERT_TRUE(s->list_alerts(q, page, err)) << err;
    for (auto& a : page) seen.emplace_back(a.ts_ms, a.id);
    if (page.size() < q.limit) break;
    q.before_id = page.back().id;
    q.before_ts = page.back().ts_ms;
  }
  ASSERT_EQ(seen.size(), 300u);
  auto sorted = seen;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  EXPECT_EQ(seen, sorted);  // (ts, id) descending: every row once
  std::set<uint64_t> ids;
  for (auto& p : seen) ids.insert(p.second);
  EXPECT_EQ(ids.size(), 300u);
}

TEST(Store, AddressFilterMergesSourceAndDestinationOnce) {
  TmpDb t;
  auto s = open_store(t.path);
  fill_alerts(*s, 90, [](int i) {
    const char* src = i % 3 == 0 ? "9.9.9.9" : "1.1.1.1";
    const char* dst = i % 3 == 1 ? "9.9.9.9" : i % 3 == 2 ? "2.2.2.2" : (i % 2 ? "9.9.9.9" : "3.3.3.3");
    return alert(kT0 + i * 1000, 1 + i % 4, 5, src, dst);
  });
  std::vector<uint64_t> got;
  AlertQuery q;
  q.ip = "9.9.9.9";
  q.limit = 7;
  std::string err;
  for (int guard = 0; guard < 50; guard++) {
    std::vector<AlertRow> page;
    ASSERT_TRUE(s->list_alerts(q, page, err)) << err;
    for (auto& a : page) got.push_back(a.id);
    if (page.size() < q.limit) break;
    q.before_id = page.back().id;
    q.before_ts = page.back().ts_ms;
  }
  std::vector<uint64_t> want;
  for (int i = 89; i >= 0; i--)
    if (i % 3 != 2) want.push_back(uint64_t(i + 1));  // src (i%3==0, some also dest) or dest (i%3==1)
  EXPECT_EQ(got, want);
  q = {};
  q.ip = "9.9.9.9";
  q.max_severity = 1;
  q.limit = 1000;
  std::vector<AlertRow> v;
  ASSERT_TRUE(s->list_alerts(q, v, err));
  for (auto& a : v) EXPECT_EQ(a.severity, 1);
  EXPECT_EQ(v.size(), 16u);  // i % 12 in {0, 4}: i % 4 == 0 among the matches
}

namespace {
bool ci_contains(const std::string& hay, const std::string& needle) {
  auto low = [](std::string x) {
    for (char& c : x) c = char(std::tolower(static_cast<unsigned char>(c)));
    return x;
  };
  return low(hay).find(low(needle)) != std::string::npos;
}
}  // namespace

// q= through the trigram index (a rare term), through the ordered walk (a
// term in more than kFtsMaxCandidates rows, a 2-character term): the same
// rows in the same order as a substring match computed here, with quotes,
// LIKE wildcards and case; the index follows inserts, incident upserts and
// retention's deletes.
TEST(Store, FreeTextSearchIndexKeepsSubstringSemantics) {
  TmpDb t;
  auto s = open_store(t.path);
  const auto all = fill_alerts(*s, int(kFtsMaxCandidates) + 300, [](int i) {
    auto a = alert(kT0 + (i * 7919) % 100000, 3, 100 + uint32_t(i % 5), "10.0.0." + std::to_string(i % 200), "10.9.9.9");
    a.signature = "Dense ET rule " + std::to_string(i % 5);
    if (i % 997 == 0) a.signature = "ET POLICY \"quoted\" 50%_off Ünïcode " + std::to_string(i);
    if (i == 4242) a.category = "Rare-Category-XYZ";
    return a;
  });
  Db d;
  std::string err;
  ASSERT_TRUE(d.open(t.path, false, err));
  EXPECT_FALSE(alerts_q_match(d, "\"quoted\" 50%_").empty());
  EXPECT_FALSE(alerts_q_match(d, "rare-category").empty());
  EXPECT_FALSE(alerts_q_match(d, "10.0.0.7").empty());
  EXPECT_FALSE(alerts_q_match(d, "nothing here").empty());  // a trigram no row has
  EXPECT_EQ(alerts_q_match(d, "dense et"), "");  // every row: the walk stops at LIMIT
  EXPECT_EQ(alerts_q_match(d, "50"), "");        // too short for trigrams
  bool absent = false;
  alerts_q_match(d, "10.9.9.9", &absent);
  EXPECT_TRUE(absent);  // no text has it: the exact-address rows through the ip walk (every row here)
  alerts_q_match(d, "rule 3", &absent);
  EXPECT_FALSE(absent);
  for (std::string q : {"\"quoted\" 50%_", "QUOTED", "rare-category", "10.0.0.7", "10.9.9.9", "10.0.0.1", "dense et rule 3", "50", "nothing here",
                        "Ünïcode", "ÜNÏCODE", "50%_OFF Ünïcode 9", "rule 3\"", "\"\"\""}) {  // LIKE folds ASCII only
    for (size_t limit : {size_t(5), size_t(500)}) {
      AlertQuery aq;
      aq.q = q;
      aq.limit = limit;
      std::vector<AlertRow> got;
      ASSERT_TRUE(s->list_alerts(aq, got, err)) << err;
      std::vector<const AlertRow*> want;
      for (auto& a : all)
        if (ci_contains(a.signature, q) || ci_contains(a.category, q) || a.src_ip == q || a.dest_ip == q) want.push_back(&a);
      std::sort(want.begin(), want.end(), [](auto* x, auto* y) { return x->ts_ms != y->ts_ms ? x->ts_ms > y->ts_ms : x->id > y->id; });
      if (want.size() > limit) want.resize(limit);
      ASSERT_EQ(got.size(), want.size()) << q;
      for (size_t i = 0; i < got.size(); i++) EXPECT_EQ(got[i].id, want[i]->id) << q << " #" << i;
    }
  }
  // Retention's deletes leave no candidate (the text stays in the index, its alerts are gone).
  RetentionPolicy age;
  age.max_age_ms = 1;
  s->apply_retention(age, kT0 + 200000);
  EXPECT_EQ(d.scalar("SELECT count(*) FROM alerts WHERE text_id IN (SELECT rowid FROM alert_texts_fts WHERE "
                     "alert_texts_fts MATCH '\"rare-category\"')"), 0);
  // Incidents: the latest record is what is searched.
  IncidentRow r;
  r.id = 9;
  r.first_ms = kT0;
  r.last_ms = kT0 + 1;
  r.event = "opened";
  r.record = R"({"summary":"beaconing to evil-domain.example"})";
  s->enqueue_incident(r);
  s->flush();
  IncidentQuery iq;
  iq.q = "EVIL-DOMAIN";
  std::vector<IncidentRow> inc;
  ASSERT_TRUE(s->list_incidents(iq, inc, err));
  ASSERT_EQ(inc.size(), 1u);
  EXPECT_FALSE(incidents_q_match(d, "evil-domain").empty());
  r.record = R"({"summary":"lateral movement"})";
  r.event = "escalated";
  s->enqueue_incident(r);
  s->flush();
  inc.clear();
  ASSERT_TRUE(s->list_incidents(iq, inc, err));
  EXPECT_TRUE(inc.empty());
  iq.q = "lateral";
  ASSERT_TRUE(s->list_incidents(iq, inc, err));
  EXPECT_EQ(inc.size(), 1u);
}

// signature= keeps LIKE's substring semantics whichever plan answers it: a
// few texts (one ordered walk per text on (text_id, ts)), many texts (the ts
// walk), none; with an address (the two-walk select), a sid, and keyset pages.
TEST(Store, SignatureFilterPlansKeepSubstringSemantics) {
  TmpDb t;
  auto s = open_store(t.path);
  const auto all = fill_alerts(*s, 3000, [](int i) {
    auto a = alert(kT0 + (i * 7919) % 100000, 3, 100 + uint32_t(i % 40), "10.0.0." + std::to_string(i % 7), "10.9.9.9");
    a.signature = "ET rule " + std::to_string(i % 40);  // 40 texts x 2 categories
    if (i % 499 == 0) a.signature = "Rare 50%_off needle " + std::to_string(i);
    return a;
  });
  Db d;
  std::string err;
  ASSERT_TRUE(d.open(t.path, false, err));
  struct Case { std::string sig; size_t texts; };
  // "rule 3": rules 3 and 30-39, one category each; "e": every text, more than kSignatureWalks.
  for (const Case& c : {Case{"rare 50%_off", 7}, Case{"rule 3", 11}, Case{"rule 1", 11}, Case{"ET rule 17", 1},
                        Case{"no such text", 0}, Case{"e", 0}}) {
    AlertQuery probe;
    probe.signature = c.sig;
    ASSERT_TRUE(alerts_signature_plan(d, probe, err)) << err;
    EXPECT_EQ(probe.sig_text_ids.size(), c.texts) << c.sig;  // walked per text (0: the ts walk, or none)
    EXPECT_EQ(probe.sig_none, c.sig == "no such text") << c.sig;
    for (const std::string ip : {"", "10.0.0.3"})
      for (uint32_t sid : {0u, 117u})
        for (size_t limit : {size_t(7), size_t(400)}) {
          SCOPED_TRACE(c.sig + " ip=" + ip + " sid=" + std::to_string(sid) + " limit=" + std::to_string(limit));
          std::vector<const AlertRow*> want;
          for (auto& a : all)
            if (ci_contains(a.signature, c.sig) && (ip.empty() || a.src_ip == ip || a.dest_ip == ip) &&
                (!sid || a.sid == sid))
              want.push_back(&a);
          std::sort(want.begin(), want.end(),
                    [](auto* x, auto* y) { return x->ts_ms != y->ts_ms ? x->ts_ms > y->ts_ms : x->id > y->id; });
          AlertQuery q;
          q.signature = c.sig, q.ip = ip, q.sid = sid, q.limit = limit;
          std::vector<AlertRow> got, page;
          do {  // every page, by the keyset cursor
            page.clear();
            ASSERT_TRUE(s->list_alerts(q, page, err)) << err;
            got.insert(got.end(), page.begin(), page.end());
            if (!page.empty()) q.before_ts = page.back().ts_ms, q.before_id = page.back().id;
          } while (page.size() == limit && got.size() < 2 * all.size());
          ASSERT_EQ(got.size(), want.size());
          for (size_t i = 0; i < got.size(); i++) ASSERT_EQ(got[i].id, want[i]->id) << i;
        }
  }
}

// The /detect jobs' rows and results: replace, read back by ordinal, delete.
TEST(Store, DetectJobsAndResults) {
  TmpDb t;
  auto s = open_store(t.path);
  DetectJobRow j;
  j.id = "1-abcdef01";
  j.seq = 1;
  j.submitted_by = "ana";
  j.submitted_ms = kT0;
  j.warnings = {"read error \"x\""};
  ASSERT_TRUE(s->save_detect_job(j));
  j.state = "done";
  j.alerts = 7;
  j.truncated = true;
  j.finished_ms = kT0 + 5;
  ASSERT_TRUE(s->save_detect_job(j));
  ASSERT_TRUE(s->save_detect_results(j.id, {{1, "{\"a\":1}"}, {3, "{\"a\":3}"}}, {{0, "{\"i\":0}"}}));
  ASSERT_TRUE(s->save_detect_results(j.id, {{1, "{\"a\":1}"}, {4, "{\"a\":4}"}}, {{0, "{\"i\":0}"}}));  // replaces
  auto rows = s->detect_jobs();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, "done");
  EXPECT_EQ(rows[0].alerts, 7u);
  EXPECT_TRUE(rows[0].truncated);
  EXPECT_EQ(rows[0].submitted_by, "ana");
  EXPECT_EQ(rows[0].finished_ms, kT0 + 5);
  EXPECT_EQ(rows[0].warnings, j.warnings);
  Store::Numbered a, i;
  ASSERT_TRUE(s->detect_results(j.id, 0, a));
  ASSERT_TRUE(s->detect_results(j.id, 1, i));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[1].first, 4u);
  EXPECT_EQ(a[1].second, "{\"a\":4}");
  EXPECT_EQ(i.size(), 1u);
  ASSERT_TRUE(s->delete_detect_job(j.id));
  EXPECT_TRUE(s->detect_jobs().empty());
  a.clear();
  ASSERT_TRUE(s->detect_results(j.id, 0, a));
  EXPECT_TRUE(a.empty());
}

// Schema 6: each alert points at its (signature, category) text, one row per
// distinct text, across batches and reopenings (the writer's cache starts empty).
TEST(Store, AlertsShareOneTextRowPerDistinctText) {
  TmpDb t;
  {
    auto s = open_store(t.path);
    fill_alerts(*s, 300, [](int i) {
      auto a = alert(kT0 + i, 2, 7, "1.1.1.1", "2.2.2.2");
      a.signature = "sig " + std::to_string(i % 5);
      a.category = i % 2 ? "A" : "B";
      return a;
    });
  }
  auto s = open_store(t.path);
  fill_alerts(*s, 10, [](int i) {
    auto a = alert(kT0 + 1000 + i, 2, 7, "1.1.1.1", "2.2.2.2");
    a.signature = "sig " + std::to_string(i % 5);
    a.category = i % 2 ? "A" : "C";  // 5 new texts ("C"), 5 known
    return a;
  });
  Db d;
  std::string err;
  ASSERT_TRUE(d.open(t.path, false, err));
  EXPECT_EQ(d.scalar("SELECT count(*) FROM alert_texts"), 15);
  EXPECT_EQ(d.scalar("SELECT count(*) FROM alerts WHERE text_id IS NULL"), 0);
  EXPECT_EQ(d.scalar("SELECT count(*) FROM alerts a JOIN alert_texts t ON t.id = a.text_id "
                     "WHERE t.signature = a.signature AND t.category = a.category"), 310);
  AlertQuery q;
  q.q = "sig 3";
  std::vector<AlertRow> v;
  ASSERT_TRUE(s->list_alerts(q, v, err)) << err;
  EXPECT_EQ(v.size(), 62u);  // 60 + 2
}

// q= with a term every trigram of which is common (the index cannot narrow it):
// with a ListStop a page tests at most q_scan_rows rows and, when that cut it,
// says where it stopped; following those cursors gives every match once, in
// order. Without a ListStop (exports) the walk is whole, as before.
TEST(Store, BoundedScanPagesCoverEveryMatchOnce) {
  TmpDb t;
  auto s = open_store(t.path);
  const auto all = fill_alerts(*s, 3000, [](int i) {
    auto a = alert(kT0 + (i * 7919) % 100000, 3, 100, "10.0.0.1", "10.9.9.9");
    // Distinct texts (the index is over texts, schema 6): "000" is in all 3,000 of them.
    a.signature = std::string(i % 197 == 5 ? "Dense ET rule 00000 #" : "Dense ET rule 000 #") + std::to_string(i);
    return a;
  });
  Db d;
  std::string err;
  ASSERT_TRUE(d.open(t.path, false, err));
  EXPECT_EQ(alerts_q_match(d, "0000"), "");  // "000" is in every text
  std::vector<uint64_t> want;
  std::vector<const AlertRow*> order;
  for (auto& a : all) order.push_back(&a);
  std::sort(order.begin(), order.end(), [](auto* x, auto* y) { return x->ts_ms != y->ts_ms ? x->ts_ms > y->ts_ms : x->id > y->id; });
  for (auto* a : order)
    if (a->signature.find("00000") != std::string::npos) want.push_back(a->id);
  AlertQuery q;
  q.q = "0000";
  q.limit = 5;
  q.q_scan_rows = 500;
  std::vector<uint64_t> got;
  int pages = 0, cut = 0;
  for (;; pages++) {
    std::vector<AlertRow> rows;
    ListStop stop;
    ASSERT_TRUE(s->list_alerts(q, rows, err, &stop)) << err;
    EXPECT_LE(stop.scanned, 500u);
    for (auto& r : rows) got.push_back(r.id);
    cut += stop.cut;
    if (rows.size() == q.limit) q.before_id = rows.back().id, q.before_ts = rows.back().ts_ms;
    else if (stop.cut) q.before_id = stop.id, q.before_ts = stop.ts;
    else break;
    ASSERT_LT(pages, 100);
  }
  EXPECT_EQ(got, want);
  EXPECT_GE(cut, 3);  // 3,000 rows at 500 a page: the scan was cut on the way
  AlertQuery whole;
  whole.q = "0000";
  whole.limit = 1000;
  std::vector<AlertRow> rows;
  ASSERT_TRUE(s->list_alerts(whole, rows, err));  // no ListStop: the whole walk
  EXPECT_EQ(rows.size(), want.size());
}

// The same bound on incidents (one q_plan for both): a term the index cannot
// narrow is tested on at most q_scan_rows incidents a page, newest id first;
// the pages, continued from ListStop::id (incidents page by id), give every
// match once, in order; a page that found `limit` matches carries no cut.
TEST(Store, IncidentBoundedScanPagesCoverEveryMatchOnce) {
  TmpDb t;
  auto s = open_store(t.path);
  std::vector<uint64_t> want;
  for (uint64_t id = 1; id <= 3000; id++) {
    IncidentRow r;
    r.id = id;
    r.first_ms = kT0;
    r.last_ms = kT0 + int64_t(id);
    r.event = "opened";
    bool hit = id % 211 == 7;
    r.record = std::string(R"({"summary":"dense beacon )") + (hit ? "00000" : "000") + "\"}";
    s->enqueue_incident(r);
    if (hit) want.insert(want.begin(), id);  // newest id first
  }
  s->flush();
  Db d;
  std::string err;
  ASSERT_TRUE(d.open(t.path, false, err));
  EXPECT_EQ(incidents_q_match(d, "0000"), "");  // "000" is in every record
  IncidentQuery q;
  q.q = "0000";
  q.limit = 4;
  q.q_scan_rows = 400;
  std::vector<uint64_t> got;
  int cut = 0;
  for (int pages = 0;; pages++) {
    std::vector<IncidentRow> rows;
    ListStop stop;
    ASSERT_TRUE(s->list_incidents(q, rows, err, &stop)) << err;
    EXPECT_LE(stop.scanned, 400u);
    EXPECT_FALSE(stop.cut && rows.size() == q.limit);
    for (auto& r : rows) got.push_back(r.id);
    cut += stop.cut;
    if (rows.size() == q.limit) q.before_id = rows.back().id;
    else if (stop.cut) q.before_id = stop.id;
    else break;
    ASSERT_LT(pages, 100);
  }
  EXPECT_EQ(got, want);
  EXPECT_GE(cut, 4);  // 3,000 incidents at 400 a page
  IncidentQuery whole;  // no ListStop: the whole walk
  whole.q = "0000";
  whole.limit = 1000;
  std::vector<IncidentRow> rows;
  ASSERT_TRUE(s->list_incidents(whole, rows, err));
  EXPECT_EQ(rows.size(), want.size());
}
