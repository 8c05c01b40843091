// spectre-api-bench modes beside the alert queries (bench_util.h):
//   --flows    flow-row store rates and newest-100 latency, idle and while rows are written
//   --explain  GET /alerts/{id}/explain through the learning port over a dumped rows file
//   --incidents  /incidents?q= (index, bounded scan) and /search over stored incident records
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bench/api/bench_util.h"
#include "ctrlplane/cp/audit.h"
#include "ctrlplane/cp/registry.h"
#include "ctrlplane/learn/api_port.h"
#include "ctrlplane/learn/learning.h"
#include "ctrlplane/store/eve_rows.h"
#include "ctrlplane/store/sqlite_store.h"
#include "ml/artifact.h"

namespace spectre::apibench {

void remove_db(const std::string& path) {
  for (const char* suf : {"", "-wal", "-shm"}) std::filesystem::remove(path + suf);
}

std::unique_ptr<store::SqliteStore> open_bench_store(const std::string& path, bool reuse, size_t batch) {
  if (!reuse) remove_db(path);
  store::SqliteOptions so;
  so.path = path;
  so.queue_capacity = 1 << 18;
  if (batch) so.batch = batch;
  std::string err;
  auto st = store::SqliteStore::open(so, err);
  if (!st) std::fprintf(stderr, "%s\n", err.c_str());
  return st;
}

namespace {

const int64_t kT0 = 1764547200000;  // 2025-12-01T00:00:00Z
const std::string kToken = "bench-token-000";

api::TokenStore tokens() {
  api::TokenStore tk;
  tk.add(kToken, {"bench", api::Role::kAdmin, 1e9, 1e9});
  return tk;
}

// A flow record as spectre-cp's ingest stores it (~420 bytes of EVE).
store::FlowRow flow_row(uint64_t i) {
  uint64_t h = mix(i);
  store::FlowRow f;
  f.ts_ms = kT0 + int64_t(i) * 3;
  f.start_ms = f.ts_ms - int64_t(h % 60000);
  f.flow_id = h >> 12;
  f.src_ip = "10." + std::to_string((h >> 8) % 20) + "." + std::to_string((h >> 16) % 250) + ".7";
  f.dest_ip = "192.168." + std::to_string((h >> 24) % 4) + "." + std::to_string((h >> 32) % 250);
  f.src_port = uint16_t(1024 + h % 60000);
  f.dest_port = h % 3 ? 443 : 80;
  f.proto = "TCP";
  f.app_proto = f.dest_port == 443 ? "tls" : "http";
  f.pkts = h % 90 + 2;
  f.bytes = h % 80000 + 120;
  char eve[600];
  std::snprintf(eve, sizeof eve,
                "{\"timestamp\":\"%s\",\"flow_id\":%llu,\"event_type\":\"flow\",\"src_ip\":\"%s\",\"src_port\":%u,"
                "\"dest_ip\":\"%s\",\"dest_port\":%u,\"proto\":\"TCP\",\"app_proto\":\"%s\",\"flow\":{\"pkts_toserver\":%llu,"
                "\"pkts_toclient\":1,\"bytes_toserver\":%llu,\"bytes_toclient\":60,\"start\":\"%s\",\"end\":\"%s\","
                "\"age\":%lld,\"state\":\"closed\",\"reason\":\"timeout\",\"alerted\":false},\"tcp\":{\"tcp_flags\":\"1b\","
                "\"syn\":true,\"fin\":true,\"psh\":true,\"ack\":true,\"state\":\"closed\"}}",
                store::format_time(f.ts_ms).c_str(), (unsigned long long)f.flow_id, f.src_ip.c_str(), f.src_port,
                f.dest_ip.c_str(), f.dest_port, f.app_proto.c_str(), (unsigned long long)(f.pkts - 1),
                (unsigned long long)(f.bytes - 60), store::format_time(f.start_ms).c_str(),
                store::format_time(f.ts_ms).c_str(), (long long)((f.ts_ms - f.start_ms) / 1000));
  f.eve = eve;
  return f;
}

// Newest-100 flows, o.queries times: the store call and the API route.
J newest_flows(store::SqliteStore& st, api::ApiService& svc, uint64_t queries) {
  Stats s, a;
  uint64_t bad = 0;
  for (uint64_t k = 0; k < queries; k++) {
    store::FlowQuery q;
    std::vector<store::FlowRow> rows;
    std::string err;
    auto t0 = Clock::now();
    bad += !st.list_flows(q, rows, err) || rows.size() != 100;
    s.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    t0 = Clock::now();
    bad += get(svc, "/api/v1/flows?limit=100", kToken).status != 200;
    a.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return {{"store_list_flows", s.json()}, {"api_get_flows", a.json()}, {"bad", bad}};
}

}  // namespace

int flows_mode(const ModeOpt& o) {
  remove_db(o.db);
  store::SqliteOptions so;  // spectre-cp's defaults: 65,536-row queue, flows at most 16,384 of it
  so.path = o.db;
  std::string err;
  auto st = store::SqliteStore::open(so, err);
  if (!st) { std::fprintf(stderr, "%s\n", err.c_str()); return 1; }
  J out{{"mode", "flows"}, {"queue_capacity", so.queue_capacity}, {"flow_queue_capacity", so.flow_queue_capacity}};
  // 1. Enqueue as fast as the writer takes them (a refused row is retried: ingest would drop it).
  auto t0 = Clock::now();
  auto deadline = t0 + std::chrono::duration<double>(o.seconds);
  uint64_t i = 1, refused = 0;
  for (; i <= o.rows; i++) {
    store::FlowRow f = flow_row(i);
    while (!st->enqueue_flow(f)) {
      refused++;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if ((i & 0x3fff) == 0 && Clock::now() > deadline) { i++; break; }
  }
  const uint64_t rows = i - 1;
  double enq_s = std::chrono::duration<double>(Clock::now() - t0).count();
  st->flush();
  double commit_s = std::chrono::duration<double>(Clock::now() - t0).count();
  out["fill"] = {{"rows", rows}, {"enqueue_seconds", enq_s}, {"enqueued_per_s", rows / std::max(enq_s, 1e-9)},
                 {"commit_seconds", commit_s}, {"committed_per_s", rows / std::max(commit_s, 1e-9)},
                 {"refused_retried", refused}, {"stored_max_id", st->max_flow_id()}};
  std::fprintf(stderr, "flows: %llu rows, %.0f/s enqueued, %.0f/s committed\n", (unsigned long long)rows,
               rows / std::max(enq_s, 1e-9), rows / std::max(commit_s, 1e-9));
  api::ApiService svc(*st, tokens(), {});
  // 2. Newest-100 with the writer idle.
  out["newest_100_idle"] = newest_flows(*st, svc, o.queries);
  // 3. The same while another thread enqueues flows without waiting (drops counted, as the ingest).
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> offered{0}, accepted{0};
  std::thread writer([&] {
    for (uint64_t k = rows + 1; !stop.load(std::memory_order_relaxed); k++) {
      offered++;
      if (st->enqueue_flow(flow_row(k))) accepted++;
      else std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  auto t1 = Clock::now();
  J busy = newest_flows(*st, svc, o.queries);
  double busy_s = std::chrono::duration<double>(Clock::now() - t1).count();
  stop = true;
  writer.join();
  st->flush();
  busy["writer"] = {{"seconds", busy_s}, {"accepted_per_s", accepted / std::max(busy_s, 1e-9)},
                    {"offered", offered.load()}, {"accepted", accepted.load()}};
  out["newest_100_while_writing"] = busy;
  out["db_bytes"] = st->stats().bytes;
  std::printf("%s\n", out.dump(1).c_str());
  uint64_t bad = out["newest_100_idle"]["bad"].get<uint64_t>() + busy["bad"].get<uint64_t>();
  st->close();
  return bad ? 1 : 0;
}

namespace {

// Writes a rows file of ~mb MiB (flow ids 1.., phase "end") for m's features;
// the byte offset where each row starts goes to `starts`.
bool write_rows(const std::string& path, const ml::LoadedModel& m, uint64_t mb, std::vector<uint64_t>& starts) {
  std::ofstream f(path, std::ios::binary);
  std::string line = "flow_id,phase,ts_start,ts,src_ip,src_port,dst_ip,dst_port,proto";
  for (const auto& n : m.feature_names) line += "," + n;
  f << line << "\n";
  uint64_t off = line.size() + 1;
  for (uint64_t id = 1; off < (mb << 20); id++) {
    uint64_t h = mix(id);
    line = std::to_string(id) + ",end,1764547200.5,1764547260.25,10.0.0." + std::to_string(h % 250) + ",40000,192.168.0.1,443,6";
    for (size_t j = 0; j < m.feature_names.size(); j++) line += "," + std::to_string(double((h >> (j % 50)) % 100000) / 8);
    starts.push_back(off);
    f << line << "\n";
    off += line.size() + 1;
  }
  return bool(f);
}

store::AlertRow ml_alert(uint64_t flow, const std::string& version) {
  store::AlertRow a;
  a.ts_ms = kT0;
  a.gid = 9000, a.sid = 9000002, a.rev = 1, a.severity = 2;
  a.signature = "SPECTRE ML c2_exfil", a.category = "ML";
  a.src_ip = "10.0.0.1", a.dest_ip = "192.168.0.1", a.proto = "TCP";
  a.eve = "{\"timestamp\":\"" + store::format_time(kT0) + "\",\"event_type\":\"alert\",\"flow_id\":" + std::to_string(flow) +
          ",\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"192.168.0.1\",\"alert\":{\"gid\":9000,\"signature_id\":9000002,"
          "\"signature\":\"SPECTRE ML c2_exfil\"},\"ml\":{\"model\":\"default\",\"version\":\"" + version +
          "\",\"score\":0.9,\"threshold\":0.5,\"class\":\"c2_exfil\",\"phase\":\"end\",\"top_features\":[]}}";
  return a;
}

}  // namespace

int explain_mode(const ModeOpt& o) {
  namespace fs = std::filesystem;
  std::string work = o.work.empty() ? "/tmp/spectre-explain-bench" : o.work, err;
  fs::remove_all(work);
  fs::create_directories(work);
  cp::ModelRegistry reg;
  cp::AuditLog audit;
  if (!reg.open(work + "/reg", err) || !audit.open(work + "/audit.log", err)) { std::fprintf(stderr, "%s\n", err.c_str()); return 1; }
  learn::LearningOptions lo;
  lo.rows_csv = work + "/rows.csv";
  learn::Learning l(reg, audit, lo);
  const std::string model = fs::absolute(o.model).string();  // the registry wants an absolute path
  if (auto r = l.install(model, "bench"); r.status != 200) { std::fprintf(stderr, "install: %s\n", r.body.c_str()); return 1; }
  const std::string version = J::parse(l.status().body)["active"]["version"];
  ml::LoadedModel m;
  std::vector<uint64_t> starts;
  if (!ml::load_artifact_file(model, m, err) || !write_rows(lo.rows_csv, m, o.rows_mb, starts)) {
    std::fprintf(stderr, "rows: %s\n", err.c_str());
    return 1;
  }
  const uint64_t size = fs::file_size(lo.rows_csv);
  // The flow whose row starts `back` bytes before the end of the file.
  auto flow_at = [&](uint64_t back) {
    auto it = std::lower_bound(starts.begin(), starts.end(), size > back ? size - back : 0);
    return uint64_t(it - starts.begin()) + 1;
  };
  store::SqliteOptions so;
  so.path = work + "/store.db";
  auto st = store::SqliteStore::open(so, err);
  if (!st) { std::fprintf(stderr, "%s\n", err.c_str()); return 1; }
  store::AlertRow sig = ml_alert(0, version);
  sig.gid = 1, sig.sid = 2000001, sig.signature = "ET BENCH signature", sig.category = "Bench";
  sig.eve = "{\"event_type\":\"alert\",\"alert\":{\"gid\":1,\"signature_id\":2000001}}";
  std::vector<std::pair<std::string, uint64_t>> cases = {
      {"signature_alert", st->enqueue_alert(sig)},
      {"ml_row_newest", st->enqueue_alert(ml_alert(starts.size(), version))},
      {"ml_row_16MiB_back", st->enqueue_alert(ml_alert(flow_at(16u << 20), version))},
      {"ml_row_31MiB_back", st->enqueue_alert(ml_alert(flow_at(31u << 20), version))},
      {"ml_row_not_in_tail", st->enqueue_alert(ml_alert(1, version))}};  // reads the whole tail, then 404
  st->flush();
  // The first explain after a start, cold (the lookup indexes the tail itself) and after
  // warm_explain() (spectre-cp runs it on its own thread at start): a fresh Learning each time.
  J first = {{"cold_ms", J::array()}, {"warmed_ms", J::array()}, {"warm_up_ms", J::array()}};
  const std::string newest = std::to_string(starts.size());
  for (int rep = 0; rep < 5; rep++) {
    learn::Learning cold(reg, audit, lo), warmed(reg, audit, lo);
    auto t0 = Clock::now();
    bool ok = cold.explain(newest, "end", version, "c2_exfil").status == 200;
    first["cold_ms"].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    t0 = Clock::now();
    ok = warmed.warm_explain(err) && ok;
    first["warm_up_ms"].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    t0 = Clock::now();
    ok = warmed.explain(newest, "end", version, "c2_exfil").status == 200 && ok;
    first["warmed_ms"].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (!ok || warmed.row_index_stats().lookup_indexed != 0) { std::fprintf(stderr, "first explain: not served warm\n"); return 1; }
  }
  std::fprintf(stderr, "first explain after a start: cold %.2f ms, warmed %.2f ms (warm-up %.1f ms off the request path; first of 5)\n",
               first["cold_ms"][0].get<double>(), first["warmed_ms"][0].get<double>(), first["warm_up_ms"][0].get<double>());
  learn::LearningPort port(l, reg, work + "/feedback.jsonl");
  api::ServiceHooks hooks;
  hooks.ml = &port;
  api::ApiService svc(*st, tokens(), {}, hooks);
  J res;
  uint64_t bad = 0;
  for (auto& [name, id] : cases) {
    Stats s;
    std::string source;
    for (uint64_t k = 0; k < o.queries; k++) {
      auto t0 = Clock::now();
      api::Response r = get(svc, "/api/v1/alerts/" + std::to_string(id) + "/explain", kToken);
      s.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      bad += r.status != 200;
      if (k == 0) source = J::parse(r.body, nullptr, false).value("contributions_source", "");
    }
    res[name] = s.json();
    res[name]["contributions_source"] = source;
    std::fprintf(stderr, "%-22s p50 %.2f ms  p99 %.2f ms (%s)\n", name.c_str(), res[name]["p50_ms"].get<double>(),
                 res[name]["p99_ms"].get<double>(), source.c_str());
  }
  J out{{"mode", "explain"}, {"rows_file_bytes", size}, {"rows", starts.size()}, {"model", o.model}, {"cases", res},
        {"first_explain_after_start", first}, {"non_200", bad}};
  std::printf("%s\n", out.dump(1).c_str());
  st->close();
  fs::remove_all(work);
  return bad ? 1 : 0;
}

namespace {

// An incident record as spectre-cp stores it (~1.3 KB): 8 members whose signatures
// ("ET BENCH signature 2000NNN") put "200" and "000" in every record; 1 in 100,019
// names "2000000000" (found only by the bounded scan), 1 in 10,007 "rare needle" (the index).
store::IncidentRow incident_row(uint64_t id) {
  uint64_t h = mix(id);
  store::IncidentRow r;
  r.id = id;
  r.first_ms = kT0 + int64_t(id) * 1000;
  r.last_ms = r.first_ms + int64_t(h % 600000);
  static const char* const kLevels[] = {"low", "medium", "high", "critical"};
  r.level = kLevels[h % 4];
  r.event = "opened";
  r.attacker = "10." + std::to_string((h >> 8) % 20) + "." + std::to_string((h >> 16) % 250) + ".7";
  r.victim = "192.168." + std::to_string((h >> 24) % 4) + "." + std::to_string((h >> 32) % 250);
  std::string members;
  for (int k = 0; k < 8; k++) {
    std::string sig = id % 100019 == 7 && k == 0 ? "2000000000" : std::to_string(2000000 + (h >> (k * 7)) % 1000);
    members += std::string(k ? "," : "") + "{\"timestamp\":\"" + store::format_time(r.first_ms + k) +
               "\",\"kind\":\"signature\",\"gid\":1,\"signature_id\":" + std::to_string(2000000 + k) +
               ",\"signature\":\"ET BENCH signature " + sig + "\"}";
  }
  r.record = "{\"timestamp\":\"" + store::format_time(r.last_ms) + "\",\"event_type\":\"incident\",\"incident\":{" +
             "\"incident_id\":" + std::to_string(id) + ",\"event\":\"opened\",\"summary\":\"" +
             (id % 10007 == 3 ? "rare needle beacon" : "beaconing and scanning") + " from " + r.attacker +
             "\",\"risk\":{\"level\":\"" + r.level + "\"},\"entities\":{\"attackers\":[\"" + r.attacker +
             "\"],\"victims\":[\"" + r.victim + "\"]},\"members\":[" + members + "]}}";
  return r;
}

}  // namespace

int incidents_mode(const ModeOpt& o) {
  auto st = open_bench_store(o.db);
  if (!st) return 1;
  auto t0 = Clock::now();
  for (uint64_t id = 1; id <= o.rows; id++)
    while (!st->enqueue_incident(incident_row(id))) std::this_thread::sleep_for(std::chrono::microseconds(100));
  st->flush();
  const double fill_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::fprintf(stderr, "incidents: %llu in %.1f s\n", (unsigned long long)o.rows, fill_s);
  api::ServiceOptions sv;
  sv.q_scan_rows = size_t(o.q_scan_rows);
  api::ApiService svc(*st, tokens(), sv);
  J out{{"mode", "incidents"}, {"incidents", o.rows}, {"fill_seconds", fill_s}, {"db_bytes", st->stats().bytes},
        {"q_scan_rows", o.q_scan_rows}};
  const std::pair<const char*, const char*> cases[] = {
      {"incidents_newest", "/api/v1/incidents?limit=100"},
      {"incidents_q_rare", "/api/v1/incidents?limit=100&q=rare%20needle"},
      {"incidents_q_common_trigrams", "/api/v1/incidents?limit=100&q=2000000000"},
      {"search_common_trigrams", "/api/v1/search?q=2000000000&limit=20"}};
  uint64_t bad = 0;
  for (auto& [name, target] : cases) {
    Stats s;
    std::string partial;
    for (uint64_t k = 0; k < o.queries; k++) {
      auto q0 = Clock::now();
      api::Response r = get(svc, target, kToken);
      s.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - q0).count());
      bad += r.status != 200;
      if (k == 0) {
        J j = J::parse(r.body, nullptr, false);
        partial = j.contains("partial") ? j["partial"].dump() : j.contains("incidents_partial") ? j["incidents_partial"].dump() : "";
        out[name]["items_first_page"] = j.contains("items") ? j["items"].size() : j.value("incidents", J::array()).size();
      }
    }
    out[name].update(s.json());
    out[name]["partial"] = partial;
    std::fprintf(stderr, "%-28s p50 %.2f ms  p99 %.2f ms %s\n", name, out[name]["p50_ms"].get<double>(),
                 out[name]["p99_ms"].get<double>(), partial.c_str());
  }
  out["non_200"] = bad;
  std::printf("%s\n", out.dump(1).c_str());
  st->close();
  remove_db(o.db);
  return bad ? 1 : 0;
}

}  // namespace spectre::apibench
