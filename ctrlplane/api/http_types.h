// The API's request/response shapes, independent of the HTTP library, so
// the router and handlers are testable without sockets.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace spectre::api {

enum class Role : uint8_t { kNone, kViewer, kAnalyst, kAdmin };
const char* role_name(Role r);
bool parse_role(std::string_view s, Role& r);

struct Principal {
  std::string name;  // the token's name (audit actor)
  Role role = Role::kNone;
};

struct Request {
  std::string method;                          // "GET"
  std::string path;                            // decoded path, no query
  std::map<std::string, std::string> query;    // decoded; a repeated key keeps the last value
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::vector<std::string> params;             // {placeholders} of the matched route, in order
  Principal who;
  std::string peer;                            // "1.2.3.4:5678"
  std::string header(const std::string& lower) const {
    auto it = headers.find(lower);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error":"reason"} with the status.
Response error(int status, std::string_view reason);
Response json_response(int status, std::string body);

// Percent-decoding ('+' as space in queries). False on a bad escape.
bool url_decode(std::string_view in, std::string& out, bool plus_space);
// Splits "a=1&b=2" into decoded pairs; false on a bad escape.
bool parse_query(std::string_view qs, std::map<std::string, std::string>& out);

}  // namespace spectre::api
