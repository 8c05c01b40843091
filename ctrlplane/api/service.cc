// ApiService: authentication, rate limiting, dispatch, audit, static files.
#include "ctrlplane/api/service.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace spectre::api {

ApiService::ApiService(store::Store& s, TokenStore tokens, ServiceOptions o, ServiceHooks h)
    : st_(s), tokens_(std::move(tokens)), opt_(std::move(o)), hooks_(std::move(h)), limiter_(opt_.rate, opt_.burst) {
  routes();
}

int64_t ApiService::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ApiService::authorize(Request& r, Role min_role, Response& fail) {
  std::string tok = bearer(r.header("authorization"));
  bool stream = r.path.rfind("/api/v1/stream", 0) == 0;
  if (tok.empty() && stream && r.query.count("token")) tok = r.query["token"];  // browsers' WebSocket/EventSource
  if (tok.empty()) {
    fail = error(401, r.header("authorization").empty() ? "missing bearer token" : "expected 'Authorization: Bearer TOKEN'");
    fail.headers.emplace_back("WWW-Authenticate", "Bearer");
    return false;
  }
  auto t = tokens_.find(tok);
  if (!t) {
    fail = error(401, "unknown token");
    fail.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return false;
  }
  r.who = {t->name, t->role};
  double retry = 0;
  if (!limiter_.allow(t->name, t->rate, t->burst, std::chrono::steady_clock::now(), &retry)) {
    fail = error(429, "rate limit of token '" + t->name + "' exceeded");
    fail.headers.emplace_back("Retry-After", std::to_string(int(retry) + 1));
    return false;
  }
  if (t->role < min_role) {
    fail = error(403, std::string("needs role ") + role_name(min_role) + ", token '" + t->name + "' has " +
                          role_name(t->role));
    return false;
  }
  return true;
}

void ApiService::audit(const Request& r, const std::string& action, const std::string& target, const std::string& detail) {
  st_.audit({now_ms(), r.who.name.empty() ? "anonymous@" + r.peer : r.who.name, action, target, detail});
}

namespace {
// The request body for the audit line: ids arrays as their count, secrets hidden, capped.
std::string audit_detail(const Request& r, int status) {
  std::string d = "status " + std::to_string(status);
  if (r.body.empty()) return d;
  J j = J::parse(r.body, nullptr, false);
  if (j.is_discarded()) return d + ", body not JSON (" + std::to_string(r.body.size()) + " bytes)";
  if (j.is_object()) {
    if (j.contains("ids") && j["ids"].is_array()) j["ids"] = std::to_string(j["ids"].size()) + " ids";
    if (j.contains("secret")) j["secret"] = "(hidden)";
  }
  std::string s = j.dump(-1, ' ', false, J::error_handler_t::replace);
  if (s.size() > 1024) s = s.substr(0, 1024) + "...";
  return d + ", " + s;
}
}  // namespace

Response ApiService::handle(Request& r) {
  Response resp;
  try {
    resp = dispatch(r);
  } catch (const J::exception& e) {
    resp = error(400, std::string("bad JSON: ") + e.what());
  } catch (const std::exception& e) {
    resp = error(500, std::string("internal error: ") + e.what());
  }
  bool change = r.method != "GET" && r.method != "HEAD" && r.path.rfind("/api/", 0) == 0;
  if (change) {
    std::string target = r.path.substr(std::min<size_t>(r.path.size(), 7));  // without "/api/v1"
    audit(r, (resp.status < 400 ? "" : "refused ") + r.method, target, audit_detail(r, resp.status));
  }
  return resp;
}

Response ApiService::dispatch(Request& r) {
  if (r.path.rfind("/api/", 0) != 0 && r.path != "/api") {
    if (r.method != "GET" && r.method != "HEAD") return error(405, "static files: GET only");
    return serve_static(r);
  }
  const Route* rt = nullptr;
  std::string allow;
  switch (router_.match(r, rt, allow)) {
    case Router::Match::kNoPath: return error(404, "no endpoint " + r.path);
    case Router::Match::kNoMethod: {
      Response e = error(405, r.method + " not allowed on " + r.path + " (allowed: " + allow + ")");
      e.headers.emplace_back("Allow", allow);
      return e;
    }
    case Router::Match::kFound: break;
  }
  Response fail;
  if (rt->min_role != Role::kNone && !authorize(r, rt->min_role, fail)) return fail;
  bool body_method = r.method == "POST" || r.method == "PATCH" || r.method == "PUT";
  std::string ct = r.header("content-type");
  if (body_method && !r.body.empty() && ct.find("json") == std::string::npos && ct.find("pcap") == std::string::npos &&
      !(r.path == "/api/v1/detect" && ct.find("application/octet-stream") != std::string::npos))
    return error(415, r.path == "/api/v1/detect" ? "expected Content-Type: application/vnd.tcpdump.pcap or application/octet-stream"
                                                 : "expected Content-Type: application/json");
  return rt->fn(r);
}

namespace {
const char* mime_of(const std::string& p) {
  static const std::pair<const char*, const char*> k[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript"}, {".mjs", "text/javascript"},
      {".css", "text/css"}, {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".map", "application/json"}, {".txt", "text/plain"}};
  for (auto& [ext, m] : k)
    if (p.size() >= std::strlen(ext) && p.compare(p.size() - std::strlen(ext), std::string::npos, ext) == 0) return m;
  return "application/octet-stream";
}
}  // namespace

// Files under console_dir only: ".." segments are refused and the resolved
// path must stay inside the directory (symlinks included); an unknown path
// without an extension is a client route and gets index.html.
Response ApiService::serve_static(const Request& r) {
  if (opt_.console_dir.empty()) return error(404, "no console configured (--console DIR)");
  for (auto& seg : split_path(r.path))
    if (seg == ".." || seg == "." || seg.find('\\') != std::string::npos || seg.find('\0') != std::string::npos)
      return error(400, "bad path");
  char root[PATH_MAX], full[PATH_MAX];
  if (!realpath(opt_.console_dir.c_str(), root)) return error(404, "console directory missing");
  std::string rel = r.path == "/" ? "/index.html" : r.path;
  std::string cand = std::string(root) + rel;
  struct stat sb;
  bool found = realpath(cand.c_str(), full) && stat(full, &sb) == 0 && S_ISREG(sb.st_mode);
  if (found && std::string(full).rfind(std::string(root) + "/", 0) != 0) return error(404, "not found");
  if (!found) {
    std::string last = split_path(rel).empty() ? "" : split_path(rel).back();
    if (last.find('.') != std::string::npos) return error(404, "not found: " + r.path);
    cand = std::string(root) + "/index.html";
    if (!realpath(cand.c_str(), full)) return error(404, "console has no index.html");
  }
  std::ifstream f(full, std::ios::binary);
  if (!f) return error(404, "not found");
  std::stringstream ss;
  ss << f.rdbuf();
  Response resp;
  resp.content_type = mime_of(full);
  resp.body = r.method == "HEAD" ? std::string() : ss.str();
  return resp;
}

}  // namespace spectre::api
