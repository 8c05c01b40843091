// The API's port to model management (/api/v1/ml/*): spectre-cp implements it
// over the learning loop (ctrlplane/learn/api_port.h), so the API does not
// link the registry or spectre-ml. Each call returns the HTTP status and the
// JSON body of the issue-14 contract. Called on the API's thread; may block
// briefly (registry reads; a retrain runs on its own thread).
#pragma once

#include <string>

namespace spectre::api {

struct MlAnswer {
  int status = 200;
  std::string body;  // JSON
};

class MlPort {
 public:
  virtual ~MlPort() = default;
  virtual MlAnswer status() = 0;
  virtual MlAnswer drift() = 0;
  // {"method", "model":[{"feature","importance"}]} of the active model ("recent" is the API's, from stored alerts).
  virtual MlAnswer importance() = 0;
  // feedback_jsonl: the stored verdicts in ml/feedback.h's JSON-lines form (the labels of the retrain).
  virtual MlAnswer retrain(const std::string& actor, const std::string& feedback_jsonl) = 0;
  // Per-rule and per-class FP rates of those verdicts (the contract's /ml/feedback).
  virtual MlAnswer feedback_rates(const std::string& feedback_jsonl) = 0;
  virtual MlAnswer job(const std::string& id) = 0;
  virtual MlAnswer promote(const std::string& version, const std::string& actor) = 0;
  virtual MlAnswer rollback(const std::string& actor) = 0;
  // Every feature's contribution to an ML alert (its EVE object): {"model","method",
  // "row","bias","contributions":[{"feature","value","contribution"}]}; 404: row or model not kept.
  virtual MlAnswer explain(const std::string& alert_eve) {
    (void)alert_eve;
    return {404, R"({"error":"no learning loop"})"};
  }
};

}  // namespace spectre::api
