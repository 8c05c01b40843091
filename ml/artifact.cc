// Model artifact: build (flatbuffer + sha256 trailer) and verified load.
#include "ml/artifact.h"

#include <openssl/evp.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "ml/xgb/predict.h"
#include "model_generated.h"

namespace spectre::ml {
namespace {

static_assert(sizeof(fb::XgbNode) == sizeof(TreeNode), "XgbNode must mirror TreeNode");

constexpr double kValidationTolerance = 1e-6;

bool sha256(const uint8_t* p, size_t n, uint8_t out[32]) {
  unsigned int len = 0;
  return EVP_Digest(p, n, out, &len, EVP_sha256(), nullptr) == 1 && len == 32;
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 15];
  }
  return s;
}

// Expected outputs of one row by our scorers (margins for XGBoost).
void score_row(ModelKind kind, const TreeEnsemble& m, const IsolationForest& f,
               const std::vector<double>& row, std::vector<double>& out) {
  if (kind == ModelKind::XGBoost) {
    std::vector<float> x(row.begin(), row.end());
    std::vector<float> o(m.num_group);
    predict_margin(m, x.data(), 1, x.size(), o.data());
    out.assign(o.begin(), o.end());
  } else {
    out.assign(1, 0.0);
    score_samples(f, row.data(), 1, row.size(), out.data());
  }
}

bool check_reference(const Reference& r, size_t nfeat, size_t outputs, std::string& err);

// Fills defaults and checks counts; outputs = number of scores per row.
bool complete_info(const ArtifactInfo& in, ModelKind kind, uint32_t nfeat, uint32_t outputs,
                   double default_threshold, ArtifactInfo& info, std::string& err) {
  info = in;
  if (info.feature_names.empty())
    for (uint32_t i = 0; i < nfeat; ++i) info.feature_names.push_back("f" + std::to_string(i));
  if (info.feature_names.size() != nfeat) {
    err = "model has " + std::to_string(nfeat) + " features but " +
          std::to_string(info.feature_names.size()) + " feature names were given";
    return false;
  }
  if (info.class_names.empty()) {
    if (kind == ModelKind::IForest) info.class_names = {"anomaly"};
    else if (outputs == 1) info.class_names = {"attack"};
    else
      for (uint32_t i = 0; i < outputs; ++i) info.class_names.push_back("class" + std::to_string(i));
  }
  // A binary model may name both classes (negative, positive).
  const bool ok_classes = info.class_names.size() == outputs ||
                          (kind == ModelKind::XGBoost && outputs == 1 && info.class_names.size() == 2);
  if (!ok_classes) {
    err = "model has " + std::to_string(outputs) + " outputs but " +
          std::to_string(info.class_names.size()) + " class names were given";
    return false;
  }
  if (info.thresholds.empty()) info.thresholds.assign(outputs, default_threshold);
  if (info.thresholds.size() == 1 && outputs > 1) info.thresholds.assign(outputs, info.thresholds[0]);
  if (info.thresholds.size() != outputs) {
    err = "model has " + std::to_string(outputs) + " outputs but " +
          std::to_string(info.thresholds.size()) + " thresholds were given";
    return false;
  }
  for (size_t r = 0; r < info.validation.size(); ++r)
    if (info.validation[r].features.size() != nfeat) {
      err = "validation row " + std::to_string(r) + " has " +
            std::to_string(info.validation[r].features.size()) + " values, model wants " +
            std::to_string(nfeat);
      return false;
    }
  if (info.created_by.empty()) info.created_by = "spectre-ml";
  return check_reference(info.reference, nfeat, outputs, err);
}

using StrVec = flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>>;

StrVec strings(flatbuffers::FlatBufferBuilder& b, const std::vector<std::string>& v) {
  return b.CreateVectorOfStrings(v);
}

struct CommonOffsets {
  flatbuffers::Offset<flatbuffers::String> created_by, hash;
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> guard;
  flatbuffers::Offset<fb::Calibration> calibration;
  flatbuffers::Offset<fb::Reference> reference;
  StrVec features, classes;
  flatbuffers::Offset<flatbuffers::Vector<double>> thresholds;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Metric>>> metrics;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::ValidationRow>>> validation;
};

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Distribution>>> distributions(
    flatbuffers::FlatBufferBuilder& b, const std::vector<Distribution>& ds) {
  std::vector<flatbuffers::Offset<fb::Distribution>> v;
  for (const Distribution& d : ds)
    v.push_back(fb::CreateDistributionDirect(b, d.name.c_str(), &d.edges, &d.counts, d.missing));
  return b.CreateVector(v);
}

