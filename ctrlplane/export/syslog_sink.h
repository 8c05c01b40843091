// Syslog output (RFC 5424) over UDP, TCP (RFC 6587 octet counting) or a
// unix socket (datagram, or stream with '\n' framing when the socket is a
// stream one), with JSON, CEF or LEEF payloads (siem_format.h; the severity
// mapping is documented there). The caller formats and queues; a thread
// connects, reconnects with backoff and sends, so the caller never blocks on
// the network. A full queue drops its oldest message and counts it.
//
// Live settings (reconfigure(): the API's PUT /siem): the target, format and
// minimum level change without a restart and without losing what is queued.
// Callers format under cfg_mu_ with the settings of that moment, and every
// queued message carries the generation of the settings it was built with;
// the sender thread switches its socket between two messages, when it meets
// the first message of a newer generation (what was queued before goes to
// the old target first). If the old target fails while a newer one exists,
// the rest of the old messages go to the new target (counted in rerouted).
#pragma once

#include "ctrlplane/export/queued_sink.h"
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
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
  bool enabled = true;        // false: nothing is sent (reconfigure() to a target "" = off)
  int min_level = 0;          // 0 info, 1 low, 2 medium, 3 high, 4 critical: alerts and incidents below are not sent
};

// "udp://HOST:PORT", "tcp://HOST:PORT" ([v6] hosts too) or "unix:PATH" into o's transport
// fields; "" turns the sink off (o.enabled = false). false + err (the reason) otherwise.
bool parse_syslog_target(const std::string& target, SyslogOptions& o, std::string& err);
// "json" | "cef" | "leef"; "info" .. "critical" (the incident level names).
bool parse_syslog_format(const std::string& s, SyslogFormat& f);
int syslog_level_rank(std::string_view level);  // -1 when not a level name
// An alert's level rank from its Suricata priority: 1 high (3), 2 medium, 3 low, other info (0).
int alert_level_rank(uint32_t priority);

struct SyslogStats {
  uint64_t queued = 0, sent = 0;
  uint64_t dropped = 0;      // queue full (oldest dropped), unsent at stop, or failed twice
  uint64_t send_errors = 0;  // failed send/connect calls
  uint64_t reconnects = 0;   // successful (re)connections of a stream socket
  uint64_t truncated = 0;
  uint64_t skipped = 0;      // flows in CEF/LEEF format (alerts only there)
  uint64_t filtered = 0;     // alerts/incidents below min_level
  uint64_t reconfigured = 0; // reconfigure() calls applied
  uint64_t rerouted = 0;     // messages of an older setting sent to a newer target (the old one failed)
};

class SyslogSink;
// The SIEM settings (the API's /siem: target, format, min_level names) onto a
// running sink: false + err ("target: ...", "format: ...", "min_level: ...")
// and nothing changed when one is bad or the target does not resolve.
bool configure_syslog(SyslogSink& s, const std::string& target, const std::string& format,
                      const std::string& min_level, std::string& err);
// The running sink's settings in those names (target "" when it is off): what
// GET /siem shows, whether they came from --syslog* or a PUT.
void syslog_settings(SyslogSink& s, std::string& target, std::string& format, std::string& min_level);

class SyslogSink : private QueuedSink {
 public:
  explicit SyslogSink(SyslogOptions opts);
  ~SyslogSink();  // stop()
  SyslogSink(const SyslogSink&) = delete;
  SyslogSink& operator=(const SyslogSink&) = delete;

  // Resolves the destination and starts the sender (connection failures are
  // retried in the background). false + *err on a bad address. With
  // enabled = false it only marks the sink idle (reconfigure() may start it).
  bool start(std::string* err);
  // Any thread (the API's): resolves next's target first (nothing changes when
  // that fails: false + *err), then applies it to the messages built from now
  // on; starts the sender if it was not running. Keeps facility, names and limits.
  bool reconfigure(const SyslogOptions& next, std::string* err);
  // MSGID "alert"; payload per the current format; below min_level: filtered.
  bool send(const CpAlert& a);
  // MSGID "flow"; JSON format only (counted in skipped otherwise).
  bool send(const CpFlow& f);
  // Pass-through: `line` is the MSG whatever the format (a pre-formatted EVE line).
  bool send_line(std::string_view line, uint64_t ts_ns, int severity = 6, std::string_view msgid = "eve");
  // A record with a level (incidents): payload(format, version) builds the MSG
  // under the settings lock, so it matches the format of its generation.
  template <class F>
  bool send_leveled(int level_rank, uint64_t ts_ns, int severity, std::string_view msgid, F&& payload) {
    std::lock_guard<std::mutex> c(cfg_mu_);
    if (!live_locked(level_rank)) return false;
    std::string m = begin_locked(ts_ns, severity, msgid);
    m += payload(opts_.format, std::string_view(opts_.version));
    return enqueue_locked(std::move(m));
  }
  // Builds the full RFC 5424 message for an alert (what send() queues, without the generation prefix).
  std::string build(const CpAlert& a);
  // Flows go out (JSON format, enabled): the caller skips building them otherwise.
  bool wants_flows();
  void stop();
  SyslogStats stats() const;
  SyslogOptions options();  // a copy of the current settings

 private:
  struct Dest {
    SyslogTransport transport = SyslogTransport::kUdp;
    sockaddr_storage addr{};
    socklen_t len = 0;
    int family = 0;
  };
  static bool resolve(const SyslogOptions& o, Dest& d, std::string* err);
  bool live_locked(int level_rank);  // cfg_mu_ held: enabled, running and at or above min_level
  std::string begin_locked(uint64_t ts_ns, int severity, std::string_view msgid);  // generation + header
  bool enqueue_locked(std::string msg);  // cfg_mu_ held
  void build_into(std::string& m, const CpAlert& a);
  void run();
  void adopt(uint32_t gen);  // sender thread: switches to generation gen's target
  bool connect_sock();
  bool send_one(const std::string& msg);
  void close_sock();

  std::mutex cfg_mu_;  // opts_ and gen_ (callers format under it); taken before QueuedSink's mu_
  SyslogOptions opts_;
  uint32_t gen_ = 0;   // generation of opts_; queued messages start with it (4 bytes)
  bool shut_ = false;  // stop() ran: reconfigure() starts nothing
  std::string host_;   // resolved HOSTNAME field
  std::string procid_;
  std::map<uint32_t, Dest> dests_;  // generation -> target, under mu_ (older ones pruned by the sender)

  // Sender thread only (the two limits are copied at construction: opts_ changes under cfg_mu_).
  uint32_t retry_max_ms_ = 5000, drain_ms_ = 1000;
  Dest cur_;
  uint32_t cur_gen_ = 0;
  int fd_ = -1;
  bool unix_stream_ = false;

  std::atomic<uint64_t> sent_{0}, send_errors_{0}, reconnects_{0}, truncated_{0}, skipped_{0}, filtered_{0},
      reconfigured_{0}, rerouted_{0};
};

}  // namespace spectre::exporter
