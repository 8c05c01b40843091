// Webhook worker: libcurl POSTs with HMAC signature, retries and backoff.
#include "ctrlplane/export/webhook_sink.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <mutex>

namespace spectre::exporter {

namespace {
std::once_flag g_curl_once;

size_t discard_body(char*, size_t size, size_t n, void*) { return size * n; }

bool retryable(long status) { return status < 0 || status == 408 || status == 429 || status >= 500; }
}  // namespace

std::string WebhookSink::signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  static const char hx[] = "0123456789abcdef";
  std::string s = "sha256=";
  for (unsigned i = 0; i < len; i++) {
    s.push_back(hx[mac[i] >> 4]);
    s.push_back(hx[mac[i] & 15]);
  }
  return s;
}

WebhookSink::WebhookSink(WebhookOptions opts) : opts_(std::move(opts)) {
  if (opts_.queue_max == 0) opts_.queue_max = 1;
  if (opts_.max_attempts == 0) opts_.max_attempts = 1;
}

WebhookSink::~WebhookSink() { stop(); }

bool WebhookSink::start(std::string* err) {
  std::lock_guard<std::mutex> g(mu_);
  if (running_) return true;
  if (opts_.url.rfind("http://", 0) != 0 && opts_.url.rfind("https://", 0) != 0) {
    if (err) *err = "webhook: url must start with http:// or https://: '" + opts_.url + "'";
    return false;
  }
  if (!opts_.ca_file.empty() && access(opts_.ca_file.c_str(), R_OK) != 0) {
    if (err) *err = "webhook: cannot read CA file " + opts_.ca_file + ": " + strerror(errno);
    return false;
  }
  std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  launch_locked([this] { run(); });
  return true;
}

bool WebhookSink::post(std::string body) {
  return enqueue_bounded(std::move(body), opts_.queue_max);
}

bool WebhookSink::post(const CpAlert& a) {
  std::string s;
  format_eve(s, a);
  s.pop_back();
  return post(std::move(s));
}

namespace {
// One POST on handle c; the HTTP status or -1 (transport error, in *err).
long perform(CURL* c, const WebhookOptions& o, const std::string& body, std::string* err) {
  curl_easy_reset(c);
  curl_slist* hdr = nullptr;
  hdr = curl_slist_append(hdr, "Content-Type: application/json");
  hdr = curl_slist_append(hdr, "Expect:");  // no 100-continue round trip
  std::string sig;
  if (!o.secret.empty()) {
    sig = "X-Spectre-Signature: " + WebhookSink::signature(o.secret, body);
    hdr = curl_slist_append(hdr, sig.c_str());
  }
  for (const std::string& h : o.headers) hdr = curl_slist_append(hdr, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, o.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, long(o.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(o.connect_timeout_ms));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "spectre-cp");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!o.verify_tls) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!o.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  long status = -1;
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  else if (err) *err = curl_easy_strerror(rc);
  curl_slist_free_all(hdr);
  return status;
}
}  // namespace

long WebhookSink::post_once(const WebhookOptions& opts, const std::string& body, std::string* err) {
  if (opts.url.rfind("http://", 0) != 0 && opts.url.rfind("https://", 0) != 0) {
    if (err) *err = "url must start with http:// or https://";
    return -1;
  }
  std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* c = curl_easy_init();
  if (!c) {
    if (err) *err = "curl_easy_init failed";
    return -1;
  }
  long st = perform(c, opts, body, err);
  curl_easy_cleanup(c);
  return st;
}

long WebhookSink::attempt(const std::string& body) {
  long status = perform(static_cast<CURL*>(curl_), opts_, body, nullptr);
  if (status < 0) transport_errors_.fetch_add(1);
  else {
    last_status_.store(status);
    if (status < 200 || status > 299) http_errors_.fetch_add(1);
  }
  return status;
}

void WebhookSink::run() {
  curl_ = curl_easy_init();
  std::unique_lock<std::mutex> lk(mu_);
  while (curl_) {
    cv_.wait(lk, [&] { return stop_ || !q_.empty(); });
    if (stop_) break;
    std::string body = std::move(q_.front());
    q_.pop_front();
    uint32_t backoff = opts_.backoff_initial_ms;
    bool done = false;
    for (uint32_t n = 0; n < opts_.max_attempts && !done; n++) {
      if (n > 0) {
        // Backoff; stop() cuts it short (the entry is then retried in the drain).
        if (cv_.wait_for(lk, std::chrono::milliseconds(backoff), [&] { return stop_; })) break;
        backoff = uint32_t(std::min<uint64_t>(uint64_t(backoff) * 2, opts_.backoff_max_ms));
        retries_.fetch_add(1);
      }
      lk.unlock();
      long st = attempt(body);
      lk.lock();
      if (st >= 200 && st <= 299) {
        delivered_.fetch_add(1);
        done = true;
      } else if (!retryable(st)) {
        failed_.fetch_add(1);
        done = true;
      }
    }
    if (!done) {
      if (stop_) q_.push_front(std::move(body));
      else failed_.fetch_add(1);
    }
  }
  // Drain: one try each within drain_ms; the rest is dropped.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.drain_ms);
  while (curl_ && !q_.empty() && std::chrono::steady_clock::now() < deadline) {
    std::string body = std::move(q_.front());
    q_.pop_front();
    lk.unlock();
    long st = attempt(body);
    lk.lock();
    if (st >= 200 && st <= 299) delivered_.fetch_add(1);
    else failed_.fetch_add(1);
  }
  drop_rest_locked();
  lk.unlock();
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
  curl_ = nullptr;
}

void WebhookSink::stop() { stop_thread(); }

WebhookStats WebhookSink::stats() const {
  WebhookStats s;
  s.queued = queued_.load();
  s.delivered = delivered_.load();
  s.dropped = dropped_.load();
  s.failed = failed_.load();
  s.retries = retries_.load();
  s.http_errors = http_errors_.load();
  s.transport_errors = transport_errors_.load();
  s.last_status = last_status_.load();
  return s;
}

}  // namespace spectre::exporter