// Reference counts must match the model (one distribution per feature/output,
// one count more than edges, ascending edges): a bad one is refused, not used.
bool check_reference(const Reference& r, size_t nfeat, size_t outputs, std::string& err) {
  if (!r.present()) return true;
  if (r.features.size() != nfeat || (!r.scores.empty() && r.scores.size() != outputs)) {
    err = "reference has " + std::to_string(r.features.size()) + " feature and " + std::to_string(r.scores.size()) +
          " score distributions for " + std::to_string(nfeat) + " features and " + std::to_string(outputs) + " outputs";
    return false;
  }
  for (const auto* set : {&r.features, &r.scores})
    for (const Distribution& d : *set) {
      bool ok = d.counts.size() == d.edges.size() + 1;
      for (size_t i = 1; ok && i < d.edges.size(); ++i) ok = d.edges[i - 1] < d.edges[i];
      for (double e : d.edges) ok = ok && std::isfinite(e);
      if (!ok) {
        err = "reference distribution '" + d.name + "' has bad edges or counts";
        return false;
      }
    }
  return true;
}

CommonOffsets common(flatbuffers::FlatBufferBuilder& b, const ArtifactInfo& info, ModelKind kind,
                     const TreeEnsemble& m, const IsolationForest& f) {
  CommonOffsets c;
  c.created_by = b.CreateString(info.created_by);
  c.hash = b.CreateString(feature_schema_hash(info.feature_names));
  c.features = strings(b, info.feature_names);
  c.classes = strings(b, info.class_names);
  c.thresholds = b.CreateVector(info.thresholds);
  std::vector<flatbuffers::Offset<fb::Metric>> ms;
  for (const auto& [k, v] : info.metrics) ms.push_back(fb::CreateMetricDirect(b, k.c_str(), v));
  c.metrics = b.CreateVector(ms);
  std::vector<flatbuffers::Offset<fb::ValidationRow>> rows;
  std::vector<double> expected;
  for (const auto& r : info.validation) {
    score_row(kind, m, f, r.features, expected);
    rows.push_back(fb::CreateValidationRowDirect(b, &r.features, &expected));
  }
  c.validation = b.CreateVector(rows);
  if (!info.guard.empty()) c.guard = b.CreateVector(info.guard);
  if (info.calibration.present()) {
    const Calibration& k = info.calibration;
    std::vector<flatbuffers::Offset<fb::Metric>> fs;
    for (const auto& [key, v] : k.figures) fs.push_back(fb::CreateMetricDirect(b, key.c_str(), v));
    auto files = strings(b, k.files);
    auto figs = b.CreateVector(fs);
    auto by = b.CreateString(k.created_by);
    c.calibration = fb::CreateCalibration(b, k.percentile, files, k.rows, k.flows, k.guard_fpr, k.fpr, figs, by);
  }
  if (info.reference.present()) {
    auto feats = distributions(b, info.reference.features);
    auto scores = distributions(b, info.reference.scores);
    auto src = b.CreateString(info.reference.source);
    c.reference = fb::CreateReference(b, info.reference.rows, src, feats, scores);
  }
  return c;
}

// The guard must be an isolation-forest artifact without a guard of its own,
// over the same features as the model it guards.
bool check_guard(const std::vector<uint8_t>& bytes, const std::vector<std::string>& features,
                 LoadedModel& g, std::string& err);

void add_common(fb::ModelBuilder& mb, const CommonOffsets& c, ModelKind kind, uint32_t nfeat) {
  mb.add_format_version(kArtifactVersion);
  mb.add_kind(static_cast<fb::ModelKind>(kind));
  mb.add_created_by(c.created_by);
  mb.add_num_features(nfeat);
  mb.add_feature_names(c.features);
  mb.add_feature_schema_hash(c.hash);
  mb.add_class_names(c.classes);
  mb.add_thresholds(c.thresholds);
  mb.add_metrics(c.metrics);
  mb.add_validation(c.validation);
  if (!c.guard.IsNull()) mb.add_guard(c.guard);
  if (!c.calibration.IsNull()) mb.add_calibration(c.calibration);
  if (!c.reference.IsNull()) mb.add_reference(c.reference);
}

