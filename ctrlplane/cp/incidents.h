// spectre-cp's live brain: the Cortex library (ctrlplane/cortex) run on the
// alerts and flow records the data plane sends (their EVE lines), its
// incident records written to the EVE file and, from a minimum level, to
// syslog (JSON, CEF or LEEF) and the webhook; open incidents by level and
// detections by kind for Prometheus; and `spectrectl incidents list|show|set`.
// The reader thread ingests; the control socket's thread reads and sets
// status; one mutex (ingest is ~1-3 us a detection).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "ctrlplane/cortex/cortex.h"
#include "ctrlplane/cortex/eve_input.h"
#include "ctrlplane/cp/commands.h"
#include "ctrlplane/export/eve_file_sink.h"
#include "ctrlplane/export/metrics_server.h"
#include "ctrlplane/export/syslog_sink.h"
#include "ctrlplane/export/webhook_sink.h"

namespace spectre::cp {

struct IncidentOutputs {
  exporter::EveFileSink* eve = nullptr;       // every record
  exporter::SyslogSink* syslog = nullptr;     // records at or above min_level
  exporter::WebhookSink* webhook = nullptr;   // records at or above min_level
  cortex::RiskLevel min_level = cortex::RiskLevel::kMedium;
  size_t keep = 4096;                         // incidents kept for spectrectl (closed ones go first)
  std::function<void(std::string_view)> record_tap;  // every record (the analyst store's ingest); never blocks
};

// CEF / LEEF payloads of an incident record (the EVE line's fields); severity
// by level: critical 10, high 8, medium 5, low 3, info 1.
std::string incident_cef(std::string_view eve_line, std::string_view version);
std::string incident_leef(std::string_view eve_line, std::string_view version);
int incident_syslog_severity(std::string_view level);  // critical 2 .. info 6

class LiveIncidents {
 public:
  // The Cortex from a configuration (spectre.yaml's incidents: section);
  // webhook actions post through the webhook exporter's curl code.
  static std::unique_ptr<LiveIncidents> create(cortex::Config c, IncidentOutputs out, std::string& err);
  // One EVE line from the data plane (alert or flow; others are ignored).
  void on_eve(std::string_view line);
  void finish();  // closes what is open (stop)
  // Incidents close after close_idle of packet time without a detection; with
  // no traffic packet time stops, so once no line has come for a second the
  // clock runs on by the wall time since the last one (called every ~0.2 s).
  void tick(uint64_t wall_ns);
  Reply list(const Request& r);
  Reply show(const Request& r);
  Reply set_status(const Request& r);
  void fill_metrics(exporter::MetricsSnapshot& s);
  std::string report();
  uint64_t bad_lines() const { return bad_; }

 private:
  struct Rec {
    std::string line;          // the latest record
    std::string status, level, summary, first_seen, last_seen, attackers, victims, event;
    double score = 0;
    bool open = true;
  };
  void on_record(std::string_view line);
  void trim(uint64_t keep_id);  // with mu_ held
  std::mutex mu_;
  std::unique_ptr<cortex::Cortex> cx_;
  IncidentOutputs out_;
  cortex::EveDetection ed_;
  std::map<uint64_t, Rec> recs_;
  uint64_t bad_ = 0, lines_ = 0, exported_ = 0;
  uint64_t last_wall_ = 0;      // wall time of the last detection or flow ingested (0: none yet)
  uint64_t clock_at_last_ = 0;  // Cortex's clock then
  uint64_t by_kind_[int(cortex::Kind::kKindEnd)] = {};
  std::string version_ = "0.1.0";
};

}  // namespace spectre::cp
