// Analyst feedback (see feedback.h).
#include "ml/feedback.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

namespace spectre::ml {

namespace {

constexpr size_t kMaxProblems = 10;

std::string str_or_num(const nlohmann::json& o, const char* k) {
  auto it = o.find(k);
  if (it == o.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  return "";
}

int64_t int_of(const nlohmann::json& o, const char* k) {
  auto it = o.find(k);
  if (it == o.end()) return 0;
  if (it->is_number_integer() || it->is_number_unsigned()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

}  // namespace

void parse_feedback(const std::string& text, FeedbackSet& out) {
  size_t lineno = 0, pos = 0;
  auto problem = [&](const std::string& why) {
    ++out.bad_lines;
    if (out.problems.size() < kMaxProblems) out.problems.push_back("line " + std::to_string(lineno) + ": " + why);
  };
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json o = nlohmann::json::parse(line, nullptr, false);
    if (o.is_discarded() || !o.is_object()) {
      problem("not a JSON object");
      continue;
    }
    Feedback f;
    f.verdict = str_or_num(o, "verdict");
    if (f.verdict != "true_positive" && f.verdict != "false_positive") {
      problem("verdict must be true_positive or false_positive");
      continue;
    }
    f.target = str_or_num(o, "target");
    if (f.target.empty()) f.target = "alert";
    f.flow_id = str_or_num(o, "flow_id");
    f.signature = str_or_num(o, "signature");
    f.cls = str_or_num(o, "class");
    f.label = str_or_num(o, "label");
    f.reason = str_or_num(o, "reason");
    f.author = str_or_num(o, "author");
    f.ts = str_or_num(o, "ts");
    f.id = int_of(o, "id");
    f.target_id = int_of(o, "target_id");
    f.gid = int_of(o, "gid");
    f.sid = int_of(o, "sid");
    out.items.push_back(std::move(f));
  }
}

bool read_feedback(const std::string& path, FeedbackSet& out, std::string& err) {
  out = FeedbackSet{};
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    err = "cannot read feedback file " + path;
    return false;
  }
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  parse_feedback(text, out);
  return true;
}

std::string feedback_rates_json(const FeedbackSet& fb) {
  std::map<std::pair<int64_t, int64_t>, Rate> rules;
  std::map<std::string, Rate> classes;
  uint64_t tp = 0, fp = 0;
  for (const Feedback& f : fb.items) {
    const bool is_fp = f.fp();
    (is_fp ? fp : tp)++;
    if (f.sid) {
      Rate& r = rules[{f.gid, f.sid}];
      r.gid = f.gid;
      r.sid = f.sid;
      if (!f.signature.empty()) r.name = f.signature;
      (is_fp ? r.fp : r.tp)++;
    }
    if (!f.cls.empty()) {
      Rate& c = classes[f.cls];
      c.name = f.cls;
      (is_fp ? c.fp : c.tp)++;
    }
  }
  std::vector<Rate> rv;
  for (auto& [k, r] : rules) rv.push_back(r);
  std::stable_sort(rv.begin(), rv.end(), [](const Rate& a, const Rate& b) { return a.fp > b.fp; });
  nlohmann::ordered_json j;
  j["rules"] = nlohmann::ordered_json::array();
  for (const Rate& r : rv)
    j["rules"].push_back({{"gid", r.gid}, {"sid", r.sid}, {"signature", r.name}, {"tp", r.tp}, {"fp", r.fp},
                          {"fp_rate", r.fp_rate()}});
  j["classes"] = nlohmann::ordered_json::array();
  for (const auto& [k, c] : classes)
    j["classes"].push_back({{"class", c.name}, {"tp", c.tp}, {"fp", c.fp}, {"fp_rate", c.fp_rate()}});
  j["total"] = {{"tp", tp}, {"fp", fp}, {"fp_rate", tp + fp ? double(fp) / double(tp + fp) : 0.0}};
  j["bad_lines"] = fb.bad_lines;
  return j.dump();
}

std::map<std::string, std::string> feedback_labels(const FeedbackSet& fb, const std::string& benign_label) {
  std::map<std::string, std::string> out;
  for (const Feedback& f : fb.items) {
    if (f.flow_id.empty()) continue;
    if (f.fp()) {
      out[f.flow_id] = benign_label;
      continue;
    }
    const std::string& l = f.label.empty() ? f.cls : f.label;
    if (l.empty()) continue;
    out[f.flow_id] = l;
  }
  return out;
}

}  // namespace spectre::ml
