// Query-string validation for the list endpoints and the opaque cursor:
// base64url of "a1:<last ts ms>:<last id>" (alerts, ordered by time),
// "f1:<last ts ms>:<last id>" (flows, likewise) or "i1:<last id>" (incidents), so a cursor of one list is refused by the
// other and a forged one is a 400.
#pragma once

#include <string>
#include <vector>

#include "ctrlplane/api/http_types.h"
#include "ctrlplane/store/store.h"

namespace spectre::api {

std::string b64url_encode(std::string_view in);
bool b64url_decode(std::string_view in, std::string& out);
std::string encode_cursor(char kind, uint64_t last_id, int64_t last_ts = 0);
bool decode_cursor(std::string_view c, char kind, uint64_t& last_id, int64_t* last_ts = nullptr);
// A time-ordered list's body (alerts 'a', flows 'f'): {"items":[text(row),...],"next_cursor":...},
// the cursor after the last row when the page is full (limit rows), else null.
template <typename Row, typename Text>
std::string ts_page_body(const std::vector<Row>& rows, size_t limit, char kind, Text&& text) {
  std::string body = "{\"items\":[";
  for (size_t i = 0; i < rows.size(); i++) {
    if (i) body += ',';
    body += text(rows[i]);
  }
  body += "],\"next_cursor\":";
  if (rows.size() != limit) return body + "null}";
  body += '"';
  body += encode_cursor(kind, rows.back().id, rows.back().ts_ms);  // base64url: nothing to escape
  return body + "\"}";
}

bool parse_u64(std::string_view s, uint64_t& v);
// "1".."4" or critical/high/medium/low/info as 1,1,2,3,4 and high/medium/low/info ... (the alerts' names).
bool parse_severity(std::string_view s, int& out);
bool valid_ip(std::string_view s);
bool valid_status(std::string_view s);
// An incident level (the Cortex's names): info 0 .. critical 4; -1 for anything else.
int level_rank(std::string_view level);
inline bool valid_level(std::string_view s) { return level_rank(s) >= 0; }

// Fills q from the request's query; false + reason (for a 400) on a bad or unknown parameter.
// extra: additional parameter names the caller accepts (e.g. "format").
bool alert_query(const Request& r, store::AlertQuery& q, std::string& err, std::initializer_list<const char*> extra = {});
bool incident_query(const Request& r, store::IncidentQuery& q, std::string& err);
bool flow_query(const Request& r, store::FlowQuery& q, std::string& err);
// from/to (RFC 3339); defaults to [now - dflt_span_ms, now].
bool time_range(const Request& r, int64_t now_ms, int64_t dflt_span_ms, int64_t& from, int64_t& to, std::string& err);

}  // namespace spectre::api
