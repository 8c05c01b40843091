// Set keywords (Suricata's datasets page and file keywords), one MatchItem
// kind (kDataset) over the whole buffer for all of them:
//   dataset:<set|unset|isset|isnotset>,<name>[, type T, load F, state F,
//           save F, memcap S, hashsize N]      on the active sticky buffer
//   datarep:<name>,<op>,<value>[, type T, load F, memcap S, hashsize N]
//   filemd5:[!]F, filesha1:[!]F, filesha256:[!]F   on the file's digest
// The set itself is read by the loader (loader.cc), relative to the rule file.
// JSON formats (format json/jsonline, enrichment_key, ...) are unsupported.
#include <cctype>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

// "10mb", "512kb", "1gb", "4096" (Suricata's size strings, 1024-based).
bool size_value(std::string_view v, uint64_t& out) {
  std::string s;
  for (char ch : v) s.push_back(char(std::tolower(uint8_t(ch))));
  uint64_t mult = 1;
  for (auto [u, m] : {std::pair{"kb", 1ull << 10}, {"mb", 1ull << 20}, {"gb", 1ull << 30}})
    if (s.size() > 2 && s.ends_with(u)) {
      mult = m;
      s.resize(s.size() - 2);
      break;
    }
  uint32_t x;
  if (!parse_u32(trim(s), x)) return false;
  out = uint64_t(x) * mult;
  return true;
}

// The `key value` options after the name. `rep`: datarep's (no save/state).
bool set_options(Ctx& c, const std::vector<std::string_view>& parts, size_t first, bool rep, DatasetUse& u) {
  const char* kw = rep ? "datarep" : "dataset";
  bool load = false, save = false;
  for (size_t i = first; i < parts.size(); i++) {
    std::string_view p = parts[i];
    if (p.empty()) continue;
    const size_t sp = p.find_first_of(" \t");
    std::string_view k = p.substr(0, sp), v = sp == std::string_view::npos ? "" : trim(p.substr(sp));
    const std::string bad = std::string(kw) + ": bad option '" + std::string(p) + "'";
    if (k == "format" && v == "csv") continue;
    if (k == "format" || k == "enrichment_key" || k == "value_key" || k == "array_key" || k == "remove_key" ||
        k == "context_key")
      return unsup(c.st, "unsupported: " + std::string(kw) + " with JSON data (" + std::string(k) + ")");
    if (v.empty()) return fail(c.st, bad + " (needs a value)");
    if (k == "type") {
      if (!parse_set_type(v, u.type)) return fail(c.st, std::string(kw) + ": bad type '" + std::string(v) +
                                                            "' (string, md5, sha256, ipv4, ip)");
      u.has_type = true;
    } else if (k == "load" || (!rep && (k == "save" || k == "state"))) {
      if ((k == "load" && load) || (k == "save" && save) || (k == "state" && u.state))
        return fail(c.st, std::string(kw) + ": '" + std::string(k) + "' can only appear once");
      if (k == "load") load = true, u.load = std::string(v);
      else if (k == "save") save = true, u.save = std::string(v);
      else u.state = true, u.load = u.save = std::string(v);
    } else if (k == "memcap") {
      if (!size_value(v, u.memcap)) return fail(c.st, bad + " (a size: 10mb, 512kb, 4096)");
    } else if (k == "hashsize") {
      if (!parse_u32(v, u.hashsize)) return fail(c.st, bad);
    } else {
      return fail(c.st, bad);
    }
  }
  if (u.state && (load || save)) return fail(c.st, std::string(kw) + ": 'state' can not be mixed with 'load' and 'save'");
  return true;
}

bool set_name(Ctx& c, std::string_view n, const char* kw, DatasetUse& u) {
  if (n.empty()) return fail(c.st, std::string(kw) + " needs a set name");
  for (char ch : n)
    if (ch == ' ' || ch == '\t') return fail(c.st, std::string(kw) + ": spaces not allowed in set names");
  u.name = std::string(n);
  return true;
}

