// Bearer tokens with roles (--api-tokens FILE) and per-token rate limits.
//   tokens:
//     - {name: alice, role: analyst, sha256: <hex of the token>}
//     - {name: ci, role: viewer, token: plain-text, rate: 20, burst: 40}
// Tokens are compared by their SHA-256 (a stored hash never reveals the token).
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "ctrlplane/api/http_types.h"

namespace spectre::api {

std::string sha256_hex(std::string_view s);

struct TokenInfo {
  std::string name;
  Role role = Role::kViewer;
  double rate = 0, burst = 0;  // 0: the server's defaults
};

class TokenStore {
 public:
  bool load_file(const std::string& path, std::string& err);
  bool load_yaml(const std::string& text, std::string& err);
  void add(const std::string& plain_token, TokenInfo t);  // tests / built-in
  std::optional<TokenInfo> find(std::string_view plain_token) const;
  size_t size() const { return by_hash_.size(); }

 private:
  std::unordered_map<std::string, TokenInfo> by_hash_;  // lower-case hex sha256 -> info
};

// "Bearer X" -> X; "" when absent or another scheme.
std::string bearer(std::string_view authorization);

// Token bucket per key: `rate` tokens a second up to `burst`; allow() takes one.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  // False when the key's bucket is empty; retry_after_s says when one token is back.
  bool allow(const std::string& key, double rate, double burst, Clock::time_point now, double* retry_after_s = nullptr);
  bool allow(const std::string& key, Clock::time_point now) { return allow(key, 0, 0, now); }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> b_;
};

}  // namespace spectre::api
