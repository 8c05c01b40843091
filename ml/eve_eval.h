// `spectre-ml eval --eve`: per-flow and per-episode figures from the data
// plane's own EVE output, counting ML (gid 9000), behaviour (gid 9100) and
// optionally signature alerts together. Flows are EVE flow records; labels
// come from the lab's labels.csv with ml/label.h's matching rule (that of
// lab/score.py); without labels every flow is benign (e.g. nDPI captures).
// Offline tool code.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ml/label.h"

namespace spectre::ml {

inline constexpr int kEveGidMl = 9000, kEveGidBehaviour = 9100;

// How alerts name what they found, mapped to lab attack families (the table in
// ml/models/README.md): lab class prefixes, ML classes and behaviour detectors.
struct FamilyMap {
  std::vector<std::pair<std::string, std::string>> rules;  // "scan_*" -> "scan"; exact or prefix*
  std::string family(const std::string& name) const;      // unmatched: the name itself
};
FamilyMap default_family_map();

struct EveEvalOptions {
  bool signatures = false;  // also count signature alerts (other gids)
  double slack = 1.0;
  FamilyMap map = default_family_map();
};

struct EveEvalResult {
  size_t flows = 0, benign_flows = 0;
  size_t fp_any = 0, fp_ml = 0, fp_behaviour = 0, fp_signature = 0;  // benign flows alerted by the layer
  size_t alerts_ml = 0, alerts_behaviour = 0, alerts_signature = 0, alerts_unmatched = 0;
  struct Cls { size_t flows = 0, tp = 0, episodes = 0, ep_detected = 0, ep_right_class = 0; };
  std::map<std::string, Cls> classes;  // by family
  // confusion[true family][predicted family or "none"], per flow.
  std::map<std::string, std::map<std::string, size_t>> confusion;
  std::map<std::string, size_t> fp_by_name;  // benign flows per alert name (layer:class)
};

// eve_text: EVE JSON lines. ls may be null (all benign). False + err on a file
// with no flow record at all; malformed lines are counted in err_lines.
bool eve_eval(const std::string& eve_text, const LabelSet* ls, const EveEvalOptions& o, EveEvalResult& r,
              size_t& err_lines, std::string& err);
std::string eve_eval_table(const EveEvalResult& r);
std::string eve_eval_json(const EveEvalResult& r);

}  // namespace spectre::ml
