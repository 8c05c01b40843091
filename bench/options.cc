// Command-line parsing for spectre-bench. Every value is checked; errors
// name the option and exit 2 (usage), --help exits 0.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "bench/bench.h"

namespace spectre::bench {

namespace {

constexpr uint64_t kMaxFlows = 16000000;
constexpr uint32_t kMaxWorkers = 64;

const char kUsage[] =
    "usage: spectre-bench [options]\n"
    "\n"
    "Drives the real worker pipeline (process_burst) at full speed from pre-built\n"
    "mbufs and compares it with a bare RX-and-free loop over the same source.\n"
    "\n"
    "Traffic (one of):\n"
    "  --profile P[,P..]    64 (64-byte frames), imix (7:4:1 of 64/594/1518 B) or mix (--flows\n"
    "                       concurrent HTTP/TLS/DNS/bulk TCP sessions with handshakes, exact\n"
    "                       sequence numbers and app payloads, IMIX-like sizes); default 64\n"
    "  --pcap FILE          load every packet of a capture and replay it in a loop\n"
    "  --pcap-clock C       packet times of a --pcap replay: capture (default: the capture's own\n"
    "                       spacing, each pass later than the last by the capture's span + 1 s,\n"
    "                       so windows and timeouts see its real rates) or slots (1 us per ring\n"
    "                       slot, the same times every pass: a 1M-packet capture spans 1 s)\n"
    "Shape (lists run every combination):\n"
    "  --flows N[,N..]      concurrent flows, e.g. 1k, 100k, 1M (default 100k; not with --pcap)\n"
    "  --workers N[,N..]    worker lcores, each with its own source and flows (default 1)\n"
    "  --proto P            udp, tcp or mix (default mix: even flows UDP, odd TCP; not profile mix)\n"
    "  --pkts-per-flow K    mbufs per flow (default 2, or 1 when flows >= 1M; not profile mix)\n"
    "  --max-flows N        flow table capacity per worker (default max(1M/workers, 1.25*flows))\n"
    "Measurement:\n"
    "  --seconds S          length of each measured phase (default 3)\n"
    "  --packets N          packets per measured phase instead (total over workers)\n"
    "  --warmup-passes K    passes over all mbufs before measuring (default 1, >= 1)\n"
    "  --seed N             shuffle seed (default 12345)\n"
    "  --source ring|nic    ring: every mbuf cycles through the worker's ring (cold headers and data);\n"
    "                       nic: frames stream from memory into a small recycled RX pool, as a PMD\n"
    "                       with DDIO delivers them (warm); the copy is in the baseline too\n"
    "  --rx-touch           the source writes each dequeued mbuf's first cache line (data_len,\n"
    "                       pkt_len, ol_flags), as a PMD's descriptor write-back does, in both\n"
    "                       the baseline and the pipeline (default: pointers only)\n"
    "Environment:\n"
    "  --mem MB             EAL memory (-m); default computed from the largest run\n"
    "  --no-pin             let worker lcores float over the allowed CPUs\n"
    "  --thp                back the EAL's no-huge memory (mbufs, rings) with transparent huge\n"
    "                       pages, closer to a hugepage deployment; for the flow tables (malloc)\n"
    "                       also run with GLIBC_TUNABLES=glibc.malloc.hugetlb=1\n"
    "Signatures (each run is then done twice: without rules, then with them):\n"
    "  -S FILE              a rules file (repeatable), as spectre-dp -S\n"
    "  --rules-dir DIR      every *.rules file in DIR (classification.config from DIR if present)\n"
    "  --classification F   classification.config to use\n"
    "ML stage (each run is then also done with the ML stage; runs with ML are compared\n"
    "to the run without ML with the same rules state; see docs/BENCH.md):\n"
    "  --model FILE.spm     score flows with this model (as spectre-dp --model)\n"
    "  --features-only      also a run with per-flow feature tracking alone (no model, no dump:\n"
    "                       no row is extracted); with --model, before the model run\n"
    "  --intel PATH         threat-intel feed (repeatable, format detected as spectre-dp --intel)\n"
    "                       matched in every run: flow endpoints, DNS/TLS/HTTP names\n"
    "  --behaviour          the behaviour stage on (default sizes; mailboxes with 2+ workers); its\n"
    "                       cycles per packet (cyc_behave over the whole run) are printed per run\n"
    "  --score-points N,M   early scoring after N and M packets (default 4,16; up to 3; 'none')\n"
    "                       The alert ring is then emptied after every burst (as the output\n"
    "                       thread would), in every run, so ML alerts and their explanations\n"
    "                       are never dropped.\n"
    "Output:\n"
    "  --mix-out FILE       write the generated mix traffic (first --flows value) as a pcap\n"
    "  --json FILE          also write the JSON report to FILE (always on stdout)\n"
    "  -h, --help\n"
    "\n"
    "Exit status: 0 ok, 1 runtime error, 2 usage error, 3 a correctness check failed.\n";

// Strict unsigned parse with optional k/M/G (x1000) suffix.
std::optional<uint64_t> parse_count(std::string_view s) {
  if (s.empty() || s.size() > 30) return std::nullopt;
  std::string t(s);
  uint64_t mult = 1;
  char last = t.back();
  if (last == 'k' || last == 'K') mult = 1000;
  else if (last == 'm' || last == 'M') mult = 1000000;
  else if (last == 'g' || last == 'G') mult = 1000000000;
  if (mult != 1) t.pop_back();
  if (t.empty() || t[0] == '-' || t[0] == '+') return std::nullopt;
  for (char c : t)
    if (c < '0' || c > '9') return std::nullopt;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(t.c_str(), &end, 10);
  if (errno || *end) return std::nullopt;
  if (v > UINT64_MAX / mult) return std::nullopt;
  return uint64_t(v) * mult;
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t a = 0;
  for (;;) {
    size_t b = s.find(',', a);
    out.push_back(s.substr(a, b == std::string_view::npos ? std::string_view::npos : b - a));
    if (b == std::string_view::npos) break;
    a = b + 1;
  }
  return out;
}

int usage_error(const std::string& msg) {
  fmt::print(stderr, "spectre-bench: {}\n(see spectre-bench --help)\n", msg);
  return 2;
}

}  // namespace

const char* ml_mode_name(MlMode m) {
  switch (m) {
    case MlMode::kFeatures: return "features";
    case MlMode::kModel: return "model";
    default: return "off";
  }
}

const char* proto_name(Proto p) {
  switch (p) {
    case Proto::kUdp: return "udp";
    case Proto::kTcp: return "tcp";
    default: return "mix";
  }
}

int parse_options(int argc, char** argv, Options& o) {
  bool have_seconds = false, have_packets = false, have_profile = false, have_flows = false;
  bool have_points = false;
  for (int i = 1; i < argc; i++) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      fmt::print(stdout, "{}", kUsage);
      return 1;
    }
    if (a == "-S") {
      if (i + 1 >= argc || !*argv[i + 1]) return usage_error("-S needs a rules file");
      o.rule_files.emplace_back(argv[++i]);
      continue;
    }
    if (a.substr(0, 2) != "--") return usage_error(fmt::format("unexpected argument '{}'", a));
    std::string name(a), val;
    bool inline_val = false;
    if (size_t eq = a.find('='); eq != std::string_view::npos) {
      name = std::string(a.substr(0, eq));
      val = std::string(a.substr(eq + 1));
      inline_val = true;
    }
    auto flag = [&]() {
      if (inline_val) return usage_error(fmt::format("{} takes no value", name));
      return 0;
    };
    auto need = [&]() -> bool {
      if (inline_val) return true;
      if (i + 1 >= argc) return false;
      val = argv[++i];
      return true;
    };
    auto count = [&](uint64_t lo, uint64_t hi, uint64_t& out) -> int {
      if (!need()) return usage_error(fmt::format("{} needs a value", name));
      auto v = parse_count(val);
      if (!v || *v < lo || *v > hi)
        return usage_error(fmt::format("{}: '{}' is not a number in [{}, {}]", name, val, lo, hi));
      out = *v;
      return 0;
    };

