// Syslog output (RFC 5424) over UDP, TCP (RFC 6587 octet counting) or a
// unix socket (datagram, or stream with '\n' framing when the socket is a
// stream one), with JSON, CEF or LEEF payloads (siem_format.h; the severity
// mapping is documented there). The caller formats and queues; a thread
// connects, reconnects with backoff and sends, so the caller never blocks on
// the network. A full queue drops its oldest message and counts it.
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

#include <sys/socket.h>

#include "ctrlplane/export/event.h"

namespace spectre::exporter {

enum class SyslogTransport { kUdp, kTcp, kUnix };
enum class SyslogFormat { kJson, kCef, kLeef };

struct SyslogOptions {
  SyslogTransport transport = SyslogTransport::kUdp;
  std::string host = "127.0.0.1";  // UDP/TCP: name or address
  uint16_t port = 514;
  std::string unix_path = "/dev/log";
  SyslogFormat format = SyslogFormat::kJson;
  int facility = 16;          // local0
  std::string hostname;       // RFC 5424 HOSTNAME; empty = gethostname()
  std::string app_name = "spectre";
  std::string version = "0.1.0";  // CEF/LEEF device version
  size_t queue_max = 10000;   // messages
  size_t max_message = 65000; // longer messages are cut (UDP datagram limit) and counted
  uint32_t reconnect_max_ms = 5000;  // backoff doubles from 100 ms up to this
  uint32_t drain_ms = 1000;   // stop(): time allowed to send what is queued
};

struct SyslogStats {
  uint64_t queued = 0, sent = 0;
  uint64_t dropped = 0;      // queue full (oldest dropped), unsent at stop, or failed twice
  uint64_t send_errors = 0;  // failed send/connect calls
  uint64_t reconnects = 0;   // successful (re)connections of a stream socket
  uint64_t truncated = 0;
  uint64_t skipped = 0;      // flows in CEF/LEEF format (alerts only there)
};

class SyslogSink : private QueuedSink {
 public:
  explicit SyslogSink(SyslogOptions opts);
  ~SyslogSink();  // stop()
  SyslogSink(const SyslogSink&) = delete;
  SyslogSink& operator=(const SyslogSink&) = delete;

  // Resolves the destination and starts the sender (connection failures are
  // retried in the background). false + *err on a bad address.
  bool start(std::string* err);
  // MSGID "alert"; payload per options().format.
  bool send(const CpAlert& a);
  // MSGID "flow"; JSON format only (counted in skipped otherwise).
  bool send(const CpFlow& f);
  // Pass-through: `line` is the MSG whatever the format (a pre-formatted EVE line).
  bool send_line(std::string_view line, uint64_t ts_ns, int severity = 6, std::string_view msgid = "eve");
  // Builds the full RFC 5424 message for an alert (what send() queues).
  std::string build(const CpAlert& a) const;
  void stop();
  SyslogStats stats() const;
  const SyslogOptions& options() const { return opts_; }

 private:
  bool enqueue(std::string msg);
  void run();
  bool connect_sock();
  bool send_one(const std::string& msg);
  void close_sock();

  SyslogOptions opts_;
  std::string host_;  // resolved HOSTNAME field
  std::string procid_;
  // Destination (resolved at start).
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  int family_ = 0;

  int fd_ = -1;            // sender thread only
  bool unix_stream_ = false;

  std::atomic<uint64_t> sent_{0}, send_errors_{0}, reconnects_{0}, truncated_{0}, skipped_{0};
};

}  // namespace spectre::exporter