bool seal(flatbuffers::FlatBufferBuilder& b, std::vector<uint8_t>& out, std::string& err) {
  out.assign(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  uint8_t md[32];
  if (!sha256(out.data(), out.size(), md)) {
    err = "sha256 failed";
    return false;
  }
  out.insert(out.end(), md, md + 32);
  return true;
}

std::vector<std::string> read_strings(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
  std::vector<std::string> s;
  if (v)
    for (const auto* e : *v) s.emplace_back(e->str());
  return s;
}

}  // namespace

uint64_t Distribution::total() const {
  uint64_t t = missing;
  for (uint64_t c : counts) t += c;
  return t;
}

std::string feature_schema_hash(const std::vector<std::string>& names) {
  std::string all;
  for (const auto& n : names) all += n + "\n";
  uint8_t md[32];
  if (!sha256(reinterpret_cast<const uint8_t*>(all.data()), all.size(), md)) return {};
  return hex(md, 32);
}

bool check_tree_ensemble(TreeEnsemble& m, std::string& err) {
  const size_t total = m.nodes.size();
  if (m.tree_root.size() != m.tree_group.size()) {
    err = "tree roots and groups differ in length";
    return false;
  }
  if (m.num_group == 0 || (m.tree_root.empty() != (total == 0)) ||
      (!m.tree_root.empty() && m.tree_root[0] != 0)) {
    err = "bad tree layout";
    return false;
  }
  if (total > static_cast<size_t>(INT32_MAX)) {
    err = "too many nodes";
    return false;
  }
  std::vector<uint8_t> parents(total, 0);
  std::vector<uint32_t> depth(total, 0);
  m.max_depth = 0;
  for (size_t t = 0; t < m.tree_root.size(); ++t) {
    const std::string where = "tree " + std::to_string(t) + ": ";
    const size_t begin = m.tree_root[t];
    const size_t end = t + 1 < m.tree_root.size() ? m.tree_root[t + 1] : total;
    if (end <= begin || end > total) {
      err = where + "empty or out-of-order node range";
      return false;
    }
    if (m.tree_group[t] >= m.num_group) {
      err = where + "output group out of range";
      return false;
    }
    for (size_t i = begin; i < end; ++i) {
      const TreeNode& n = m.nodes[i];
      if (i != begin && parents[i] != 1) {
        err = where + "node " + std::to_string(i - begin) +
              (parents[i] == 0 ? " is unreachable" : " has several parents");
        return false;
      }
      if (n.left < 0 || n.right < 0) {
        if (n.left != -1 || n.right != -1) {
          err = where + "malformed leaf at node " + std::to_string(i - begin);
          return false;
        }
        m.max_depth = std::max(m.max_depth, depth[i]);
        continue;
      }
      const size_t l = static_cast<size_t>(n.left);
      if (l <= i || l + 1 >= end || n.right != n.left + 1) {
        err = where + "bad child index at node " + std::to_string(i - begin);
        return false;
      }
      if (n.feature_id() >= m.num_feature) {
        err = where + "feature " + std::to_string(n.feature_id()) + " out of range";
        return false;
      }
      for (size_t c : {l, l + 1}) {
        if (parents[c] < 2) ++parents[c];
        depth[c] = depth[i] + 1;
      }
    }
  }
  return true;
}

