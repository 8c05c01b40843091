#include "ctrlplane/learn/api_port.h"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "ml/feedback.h"

#include "ml/artifact.h"
#include "ml/importance.h"

namespace spectre::learn {

api::MlAnswer LearningPort::feedback_rates(const std::string& jsonl) {
  ml::FeedbackSet fb;
  ml::parse_feedback(jsonl, fb);
  return {200, ml::feedback_rates_json(fb)};
}

// The verdicts go to the feedback file first (written whole, then renamed:
// a job never reads half a file), then the job starts.
api::MlAnswer LearningPort::retrain(const std::string& actor, const std::string& jsonl) {
  if (feedback_path_.empty()) return conv(l_.start_retrain(actor));
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(feedback_path_).parent_path(), ec);
  const std::string tmp = feedback_path_ + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  bool ok = f && std::fwrite(jsonl.data(), 1, jsonl.size(), f) == jsonl.size();
  if (f) ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), feedback_path_.c_str()) != 0)
    return {500, nlohmann::json{{"error", "cannot write the feedback file " + feedback_path_}}.dump()};
  return conv(l_.start_retrain(actor));
}

api::MlAnswer LearningPort::explain(const std::string& alert_eve) {
  const auto e = nlohmann::json::parse(alert_eve, nullptr, false);
  if (!e.is_object() || !e.contains("ml") || !e["ml"].is_object()) return {404, R"({"error":"not an ML alert"})"};
  auto str = [](const nlohmann::json& o, const char* k) {
    if (!o.contains(k)) return std::string();
    return o[k].is_string() ? o[k].get<std::string>() : o[k].is_number() ? o[k].dump() : std::string();
  };
  const auto& ml = e["ml"];
  return conv(l_.explain(str(e, "flow_id"), str(ml, "phase"), str(ml, "version"), str(ml, "class")));
}

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
