// The learning loop behind the API's model-management port (api::MlPort):
// spectre-cp builds one over its registry, audit log and controller.
// Feature importance is read from the active model's artifact (cached by sha256).
#pragma once

#include <mutex>
#include <string>

#include "ctrlplane/api/ml_port.h"
#include "ctrlplane/learn/learning.h"

namespace spectre::learn {

class LearningPort final : public api::MlPort {
 public:
  // feedback_path: where the stored verdicts are written for a retrain (the
  // learning options' feedback file).
  LearningPort(Learning& l, cp::ModelRegistry& reg, std::string feedback_path)
      : l_(l), reg_(reg), feedback_path_(std::move(feedback_path)) {}
  api::MlAnswer status() override { return conv(l_.status()); }
  api::MlAnswer drift() override { return conv(l_.drift_report()); }  // reads newly appended rows first
  api::MlAnswer importance() override;
  api::MlAnswer retrain(const std::string& actor, const std::string& feedback_jsonl) override;
  api::MlAnswer feedback_rates(const std::string& feedback_jsonl) override;
  api::MlAnswer job(const std::string& id) override { return conv(l_.job(id)); }
  api::MlAnswer promote(const std::string& v, const std::string& actor) override { return conv(l_.promote(v, actor)); }
  api::MlAnswer rollback(const std::string& actor) override { return conv(l_.rollback(actor)); }
  api::MlAnswer explain(const std::string& alert_eve) override;

 private:
  static api::MlAnswer conv(LearnResult r) { return {r.status, std::move(r.body)}; }
  Learning& l_;
  cp::ModelRegistry& reg_;
  std::string feedback_path_;
  std::mutex mu_;
  std::string imp_sha_, imp_body_;
};

}  // namespace spectre::learn
