// JSON report (stdout / --json) and the human summary (stderr).
#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "bench/bench.h"

namespace spectre::bench {

namespace {

std::string jstr(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) o += fmt::format("\\u{:04x}", c);
        else o += char(c);
    }
  }
  return o + "\"";
}

// Finite numbers with a fixed number of decimals (JSON has no NaN/inf).
std::string jnum(double v, int prec = 3) {
  if (!std::isfinite(v)) return "null";
  return fmt::format("{:.{}f}", v, prec);
}

const RunResult* goal_run(const std::vector<RunResult>& runs) {
  for (const RunResult& r : runs)
    if (r.spec.profile == "64" && r.spec.flows == 100000 && r.spec.workers == 1 && !r.spec.rules &&
        r.spec.ml == MlMode::kOff)
      return &r;
  return nullptr;
}

double ratio(double a, double b) { return b > 0 ? a / b : NAN; }

// "64+R+M": profile, then +R (rules), +F (ML features only) or +M (model).
std::string run_label(const RunSpec& s) {
  return s.profile + (s.rules ? "+R" : "") +
         (s.ml == MlMode::kModel ? "+M" : s.ml == MlMode::kFeatures ? "+F" : "");
}

}  // namespace

void print_run(FILE* f, const RunResult& r) {
  fmt::print(f, "  {:.2f} Mpps, {:.1f} cycles/packet (decode {:.1f}, flow {:.1f}, output {:.1f}, "
                "other {:.1f}); RX+free alone {:.1f} cycles/packet; {}\n",
             r.mpps, r.cpp_total, r.cpp_decode, r.cpp_flow, r.cpp_output, r.cpp_other, r.base_cpp,
             r.ok ? "checks ok" : "CHECKS FAILED");
  if (r.inspect_counters)
    fmt::print(f, "  inspect {:.1f} + detect {:.1f} cycles/packet; {} alerts while measuring; detect: {} "
                  "calls, {:.2f} prefilter hits and {:.2f} rules evaluated per call\n",
               r.cpp_inspect, r.cpp_detect, r.alerts, r.det_inspected,
               r.det_inspected ? double(r.det_prefilter_hits) / double(r.det_inspected) : 0.0,
               r.det_inspected ? double(r.det_rules_evaluated) / double(r.det_inspected) : 0.0);
  if (r.spec.ml != MlMode::kOff)
    fmt::print(f, "  ML ({}): {:.1f} cycles/packet; {:.4f} rows/packet ({} rows, {} scored, {:.0f} ML cycles/row); "
                  "{} ML alerts while measuring\n",
               ml_mode_name(r.spec.ml), r.cpp_ml, r.packets ? double(r.ml_rows) / double(r.packets) : 0.0,
               r.ml_rows, r.ml_scored, r.ml_rows ? double(r.ml_cyc) / double(r.ml_rows) : 0.0, r.ml_alerts);
  if (r.have_feat)
    fmt::print(f, "  model over features only: {:+.1f} ML cycles/packet, {:.0f} cycles per row (extraction, "
                  "scoring, explanations)\n", r.cpp_ml - r.feat_cpp_ml, r.scoring_cyc_per_row);
  if (r.have_norules)
    fmt::print(f, "  with rules: {:.2f}x the cycles/packet of the run without ({:+.1f})\n",
               r.norules_cpp > 0 ? r.cpp_total / r.norules_cpp : 0.0, r.cpp_total - r.norules_cpp);
  if (r.have_noml)
    fmt::print(f, "  with ML {}: {:.2f}x the cycles/packet of the run without ML ({:+.1f})\n",
               ml_mode_name(r.spec.ml), r.noml_cpp > 0 ? r.cpp_total / r.noml_cpp : 0.0, r.cpp_total - r.noml_cpp);
  for (const std::string& e : r.errors) fmt::print(f, "  check failed: {}\n", e);
  if (r.disturbed)
    fmt::print(f, "  WARNING: workers got only {:.0f}% of their CPU ({} involuntary context switches): "
                  "another process competed, figures are low\n", r.cpu_share * 100, r.ivcsw);
}

