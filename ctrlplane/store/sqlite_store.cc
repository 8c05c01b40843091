// SqliteStore: opening, the bounded ingest queue and the writer thread.
#include "ctrlplane/store/sqlite_store.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "ctrlplane/store/eve_rows.h"

namespace spectre::store {

const char* dim_name(Dim d) {
  static const char* const k[] = {"severity", "category", "signature", "tactic", "src", "dest", "incident_level"};
  return k[int(d)];
}

std::unique_ptr<SqliteStore> SqliteStore::open(const SqliteOptions& o, std::string& err) {
  std::unique_ptr<SqliteStore> s(new SqliteStore);
  s->opt_ = o;
  if (!s->w_.open(o.path, true, err)) { err = o.path + ": " + err; return nullptr; }
  std::string e;
  if (!s->w_.exec("PRAGMA journal_mode=WAL", &e) ||
      !s->w_.exec(o.synchronous_normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", &e) ||
      !s->w_.exec("PRAGMA foreign_keys=OFF", &e)) {
    err = o.path + ": " + e;
    return nullptr;
  }
  if (!migrate(s->w_, err)) { err = o.path + ": " + err; return nullptr; }
  if (!s->r_.open(o.path, false, err)) { err = o.path + ": " + err; return nullptr; }
  s->r_.exec("PRAGMA query_only=1");
  // Writer 128 MiB: the index pages that inserts touch at random (sid, addresses) stay cached;
  // reader 32 MiB. Checkpoints every ~40 MB of WAL rather than 4 MB.
  s->w_.exec("PRAGMA cache_size=-131072");
  s->w_.exec("PRAGMA wal_autocheckpoint=10000");
  s->r_.exec("PRAGMA cache_size=-32768");
  s->next_alert_ = uint64_t(s->w_.scalar("SELECT max(id) FROM alerts")) + 1;
  s->next_update_ = uint64_t(s->w_.scalar("SELECT max(id) FROM incident_updates")) + 1;
  s->next_flow_ = uint64_t(s->w_.scalar("SELECT max(id) FROM flows")) + 1;
  s->writer_ = std::thread([p = s.get()] { p->writer_loop(); });
  return s;
}

SqliteStore::~SqliteStore() { close(); }

void SqliteStore::close() {
  {
    std::lock_guard g(qmu_);
    if (stop_ && !writer_.joinable()) return;
    stop_ = true;
  }
  qcv_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::lock_guard g(wmu_);
  w_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

uint64_t SqliteStore::enqueue_alert(AlertRow a) {
  std::unique_lock g(qmu_);
  if (stop_ || q_.size() >= opt_.queue_capacity) { dropped_++; return 0; }
  a.id = next_alert_++;  // assigned under the queue lock: ids are in queue (= commit) order
  uint64_t id = a.id;
  q_.emplace_back(std::move(a));
  pushed_++;
  g.unlock();
  qcv_.notify_one();
  return id;
}

uint64_t SqliteStore::enqueue_incident(IncidentRow r) {
  std::unique_lock g(qmu_);
  if (stop_ || q_.size() >= opt_.queue_capacity) { dropped_++; return 0; }
  r.update_id = next_update_++;
  uint64_t id = r.update_id;
  q_.emplace_back(std::move(r));
  pushed_++;
  g.unlock();
  qcv_.notify_one();
  return id;
}

uint64_t SqliteStore::enqueue_flow(FlowRow f) {
  std::unique_lock g(qmu_);
  if (stop_ || q_.size() >= opt_.queue_capacity || queued_flows_ >= opt_.flow_queue_capacity) {
    dropped_++;
    flows_dropped_++;
    return 0;
  }
  f.id = next_flow_++;
  uint64_t id = f.id;
  q_.emplace_back(std::move(f));
  queued_flows_++;
  pushed_++;
  g.unlock();
  qcv_.notify_one();
  return id;
}

void SqliteStore::flush() {
  std::unique_lock g(qmu_);
  uint64_t target = pushed_;
  qcv_.notify_one();
  done_cv_.wait(g, [&] { return committed_ >= target || (stop_ && q_.empty() && !writer_.joinable()); });
}

uint64_t SqliteStore::max_alert_id() { std::lock_guard g(qmu_); return next_alert_ - 1; }
uint64_t SqliteStore::max_update_id() { std::lock_guard g(qmu_); return next_update_ - 1; }
uint64_t SqliteStore::max_flow_id() { std::lock_guard g(qmu_); return next_flow_ - 1; }

void SqliteStore::writer_loop() {
  std::vector<Item> batch;
  auto next_retention = std::chrono::steady_clock::now() + std::chrono::seconds(opt_.retention_every_s);
  for (;;) {
    size_t n = 0;
    {
      std::unique_lock g(qmu_);
      qcv_.wait_for(g, std::chrono::milliseconds(opt_.flush_ms), [&] { return stop_ || !q_.empty(); });
      if (stop_ && q_.empty()) break;
      while (!q_.empty() && batch.size() < opt_.batch) {
        if (std::holds_alternative<FlowRow>(q_.front())) queued_flows_--;
        batch.push_back(std::move(q_.front()));
        q_.pop_front();
      }
      n = batch.size();
    }
    if (n) write_batch(batch);
    batch.clear();
    {
      std::lock_guard g(qmu_);
      committed_ += n;
    }
    done_cv_.notify_all();
    bool has_policy = opt_.retention.max_age_ms || opt_.retention.max_bytes;
    if (has_policy && std::chrono::steady_clock::now() >= next_retention) {
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch()).count();
      apply_retention(opt_.retention, now);
      next_retention = std::chrono::steady_clock::now() + std::chrono::seconds(opt_.retention_every_s);
    }
  }
  done_cv_.notify_all();
}

namespace {

int64_t hour_of(int64_t ms) { return ms >= 0 ? ms / 3600000 : (ms - 3599999) / 3600000; }
int64_t day_hour(int64_t h) { return (h >= 0 ? h / 24 : (h - 23) / 24) * 24; }

void bind_alert(Stmt& s, const AlertRow& a) {
  int64_t sn = 0, dn = 0;
  s.reset().bind(1, int64_t(a.id)).bind(2, a.ts_ms).bind(3, int64_t(a.severity)).bind(4, int64_t(a.gid))
      .bind(5, int64_t(a.sid)).bind(6, int64_t(a.rev)).bind(7, a.signature).bind(8, a.category)
      .bind(9, a.src_ip).bind(10, int64_t(a.src_port)).bind(11, a.dest_ip).bind(12, int64_t(a.dest_port))
      .bind(13, a.proto).bind(14, a.app_proto).bind(15, a.status).bind(16, a.assignee).bind(17, a.classification)
      .bind(19, join_list(a.tactics)).bind(20, join_list(a.techniques)).bind(21, a.eve);
  if (a.incident_id) s.bind(18, int64_t(a.incident_id));
  if (ipv4_num(a.src_ip, sn)) s.bind(22, sn);
  if (ipv4_num(a.dest_ip, dn)) s.bind(23, dn);
}

void bind_flow(Stmt& s, const FlowRow& f) {
  int64_t sn = 0, dn = 0;
  s.reset().bind(1, int64_t(f.id)).bind(2, f.ts_ms).bind(3, f.src_ip).bind(4, f.dest_ip).bind(5, int64_t(f.src_port))
      .bind(6, int64_t(f.dest_port)).bind(7, f.proto).bind(8, f.app_proto).bind(9, int64_t(f.bytes))
      .bind(10, int64_t(f.pkts)).bind(11, f.eve).bind(12, int64_t(f.flow_id)).bind(13, f.start_ms)
      .bind(14, int64_t(f.alerted));
  if (ipv4_num(f.src_ip, sn)) s.bind(15, sn);
  if (ipv4_num(f.dest_ip, dn)) s.bind(16, dn);
}

// A batch's aggregate deltas, hourly and daily, summed in a hash map whose keys
// view the batch's own strings (no copy a row; a std::map of string keys was
// ~15% of the writer's time), then applied in key order (the agg B-tree's).
class AggDeltas {
 public:
  explicit AggDeltas(size_t rows) { m_.reserve(rows * 2); }
  void add(int dim, int64_t h, std::string_view key) {
    m_[{dim, h, key}]++;
    m_[{dim + kDailyDim, day_hour(h), key}]++;
  }
  void add_number(int dim, int64_t h, int64_t v) {  // a severity: its text, kept here
    static const std::string_view kSmall[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    if (v >= 0 && v <= 9) return add(dim, h, kSmall[v]);
    add(dim, h, owned_.emplace_back(std::to_string(v)));
  }
  using Key = std::tuple<int, int64_t, std::string_view>;
  std::vector<std::pair<Key, int64_t>> sorted() const {
    std::vector<std::pair<Key, int64_t>> v(m_.begin(), m_.end());
    std::sort(v.begin(), v.end());
    return v;
  }

 private:
  struct Hash {
    size_t operator()(const Key& k) const {
      uint64_t h = std::hash<std::string_view>{}(std::get<2>(k));
      return size_t((h ^ (uint64_t(std::get<1>(k)) * 0x9e3779b97f4a7c15ull)) * 31 + uint64_t(std::get<0>(k)));
    }
  };
  std::unordered_map<Key, int64_t, Hash> m_;
  std::deque<std::string> owned_;  // stable addresses
};

}  // namespace

int64_t SqliteStore::text_id(const AlertRow& a) {
  std::string key = a.signature;
  key += '\x1f';
  key += a.category;
  if (auto it = text_ids_.find(key); it != text_ids_.end()) return it->second;
  Stmt ins = w_.prepare("INSERT OR IGNORE INTO alert_texts(signature, category) VALUES(?,?)");
  ins.bind(1, a.signature).bind(2, a.category);
  if (!ins.run()) return 0;
  Stmt get = w_.prepare("SELECT id FROM alert_texts WHERE signature = ? AND category = ?");
  get.bind(1, a.signature).bind(2, a.category);
  if (!get.step()) return 0;
  if (text_ids_.size() >= 100000) text_ids_.clear();  // many distinct texts: start over rather than grow
  return text_ids_[key] = get.i64(0);
}

// One transaction: rows, incident upserts and the aggregate deltas (summed
// per batch first, so a batch of 4096 alerts costs a few hundred upserts).
void SqliteStore::write_batch(std::vector<Item>& batch) {
  std::lock_guard g(wmu_);
  Stmt ins_a = w_.prepare(
      "INSERT INTO alerts(id,ts,severity,gid,sid,rev,signature,category,src_ip,src_port,dest_ip,dest_port,proto,"
      "app_proto,status,assignee,classification,incident_id,tactics,techniques,eve,src_num,dest_num,text_id) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  Stmt exists = w_.prepare("SELECT 1 FROM incidents WHERE id=?");
  Stmt up_i = w_.prepare(
      "INSERT INTO incidents(id,first_ms,last_ms,level,status,record,update_id,event,score,confidence,attacker,victim,"
      "tactics,techniques,signatures,members_total) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
      "ON CONFLICT(id) DO UPDATE SET last_ms=excluded.last_ms,level=excluded.level,record=excluded.record,"
      "update_id=excluded.update_id,event=excluded.event,score=excluded.score,confidence=excluded.confidence,"
      "attacker=excluded.attacker,victim=excluded.victim,tactics=excluded.tactics,techniques=excluded.techniques,"
      "signatures=excluded.signatures,members_total=excluded.members_total,"
      "status=CASE WHEN analyst_status THEN status ELSE excluded.status END");
  Stmt ins_u = w_.prepare("INSERT INTO incident_updates(id,incident_id,ts,event,level,record) VALUES(?,?,?,?,?,?)");
  Stmt ins_f = w_.prepare(
      "INSERT INTO flows(id,ts,src_ip,dest_ip,src_port,dest_port,proto,app_proto,bytes,pkts,eve,flow_id,start_ts,"
      "alerted,src_num,dest_num) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  Stmt agg = w_.prepare("INSERT INTO agg(dim,hour,key,n) VALUES(?,?,?,?) ON CONFLICT(dim,hour,key) DO UPDATE SET n=n+excluded.n");
  AggDeltas deltas(batch.size());
  auto add = [&deltas](int dim, int64_t h, std::string_view key) { deltas.add(dim, h, key); };
  w_.exec("BEGIN IMMEDIATE");
  uint64_t errs = 0;
  for (auto& it : batch) {
    if (auto a = std::get_if<AlertRow>(&it)) {
      bind_alert(ins_a, *a);
      if (int64_t t = text_id(*a)) ins_a.bind(24, t);
      if (!ins_a.run()) { errs++; continue; }
      int64_t h = hour_of(a->ts_ms);
      deltas.add_number(0, h, a->severity);
      if (!a->category.empty()) add(1, h, a->category);
      add(2, h, a->signature);
      for (auto& t : a->tactics) add(3, h, t);
      add(4, h, a->src_ip);
      add(5, h, a->dest_ip);
    } else if (auto r = std::get_if<IncidentRow>(&it)) {
      exists.reset().bind(1, int64_t(r->id));
      if (!exists.step()) add(6, hour_of(r->first_ms), r->level);  // counted once, when first seen
      up_i.reset().bind(1, int64_t(r->id)).bind(2, r->first_ms).bind(3, r->last_ms).bind(4, r->level)
          .bind(5, r->status).bind(6, r->record).bind(7, int64_t(r->update_id)).bind(8, r->event).bind(9, r->score)
          .bind(10, r->confidence).bind(11, r->attacker).bind(12, r->victim).bind(13, join_list(r->tactics))
          .bind(14, join_list(r->techniques)).bind(15, join_list(r->signatures)).bind(16, int64_t(r->members_total));
      if (!up_i.run()) { errs++; continue; }
      ins_u.reset().bind(1, int64_t(r->update_id)).bind(2, int64_t(r->id)).bind(3, r->last_ms).bind(4, r->event)
          .bind(5, r->level).bind(6, r->record);
      if (!ins_u.run()) errs++;
    } else if (auto f = std::get_if<FlowRow>(&it)) {
      bind_flow(ins_f, *f);
      if (!ins_f.run()) errs++;
    }
  }
  for (auto& [k, n] : deltas.sorted()) {
    agg.reset().bind(1, int64_t(std::get<0>(k))).bind(2, std::get<1>(k)).bind(3, std::get<2>(k)).bind(4, n);
    if (!agg.run()) errs++;
  }
  if (!w_.exec("COMMIT")) {
    w_.exec("ROLLBACK");
    errs = batch.size();
    text_ids_.clear();  // texts added in the batch are gone too
  }
  write_errors_ += errs;
  written_ += batch.size() - std::min<uint64_t>(errs, batch.size());
  batches_++;
}

}  // namespace spectre::store
