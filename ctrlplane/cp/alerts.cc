#include "ctrlplane/cp/alerts.h"

#include <fmt/format.h>

#include "ctrlplane/cp/json_out.h"
#include "ml/json.h"

namespace spectre::cp {

bool parse_severity(std::string_view s, int& out) {
  out = 0;
  if (s == "1" || s == "high") out = 1;
  else if (s == "2" || s == "medium") out = 2;
  else if (s == "3" || s == "low") out = 3;
  else if (s == "4" || s == "info") out = 4;
  return out != 0;
}

std::string render_alert(std::string_view eve, int* severity_out) {
  ml::json::Doc d;
  std::string err;
  if (!d.parse(eve, err) || d.type(0) != ml::json::Type::Object) {
    if (severity_out) *severity_out = 3;
    return std::string(eve);
  }
  uint32_t a = d.find(0, "alert");
  int64_t sev = 3, gid = 1, sid = 0, rev = 0;
  std::string sig;
  if (a != ml::json::kNone) {
    sev = jget_int(d, a, "severity", 3);
    gid = jget_int(d, a, "gid", 1);
    sid = jget_int(d, a, "signature_id", 0);
    rev = jget_int(d, a, "rev", 0);
    sig = jget_str(d, a, "signature");
  }
  if (severity_out) *severity_out = int(sev);
  std::string proto = jget_str(d, 0, "proto");
  int64_t sp = jget_int(d, 0, "src_port", -1), dp = jget_int(d, 0, "dest_port", -1);
  std::string src = jget_str(d, 0, "src_ip"), dst = jget_str(d, 0, "dest_ip");
  if (sp >= 0) src.append(1, ':').append(std::to_string(sp));
  if (dp >= 0) dst.append(1, ':').append(std::to_string(dp));
  std::string line = fmt::format("{} [sev {}] [{}:{}:{}] {} {{{}}} {} -> {}", jget_str(d, 0, "timestamp"),
                                 sev, gid, sid, rev, sig, proto, src, dst);
  uint32_t ml = d.find(0, "ml");
  if (ml != ml::json::kNone) {
    double score = 0;
    uint32_t s = d.find(ml, "score");
    if (s != ml::json::kNone && d.to_double(s, score)) line += fmt::format(" ml_score={:.3f}", score);
  }
  return line;
}

void AlertFeed::publish(std::string_view eve) {
  while (!eve.empty() && (eve.back() == '\n' || eve.back() == '\r')) eve.remove_suffix(1);
  AlertEvent e;
  e.text = render_alert(eve, &e.severity);
  e.eve = std::string(eve);
  {
    std::lock_guard g(mu_);
    e.seq = ++seq_;
    ring_.push_back(std::move(e));
    while (ring_.size() > cap_) ring_.pop_front();
  }
  cv_.notify_all();
  if (tap_) tap_(eve);
}

std::vector<AlertEvent> AlertFeed::recent(size_t n, int max_severity) const {
  std::lock_guard g(mu_);
  std::vector<AlertEvent> out;
  for (auto it = ring_.rbegin(); it != ring_.rend() && out.size() < n; ++it)
    if (max_severity == 0 || it->severity <= max_severity) out.push_back(*it);
  return {out.rbegin(), out.rend()};
}

std::vector<AlertEvent> AlertFeed::wait_after(uint64_t& after, int max_severity,
                                              std::chrono::milliseconds timeout) {
  std::unique_lock g(mu_);
  cv_.wait_for(g, timeout, [&] { return seq_ > after; });
  std::vector<AlertEvent> out;
  for (const auto& e : ring_)
    if (e.seq > after && (max_severity == 0 || e.severity <= max_severity)) out.push_back(e);
  after = seq_;
  return out;
}

uint64_t AlertFeed::last_seq() const { std::lock_guard g(mu_); return seq_; }

}  // namespace spectre::cp
