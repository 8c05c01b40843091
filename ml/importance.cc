#include "ml/importance.h"

#include <algorithm>

namespace spectre::ml {

Importance model_importance(const LoadedModel& m) {
  Importance out;
  std::vector<double> w(m.num_features, 0.0);
  auto add = [&](size_t f, double v) {
    if (f < w.size()) w[f] += v;
  };
  if (m.kind == ModelKind::XGBoost) {
    const TreeEnsemble& t = m.xgb;
    bool cover = t.has_covers();
    out.method = cover ? "total_cover" : "weight";
    for (size_t i = 0; i < t.nodes.size(); i++)
      if (!t.nodes[i].is_leaf()) add(t.nodes[i].feature_id(), cover ? double(t.cover[i]) : 1.0);
  } else {
    out.method = "weight";
    for (const IForestNode& n : m.iforest.nodes)
      if (n.feature >= 0) add(size_t(n.feature), 1.0);
  }
  double sum = 0;
  for (double v : w) sum += v;
  if (sum <= 0) return out;
  for (size_t f = 0; f < w.size(); f++)
    if (w[f] > 0)
      out.features.emplace_back(f < m.feature_names.size() ? m.feature_names[f] : "f" + std::to_string(f), w[f] / sum);
  std::stable_sort(out.features.begin(), out.features.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace spectre::ml
