#include "ctrlplane/api/router.h"

#include <nlohmann/json.hpp>

namespace spectre::api {

const char* role_name(Role r) {
  static const char* const k[] = {"none", "viewer", "analyst", "admin"};
  return k[int(r)];
}

bool parse_role(std::string_view s, Role& r) {
  if (s == "viewer") r = Role::kViewer;
  else if (s == "analyst") r = Role::kAnalyst;
  else if (s == "admin") r = Role::kAdmin;
  else return false;
  return true;
}

Response error(int status, std::string_view reason) {
  return json_response(status, nlohmann::json{{"error", std::string(reason)}}.dump(-1, ' ', false,
                                                                                    nlohmann::json::error_handler_t::replace));
}

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool url_decode(std::string_view in, std::string& out, bool plus_space) {
  out.clear();
  for (size_t i = 0; i < in.size(); i++) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int h = hexval(in[i + 1]), l = hexval(in[i + 2]);
      if (h < 0 || l < 0) return false;
      out += char(h * 16 + l);
      i += 2;
    } else if (c == '+' && plus_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

bool parse_query(std::string_view qs, std::map<std::string, std::string>& out) {
  size_t i = 0;
  while (i <= qs.size() && !qs.empty()) {
    size_t j = qs.find('&', i);
    if (j == std::string_view::npos) j = qs.size();
    std::string_view kv = qs.substr(i, j - i);
    if (!kv.empty()) {
      size_t eq = kv.find('=');
      std::string k, v;
      if (!url_decode(kv.substr(0, eq), k, true)) return false;
      if (eq != std::string_view::npos && !url_decode(kv.substr(eq + 1), v, true)) return false;
      out[k] = v;
    }
    if (j == qs.size()) break;
    i = j + 1;
  }
  return true;
}

std::vector<std::string> split_path(std::string_view p) {
  std::vector<std::string> v;
  size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '/') { i++; continue; }
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    v.emplace_back(p.substr(i, j - i));
    i = j;
  }
  return v;
}

void Router::add(std::string method, std::string_view pattern, Role min_role, Handler fn) {
  routes_.push_back({std::move(method), split_path(pattern), min_role, std::move(fn)});
}

Router::Match Router::match(Request& req, const Route*& out, std::string& allow) const {
  auto segs = split_path(req.path);
  const Route* best = nullptr;
  int best_lits = -1;
  bool path_seen = false;
  allow.clear();
  for (auto& r : routes_) {
    if (r.segs.size() != segs.size()) continue;
    int lits = 0;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; i++) {
      bool ph = r.segs[i].size() > 1 && r.segs[i].front() == '{';
      if (ph) ok = !segs[i].empty();
      else if (r.segs[i] == segs[i]) lits++;
      else ok = false;
    }
    if (!ok) continue;
    if (r.method != req.method) {
      path_seen = true;
      if (allow.find(r.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + r.method;
      continue;
    }
    if (lits > best_lits) best = &r, best_lits = lits;
  }
  if (!best) {
    // A literal route with another method must not lose to a placeholder one.
    return path_seen ? Match::kNoMethod : Match::kNoPath;
  }
  req.params.clear();
  for (size_t i = 0; i < segs.size(); i++)
    if (best->segs[i].front() == '{') req.params.push_back(segs[i]);
  out = best;
  return Match::kFound;
}

}  // namespace spectre::api