std::string render_json(const HostInfo& h, const Options& o, const std::vector<RunResult>& runs) {
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  fmt::format_to(out, "{{\n  \"tool\": \"spectre-bench\",\n  \"tsc_hz\": {},\n  \"cpu_model\": {},\n",
                 h.tsc_hz, jstr(h.cpu_model));
  fmt::format_to(out, "  \"dpdk\": {},\n  \"cpus\": [", jstr(h.dpdk_version));
  for (size_t i = 0; i < h.cpus.size(); i++) fmt::format_to(out, "{}{}", i ? ", " : "", h.cpus[i]);
  fmt::format_to(out, "],\n  \"eal\": {{\"mem_mb\": {}, \"lcores\": {}, \"pinned\": {}, \"no_huge\": true, "
                      "\"thp_advised_bytes\": {}}},\n  \"flow_tables_malloc_thp\": {},\n",
                 h.mem_mb, jstr(h.lcores_arg), o.pin, h.thp_bytes, h.malloc_thp);
  fmt::format_to(out, "  \"method\": {{\"burst\": {}, \"limit\": {}, \"warmup_passes\": {}, "
                      "\"source\": \"{}\", \"pipeline\": \"rx + process_burst + worker_tick + free\", "
                      "\"baseline\": \"rx + free\", \"rx_touch\": {}, \"seed\": {}}},\n",
                 kBurst, o.packets ? fmt::format("{{\"packets\": {}}}", o.packets)
                                   : fmt::format("{{\"seconds\": {}}}", jnum(o.seconds, 2)),
                 o.warmup_passes,
                 o.nic ? "nic: frames copied from memory into a recycled RX mempool (warm, like DDIO)"
                       : "ring: every mbuf cycles through an SP/SC ring (cold headers and data)",
                 o.rx_touch, o.seed);
  if (!o.pcap.empty()) fmt::format_to(out, "  \"pcap\": {},\n", jstr(o.pcap));
  if (o.rules()) {
    fmt::format_to(out, "  \"rules\": {{\"loaded\": {}, \"load_seconds\": {}, \"dir\": {}, \"files\": [",
                   h.rules_loaded, jnum(h.rules_load_s, 2), o.rules_dir.empty() ? "null" : jstr(o.rules_dir));
    for (size_t i = 0; i < o.rule_files.size(); i++) fmt::format_to(out, "{}{}", i ? ", " : "", jstr(o.rule_files[i]));
    fmt::format_to(out, "], \"summary\": {}}},\n", jstr(h.rules_summary));
  } else {
    fmt::format_to(out, "  \"rules\": null,\n");
  }
  if (o.ml()) {
    fmt::format_to(out, "  \"ml\": {{\"model\": {}, ", o.model_path.empty() ? "null" : jstr(o.model_path));
    if (!o.model_path.empty())
      fmt::format_to(out, "\"name\": {}, \"kind\": {}, \"version\": {}, \"trees\": {}, \"outputs\": {}, "
                          "\"load_seconds\": {}, ",
                     jstr(h.model_name), jstr(h.model_kind), jstr(h.model_version), h.model_trees, h.model_outputs,
                     jnum(h.model_load_s, 3));
    fmt::format_to(out, "\"score_points\": [");
    for (size_t i = 0; i < o.score_points.size(); i++) fmt::format_to(out, "{}{}", i ? ", " : "", o.score_points[i]);
    fmt::format_to(out, "], \"features_only_run\": {}, \"alert_ring_drained\": {}}},\n", o.features_only,
                   h.alerts_drained);
  } else {
    fmt::format_to(out, "  \"ml\": null,\n");
  }
  if (!h.mixes.empty()) {
    fmt::format_to(out, "  \"mix\": [");
    for (size_t i = 0; i < h.mixes.size(); i++) {
      const MixStats& m = h.mixes[i].second;
      fmt::format_to(out, "{}{{\"flows\": {}, \"sessions\": {{\"http\": {}, \"tls\": {}, \"dns\": {}, \"bulk\": {}}}, "
                          "\"packets\": {}, \"bytes\": {}, \"avg_frame_bytes\": {}, "
                          "\"frames_by_size\": {{\"64-127\": {}, \"128-511\": {}, \"512-1023\": {}, \"1024-1518\": {}}}}}",
                     i ? ",\n          " : "", h.mixes[i].first, m.http, m.tls, m.dns, m.bulk, m.packets, m.bytes,
                     jnum(m.packets ? double(m.bytes + kFcs * m.packets) / double(m.packets) : 0, 1),
                     m.size_hist[0], m.size_hist[1], m.size_hist[2], m.size_hist[3]);
    }
    fmt::format_to(out, "],\n");
  }
  fmt::format_to(out, "  \"runs\": [");
  for (size_t i = 0; i < runs.size(); i++) {
    const RunResult& r = runs[i];
    fmt::format_to(out, "{}\n    {{\"profile\": {}, \"flows\": {}, \"workers\": {}, \"proto\": {}, \"rules\": {}, "
                        "\"ml_mode\": \"{}\",\n",
                   i ? "," : "", jstr(r.spec.profile), r.spec.profile == "pcap" ? r.distinct_flows : r.spec.flows,
                   r.spec.workers, jstr(r.proto), r.spec.rules, ml_mode_name(r.spec.ml));
    fmt::format_to(out, "     \"mbufs\": {}, \"avg_frame_bytes\": {}, \"table_capacity_per_worker\": {},\n",
                   r.mbufs, jnum(r.avg_frame, 1), r.table_capacity);
    fmt::format_to(out, "     \"packets\": {}, \"seconds\": {}, \"mpps\": {}, \"gbps_l2\": {}, \"gbps_wire\": {},\n",
                   r.packets, jnum(r.seconds, 4), jnum(r.mpps), jnum(r.gbps_l2), jnum(r.gbps_wire));
    const double nw = double(std::max<uint32_t>(r.spec.workers, 1));
    fmt::format_to(out, "     \"per_core\": {{\"mpps\": {}, \"gbps_l2\": {}, \"gbps_wire\": {}}},\n",
                   jnum(r.mpps / nw), jnum(r.gbps_l2 / nw), jnum(r.gbps_wire / nw));
    fmt::format_to(out, "     \"cycles_per_packet\": {{\"total\": {}, \"decode\": {}, \"flow\": {}, \"output\": {}, "
                        "\"inspect\": {}, \"detect\": {}, \"ml\": {}, \"rx_free_and_other\": {}}},\n",
                   jnum(r.cpp_total, 2), jnum(r.cpp_decode, 2), jnum(r.cpp_flow, 2), jnum(r.cpp_output, 2),
                   r.inspect_counters ? jnum(r.cpp_inspect, 2) : "null",
                   r.inspect_counters ? jnum(r.cpp_detect, 2) : "null", jnum(r.cpp_ml, 2), jnum(r.cpp_other, 2));
    if (r.inspect_counters)
      fmt::format_to(out, "     \"inspection\": {{\"alerts\": {}, \"alerts_dropped\": {}, \"alerts_incl_warmup\": {}, "
                          "\"sessions_full\": {}, \"stream_gaps\": {}, \"stream_out_of_order\": {}, "
                          "\"stream_retransmits\": {}, \"detect_calls\": {}, \"prefilter_hits\": {}, "
                          "\"rules_evaluated\": {}, \"rules_evaluated_per_packet\": {}}},\n",
                     r.alerts, r.alerts_dropped, r.alerts_total, r.sessions_full, r.stream_gaps, r.stream_ooo,
                     r.stream_retransmits, r.det_inspected, r.det_prefilter_hits, r.det_rules_evaluated,
                     jnum(r.packets ? double(r.det_rules_evaluated) / double(r.packets) : 0, 2));
    if (r.have_norules)
      fmt::format_to(out, "     \"vs_without_rules\": {{\"mpps\": {}, \"cycles_per_packet\": {}, \"mpps_ratio\": {}, "
                          "\"cycles_ratio\": {}, \"extra_cycles_per_packet\": {}}},\n",
                     jnum(r.norules_mpps), jnum(r.norules_cpp, 2),
                     jnum(r.norules_mpps > 0 ? r.mpps / r.norules_mpps : NAN),
                     jnum(r.norules_cpp > 0 ? r.cpp_total / r.norules_cpp : NAN), jnum(r.cpp_total - r.norules_cpp, 2));
    if (r.spec.ml != MlMode::kOff) {
      const double n = double(r.packets);
      fmt::format_to(out, "     \"ml\": {{\"cycles_per_packet\": {}, \"rows\": {}, \"rows_per_packet\": {}, "
                          "\"scored\": {}, \"scored_per_packet\": {}, \"alerts\": {}, \"alerts_incl_warmup\": {}, "
                          "\"cycles_per_row\": {}, \"cycles_per_scored_row\": {}",
                     jnum(r.cpp_ml, 2), r.ml_rows, jnum(n > 0 ? double(r.ml_rows) / n : NAN, 5), r.ml_scored,
                     jnum(n > 0 ? double(r.ml_scored) / n : NAN, 5), r.ml_alerts, r.ml_alerts_total,
                     r.ml_rows ? jnum(double(r.ml_cyc) / double(r.ml_rows), 1) : "null",
                     r.ml_scored ? jnum(double(r.ml_cyc) / double(r.ml_scored), 1) : "null");
      if (r.have_feat)
        fmt::format_to(out, ", \"features_only_cycles_per_packet\": {}, \"model_cycles_per_row\": {}",
                       jnum(r.feat_cpp_ml, 2), r.ml_rows ? jnum(r.scoring_cyc_per_row, 1) : "null");
      fmt::format_to(out, "}},\n");
    }
    if (r.have_noml)
      fmt::format_to(out, "     \"vs_without_ml\": {{\"mpps\": {}, \"cycles_per_packet\": {}, \"mpps_ratio\": {}, "
                          "\"cycles_ratio\": {}, \"extra_cycles_per_packet\": {}}},\n",
                     jnum(r.noml_mpps), jnum(r.noml_cpp, 2), jnum(ratio(r.mpps, r.noml_mpps)),
                     jnum(ratio(r.cpp_total, r.noml_cpp)), jnum(r.cpp_total - r.noml_cpp, 2));
    fmt::format_to(out, "     \"per_worker\": [");
    for (size_t k = 0; k < r.per_worker.size(); k++) {
      const auto& p = r.per_worker[k];
      fmt::format_to(out, "{}{{\"worker\": {}, \"lcore\": {}, \"cpu\": {}, \"packets\": {}, \"seconds\": {}, "
                          "\"mpps\": {}, \"cycles_per_packet\": {}, \"baseline_mpps\": {}, "
                          "\"baseline_cycles_per_packet\": {}, \"cpu_share\": {}, \"involuntary_switches\": {}}}",
                     k ? ",\n                     " : "", p.id, p.lcore, p.cpu, p.packets, jnum(p.seconds, 4),
                     jnum(p.mpps), jnum(p.cpp, 2), jnum(p.base_mpps), jnum(p.base_cpp, 2),
                     jnum(p.cpu_share, 4), p.ivcsw);
    }
    fmt::format_to(out, "],\n     \"baseline_rx_free\": {{\"packets\": {}, \"seconds\": {}, \"mpps\": {}, "
                        "\"cycles_per_packet\": {}}},\n",
                   r.base_packets, jnum(r.base_seconds, 4), jnum(r.base_mpps), jnum(r.base_cpp, 2));
    fmt::format_to(out, "     \"pipeline_over_baseline_cycles\": {}, \"pipeline_minus_baseline_cycles\": {},\n",
                   jnum(r.over_baseline, 2), jnum(r.minus_baseline, 2));
    fmt::format_to(out, "     \"cpu_share\": {}, \"disturbed\": {},\n", jnum(r.cpu_share, 4), r.disturbed);
    fmt::format_to(out, "     \"warmup\": {{\"passes\": {}, \"packets\": {}}},\n", r.warm_passes, r.warm_packets);
    fmt::format_to(out, "     \"check\": {{\"ok\": {}, \"distinct_flows\": {}, \"flows_created\": {}, "
                        "\"flows_created_while_measuring\": {}, \"flows_ended\": {}, \"evicted\": {}, "
                        "\"insert_failed\": {}, \"malformed\": {}, \"not_ip\": {}, \"fragments\": {}, "
                        "\"events_dropped\": {}, \"errors\": [",
                   r.ok, r.distinct_flows, r.flows_created, r.flows_created_measured, r.ended, r.evicted,
                   r.insert_failed, r.malformed, r.not_ip, r.fragments, r.events_dropped);
    for (size_t k = 0; k < r.errors.size(); k++) fmt::format_to(out, "{}{}", k ? ", " : "", jstr(r.errors[k]));
    fmt::format_to(out, "]}}}}");
  }
  fmt::format_to(out, "\n  ],\n");
  const RunResult* g = goal_run(runs);
  if (g)
    fmt::format_to(out, "  \"goal\": {{\"goal_mpps\": {}, \"case\": \"64-byte frames, 100k flows, 1 worker\", "
                        "\"mpps\": {}, \"met\": {}, \"disturbed\": {}}}\n",
                   kGoalMpps, jnum(g->mpps), g->mpps >= kGoalMpps && g->ok, g->disturbed);
  else
    fmt::format_to(out, "  \"goal\": {{\"goal_mpps\": {}, \"case\": \"64-byte frames, 100k flows, 1 worker\", "
                        "\"mpps\": null, \"met\": null, \"note\": \"case not run\"}}\n",
                   kGoalMpps);
  fmt::format_to(out, "}}");
  return fmt::to_string(b);
}

