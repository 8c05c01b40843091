// spectre-ml commands of the learning loop: reference (add drift reference
// distributions to an artifact), retrain (stored feature rows + analyst
// feedback labels -> a candidate model through train-xgb), gate (candidate vs
// configured limits and the active model on hold-out rows) and feedback (FP
// rates per rule and class). Offline tools, never on the packet path.
#pragma once

#include <string>
#include <vector>

namespace spectre::ml {

extern const char* const kLearnHelp;

// Exit codes: 0 ok, 1 bad input, 2 wrong use; gate: 3 = a gate failed (refused).
int cmd_reference(const std::vector<std::string>& args);
int cmd_retrain(const std::vector<std::string>& args);
int cmd_gate(std::vector<std::string> args);
int cmd_feedback(const std::vector<std::string>& args);
int cmd_drift(const std::vector<std::string>& args);

}  // namespace spectre::ml
