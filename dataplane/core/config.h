// Parse-time configuration (main thread only). Workers never read this type
// directly: they read the Snapshot built from it (snapshot.h).
#pragma once
#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include "dataplane/behave/config.h"
#include "ctrlplane/cortex/cortex.h"
#include "dataplane/decode/defrag.h"
#include "dataplane/flow/flow.h"
#include "dataplane/intel/intel.h"
#include "dataplane/yaramatch/compile.h"

namespace spectre {

constexpr size_t kMlPointsMax = 3;  // = kMaxScorePoints (dataplane/features/scoring.h)

struct Config {
  // Flow timeouts in seconds, by TimeoutClass.
  uint32_t timeouts_s[kTmoClassCount] = {60, 1800, 120, 30, 300, 30, 300};
  uint32_t max_flows = 1000000;       // total across workers (restart to change)
  uint32_t expire_budget = 256;       // flows expired per worker loop at most
  uint32_t defrag_max_datagrams = 128;
  uint32_t defrag_max_frags = 1024;   // per datagram; 8-byte fragments of 64 KiB need 8192
  uint32_t defrag_timeout_s = 60;
  std::string eve_path;               // empty: no EVE file
  bool eve_app_events = true;         // event_type http/dns/tls per transaction
  bool eve_alert_payload = false;     // eve.alert.payload: the inspected bytes, base64 (Suricata's payload: yes)
  bool eve_alert_packet = false;      // eve.alert.packet: the IP packet, base64 (Suricata's packet: yes)
  std::string fast_path;              // fast.log alert lines; empty: none
  uint32_t stats_interval_s = 8;
  uint32_t workers = 1;
  uint32_t burst = 32;
  uint32_t rx_ring_size = 4096;       // per-worker input ring (distributor modes)
  uint32_t event_ring_size = 16384;   // per-worker event ring
  uint32_t mbufs = 16383;
  uint32_t rx_desc = 1024;

  // Signatures (rules: in YAML). Empty files and dir: no signature inspection.
  std::vector<std::string> rule_files;
  std::string rules_dir, classification_file;
  bool rules_dir_optional = false;     // rules.dir_optional: a missing dir is noted, not an error
  bool rules_strict = false;
  std::string rules_data_dir;          // rules.data_dir: dataset state/save files (empty: next to the rule file)
  std::string rules_cache_dir;         // rules.cache_dir: compiled Hyperscan databases (empty: no cache)
  std::map<std::string, std::string> address_vars, port_vars;  // over Suricata's defaults
  std::string threshold_file;          // threshold-file: Suricata's threshold.config; empty: none
  // TCP reassembly and app layer (stream:, app_layer:).
  uint32_t stream_depth = 1u << 20;    // bytes per direction, like stream.reassembly.depth
  uint32_t stream_max_ooo = 65536;     // buffered out-of-order bytes per direction
  bool midstream = true;               // stream.midstream
  bool async_oneside = false;          // stream.async_oneside (Suricata's stream.async-oneside)
  uint32_t sessions = 65536;           // per worker: flows with stream/app/detect state
  uint32_t segment_chunks = 16384;     // per worker, 2 KiB each
  uint32_t http_body_limit = 8192;
  uint32_t http_decompress_limit = 1u << 20;  // decompressed bytes per gzip/deflate body
  uint32_t http_decompress_streams = 64;      // per worker: bodies decoded at once
  uint32_t file_hash_states = 1024;           // per worker: files hashed at once
  bool app_layer = true;
  bool checksum_validate = false;      // checksum: all | none (Suricata -k)
  uint32_t alert_ring_size = 2048;     // per worker
  // ML (ml:): per-flow features, scoring points, model.
  std::string ml_model;                // .spm artifact; empty: no model scoring
  std::string dump_features;           // CSV of every scoring point's row; empty: none
  std::vector<uint32_t> ml_points = {4, 16};  // early scoring after N packets (<= 3 points)
  uint32_t ml_hosts = 65536;           // per worker: source hosts in the sliding window
  uint32_t ml_host_window_s = 60;
  // Control-plane channel (control:): shared-memory segment for spectre-cp.
  std::string control_instance;        // empty: no channel (--instance NAME)
  uint32_t control_event_ring_kb = 4096;  // per worker
  std::string control_group;           // group allowed to use the segment (mode 0660); empty: owner only (0600)
  // The file this came from; empty: built-in defaults (--config none).
  std::string source_path;
  // Behaviour detectors (behaviour:), dataplane/behave/config.h.
  behave::Config behave;
  // Threat-intel feeds (intel: feeds, --intel PATH), dataplane/intel/.
  std::vector<intel::FeedSpec> intel_feeds;
  // Incidents (incidents:): correlation, risk, EVE incident records (ctrlplane/cortex/).
  cortex::Config incidents;
  // YARA over extracted files (yara:, --yara PATH), dataplane/yaramatch/.
  yara::Config yara;
};

// Reads a YAML file over the defaults. Input paths in it (rule files, rule
// directory, classification, model) are relative to the file's directory, so
// a shipped configuration works from any working directory. Returns nullopt and sets `err`
// ("file:line: message") on a bad file; unknown keys are errors too, so a
// typo does not silently keep a default.
std::optional<Config> load_config(const std::string& path, std::string& err);

// The configuration used when none is named (main thread, at start):
// $SPECTRE_CONFIG if set ("none": built-in defaults, returns ""), else
// /etc/spectre/spectre.yaml if present, else the repository's
// config/spectre.yaml beside the build tree of this executable; "" if none.
std::string find_default_config();

const char* timeout_class_name(uint8_t cls);

}  // namespace spectre