void print_human(FILE* f, const HostInfo& h, const std::vector<RunResult>& runs) {
  fmt::print(f, "\n{:<10} {:>8} {:>3} {:>8} {:>7} {:>7} | {:>7} {:>7} {:>6} {:>6} {:>6} {:>6} {:>7} {:>6} | {:>7} {:>7} {:>6} | {}\n",
             "profile", "flows", "wk", "Mpps", "Gb/s", "wire", "cyc/pkt", "decode", "flow", "inspct", "detect", "ml",
             "output", "other", "base", "base", "ratio", "check");
  fmt::print(f, "{:<10} {:>8} {:>3} {:>8} {:>7} {:>7} | {:>7} {:>7} {:>6} {:>6} {:>6} {:>6} {:>7} {:>6} | {:>7} {:>7} {:>6} |\n",
             "+R rules", "", "", "", "L2", "", "", "", "", "", "", "", "", "", "Mpps", "cyc/pkt", "");
  bool any_ml = false;
  for (const RunResult& r : runs) {
    any_ml = any_ml || r.spec.ml != MlMode::kOff;
    fmt::print(f, "{:<10} {:>8} {:>3} {:>8.2f} {:>7.2f} {:>7.2f} | {:>7.1f} {:>7.1f} {:>6.1f} {:>6.1f} {:>6.1f} {:>6.1f} "
                  "{:>7.1f} {:>6.1f} | {:>7.1f} {:>7.1f} {:>6.2f} | {}\n",
               run_label(r.spec), r.spec.profile == "pcap" ? r.distinct_flows : r.spec.flows,
               r.spec.workers, r.mpps, r.gbps_l2, r.gbps_wire, r.cpp_total, r.cpp_decode, r.cpp_flow, r.cpp_inspect,
               r.cpp_detect, r.cpp_ml, r.cpp_output, r.cpp_other, r.base_mpps, r.base_cpp, r.over_baseline,
               std::string(r.ok ? "ok" : "FAILED") + (r.disturbed ? fmt::format(" (CPU {:.0f}%!)", r.cpu_share * 100) : ""));
    if (r.per_worker.size() > 1)
      for (const auto& p : r.per_worker)
        fmt::print(f, "{:>21} {:>8.2f} (worker {} on lcore {}, cpu {}: {:.1f} cyc/pkt, base {:.1f})\n", "",
                   p.mpps, p.id, p.lcore, p.cpu, p.cpp, p.base_cpp);
  }
  if (any_ml)
    fmt::print(f, "(+F = ML feature tracking only, +M = with the model; 'ml' = the ML stage's cyc_ml)\n");
  for (const RunResult& r : runs)
    if (r.have_norules)
      fmt::print(f, "{} {} flows {} worker(s): with rules {:.2f} Mpps vs {:.2f} without ({:.2f}x cycles/packet, "
                    "{:+.1f}); {:.2f} Gb/s per core\n",
                 run_label(r.spec), r.spec.flows, r.spec.workers, r.mpps, r.norules_mpps,
                 r.norules_cpp > 0 ? r.cpp_total / r.norules_cpp : 0.0, r.cpp_total - r.norules_cpp,
                 r.gbps_l2 / std::max<uint32_t>(r.spec.workers, 1));
  for (const RunResult& r : runs)
    if (r.spec.ml != MlMode::kOff)
      fmt::print(f, "{} {} flows {} worker(s): ML {:.1f} cycles/packet, {:.4f} rows/packet, {} ML cycles/row, "
                    "{} ML alerts{}\n",
                 run_label(r.spec), r.spec.profile == "pcap" ? r.distinct_flows : r.spec.flows, r.spec.workers,
                 r.cpp_ml, r.packets ? double(r.ml_rows) / double(r.packets) : 0.0,
                 r.ml_rows ? fmt::format("{:.0f}", double(r.ml_cyc) / double(r.ml_rows)) : "-", r.ml_alerts,
                 r.have_noml ? fmt::format("; {:.2f} Mpps vs {:.2f} without ML ({:.2f}x cycles/packet, {:+.1f})",
                                           r.mpps, r.noml_mpps, ratio(r.cpp_total, r.noml_cpp),
                                           r.cpp_total - r.noml_cpp)
                             : "");
  const RunResult* g = goal_run(runs);
  if (g)
    fmt::print(f, "goal: 64B / 100k flows / 1 worker: {:.2f} Mpps vs {:.2f} Mpps: {}{}\n", g->mpps, kGoalMpps,
               g->mpps >= kGoalMpps ? "met" : "NOT met", g->disturbed ? " (run disturbed by other load)" : "");
  fmt::print(f, "(TSC {:.3f} GHz; cycles are TSC cycles per packet per worker core)\n", double(h.tsc_hz) / 1e9);
}

}  // namespace spectre::bench