bool push(Ctx& c, DatasetUse&& u, Buf b) {
  if (c.r.datasets.size() >= 255) return fail(c.st, "too many set keywords in one rule");
  c.r.datasets.push_back(std::move(u));
  MatchItem it;
  it.kind = MatchItem::Kind::kDataset;
  it.buf = b;
  it.ds = uint8_t(c.r.datasets.size());
  c.r.items.push_back(std::move(it));
  return true;
}

bool need_sticky(Ctx& c, const char* kw) {
  return c.sticky ? true : fail(c.st, std::string(kw) + " needs a sticky buffer before it (e.g. http.user_agent;)");
}

bool opt_dataset(Ctx& c, std::string_view v) {
  if (!need_sticky(c, "dataset")) return false;
  auto parts = split(v, ',');
  DatasetUse u;
  const std::string_view cmd = parts[0];
  using C = DatasetUse::Cmd;
  if (cmd == "set") u.cmd = C::kSet;
  else if (cmd == "unset") u.cmd = C::kUnset;
  else if (cmd == "isset") u.cmd = C::kIsSet;
  else if (cmd == "isnotset") u.cmd = C::kIsNotSet;
  else return fail(c.st, "dataset: action '" + std::string(cmd) + "' is not one of set, unset, isset, isnotset");
  if (parts.size() < 2) return fail(c.st, "dataset needs <action>,<name>");
  if (!set_name(c, parts[1], "dataset", u)) return false;
  if (!set_options(c, parts, 2, false, u)) return false;
  return push(c, std::move(u), c.cur);
}

bool opt_datarep(Ctx& c, std::string_view v) {
  if (!need_sticky(c, "datarep")) return false;
  auto parts = split(v, ',');
  DatasetUse u;
  u.cmd = DatasetUse::Cmd::kRep;
  u.format = SetFormat::kDatarep;
  if (parts.size() < 3) return fail(c.st, "datarep needs <name>,<operator>,<value>");
  if (!set_name(c, parts[0], "datarep", u)) return false;
  using O = DatasetUse::Op;
  const std::string_view op = parts[1];
  if (op == ">") u.op = O::kGt;
  else if (op == "<") u.op = O::kLt;
  else if (op == ">=") u.op = O::kGe;
  else if (op == "<=") u.op = O::kLe;
  else if (op == "==") u.op = O::kEq;
  else return fail(c.st, "datarep: bad operator '" + std::string(op) + "' (>, <, >=, <=, ==)");
  if (!parse_u32(parts[2], u.value) || u.value > 65535)
    return fail(c.st, "datarep: bad value '" + std::string(parts[2]) + "' (0..65535)");
  if (!set_options(c, parts, 3, true, u)) return false;
  return push(c, std::move(u), c.cur);
}

bool opt_filehash(Ctx& c, std::string_view name, std::string_view v) {
  v = trim(v);
  const bool neg = !v.empty() && v[0] == '!';
  if (neg) v = trim(v.substr(1));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty()) return fail(c.st, std::string(name) + " needs a file name");
  DatasetUse u;
  u.cmd = neg ? DatasetUse::Cmd::kIsNotSet : DatasetUse::Cmd::kIsSet;
  u.has_type = true;
  u.type = name == "filemd5" ? SetType::kMd5 : name == "filesha1" ? SetType::kSha1 : SetType::kSha256;
  u.format = SetFormat::kHashList;
  u.name = std::string(name) + ":" + std::string(v);
  u.load = std::string(v);
  const Buf b = name == "filemd5" ? kFileMd5 : name == "filesha1" ? kFileSha1 : kFileSha256;
  return push(c, std::move(u), b);
}

}  // namespace

bool opt_set(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled) {
  handled = true;
  if (name == "dataset") return has_value && !v.empty() ? opt_dataset(c, v) : fail(c.st, "dataset needs a value");
  if (name == "datarep") return has_value && !v.empty() ? opt_datarep(c, v) : fail(c.st, "datarep needs a value");
  if (name == "filemd5" || name == "filesha1" || name == "filesha256")
    return has_value ? opt_filehash(c, name, v) : fail(c.st, std::string(name) + " needs a file name");
  handled = false;
  return true;
}

}  // namespace spectre::rules::detail
