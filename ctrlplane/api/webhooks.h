// Webhooks registered through the API (POST /webhooks): one exporter
// WebhookSink each (queued, retried, HMAC-SHA256 signed with the stored
// secret), fed by the ingest with the REST object of each alert or incident
// record that passes the webhook's event and level filters:
//   {"type":"alert"|"incident","data":{...}}
// Alert levels by severity: 1 high, 2 medium, 3 low, 4 info.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "ctrlplane/export/webhook_sink.h"
#include "ctrlplane/store/store.h"

namespace spectre::api {

class WebhookDispatcher {
 public:
  explicit WebhookDispatcher(store::Store& s) : st_(s) {}
  ~WebhookDispatcher() { stop(); }
  // (Re)builds the sinks from the store's webhooks (at start and after a change); kept sinks keep their queues.
  void reload();
  // kind "alert" | "incident"; level by name; json the REST object. Never blocks.
  void dispatch(const char* kind, const std::string& level, const std::string& json);
  void stop();
  size_t size();

 private:
  struct Hook {
    store::Webhook w;
    int min_rank = 2;
    std::unique_ptr<exporter::WebhookSink> sink;
  };
  store::Store& st_;
  std::shared_mutex mu_;
  std::vector<Hook> hooks_;
};

}  // namespace spectre::api