bool build_artifact_xgb(const TreeEnsemble& m, const ArtifactInfo& in, std::vector<uint8_t>& out,
                        std::string& err) {
  ArtifactInfo info;
  if (!complete_info(in, ModelKind::XGBoost, m.num_feature, m.num_group, 0.5, info, err)) return false;
  LoadedModel g;
  if (!info.guard.empty() && !check_guard(info.guard, info.feature_names, g, err)) return false;
  TreeEnsemble copy = m;
  if (!check_tree_ensemble(copy, err)) return false;
  flatbuffers::FlatBufferBuilder b(1024 + m.nodes.size() * sizeof(TreeNode));
  IsolationForest none;
  CommonOffsets c = common(b, info, ModelKind::XGBoost, m, none);
  std::vector<fb::XgbNode> nodes;
  nodes.reserve(m.nodes.size());
  for (const TreeNode& n : m.nodes) nodes.emplace_back(n.feature, n.value, n.left, n.right);
  auto vnodes = b.CreateVectorOfStructs(nodes);
  auto roots = b.CreateVector(m.tree_root);
  auto groups = b.CreateVector(m.tree_group);
  auto objective = b.CreateString(m.objective);
  flatbuffers::Offset<flatbuffers::Vector<float>> covers;
  if (!m.nodes.empty() && m.cover.size() == m.nodes.size()) covers = b.CreateVector(m.cover);
  fb::ModelBuilder mb(b);
  add_common(mb, c, ModelKind::XGBoost, m.num_feature);
  mb.add_xgb_nodes(vnodes);
  mb.add_tree_roots(roots);
  mb.add_tree_groups(groups);
  mb.add_num_groups(m.num_group);
  mb.add_max_depth(copy.max_depth);
  mb.add_base_score(m.base_score);
  mb.add_base_margin(m.base_margin);
  mb.add_objective(objective);
  mb.add_link(static_cast<fb::Link>(m.link));
  if (!covers.IsNull()) mb.add_xgb_covers(covers);
  fb::FinishModelBuffer(b, mb.Finish());
  return seal(b, out, err);
}

bool build_artifact_iforest(const IsolationForest& f, const ArtifactInfo& in,
                            std::vector<uint8_t>& out, std::string& err) {
  ArtifactInfo info;
  if (!complete_info(in, ModelKind::IForest, f.n_features, 1, f.offset, info, err)) return false;
  LoadedModel g;
  if (!info.guard.empty() && !check_guard(info.guard, info.feature_names, g, err)) return false;
  IsolationForest copy = f;
  if (!finalize_iforest(copy, err)) return false;
  flatbuffers::FlatBufferBuilder b(1024 + f.nodes.size() * 24);
  TreeEnsemble none;
  CommonOffsets c = common(b, info, ModelKind::IForest, none, copy);
  std::vector<fb::IForestNode> nodes;
  nodes.reserve(copy.nodes.size());
  for (const IForestNode& n : copy.nodes)
    nodes.emplace_back(n.value, n.feature, n.left, n.right, n.n_samples);
  auto vnodes = b.CreateVectorOfStructs(nodes);
  auto roots = b.CreateVector(copy.roots);
  fb::ModelBuilder mb(b);
  add_common(mb, c, ModelKind::IForest, f.n_features);
  mb.add_iforest_nodes(vnodes);
  mb.add_tree_roots(roots);
  mb.add_num_groups(1);
  mb.add_iforest_max_samples(copy.max_samples);
  mb.add_iforest_offset(copy.offset);
  mb.add_iforest_denominator(copy.denominator);
  fb::FinishModelBuffer(b, mb.Finish());
  return seal(b, out, err);
}

