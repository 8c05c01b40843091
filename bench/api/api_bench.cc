// spectre-api-bench: fills an analyst store with generated alerts (bounded
// in time; the fill rate is measured) and measures the REST API's latency
// (p50/p99/max) of list, detail, trend, top and dashboard queries, in
// process (ApiService::handle, JSON included) and over HTTP (Beast server,
// one keep-alive connection). JSON on stdout.
//   spectre-api-bench [--alerts 10000000] [--fill-seconds 900] [--db PATH] [--reuse]
//                     [--queries 1000] [--days 30] [--no-http]
//   spectre-api-bench --flows [--rows 1000000] [--seconds 60] [--queries 1000] [--db PATH]   (modes.cc)
//   spectre-api-bench --explain --model M.spm [--rows-mb 64] [--queries 50] [--work DIR]     (modes.cc)
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "bench/api/bench_util.h"
#include "ctrlplane/api/params.h"
#include "ctrlplane/api/server.h"
#include "ctrlplane/api/service.h"
#include "ctrlplane/store/eve_rows.h"
#include "ctrlplane/store/sqlite_store.h"

using namespace spectre;
using apibench::Clock;
using apibench::J;
using apibench::mix;
using apibench::Stats;

namespace {

const int64_t kT0 = 1764547200000;  // 2025-12-01T00:00:00Z

struct Opt {
  uint64_t alerts = 10000000, queries = 1000, batch = 0;
  double fill_seconds = 900;
  int days = 30;
  std::string db = "/tmp/spectre-api-bench.db";
  bool reuse = false, http = true;
};

struct Gen {
  uint64_t n;
  int64_t span_ms;
  int64_t ts(uint64_t id) const { return kT0 + int64_t((id - 1) * uint64_t(span_ms) / n); }
  static uint32_t sid(uint64_t h) { return 2000000 + uint32_t(h % 200); }
  static std::string src(uint64_t h) { return "10." + std::to_string((h >> 8) % 20) + "." + std::to_string((h >> 16) % 250) + ".7"; }
  static std::string dst(uint64_t h) { return "192.168." + std::to_string((h >> 24) % 4) + "." + std::to_string((h >> 32) % 250); }
  store::AlertRow row(uint64_t id) const {
    uint64_t h = mix(id);
    store::AlertRow a;
    a.ts_ms = ts(id);
    a.sid = sid(h);
    a.severity = 1 + int(a.sid % 4);
    a.gid = 1;
    a.rev = 3;
    a.signature = "ET BENCH signature " + std::to_string(a.sid);
    if (id % 100003 == 0) a.signature = "ET BENCH rare needle " + std::to_string(id);  // q= in few rows
    // Rare, but made only of trigrams every row has ("200", "000"): q=20000000 (1 row in 100,019).
    if (id % 100019 == 7) a.signature = "ET BENCH signature 2000000000";
    a.category = "Category " + std::to_string(a.sid % 20);
    a.src_ip = src(h);
    a.dest_ip = dst(h);
    a.src_port = uint16_t(1024 + h % 60000);
    a.dest_port = uint16_t(a.sid % 3 ? 443 : 80);
    a.proto = "TCP";
    a.app_proto = a.dest_port == 443 ? "tls" : "http";
    if (a.sid % 3 == 0) a.tactics = {"TA0007"};
    char eve[640];
    std::snprintf(eve, sizeof eve,
                  "{\"timestamp\":\"%s\",\"flow_id\":%llu,\"event_type\":\"alert\",\"src_ip\":\"%s\",\"src_port\":%u,"
                  "\"dest_ip\":\"%s\",\"dest_port\":%u,\"proto\":\"TCP\",\"app_proto\":\"%s\",\"alert\":{\"action\":"
                  "\"allowed\",\"gid\":1,\"signature_id\":%u,\"rev\":3,\"signature\":\"%s\",\"category\":\"%s\","
                  "\"severity\":%d},\"flow\":{\"pkts_toserver\":%u,\"pkts_toclient\":%u,\"bytes_toserver\":%u,"
                  "\"bytes_toclient\":%u}}",
                  store::format_time(a.ts_ms).c_str(), (unsigned long long)(h >> 12), a.src_ip.c_str(), a.src_port,
                  a.dest_ip.c_str(), a.dest_port, a.app_proto.c_str(), a.sid, a.signature.c_str(), a.category.c_str(),
                  a.severity, unsigned(h % 50 + 1), unsigned(h % 40 + 1), unsigned(h % 9000 + 60), unsigned(h % 70000));
    a.eve = eve;
    return a;
  }
};

// CPU seconds of each thread of this process (/proc/self/task), largest first:
// the writer's share of a fill apart from the generator's and other agents' load.
std::vector<double> thread_cpu_seconds() {
  std::vector<double> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream f(e.path() / "stat");
    std::string line;
    std::getline(f, line);
    size_t rp = line.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream in(line.substr(rp + 2));
    std::string tok;
    unsigned long long ut = 0, stime = 0;
    for (int field = 3; in >> tok; field++) {
      if (field == 14) ut = std::stoull(tok);
      if (field == 15) { stime = std::stoull(tok); break; }
    }
    out.push_back(double(ut + stime) / double(sysconf(_SC_CLK_TCK)));
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

J fill(store::SqliteStore& st, const Gen& g, uint64_t from_id, const Opt& o) {
  auto t0 = Clock::now();
  uint64_t id = from_id, waits = 0;
  auto deadline = t0 + std::chrono::duration<double>(o.fill_seconds);
  for (; id <= g.n; id++) {
    store::AlertRow a = g.row(id);
    while (!st.enqueue_alert(a)) {  // the bench wants every row: wait for the writer (ingest would drop)
      waits++;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if ((id & 0xffff) == 0) {
      if (Clock::now() > deadline) { id++; break; }
      std::fprintf(stderr, "\rfill: %llu rows", (unsigned long long)id);
    }
  }
  st.flush();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  uint64_t rows = id - from_id;
  std::fprintf(stderr, "\rfill: %llu rows in %.1f s\n", (unsigned long long)rows, s);
  return {{"rows", rows}, {"seconds", s}, {"rows_per_s", rows / std::max(s, 1e-9)}, {"queue_full_waits", waits},
          {"complete", id > g.n}, {"thread_cpu_seconds", thread_cpu_seconds()}};
}

// One keep-alive HTTP/1.1 connection.
struct HttpClient {
  boost::asio::io_context io;
  boost::beast::tcp_stream s{io};
  boost::beast::flat_buffer buf;
  explicit HttpClient(uint16_t port) {
    s.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  }
  double server_ms = -1;  // the last answer's Server-Timing app;dur (the server's own time)
  int get(const std::string& target, const std::string& token, size_t& bytes) {
    namespace http = boost::beast::http;
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer " + token);
    http::write(s, req);
    http::response<http::string_body> res;
    http::read(s, buf, res);
    bytes = res.body().size();
    server_ms = -1;
    auto st = res.find("Server-Timing");
    if (st != res.end()) {
      std::string v(st->value());
      if (size_t d = v.find("dur="); d != std::string::npos) server_ms = std::atof(v.c_str() + d + 4);
    }
    return res.result_int();
  }
};

using Queries = std::vector<std::pair<std::string, std::function<std::string(uint64_t)>>>;

// The measured queries: name -> target for a random 64-bit value.
Queries make_queries(const Gen& g, uint64_t n) {
  int64_t last = g.ts(n), first = g.ts(1);
  std::string from30 = store::format_time(std::max<int64_t>(first, last - 30 * 86400000LL)), to30 = store::format_time(last);
  Queries qs = {
      {"list_newest", [](uint64_t) { return std::string("/api/v1/alerts?limit=100"); }},
      {"list_deep_cursor", [=](uint64_t h) {
         uint64_t id = 1 + h % n;
         return "/api/v1/alerts?limit=100&cursor=" + api::encode_cursor('a', id, g.ts(id)); }},
      {"list_sid", [](uint64_t h) { return "/api/v1/alerts?limit=100&sid=" + std::to_string(Gen::sid(h)); }},
      {"list_ip", [](uint64_t h) { return "/api/v1/alerts?limit=100&ip=" + Gen::src(h); }},
      {"list_severity_1", [](uint64_t) { return std::string("/api/v1/alerts?limit=100&severity=1"); }},
      {"list_hour_window", [=](uint64_t h) {
         int64_t t = first + int64_t(h % uint64_t(std::max<int64_t>(1, last - first)));
         return "/api/v1/alerts?limit=100&from=" + store::format_time(t) + "&to=" + store::format_time(t + 3600000); }},
      {"list_cidr16", [](uint64_t h) { return "/api/v1/alerts?limit=100&cidr=10." + std::to_string(h % 20) + ".0.0/16"; }},
      {"detail", [=](uint64_t h) { return "/api/v1/alerts/" + std::to_string(1 + h % n); }},
      // q= free text (FTS5 trigram index, sqlite_search.cc): rare, absent, an address, a common term.
      {"q_rare", [](uint64_t) { return std::string("/api/v1/alerts?limit=100&q=RARE%20needle"); }},
      {"q_absent", [](uint64_t h) { return "/api/v1/alerts?limit=100&q=absent%20term%20" + std::to_string(h % 1000); }},
      {"q_address", [](uint64_t h) { return "/api/v1/alerts?limit=100&q=" + Gen::src(h); }},
      {"q_common", [](uint64_t h) { return "/api/v1/alerts?limit=100&q=signature%20" + std::to_string(Gen::sid(h)); }},
      // Terms whose every trigram is in every row: the index cannot narrow them.
      {"q_rare_common_trigrams", [](uint64_t) { return std::string("/api/v1/alerts?limit=100&q=20000000"); }},
      {"q_absent_common_trigrams", [](uint64_t h) { return "/api/v1/alerts?limit=100&q=2000000" + std::string(4 + h % 4, '0'); }},
      {"search_rare", [](uint64_t) { return std::string("/api/v1/search?q=rare%20needle&limit=20"); }},
      {"trend_30d_hourly_by_severity", [=](uint64_t) { return "/api/v1/analytics/trends?bucket=hour&by=severity&from=" + from30 + "&to=" + to30; }},
      {"trend_30d_daily_by_signature", [=](uint64_t) { return "/api/v1/analytics/trends?bucket=day&by=signature&from=" + from30 + "&to=" + to30; }},
      {"top_talkers_30d", [=](uint64_t) { return "/api/v1/analytics/top?what=talkers&limit=10&from=" + from30 + "&to=" + to30; }},
      {"dashboard", [](uint64_t) { return std::string("/api/v1/dashboard"); }},
  };
  return qs;
}

}  // namespace

int main(int argc, char** argv) {
  Opt o;
  apibench::ModeOpt mo;
  std::string mode;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); } return argv[++i]; };
    if (a == "--alerts") o.alerts = std::stoull(next());
    else if (a == "--fill-seconds") o.fill_seconds = std::stod(next());
    else if (a == "--queries") o.queries = std::stoull(next());
    else if (a == "--days") o.days = std::stoi(next());
    else if (a == "--db") o.db = next();
    else if (a == "--reuse") o.reuse = true;
    else if (a == "--no-http") o.http = false;
    else if (a == "--batch") o.batch = std::stoull(next());
    else if (a == "--flows" || a == "--explain" || a == "--incidents") mode = a;
    else if (a == "--rows") mo.rows = std::stoull(next());
    else if (a == "--seconds") mo.seconds = std::stod(next());
    else if (a == "--model") mo.model = next();
    else if (a == "--rows-mb") mo.rows_mb = std::stoull(next());
    else if (a == "--work") mo.work = next();
    else if (a == "--q-scan-rows") mo.q_scan_rows = std::stoull(next());
    else {
      std::fprintf(stderr, "usage: spectre-api-bench [--alerts N] [--fill-seconds S] [--db PATH] [--reuse] [--queries N] [--days D] [--no-http]\n"
                           "       spectre-api-bench --flows [--rows N] [--seconds S] [--queries N] [--db PATH]\n"
                           "       spectre-api-bench --explain --model M.spm [--rows-mb MB] [--queries N] [--work DIR]\n"
                           "       spectre-api-bench --incidents [--rows N] [--queries N] [--db PATH] [--q-scan-rows N]\n");
      return 2;
    }
  }
  mo.db = o.db, mo.queries = o.queries;
  if (mode == "--flows") return apibench::flows_mode(mo);
  if (mode == "--incidents") return apibench::incidents_mode(mo);
  if (mode == "--explain") {
    if (mo.model.empty()) { std::fprintf(stderr, "--explain needs --model\n"); return 2; }
    return apibench::explain_mode(mo);
  }
  auto st = apibench::open_bench_store(o.db, o.reuse, o.batch);
  if (!st) return 1;
  std::string err;
  Gen g{o.alerts, int64_t(o.days) * 86400000};
  J out;
  uint64_t have = st->max_alert_id();
  if (have < o.alerts) out["fill"] = fill(*st, g, have + 1, o);
  uint64_t n = st->max_alert_id();
  g.n = std::max<uint64_t>(o.alerts, 1);
  out["alerts"] = n;
  out["db_bytes"] = st->stats().bytes;
  api::TokenStore tk;
  tk.add("bench-token-000", {"bench", api::Role::kAdmin, 1e9, 1e9});
  api::ApiService svc(*st, std::move(tk), {});
  auto qs = make_queries(g, n);
  J inproc, http;
  boost::asio::io_context io{1};
  std::unique_ptr<api::ApiServer> server;
  std::unique_ptr<HttpClient> cli;
  if (o.http) {
    server = std::make_unique<api::ApiServer>(svc, api::ServerOptions{}, io);
    if (!server->start(err)) { std::fprintf(stderr, "%s\n", err.c_str()); return 1; }
    cli = std::make_unique<HttpClient>(server->port());
  }
  for (auto& [name, mk] : qs) {
    bool heavy = name.rfind("trend", 0) == 0 || name.rfind("top", 0) == 0 || name == "dashboard";
    uint64_t reps = heavy ? std::max<uint64_t>(20, o.queries / 10) : o.queries;
    Stats a, b, srv, rest;  // rest: HTTP minus the server's own time (loopback, client, scheduling)
    uint64_t bytes = 0, bad = 0;
    for (uint64_t k = 0; k < reps; k++) {
      std::string target = mk(mix(k * 7919 + 17));
      auto t0 = Clock::now();
      api::Response resp = apibench::get(svc, target, "bench-token-000");
      a.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      bad += resp.status != 200;
      bytes += resp.body.size();
      if (cli) {
        size_t nb = 0;
        t0 = Clock::now();
        bad += cli->get(target, "bench-token-000", nb) != 200;
        const double total = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        b.ms.push_back(total);
        if (cli->server_ms >= 0) {
          srv.ms.push_back(cli->server_ms);
          rest.ms.push_back(total - cli->server_ms);
        }
      }
    }
    inproc[name] = a.json();
    inproc[name]["avg_body_bytes"] = reps ? bytes / reps : 0;
    inproc[name]["non_200"] = bad;
    if (cli) {
      http[name] = b.json();
      http[name]["server"] = srv.json();          // Server-Timing: the server's time of the same requests
      http[name]["outside_server"] = rest.json(); // the rest of each request's time
    }
    std::fprintf(stderr, "%-30s p50 %.2f ms  p99 %.2f ms%s\n", name.c_str(), inproc[name]["p50_ms"].get<double>(),
                 inproc[name]["p99_ms"].get<double>(), bad ? "  (NON-200!)" : "");
  }
  out["in_process"] = inproc;
  if (o.http) out["http"] = http;
  out["targets"] = {{"list_detail_p99_ms", 10}, {"trend_30d_p99_ms", 100}};
  uint64_t non200 = 0;
  for (auto& [k, v] : inproc.items()) non200 += v["non_200"].get<uint64_t>();
  out["non_200"] = non200;
  std::printf("%s\n", out.dump(1).c_str());
  cli.reset();
  if (server) server->stop();
  st->close();
  return non200 ? 1 : 0;  // every query must answer 200 (bench-api-smoke)
}
