// /flows: the ended flows the store keeps (spectre-cp --store-flows; none by default).
#include "ctrlplane/api/params.h"
#include "ctrlplane/api/service.h"

namespace spectre::api {

void ApiService::routes_flows() {
  router_.add("GET", "/api/v1/flows", Role::kViewer, [this](Request& r) {
    store::FlowQuery q;
    std::string err;
    if (!flow_query(r, q, err)) return error(400, err);
    std::vector<store::FlowRow> rows;
    if (!st_.list_flows(q, rows, err)) return error(500, "store: " + err);
    std::string body = "{\"items\":[";
    for (size_t i = 0; i < rows.size(); i++) {
      if (i) body += ',';
      body += flow_text(rows[i]);
    }
    body += "],\"next_cursor\":";
    if (rows.size() == q.limit) {
      body += '"';
      body += encode_cursor('f', rows.back().id, rows.back().ts_ms);
      body += "\"}";
    } else {
      body += "null}";
    }
    return json_response(200, body);
  });
}

}  // namespace spectre::api
