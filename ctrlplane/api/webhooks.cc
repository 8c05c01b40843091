#include "ctrlplane/api/webhooks.h"

#include <cstdio>

#include "ctrlplane/api/params.h"

namespace spectre::api {

void WebhookDispatcher::reload() {
  std::vector<store::Webhook> want = st_.webhooks();
  std::unique_lock g(mu_);
  std::vector<Hook> next;
  for (auto& w : want) {
    Hook h;
    for (auto& old : hooks_)
      if (old.w.id == w.id && old.sink) h.sink = std::move(old.sink);
    h.w = w;
    h.min_rank = std::max(0, level_rank(w.min_level));
    if (!h.sink) {
      exporter::WebhookOptions o;
      o.url = w.url;
      o.secret = w.secret;
      o.max_attempts = 4;
      h.sink = std::make_unique<exporter::WebhookSink>(o);
      std::string err;
      if (!h.sink->start(&err)) {
        std::fprintf(stderr, "spectre-cp: webhook %llu (%s): %s\n", (unsigned long long)w.id, w.url.c_str(), err.c_str());
        continue;
      }
    }
    next.push_back(std::move(h));
  }
  hooks_.swap(next);
  g.unlock();
  for (auto& h : next)  // removed ones: stopped outside the lock (drains briefly)
    if (h.sink) h.sink->stop();
}

void WebhookDispatcher::dispatch(const char* kind, const std::string& level, const std::string& json) {
  std::shared_lock g(mu_);
  if (hooks_.empty()) return;
  int rank = level_rank(level);
  std::string body;
  for (auto& h : hooks_) {
    bool wants = false;
    for (auto& e : h.w.events) wants |= e == kind;
    if (!wants || rank < h.min_rank) continue;
    if (body.empty()) body = std::string("{\"type\":\"") + kind + "\",\"data\":" + json + "}";
    h.sink->post(body);
  }
}

void WebhookDispatcher::stop() {
  std::unique_lock g(mu_);
  for (auto& h : hooks_)
    if (h.sink) h.sink->stop();
  hooks_.clear();
}

size_t WebhookDispatcher::size() {
  std::shared_lock g(mu_);
  return hooks_.size();
}

}  // namespace spectre::api
