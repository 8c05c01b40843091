// The `learning:` section of spectre-cp's YAML configuration (or of
// spectre-learn --config FILE) into LearningOptions. Unknown keys, wrong
// types and out-of-range values are errors naming the key.
//
//   learning:
//     spectre_ml: /usr/bin/spectre-ml
//     train: [/var/lib/spectre/train.csv]       # labelled base rows
//     rows: /var/lib/spectre/rows.csv            # the data plane's --dump-features file
//     feedback: /var/lib/spectre/feedback.jsonl  # exported analyst verdicts
//     holdout: [/var/lib/spectre/holdout-a.csv]  # whole captures training never saw
//     calibrate: [/var/lib/spectre/calib.csv]    # optional: keep the guard, calibrate
//     train_args: [--rounds, "20", --depth, "5"]
//     feedback_weight: 3
//     work_dir: /var/lib/spectre/registry/learn
//     job_timeout_s: 1800
//     gates: {max_benign_fpr: 0.01, min_tpr: 0.5, class_tpr: {c2_exfil: 0.8}, min_agreement: 0.9, require_tpr: true}
//     drift: {window_rows: 2000, min_rows: 200, psi_threshold: 0.2, bucket_s: 60, adwin_delta: 0.0002}
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "ctrlplane/learn/learning.h"

namespace spectre::learn {

bool parse_learning_config(const YAML::Node& section, LearningOptions& out, std::string& err);
// Reads FILE and parses its `learning:` section (absent: defaults).
bool load_learning_config(const std::string& file, LearningOptions& out, std::string& err);

}  // namespace spectre::learn
