// Worker, inspection and main-thread counters (see counter_def.h).
#pragma once

// WorkerCounters (dec and flow are their own groups); loop_hist[] is written by hand.
#define SPECTRE_WORKER_COUNTERS(X)                                                                        \
  X(events_dropped, "events.dropped", kCounter, "Events dropped: event ring full (live).")                \
  X(events_waited, "events.waited", kCounter, "Events the worker waited for: ring full (offline).")       \
  X(flow_insert_failed, "flow.insert_failed", kCounter, "Packets with no flow: table full.")              \
  X(bursts, "loop.bursts", kCounter, "Bursts processed.")                                                 \
  X(loops, "loop.loops", kCounter, "Worker loop iterations.")                                             \
  X(loop_max_ns, "loop.max_ns", kMax, "Longest busy loop iteration (ns).")                                \
  X(reloads_seen, "loop.reloads_seen", kCounter, "Snapshot generations observed.")                        \
  X(cyc_decode, "cycles.decode", kCounter, "TSC cycles in decode.")                                       \
  X(cyc_flow, "cycles.flow", kCounter, "TSC cycles in the flow stage.")                                   \
  X(cyc_output, "cycles.output", kCounter, "TSC cycles in output.")                                       \
  X(home_checked, "home_net.checked", kCounter, "Early flows checked against $HOME_NET.")                 \
  X(home_matched, "home_net.matched", kCounter, "Of those, flows with an endpoint in $HOME_NET.")

// InspectCounters (alerts themselves: DetectCounters).
#define SPECTRE_INSPECT_COUNTERS(X)                                                                      \
  X(sessions_full, "stream.sessions_full", kCounter, "Flows inspected per packet only: no session free.") \
  X(checksum_invalid, "detect.checksum_invalid", kCounter, "Packets not inspected: bad checksum.")        \
  X(alerts_dropped, "detect.alerts_dropped", kCounter, "Alerts dropped: alert ring full (live).")         \
  X(alerts_waited, "detect.alerts_waited", kCounter, "Alerts waited for: alert ring full (offline).")     \
  X(app_events, "app_layer.eve_events", kCounter, "App-layer EVE records.")                               \
  X(cyc_inspect, "cycles.inspect", kCounter, "TSC cycles in inspection.")                                 \
  X(cyc_detect, "cycles.detect", kCounter, "TSC cycles in detection (part of inspection).")

// IoCounters: the main thread's (reader, distributor, ports, reloads); not per worker.
#define SPECTRE_IO_COUNTERS(X)                                                                     \
  X(port_ipackets, "capture.kernel_packets", kCounter, "Packets received by the ports.")           \
  X(port_imissed, "capture.kernel_drops", kCounter, "Packets the ports dropped (imissed).")        \
  X(port_ierrors, "capture.errors", kCounter, "Port receive errors.")                              \
  X(port_rx_nombuf, "capture.rx_nombuf", kCounter, "Port receive failures: no mbuf.")              \
  X(dist_ring_full, "capture.dist_ring_full", kCounter, "Packets dropped: worker ring full.")      \
  X(input_errors, "capture.input_errors", kCounter, "Truncated or corrupt capture files.")         \
  X(oversize, "capture.oversize", kCounter, "Frames longer than an mbuf (decoded truncated).")    \
  X(read_pkts, "capture.read_pkts", kCounter, "Packets read from capture files.")                 \
  X(reloads, "reloads", kCounter, "Configuration reloads.")                                        \
  X(reload_errors, "reload_errors", kCounter, "Reloads that failed.")                              \
  X(rule_reloads, "rule_reloads", kCounter, "Rule reloads.")
