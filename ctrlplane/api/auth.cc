#include "ctrlplane/api/auth.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "dataplane/core/yaml_reader.h"

namespace spectre::api {

std::string sha256_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  static const char* const hx = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; i++) out += hx[md[i] >> 4], out += hx[md[i] & 15];
  return out;
}

bool TokenStore::load_file(const std::string& path, std::string& err) {
  std::ifstream f(path);
  if (!f) { err = path + ": cannot read"; return false; }
  std::stringstream ss;
  ss << f.rdbuf();
  if (!load_yaml(ss.str(), err)) { err = path + ": " + err; return false; }
  return true;
}

bool TokenStore::load_yaml(const std::string& text, std::string& err) {
  YAML::Node root;
  if (!parse_yaml(text, "", root, err)) return false;  // "line N: message"
  YAML::Node list = root.IsMap() ? root["tokens"] : YAML::Node();
  if (!list || !list.IsSequence()) { err = "expected a tokens: list"; return false; }
  size_t k = 0;
  try {
    for (auto n : list) {
      k++;
      std::string where = "tokens[" + std::to_string(k - 1) + "]: ";
      if (!n.IsMap()) { err = where + "expected a map"; return false; }
      TokenInfo t;
      t.name = n["name"] ? n["name"].as<std::string>() : "";
      if (t.name.empty()) { err = where + "name is required"; return false; }
      if (!n["role"] || !parse_role(n["role"].as<std::string>(), t.role)) {
        err = where + "role must be viewer, analyst or admin";
        return false;
      }
      if (n["rate"]) t.rate = n["rate"].as<double>();
      if (n["burst"]) t.burst = n["burst"].as<double>();
      if (t.rate < 0 || t.burst < 0) { err = where + "rate and burst must be >= 0"; return false; }
      std::string h;
      if (n["sha256"]) {
        h = n["sha256"].as<std::string>();
        std::transform(h.begin(), h.end(), h.begin(), ::tolower);
        if (h.size() != 64 || h.find_first_not_of("0123456789abcdef") != std::string::npos) {
          err = where + "sha256 must be 64 hex digits";
          return false;
        }
      } else if (n["token"]) {
        std::string p = n["token"].as<std::string>();
        if (p.size() < 8) { err = where + "token must have at least 8 characters"; return false; }
        h = sha256_hex(p);
      } else {
        err = where + "sha256 or token is required";
        return false;
      }
      by_hash_[h] = t;
    }
  } catch (const YAML::Exception& e) {
    err = "tokens[" + std::to_string(k - 1) + "]: " + e.msg;
    return false;
  }
  return true;
}

void TokenStore::add(const std::string& plain, TokenInfo t) { by_hash_[sha256_hex(plain)] = std::move(t); }

std::optional<TokenInfo> TokenStore::find(std::string_view plain) const {
  if (plain.empty()) return std::nullopt;
  auto it = by_hash_.find(sha256_hex(plain));
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

std::string bearer(std::string_view a) {
  if (a.size() < 7) return {};
  std::string scheme(a.substr(0, 7));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  if (scheme != "bearer ") return {};
  a.remove_prefix(7);
  while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
  while (!a.empty() && (a.back() == ' ' || a.back() == '\t')) a.remove_suffix(1);
  return std::string(a);
}

bool RateLimiter::allow(const std::string& key, double rate, double burst, Clock::time_point now, double* retry) {
  if (rate <= 0) rate = rate_;
  if (burst <= 0) burst = burst_;
  std::lock_guard g(mu_);
  auto [it, fresh] = b_.try_emplace(key, Bucket{burst, now});
  Bucket& b = it->second;
  if (!fresh) {
    double dt = std::chrono::duration<double>(now - b.last).count();
    if (dt > 0) b.tokens = std::min(burst, b.tokens + dt * rate), b.last = now;
  }
  if (b.tokens >= 1) { b.tokens -= 1; return true; }
  if (retry) *retry = (1 - b.tokens) / rate;
  return false;
}

}  // namespace spectre::api
