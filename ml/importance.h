// Feature importance of a loaded model, from its structure alone (no data):
// XGBoost: "cover" importance (sum of the hessian cover of the splits on each
// feature, as xgboost's total_cover) when the artifact carries covers, else
// "weight" (split counts); isolation forest: split counts. Normalised to sum 1,
// largest first, zero-importance features left out. Load time only.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ml/artifact.h"

namespace spectre::ml {

struct Importance {
  std::string method;  // "total_cover" | "weight"
  std::vector<std::pair<std::string, double>> features;
};

Importance model_importance(const LoadedModel& m);

}  // namespace spectre::ml
