// The bounded queue and I/O thread that SyslogSink and WebhookSink share: the
// caller's thread enqueues (never waits on the network), the sink's own thread
// sends; when full the oldest message is dropped and counted.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace spectre::exporter {

class QueuedSink {
 protected:
  // Caller thread. False when the sink is not running or an older message was dropped.
  bool enqueue_bounded(std::string msg, size_t max) {
    std::lock_guard<std::mutex> g(mu_);
    if (!running_ || stop_) {
      dropped_.fetch_add(1);
      return false;
    }
    bool ok = true;
    while (q_.size() >= max) {
      q_.pop_front();
      dropped_.fetch_add(1);
      ok = false;
    }
    q_.push_back(std::move(msg));
    queued_.fetch_add(1);
    cv_.notify_one();
    return ok;
  }
  // With mu_ held: starts the I/O thread running `body`.
  template <class F>
  void launch_locked(F&& body) {
    stop_ = false;
    running_ = true;
    thread_ = std::thread(std::forward<F>(body));
  }
  // Signals the I/O thread, waits for it (it drains within its own limit).
  void stop_thread() {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (!running_) return;
      stop_ = true;
      cv_.notify_all();
    }
    thread_.join();
    std::lock_guard<std::mutex> g(mu_);
    running_ = false;
  }
  // I/O thread, mu_ held, at exit: what is still queued is dropped and counted.
  void drop_rest_locked() {
    dropped_.fetch_add(q_.size());
    q_.clear();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> q_;
  bool stop_ = false, running_ = false;
  std::thread thread_;
  std::atomic<uint64_t> queued_{0}, dropped_{0};
};

}  // namespace spectre::exporter
