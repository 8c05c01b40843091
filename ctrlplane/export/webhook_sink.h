// Webhook output: HTTP(S) POST of each alert's JSON (libcurl) from a worker
// thread. Header "X-Spectre-Signature: sha256=<hex HMAC-SHA256(secret, body)>"
// lets the receiver authenticate the body. Transport errors, 5xx, 408 and 429
// are retried with exponential backoff (initial, doubling, capped); other
// answers end the attempt (2xx delivered, anything else failed). The queue is
// bounded: when full the oldest entry is dropped and counted. post() only
// queues, so the caller never blocks on the network.
#pragma once

#include "ctrlplane/export/queued_sink.h"
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ctrlplane/export/event.h"

namespace spectre::exporter {

struct WebhookOptions {
  std::string url;                   // http:// or https://
  std::string secret;                // HMAC key; empty = no signature header
  std::vector<std::string> headers;  // extra "Name: value" lines
  size_t queue_max = 1000;
  uint32_t max_attempts = 6;         // first try included
  uint32_t backoff_initial_ms = 500;
  uint32_t backoff_max_ms = 30000;
  uint32_t timeout_ms = 5000;        // whole request
  uint32_t connect_timeout_ms = 3000;
  bool verify_tls = true;
  std::string ca_file;               // PEM CA bundle for https (empty: the system's)
  uint32_t drain_ms = 2000;          // stop(): time allowed for what is queued (one try each)
};

struct WebhookStats {
  uint64_t queued = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;     // queue full (oldest), or still queued at stop
  uint64_t failed = 0;      // gave up: attempts exhausted or a non-retryable answer
  uint64_t retries = 0;     // attempts after the first
  uint64_t http_errors = 0; // non-2xx answers
  uint64_t transport_errors = 0;
  long last_status = 0;
};

class WebhookSink : private QueuedSink {
 public:
  explicit WebhookSink(WebhookOptions opts);
  ~WebhookSink();  // stop()
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  // Checks the URL scheme and starts the worker. false + *err when invalid.
  bool start(std::string* err);
  // Queues a JSON body. false when the sink is stopped or an older entry was dropped.
  bool post(std::string body);
  bool post(const CpAlert& a);  // the alert's EVE line (no newline)
  void stop();
  WebhookStats stats() const;

  // One synchronous POST with opts' URL, headers, secret and timeouts on the
  // caller's thread (Reflex's response actions, which audit each result):
  // the HTTP status, or -1 on a transport error (*err says which).
  static long post_once(const WebhookOptions& opts, const std::string& body, std::string* err = nullptr);

  // "sha256=<64 lowercase hex>" of HMAC-SHA256(secret, body).
  static std::string signature(std::string_view secret, std::string_view body);

 private:
  void run();
  long attempt(const std::string& body);  // HTTP status, or -1 on a transport error

  WebhookOptions opts_;
  void* curl_ = nullptr;  // CURL*, worker thread only

  std::atomic<uint64_t> delivered_{0}, failed_{0}, retries_{0}, http_errors_{0}, transport_errors_{0};
  std::atomic<long> last_status_{0};
};

}  // namespace spectre::exporter
