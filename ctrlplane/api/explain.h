// GET /api/v1/alerts/{id}/explain (handlers_alerts.cc routes it here).
#pragma once

#include <cstdint>

#include "ctrlplane/api/http_types.h"
#include "ctrlplane/api/ml_port.h"
#include "ctrlplane/store/store.h"

namespace spectre::api {

// ML alerts: the model's contribution of every feature (the learning loop
// recomputes them on the dumped row; without it, the alert's top features).
// Every alert: its rule identity and rule text when the EVE carries it, the
// matched buffers the EVE carries (payload, app-layer objects), and the
// explanation of the incident it belongs to (Reflex). 404: no such alert.
Response explain_alert(store::Store& st, MlPort* ml, uint64_t id);

}  // namespace spectre::api
