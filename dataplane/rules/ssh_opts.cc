// SSH keywords with values (Suricata's ssh-keywords page), rewritten as match
// items on the ssh buffers so detection needs nothing new:
//   ssh.protoversion:2_compat     -> pcre "^(?:2|1\.99)" on ssh.proto (the
//                                    version starts with 2, or is 1.99)
//   ssh.protoversion:1.10         -> content "1.10", depth 4, endswith (exact)
//   ssh.softwareversion:"OpenSSH" -> content "OpenSSH", depth 7 on
//                                    ssh.software (a prefix, case-sensitive:
//                                    Suricata compares with strncmp)
// The sticky buffers are in buffers.cc.
#include <cctype>
#include <cstring>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

std::string_view unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = trim(v.substr(1, v.size() - 2));
  return v;
}

void push_prefix(Ctx& c, Buf b, std::string_view bytes, bool exact) {
  MatchItem it;
  it.kind = MatchItem::Kind::kContent;
  it.buf = b;
  it.content.bytes = std::string(bytes);
  it.content.has_depth = true;
  it.content.depth = int32_t(bytes.size());
  it.content.endswith = exact;
  c.r.items.push_back(std::move(it));
}

bool opt_protoversion(Ctx& c, std::string_view v) {
  v = unquote(v);
  if (v == "2_compat") {
    MatchItem it;
    it.kind = MatchItem::Kind::kPcre;
    it.buf = kSshProto;
    it.pcre.pattern = "^(?:2|1\\.99)";
    c.r.items.push_back(std::move(it));
    return true;
  }
  bool ok = !v.empty() && v.size() <= 8 && std::isdigit(uint8_t(v[0]));
  for (char ch : v) ok = ok && (std::isdigit(uint8_t(ch)) || ch == '.');
  if (!ok) return fail(c.st, "ssh.protoversion: bad value '" + std::string(v) + "' (a version such as 2.0, or 2_compat)");
  push_prefix(c, kSshProto, v, true);
  return true;
}

bool opt_softwareversion(Ctx& c, std::string_view v) {
  v = unquote(v);
  bool ok = !v.empty();
  for (char ch : v) ok = ok && (std::isalnum(uint8_t(ch)) || std::strchr(":.-_+ ", ch));
  if (!ok) return fail(c.st, "ssh.softwareversion: bad value '" + std::string(v) + "'");
  push_prefix(c, kSshSoftware, v, false);
  return true;
}

}  // namespace

bool opt_ssh(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled) {
  handled = true;
  if (name == "ssh.protoversion" || name == "ssh_protoversion") {
    if (!has_value) return fail(c.st, "ssh.protoversion needs a value");
    return opt_protoversion(c, v);
  }
  if (name == "ssh.softwareversion" || name == "ssh_softwareversion") {
    if (!has_value) return fail(c.st, "ssh.softwareversion needs a value");
    return opt_softwareversion(c, v);
  }
  handled = false;
  return true;
}

}  // namespace spectre::rules::detail