    if (name == "--profile") {
      if (!need()) return usage_error("--profile needs a value");
      o.profiles.clear();
      for (auto p : split(val)) {
        if (p != "64" && p != "imix" && p != "mix")
          return usage_error(fmt::format("--profile: unknown profile '{}' (64, imix or mix)", p));
        o.profiles.emplace_back(p);
      }
      have_profile = true;
    } else if (name == "--pcap") {
      if (!need() || val.empty()) return usage_error("--pcap needs a file");
      o.pcap = val;
    } else if (name == "--pcap-clock") {
      if (!need() || (val != "capture" && val != "slots"))
        return usage_error(fmt::format("--pcap-clock: expected capture or slots, got '{}'", val));
      o.pcap_capture_clock = val == "capture";
    } else if (name == "--flows") {
      if (!need()) return usage_error("--flows needs a value");
      o.flows.clear();
      for (auto p : split(val)) {
        auto v = parse_count(p);
        if (!v || *v < 1 || *v > kMaxFlows)
          return usage_error(fmt::format("--flows: '{}' is not a flow count in [1, {}]", p, kMaxFlows));
        o.flows.push_back(*v);
      }
      have_flows = true;
    } else if (name == "--workers") {
      if (!need()) return usage_error("--workers needs a value");
      o.workers.clear();
      for (auto p : split(val)) {
        auto v = parse_count(p);
        if (!v || *v < 1 || *v > kMaxWorkers)
          return usage_error(fmt::format("--workers: '{}' is not a worker count in [1, {}]", p, kMaxWorkers));
        o.workers.push_back(uint32_t(*v));
      }
    } else if (name == "--seconds") {
      if (!need()) return usage_error("--seconds needs a value");
      char* end = nullptr;
      errno = 0;
      double d = std::strtod(val.c_str(), &end);
      if (val.empty() || errno || *end || !std::isfinite(d) || d < 0.01 || d > 3600)
        return usage_error(fmt::format("--seconds: '{}' is not a duration in [0.01, 3600]", val));
      o.seconds = d;
      have_seconds = true;
    } else if (name == "--packets") {
      if (int rc = count(1, uint64_t(1) << 48, o.packets)) return rc;
      have_packets = true;
    } else if (name == "--warmup-passes") {
      uint64_t v;
      if (int rc = count(1, 1000, v)) return rc;
      o.warmup_passes = uint32_t(v);
    } else if (name == "--proto") {
      if (!need()) return usage_error("--proto needs a value");
      if (val == "udp") o.proto = Proto::kUdp;
      else if (val == "tcp") o.proto = Proto::kTcp;
      else if (val == "mix") o.proto = Proto::kMix;
      else return usage_error(fmt::format("--proto: '{}' is not udp, tcp or mix", val));
    } else if (name == "--pkts-per-flow") {
      uint64_t v;
      if (int rc = count(1, 1024, v)) return rc;
      o.pkts_per_flow = uint32_t(v);
    } else if (name == "--max-flows") {
      if (int rc = count(1, 64000000, o.max_flows)) return rc;
    } else if (name == "--mem") {
      if (int rc = count(64, 1 << 20, o.mem_mb)) return rc;
    } else if (name == "--seed") {
      if (int rc = count(0, UINT64_MAX, o.seed)) return rc;
    } else if (name == "--json") {
      if (!need() || val.empty()) return usage_error("--json needs a file");
      o.json_path = val;
    } else if (name == "--source") {
      if (!need() || (val != "ring" && val != "nic")) return usage_error("--source needs 'ring' or 'nic'");
      o.nic = val == "nic";
    } else if (name == "--rules-dir") {
      if (!need() || val.empty()) return usage_error("--rules-dir needs a directory");
      o.rules_dir = val;
    } else if (name == "--classification") {
      if (!need() || val.empty()) return usage_error("--classification needs a file");
      o.classification = val;
    } else if (name == "--mix-out") {
      if (!need() || val.empty()) return usage_error("--mix-out needs a file");
      o.mix_out = val;
    } else if (name == "--model") {
      if (!need() || val.empty()) return usage_error("--model needs a .spm file");
      o.model_path = val;
    } else if (name == "--intel") {
      if (!need() || val.empty()) return usage_error("--intel needs a feed path");
      o.intel.push_back(val);
    } else if (name == "--behaviour") {
      if (int rc = flag()) return rc;
      o.behaviour = true;
    } else if (name == "--features-only") {
      if (int rc = flag()) return rc;
      o.features_only = true;
    } else if (name == "--score-points") {
      if (!need()) return usage_error("--score-points needs a value");
      o.score_points.clear();
      have_points = true;
      if (val != "none") {
        for (auto p : split(val)) {
          auto v = parse_count(p);
          if (!v || *v < 1 || *v > 65535 || p.back() < '0' || p.back() > '9' || o.score_points.size() >= 3)
            return usage_error(fmt::format(
                "--score-points: expected up to 3 packet counts 1..65535 like 4,16 or 'none', got '{}'", val));
          o.score_points.push_back(uint32_t(*v));
        }
      }
    } else if (name == "--rx-touch") {
      if (int rc = flag()) return rc;
      o.rx_touch = true;
    } else if (name == "--thp") {
      if (int rc = flag()) return rc;
      o.thp = true;
    } else if (name == "--no-pin") {
      if (int rc = flag()) return rc;
      o.pin = false;
    } else {
      return usage_error(fmt::format("unknown option '{}'", name));
    }
  }
  if (have_seconds && have_packets) return usage_error("--seconds and --packets are exclusive");
  if (!o.pcap.empty()) {
    if (have_profile) return usage_error("--pcap and --profile are exclusive");
    if (have_flows) return usage_error("--flows does not apply to --pcap (flows come from the capture)");
    o.profiles = {"pcap"};
  } else if (o.profiles.empty()) {
    o.profiles = {"64"};
  }
  if (o.flows.empty()) o.flows = {100000};
  if (!o.mix_out.empty() && std::find(o.profiles.begin(), o.profiles.end(), "mix") == o.profiles.end())
    return usage_error("--mix-out needs --profile mix");
  if (have_points && o.model_path.empty()) return usage_error("--score-points needs --model");
  if (o.workers.empty()) o.workers = {1};
  for (uint32_t w : o.workers)
    for (uint64_t f : o.flows)
      if (o.pcap.empty() && f < w)
        return usage_error(fmt::format("{} flows cannot be split over {} workers", f, w));
  if (o.packets)
    for (uint32_t w : o.workers)
      if (o.packets < w) return usage_error("--packets must be at least the worker count");
  return 0;
}

}  // namespace spectre::bench
