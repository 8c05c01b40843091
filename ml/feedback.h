// Analyst feedback for the learning loop: the JSON-lines file the store
// exports (one verdict per line), false-positive rates per rule and per model
// class, and the labels feedback gives to stored feature rows.
//
// One line (unknown fields ignored; `verdict` required):
//   {"id":17,"target":"alert","target_id":4242,"flow_id":"1234","gid":9000,"sid":9000001,
//    "signature":"..","class":"c2_exfil","label":"c2_exfil","verdict":"false_positive",
//    "reason":"benign_app","note":"..","author":"alice","ts":"2026-12-07T07:00:00Z"}
// verdict: true_positive | false_positive. class: the model class that alerted
// (ML alerts); label: the analyst's true class for a true positive (default:
// class). flow_id: the data plane's flow id (EVE flow_id, --dump-features
// column flow_id), a JSON string or number; lines without it still count in
// the rates but label no rows. When one flow has several verdicts the last
// line wins. Offline/control-plane code, never on the packet path.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace spectre::ml {

struct Feedback {
  std::string target = "alert", flow_id, signature, cls, label, verdict, reason, author, ts;
  int64_t id = 0, target_id = 0, gid = 0, sid = 0;
  bool fp() const { return verdict == "false_positive"; }
};

struct FeedbackSet {
  std::vector<Feedback> items;
  size_t bad_lines = 0;
  std::vector<std::string> problems;  // the first few bad lines' reasons ("line 3: ...")
};

// Parses JSON lines; bad lines (not an object, unknown verdict) are counted and
// skipped. False only when the file cannot be read.
bool read_feedback(const std::string& path, FeedbackSet& out, std::string& err);
void parse_feedback(const std::string& text, FeedbackSet& out);

struct Rate {
  std::string key;  // "gid:sid" for rules, the class name for classes
  int64_t gid = 0, sid = 0;
  std::string name;  // signature or class
  uint64_t tp = 0, fp = 0;
  double fp_rate() const { return tp + fp ? double(fp) / double(tp + fp) : 0; }
};

// The contract's GET /ml/feedback object: {"rules":[{"gid","sid","signature",
// "tp","fp","fp_rate"}],"classes":[{"class","tp","fp","fp_rate"}],"total":{..},
// "bad_lines":n}. Rules sorted by fp then sid; classes by name.
std::string feedback_rates_json(const FeedbackSet& fb);

// flow_id -> the label its rows get: `benign_label` for a false positive, the
// feedback's label (else class) for a true positive; true positives without
// a class are left out. Later lines override earlier ones.
std::map<std::string, std::string> feedback_labels(const FeedbackSet& fb, const std::string& benign_label);

}  // namespace spectre::ml
