// Ground-truth labelling of feature rows (`spectre-ml label`): matches each
// row's flow against the traffic lab's episodes (labels.csv) with exactly the
// rule of lab/score.py `assign` (see docs there and match_episodes below).
// Offline tool code, never on the packet path.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace spectre::ml {

// An IPv4/IPv6 address in binary (family 4 or 6; 0 = not an address).
struct IpAddr {
  uint8_t family = 0;
  std::array<uint8_t, 16> b{};
  bool operator==(const IpAddr& o) const { return family == o.family && b == o.b; }
};
bool parse_ip(const std::string& text, IpAddr& out);

// An address or CIDR network ("10.0.0.0/8"; host bits ignored like Python's
// ip_network(strict=False)). prefix = 32/128 for a single address.
struct IpNet {
  IpAddr addr;
  int prefix = 0;
  bool is_net = false;  // written with '/'
  bool contains(const IpAddr& a) const;
};
bool parse_net(const std::string& text, IpNet& out);

// "tcp"/"6" -> "TCP" etc.: upper case, protocol numbers 1, 6, 17, 58, 132 named
// (lab/score.py norm_proto).
std::string norm_proto(const std::string& p);

// Epoch seconds (Python float syntax) or an ISO 8601 / EVE timestamp.
bool parse_label_time(const std::string& s, double& out);

struct Episode {
  std::string id, cls, mitre;
  double start = 0, end = 0;  // over all its rows
};

// One labels.csv row.
struct LabelRule {
  size_t episode = 0;  // index into LabelSet::episodes
  IpNet attacker;
  bool has_victim = false;
  IpNet victim;
  std::string proto;  // normalised; empty = any
  bool has_port = false;
  int64_t port = 0;
  double start = 0, end = 0;
  int specificity = 0;  // victim given + proto given + port given
};

struct LabelSet {
  std::vector<Episode> episodes;  // file order of first appearance
  std::vector<LabelRule> rules;
  // Candidate rules: by exact attacker address, plus every CIDR attacker rule.
  std::unordered_map<std::string, std::vector<size_t>> by_attacker;  // key: family + bytes
  std::vector<size_t> net_rules;
  std::vector<size_t> order;  // episode indices sorted by (start, id)
  std::vector<size_t> rank;   // rank[episode] = position in order
};

// Parses labels.csv text (header must hold episode_id,class,mitre_technique,
// attacker_ip,victim_ip,proto,victim_port,start_ts,end_ts; extra columns
// ignored; times as epoch seconds or ISO 8601). False with err (prefixed by
// `name`) on a malformed file, like score.py's read_labels.
bool parse_labels(const std::string& text, const std::string& name, LabelSet& out, std::string& err);
bool read_labels_file(const std::string& path, LabelSet& out, std::string& err);

// A flow as seen in a feature row: src = initiator; port -1 = none.
struct FlowView {
  IpAddr src, dst;  // family 0 when the text is not an address (never matches)
  int64_t sport = -1, dport = -1;
  std::string proto;  // norm_proto form
  double start = 0, end = 0;
};

// Episodes whose rules match the flow, keeping only those of the highest
// specificity, in (episode start, id) order. A rule matches when the flow's
// [start, end] overlaps [start_ts - slack, end_ts + slack], its proto matches
// (empty = any), one endpoint is the attacker (address or CIDR) and the other
// the victim (empty = any), either direction, and victim_port (empty = any) is
// the port on the victim's side or the flow's dst_port. ICMP flows between the
// pair match whatever proto and port.
std::vector<size_t> match_episodes(const LabelSet& ls, const FlowView& f, double slack);

// Reads `spectre-dp --dump-features` rows (header + rows, columns found by name:
// ts_start, ts, src_ip, src_port, dst_ip, dst_port, proto; first occurrence)
// and writes them to `out` with two appended columns: label (class of the
// first matched episode by start, or "benign") and episode_id (empty for
// benign). counts: rows per label. False with err on malformed input.
struct LabelSummary {
  size_t rows = 0;
  std::map<std::string, size_t> rows_per_label;
  std::vector<size_t> rows_per_episode;  // by episode index
};
bool label_rows(const std::string& rows_text, const std::string& name, const LabelSet& ls, double slack,
                std::string& out, LabelSummary& summary, std::string& err);

}  // namespace spectre::ml
