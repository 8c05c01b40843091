#include "ctrlplane/learn/api_port.h"

#include <nlohmann/json.hpp>

#include "ml/artifact.h"
#include "ml/importance.h"

namespace spectre::learn {

api::MlAnswer LearningPort::importance() {
  std::string err;
  reg_.refresh(err);
  auto act = reg_.active();
  if (!act) return {404, R"({"error":"no active model in the registry"})"};
  std::lock_guard g(mu_);
  if (imp_sha_ != act->sha256) {
    ml::LoadedModel m;
    if (!ml::load_artifact_file(reg_.path_of(act->sha256), m, err))
      return {500, nlohmann::json{{"error", "active model: " + err}}.dump()};
    ml::Importance im = ml::model_importance(m);
    nlohmann::json model = nlohmann::json::array();
    for (auto& [f, v] : im.features) model.push_back({{"feature", f}, {"importance", v}});
    imp_body_ = nlohmann::json{{"method", im.method}, {"version", act->version}, {"sha256", act->sha256}, {"model", model}}.dump();
    imp_sha_ = act->sha256;
  }
  return {200, imp_body_};
}

}  // namespace spectre::learn
