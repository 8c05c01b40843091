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
    return json_response(200, ts_page_body(rows, q.limit, 'f', flow_text));
  });
}

}  // namespace spectre::api
