// spectre-ml trainers: train-xgb (libxgboost C API) and train-iforest (our own
// isolation forest), both reading a labelled feature CSV and writing a .spm
// artifact. Offline tools, never on the packet path.
#pragma once

#include <string>
#include <vector>

namespace spectre::ml {

// Help text for both subcommands (appended to spectre-ml --help).
extern const char* const kTrainHelp;

// args: everything after the subcommand name. Returns the process exit code:
// 0 ok, 1 bad input (unreadable/empty CSV, missing label column, class count
// incompatible with the objective, xgboost error), 2 wrong use.
int cmd_train_xgb(const std::vector<std::string>& args);
int cmd_train_iforest(const std::vector<std::string>& args);

}  // namespace spectre::ml