namespace {

// nested: loading a guard, which may not carry a guard itself (bounds recursion).
bool load_impl(const std::vector<uint8_t>& bytes, LoadedModel& out, std::string& err, bool nested = false);

bool check_guard(const std::vector<uint8_t>& bytes, const std::vector<std::string>& features,
                 LoadedModel& g, std::string& err) {
  if (!load_impl(bytes, g, err, true)) {
    err = "guard: " + err;
    return false;
  }
  if (g.kind != ModelKind::IForest || g.guard_bytes.size()) {
    err = "guard: must be an isolation forest without a guard of its own";
    return false;
  }
  if (g.feature_names != features) {
    err = "guard: its features differ from the model's";
    return false;
  }
  return true;
}

void load_distributions(const flatbuffers::Vector<flatbuffers::Offset<fb::Distribution>>* v,
                        std::vector<Distribution>& out) {
  if (!v) return;
  for (const auto* d : *v) {
    Distribution x;
    x.name = d->name() ? d->name()->str() : "";
    if (d->edges()) x.edges.assign(d->edges()->begin(), d->edges()->end());
    if (d->counts()) x.counts.assign(d->counts()->begin(), d->counts()->end());
    x.missing = d->missing();
    out.push_back(std::move(x));
  }
}

void load_calibration(const fb::Calibration* k, Calibration& c) {
  c.percentile = k->percentile();
  c.files = read_strings(k->files());
  c.rows = k->rows();
  c.flows = k->flows();
  c.guard_fpr = k->guard_fpr();
  c.fpr = k->fpr();
  if (k->figures())
    for (const auto* e : *k->figures()) c.figures.emplace_back(e->key()->str(), e->value());
  c.created_by = k->created_by() ? k->created_by()->str() : "";
}

bool load_impl(const std::vector<uint8_t>& bytes, LoadedModel& out, std::string& err, bool nested) {
  if (bytes.size() < kArtifactTrailer + 8) {
    err = "artifact too short (" + std::to_string(bytes.size()) + " bytes)";
    return false;
  }
  const size_t body = bytes.size() - kArtifactTrailer;
  uint8_t md[32];
  if (!sha256(bytes.data(), body, md)) {
    err = "sha256 failed";
    return false;
  }
  if (std::memcmp(md, bytes.data() + body, 32) != 0) {
    err = "checksum mismatch: artifact is corrupt or truncated";
    return false;
  }
  out.sha256 = hex(bytes.data() + body, 32);
  if (!fb::ModelBufferHasIdentifier(bytes.data())) {
    err = "not a spectre model artifact (identifier is not SPM1)";
    return false;
  }
  // Copy into an aligned buffer: the verifier checks scalar alignment.
  std::vector<uint64_t> aligned((body + 7) / 8);
  std::memcpy(aligned.data(), bytes.data(), body);
  const uint8_t* buf = reinterpret_cast<const uint8_t*>(aligned.data());
  flatbuffers::Verifier v(buf, body, 64, 1u << 26);
  if (!fb::VerifyModelBuffer(v)) {
    err = "artifact fails flatbuffers verification";
    return false;
  }
  const fb::Model* m = fb::GetModel(buf);
  if (m->format_version() != kArtifactVersion) {
    err = "unsupported artifact version " + std::to_string(m->format_version()) + " (want " +
          std::to_string(kArtifactVersion) + ")";
    return false;
  }
  out.format_version = m->format_version();
  out.num_features = m->num_features();
  out.feature_names = read_strings(m->feature_names());
  out.feature_schema_hash = m->feature_schema_hash() ? m->feature_schema_hash()->str() : "";
  out.class_names = read_strings(m->class_names());
  if (m->thresholds()) out.thresholds.assign(m->thresholds()->begin(), m->thresholds()->end());
  if (m->metrics())
    for (const auto* e : *m->metrics()) out.metrics.emplace_back(e->key()->str(), e->value());
  out.created_by = m->created_by() ? m->created_by()->str() : "";
  if (out.feature_names.size() != out.num_features) {
    err = "feature name count differs from num_features";
    return false;
  }
  if (feature_schema_hash(out.feature_names) != out.feature_schema_hash) {
    err = "feature schema hash does not match the feature names";
    return false;
  }
  const auto* roots = m->tree_roots();
  if (m->kind() == fb::ModelKind_XGBoost) {
    out.kind = ModelKind::XGBoost;
    TreeEnsemble& e = out.xgb;
    if (!m->xgb_nodes() || !roots || !m->tree_groups()) {
      err = "xgboost artifact lacks nodes, roots or groups";
      return false;
    }
    e.nodes.resize(m->xgb_nodes()->size());
    for (size_t i = 0; i < e.nodes.size(); ++i) {
      const fb::XgbNode* n = m->xgb_nodes()->Get(static_cast<flatbuffers::uoffset_t>(i));
      e.nodes[i] = TreeNode{n->feature(), n->value(), n->left(), n->right()};
    }
    e.tree_root.assign(roots->begin(), roots->end());
    e.tree_group.assign(m->tree_groups()->begin(), m->tree_groups()->end());
    e.num_feature = m->num_features();
    e.num_group = m->num_groups();
    e.base_score = m->base_score();
    e.base_margin = m->base_margin();
    e.objective = m->objective() ? m->objective()->str() : "";
    if (static_cast<uint8_t>(m->link()) > static_cast<uint8_t>(fb::Link_MAX)) {
      err = "unknown link function";
      return false;
    }
    e.link = static_cast<Link>(m->link());
    if (!check_tree_ensemble(e, err)) return false;
    if (const auto* cv = m->xgb_covers()) {
      if (cv->size() != e.nodes.size()) {
        err = "xgb_covers has " + std::to_string(cv->size()) + " entries for " +
              std::to_string(e.nodes.size()) + " nodes";
        return false;
      }
      e.cover.assign(cv->begin(), cv->end());
      compute_node_means(e);
    }
  } else if (m->kind() == fb::ModelKind_IForest) {
    out.kind = ModelKind::IForest;
    IsolationForest& f = out.iforest;
    if (!m->iforest_nodes() || !roots) {
      err = "iforest artifact lacks nodes or roots";
      return false;
    }
    f.nodes.resize(m->iforest_nodes()->size());
    for (size_t i = 0; i < f.nodes.size(); ++i) {
      const fb::IForestNode* n = m->iforest_nodes()->Get(static_cast<flatbuffers::uoffset_t>(i));
      f.nodes[i] = IForestNode{n->value(), n->feature(), n->left(), n->right(), n->n_samples()};
    }
    f.roots.assign(roots->begin(), roots->end());
    f.n_features = m->num_features();
    f.max_samples = m->iforest_max_samples();
    f.offset = m->iforest_offset();
    if (!finalize_iforest(f, err)) return false;
    if (f.denominator != m->iforest_denominator()) {
      err = "stored iforest denominator disagrees with the trees";
      return false;
    }
  } else {
    err = "unknown model kind";
    return false;
  }
  const size_t outputs = out.num_outputs();
  if (out.thresholds.size() != outputs) {
    err = "threshold count differs from the number of outputs";
    return false;
  }
  if (m->validation()) {
    std::vector<double> got;
    size_t r = 0;
    for (const auto* row : *m->validation()) {
      ValidationRow vr;
      if (row->features()) vr.features.assign(row->features()->begin(), row->features()->end());
      if (row->expected()) vr.expected.assign(row->expected()->begin(), row->expected()->end());
      if (vr.features.size() != out.num_features || vr.expected.size() != outputs) {
        err = "validation row " + std::to_string(r) + " has the wrong width";
        return false;
      }
      score_row(out.kind, out.xgb, out.iforest, vr.features, got);
      for (size_t k = 0; k < outputs; ++k)
        if (!(std::fabs(got[k] - vr.expected[k]) <= kValidationTolerance)) {
          err = "validation row " + std::to_string(r) + " scores " + std::to_string(got[k]) +
                ", artifact expects " + std::to_string(vr.expected[k]);
          return false;
        }
      out.validation.push_back(std::move(vr));
      ++r;
    }
  }
  if (m->calibration()) load_calibration(m->calibration(), out.calibration);
  if (const fb::Reference* r = m->reference()) {
    out.reference.rows = r->rows();
    out.reference.source = r->source() ? r->source()->str() : "";
    load_distributions(r->features(), out.reference.features);
    load_distributions(r->scores(), out.reference.scores);
    if (!check_reference(out.reference, out.num_features, outputs, err)) return false;
  }
  if (m->guard() && nested) {
    err = "a guard must not carry a guard of its own";
    return false;
  }
  if (m->guard()) {
    out.guard_bytes.assign(m->guard()->begin(), m->guard()->end());
    auto g = std::make_shared<LoadedModel>();
    if (!check_guard(out.guard_bytes, out.feature_names, *g, err)) return false;
    out.guard = std::move(g);
  }
  return true;
}

}  // namespace

ArtifactInfo info_of(const LoadedModel& m) {
  ArtifactInfo i;
  i.feature_names = m.feature_names;
  i.class_names = m.class_names;
  i.thresholds = m.thresholds;
  i.metrics = m.metrics;
  i.validation = m.validation;
  i.created_by = m.created_by;
  i.guard = m.guard_bytes;
  i.calibration = m.calibration;
  i.reference = m.reference;
  return i;
}

bool load_artifact(const std::vector<uint8_t>& bytes, LoadedModel& out, std::string& err) {
  out = LoadedModel{};
  if (load_impl(bytes, out, err)) return true;
  err = "model artifact: " + err;
  out = LoadedModel{};
  return false;
}

bool load_artifact_file(const std::string& path, LoadedModel& out, std::string& err) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    out = LoadedModel{};
    err = "model artifact: cannot open " + path;
    return false;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return load_artifact(bytes, out, err);
}

}  // namespace spectre::ml
