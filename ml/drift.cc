// Drift monitoring (see drift.h).
#include "ml/drift.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ml/xgb/predict.h"

namespace spectre::ml {

namespace {

constexpr double kShareFloor = 1e-4;      // PSI: empty bins count as this share
constexpr size_t kMaxBucketCatchUp = 100000;  // a longer gap restarts the rate buckets

std::string iso(double ts) {
  if (!(ts > 0)) return "";
  time_t t = time_t(ts);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double finite_or_zero(double v) { return std::isfinite(v) ? v : 0; }

}  // namespace

Distribution build_distribution(const std::string& name, std::vector<double> values, size_t bins) {
  Distribution d;
  d.name = name;
  std::vector<double> v;
  v.reserve(values.size());
  for (double x : values)
    if (!std::isnan(x)) v.push_back(x);
  std::sort(v.begin(), v.end());
  for (size_t q = 1; q < bins && !v.empty(); ++q) {
    const size_t i = std::min(v.size() - 1, (q * v.size() + bins - 1) / bins - 1);  // ceil(q N / B) - 1
    const double e = v[i];
    if (std::isfinite(e) && (d.edges.empty() || e > d.edges.back())) d.edges.push_back(e);
  }
  bin_into(d, values);
  return d;
}

void bin_into(Distribution& d, const std::vector<double>& values) {
  d.counts.assign(d.edges.size() + 1, 0);
  d.missing = 0;
  for (double x : values) {
    if (std::isnan(x)) {
      ++d.missing;
      continue;
    }
    // First edge >= x: x in (edges[i-1], edges[i]].
    const size_t i = size_t(std::lower_bound(d.edges.begin(), d.edges.end(), x) - d.edges.begin());
    ++d.counts[i];
  }
}

std::vector<double> model_scores(const LoadedModel& m, const std::vector<double>& x, size_t n) {
  const size_t nf = m.num_features, G = m.num_outputs();
  std::vector<double> out(n * G);
  if (n == 0) return out;
  if (m.kind == ModelKind::XGBoost) {
    std::vector<float> xf(x.begin(), x.begin() + long(n * nf)), o(n * G);
    predict_prob(m.xgb, xf.data(), n, nf, o.data());
    out.assign(o.begin(), o.end());
  } else {
    score_samples(m.iforest, x.data(), n, nf, out.data());
  }
  return out;
}

Reference build_reference(const LoadedModel& m, const std::vector<double>& x, size_t n, const std::string& source,
                          size_t bins) {
  Reference r;
  r.rows = n;
  r.source = source;
  const size_t nf = m.num_features, G = m.num_outputs();
  std::vector<double> col(n);
  for (size_t j = 0; j < nf; ++j) {
    for (size_t i = 0; i < n; ++i) col[i] = x[i * nf + j];
    r.features.push_back(build_distribution(m.feature_names[j], col, bins));
  }
  const std::vector<double> s = model_scores(m, x, n);
  for (size_t g = 0; g < G; ++g) {
    for (size_t i = 0; i < n; ++i) col[i] = s[i * G + g];
    // A binary model names (negative, positive): its one output is the positive class.
    const std::string& cls = m.class_names.size() > G ? m.class_names[g + 1] : m.class_names[g];
    r.scores.push_back(build_distribution("score." + cls, col, bins));
  }
  return r;
}

bool attach_reference(std::vector<uint8_t>& bytes, const std::vector<double>& x, size_t n,
                      const std::string& source, std::string& err) {
  LoadedModel m;
  if (!load_artifact(bytes, m, err)) return false;
  if (n == 0) {
    err = "no reference rows";
    return false;
  }
  ArtifactInfo info = info_of(m);
  info.reference = build_reference(m, x, n, source);
  std::vector<uint8_t> out;
  const bool ok = m.kind == ModelKind::XGBoost ? build_artifact_xgb(m.xgb, info, out, err)
                                               : build_artifact_iforest(m.iforest, info, out, err);
  if (!ok) return false;
  LoadedModel check;
  if (!load_artifact(out, check, err)) return false;
  bytes = std::move(out);
  return true;
}

double psi(const Distribution& ref, const Distribution& live) {
  const double R = double(ref.total()), L = double(live.total());
  if (R == 0 || L == 0 || ref.counts.size() != live.counts.size()) return 0;
  double s = 0;
  auto term = [&](uint64_t rc, uint64_t lc) {
    const double r = std::max(double(rc) / R, kShareFloor), l = std::max(double(lc) / L, kShareFloor);
    s += (l - r) * std::log(l / r);
  };
  for (size_t i = 0; i < ref.counts.size(); ++i) term(ref.counts[i], live.counts[i]);
  term(ref.missing, live.missing);
  return s;
}

double ks_binned(const Distribution& ref, const Distribution& live) {
  const double R = double(ref.total() - ref.missing), L = double(live.total() - live.missing);
  if (R == 0 || L == 0 || ref.counts.size() != live.counts.size()) return 0;
  double cr = 0, cl = 0, d = 0;
  for (size_t i = 0; i + 1 < ref.counts.size(); ++i) {  // the last cumulative share is 1 on both sides
    cr += double(ref.counts[i]) / R;
    cl += double(live.counts[i]) / L;
    d = std::max(d, std::fabs(cr - cl));
  }
  return d;
}

// ---- ADWIN

bool Adwin::add(double v) {
  if (!std::isfinite(v)) return false;
  if (n_ > 0) {
    const double mu = sum_ / double(n_);
    var_ += double(n_) * (v - mu) * (v - mu) / double(n_ + 1);
  }
  ++n_;
  sum_ += v;
  if (rows_.empty()) rows_.emplace_back();
  rows_[0].push_front(Bucket{v, 0, 1});
  compress();
  const bool changed = cut();
  if (changed) ++changes_;
  return changed;
}

// A row holding more than max_buckets buckets merges its two oldest into one
// bucket of the next row (twice the size).
void Adwin::compress() {
  for (size_t k = 0; k < rows_.size(); ++k) {
    if (rows_[k].size() <= max_buckets_) break;
    Bucket a = rows_[k].back();
    rows_[k].pop_back();
    Bucket b = rows_[k].back();
    rows_[k].pop_back();
    const double n = double(a.n + b.n), ma = a.sum / double(a.n), mb = b.sum / double(b.n);
    Bucket m{a.sum + b.sum, a.var + b.var + double(a.n) * double(b.n) / n * (ma - mb) * (ma - mb), a.n + b.n};
    if (k + 1 == rows_.size()) rows_.emplace_back();
    rows_[k + 1].push_front(m);
  }
}

// Tests every bucket boundary (older part w0 | newer part w1); on a
// significant difference drops the oldest bucket and tests again.
bool Adwin::cut() {
  bool changed = false;
  for (bool again = true; again && n_ > 2 * min_window_;) {
    again = false;
    const double var = var_ / double(n_);
    const double dd = std::log(2.0 * std::log(double(n_)) / delta_);
    uint64_t n0 = 0;
    double s0 = 0;
    for (size_t k = rows_.size(); k-- > 0 && !again;) {
      for (size_t b = rows_[k].size(); b-- > 0;) {  // oldest first
        n0 += rows_[k][b].n;
        s0 += rows_[k][b].sum;
        const uint64_t n1 = n_ - n0;
        if (n1 < min_window_) break;
        if (n0 < min_window_) continue;
        const double m = 1.0 / (1.0 / double(n0) + 1.0 / double(n1));
        const double eps = std::sqrt(2.0 / m * var * dd) + 2.0 / (3.0 * m) * dd;
        if (std::fabs(s0 / double(n0) - (sum_ - s0) / double(n1)) > eps) {
          again = true;
          break;
        }
      }
    }
    if (!again) break;
    changed = true;
    // Drop the oldest bucket.
    size_t k = rows_.size() - 1;
    while (rows_[k].empty()) --k;
    const Bucket o = rows_[k].back();
    rows_[k].pop_back();
    const uint64_t rest = n_ - o.n;
    const double mo = o.sum / double(o.n), mr = rest ? (sum_ - o.sum) / double(rest) : 0;
    var_ = std::max(0.0, var_ - o.var - double(o.n) * double(rest) / double(n_) * (mo - mr) * (mo - mr));
    n_ = rest;
    sum_ -= o.sum;
    while (!rows_.empty() && rows_.back().empty()) rows_.pop_back();
  }
  return changed;
}

// ---- DriftMonitor

void DriftMonitor::set_model(std::shared_ptr<const LoadedModel> m) {
  std::lock_guard g(mu_);
  model_ = std::move(m);
  rows_.clear();
  ts_.clear();
}

void DriftMonitor::add_rows(const std::vector<double>& x, size_t n, double ts) {
  std::lock_guard g(mu_);
  if (!model_ || n == 0) return;
  const size_t nf = model_->num_features, G = model_->num_outputs();
  const std::vector<double> s = model_scores(*model_, x, n);
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> row(x.begin() + long(i * nf), x.begin() + long((i + 1) * nf));
    row.insert(row.end(), s.begin() + long(i * G), s.begin() + long((i + 1) * G));
    rows_.push_back(std::move(row));
    ts_.push_back(ts);
    if (rows_.size() > opt_.window_rows) {
      rows_.pop_front();
      ts_.pop_front();
    }
  }
  rows_total_ += n;
}

void DriftMonitor::close_buckets(double ts) {
  if (bucket_start_ == 0) bucket_start_ = std::floor(ts / opt_.bucket_s) * opt_.bucket_s;
  if (ts - bucket_start_ > opt_.bucket_s * double(kMaxBucketCatchUp)) {
    bucket_start_ = std::floor(ts / opt_.bucket_s) * opt_.bucket_s;
    bucket_count_ = 0;
    return;
  }
  while (ts >= bucket_start_ + opt_.bucket_s) {
    if (adwin_.add(bucket_count_)) last_change_ = buckets_;
    last_rate_ = bucket_count_ * 60.0 / opt_.bucket_s;
    ++buckets_;
    bucket_count_ = 0;
    bucket_start_ += opt_.bucket_s;
  }
}

void DriftMonitor::add_alert(double ts) {
  std::lock_guard g(mu_);
  close_buckets(ts);
  bucket_count_ += 1;
}

void DriftMonitor::tick(double ts) {
  std::lock_guard g(mu_);
  close_buckets(ts);
}

std::vector<FeatureDrift> DriftMonitor::features_locked() const {
  std::vector<FeatureDrift> out;
  if (!model_ || !model_->reference.present()) return out;
  const Reference& ref = model_->reference;
  std::vector<double> col(rows_.size());
  for (size_t j = 0; j < ref.features.size(); ++j) {
    for (size_t i = 0; i < rows_.size(); ++i) col[i] = rows_[i][j];
    Distribution live = ref.features[j];
    bin_into(live, col);
    FeatureDrift f{ref.features[j].name, psi(ref.features[j], live), ks_binned(ref.features[j], live), false};
    f.drifted = rows_.size() >= opt_.min_rows && f.psi > opt_.psi_threshold;
    out.push_back(f);
  }
  return out;
}

FeatureDrift DriftMonitor::score_locked() const {
  FeatureDrift worst{"score", 0, 0, false};
  if (!model_ || !model_->reference.present()) return worst;
  const Reference& ref = model_->reference;
  const size_t nf = model_->num_features;
  std::vector<double> col(rows_.size());
  for (size_t g = 0; g < ref.scores.size(); ++g) {
    for (size_t i = 0; i < rows_.size(); ++i) col[i] = rows_[i][nf + g];
    Distribution live = ref.scores[g];
    bin_into(live, col);
    const double p = psi(ref.scores[g], live), k = ks_binned(ref.scores[g], live);
    if (p >= worst.psi) worst = FeatureDrift{ref.scores[g].name, p, std::max(k, worst.ks), false};
    else worst.ks = std::max(worst.ks, k);
  }
  worst.drifted = rows_.size() >= opt_.min_rows && worst.psi > opt_.psi_threshold;
  return worst;
}

std::vector<FeatureDrift> DriftMonitor::features() const {
  std::lock_guard g(mu_);
  return features_locked();
}

FeatureDrift DriftMonitor::score() const {
  std::lock_guard g(mu_);
  return score_locked();
}

bool DriftMonitor::rate_changed() const {
  std::lock_guard g(mu_);
  return adwin_.changes() > 0 && buckets_ - last_change_ <= opt_.change_hold_buckets;
}

std::string DriftMonitor::report_json() const {
  std::lock_guard g(mu_);
  nlohmann::ordered_json j;
  j["window"] = {{"from", ts_.empty() ? "" : iso(ts_.front())}, {"to", ts_.empty() ? "" : iso(ts_.back())},
                 {"rows", rows_.size()}};
  j["reference"] = model_ && model_->reference.present() ? nlohmann::ordered_json(model_->reference.rows)
                                                          : nlohmann::ordered_json(nullptr);
  j["features"] = nlohmann::ordered_json::array();
  for (const auto& f : features_locked())
    j["features"].push_back({{"name", f.name}, {"psi", finite_or_zero(f.psi)}, {"ks", f.ks}, {"drifted", f.drifted}});
  const FeatureDrift s = score_locked();
  j["score"] = {{"name", s.name}, {"psi", finite_or_zero(s.psi)}, {"ks", s.ks}, {"drifted", s.drifted}};
  const bool change = adwin_.changes() > 0 && buckets_ - last_change_ <= opt_.change_hold_buckets;
  j["alert_rate"] = {{"rate", last_rate_}, {"baseline", adwin_.mean() * 60.0 / opt_.bucket_s},
                     {"change", change}, {"changes", adwin_.changes()}, {"buckets", buckets_},
                     {"bucket_s", opt_.bucket_s}};
  j["psi_threshold"] = opt_.psi_threshold;
  j["min_rows"] = opt_.min_rows;
  j["rows_total"] = rows_total_;
  return j.dump();
}

std::string DriftMonitor::prometheus() const {
  std::lock_guard g(mu_);
  std::string o;
  auto esc = [](const std::string& s) {
    std::string r;
    for (char c : s) {
      if (c == '\\' || c == '"') r += '\\';
      if (c == '\n') { r += "\\n"; continue; }
      r += c;
    }
    return r;
  };
  const auto fs = features_locked();
  o += "# TYPE spectre_ml_feature_psi gauge\n";
  for (const auto& f : fs) o += fmt::format("spectre_ml_feature_psi{{feature=\"{}\"}} {:.6g}\n", esc(f.name), f.psi);
  o += "# TYPE spectre_ml_feature_ks gauge\n";
  for (const auto& f : fs) o += fmt::format("spectre_ml_feature_ks{{feature=\"{}\"}} {:.6g}\n", esc(f.name), f.ks);
  o += "# TYPE spectre_ml_feature_drifted gauge\n";
  for (const auto& f : fs) o += fmt::format("spectre_ml_feature_drifted{{feature=\"{}\"}} {}\n", esc(f.name), int(f.drifted));
  const FeatureDrift s = score_locked();
  size_t drifted = 0;
  for (const auto& f : fs) drifted += f.drifted;
  const bool change = adwin_.changes() > 0 && buckets_ - last_change_ <= opt_.change_hold_buckets;
  o += fmt::format("# TYPE spectre_ml_score_psi gauge\nspectre_ml_score_psi {:.6g}\n"
                   "# TYPE spectre_ml_features_drifted gauge\nspectre_ml_features_drifted {}\n"
                   "# TYPE spectre_ml_drift_rows gauge\nspectre_ml_drift_rows {}\n"
                   "# TYPE spectre_ml_alert_rate gauge\nspectre_ml_alert_rate {:.6g}\n"
                   "# TYPE spectre_ml_alert_rate_baseline gauge\nspectre_ml_alert_rate_baseline {:.6g}\n"
                   "# TYPE spectre_ml_alert_rate_change gauge\nspectre_ml_alert_rate_change {}\n"
                   "# TYPE spectre_ml_alert_rate_changes_total counter\nspectre_ml_alert_rate_changes_total {}\n",
                   s.psi, drifted, rows_.size(), last_rate_, adwin_.mean() * 60.0 / opt_.bucket_s, int(change),
                   adwin_.changes());
  return o;
}

}  // namespace spectre::ml
