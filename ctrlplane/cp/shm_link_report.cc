// ShmDataPlaneLink's reporting side: channel counters (stats --json "channel",
// /metrics), alert latency percentiles and the recent-flows table for flows top.
// Any thread (reads under the link's locks).
#include <fmt/format.h>

#include <algorithm>

#include "ctrlplane/cp/json_out.h"
#include "ctrlplane/cp/shm_link.h"

namespace spectre::cp {

ShmLinkCounters ShmDataPlaneLink::counters() const {
  ShmLinkCounters c;
  {
    std::vector<uint32_t> v;
    latency_->snapshot(v, c.latency_count);
    if (!v.empty()) {
      std::sort(v.begin(), v.end());
      c.latency_p50_us = v[v.size() / 2];
      c.latency_p99_us = v[std::min(v.size() - 1, v.size() * 99 / 100)];
      c.latency_max_us = v.back();
    }
  }
  c.attaches = attaches_;
  c.events = events_;
  c.alerts = alerts_;
  c.flows = flows_n_;
  c.eve_lines = eve_lines_;
  c.worker_stats = wstats_;
  c.invalid = invalid_;
  c.responses = responses_;
  c.stale_responses = stale_;
  std::vector<uint64_t> at;
  {
    std::lock_guard g(state_mu_);
    at = gaps_at_attach_;
  }
  std::lock_guard g(chan_mu_);
  c.attached = attached_ && ch_;
  c.last_error = last_error_;
  if (!c.attached) return c;
  auto ring = [](const ctrl::RingCtl& r, std::string name) {
    ShmRingCounters x;
    x.ring = std::move(name);
    x.received = r.received.load(std::memory_order_relaxed);
    x.gaps = r.gaps.load(std::memory_order_relaxed);
    x.producer_drops = r.drops.load(std::memory_order_relaxed);
    x.pushed = r.pushed.load(std::memory_order_relaxed);
    x.corrupt = r.corrupt.load(std::memory_order_relaxed);
    x.reordered = r.reordered.load(std::memory_order_relaxed);
    uint64_t t = r.tail.load(std::memory_order_relaxed), h = r.head.load(std::memory_order_relaxed);
    x.used_bytes = t >= h ? t - h : 0;
    x.capacity = r.capacity;
    return x;
  };
  for (uint32_t w = 0; w < ch_->workers(); w++) {
    ShmRingCounters x = ring(ch_->event_ring(w), "event" + std::to_string(w));
    x.gaps_at_attach = w < at.size() ? at[w] : 0;
    c.gaps += x.gaps;
    c.gaps_session += x.gaps >= x.gaps_at_attach ? x.gaps - x.gaps_at_attach : 0;
    c.producer_drops += x.producer_drops;
    c.rings.push_back(std::move(x));
  }
  c.rings.push_back(ring(ch_->command_ring(), "command"));
  c.rings.push_back(ring(ch_->response_ring(), "response"));
  return c;
}

std::string ShmDataPlaneLink::counters_json() const {
  ShmLinkCounters c = counters();
  JsonOut j;
  j.begin_obj().kv("instance", opt_.instance).kv("attached", c.attached).kv("attaches", c.attaches)
      .kv("events", c.events).kv("alerts", c.alerts).kv("flows", c.flows).kv("eve_lines", c.eve_lines)
      .kv("worker_stats", c.worker_stats).kv("invalid", c.invalid).kv("responses", c.responses)
      .kv("stale_responses", c.stale_responses).kv("gaps", c.gaps).kv("gaps_session", c.gaps_session)
      .kv("producer_drops", c.producer_drops);
  j.key("alert_latency_us").begin_obj().kv("alerts", c.latency_count).kv("p50", c.latency_p50_us)
      .kv("p99", c.latency_p99_us).kv("max", c.latency_max_us).end_obj();
  if (!c.attached) j.kv("error", c.last_error);
  j.key("rings").begin_arr();
  for (const auto& r : c.rings) {
    j.begin_obj().kv("ring", r.ring).kv("received", r.received).kv("gaps", r.gaps)
        .kv("gaps_at_attach", r.gaps_at_attach).kv("producer_drops", r.producer_drops).kv("pushed", r.pushed)
        .kv("used_bytes", r.used_bytes).kv("capacity", r.capacity)
        .kv("occupancy", r.capacity ? double(r.used_bytes) / double(r.capacity) : 0.0).kv("corrupt", r.corrupt)
        .kv("reordered", r.reordered).end_obj();
  }
  j.end_arr().end_obj();
  return j.take();
}

std::string ShmDataPlaneLink::counters_text() const {
  ShmLinkCounters c = counters();
  if (!c.attached) return "channel: not attached (" + c.last_error + ")";
  std::string occ;
  for (const auto& r : c.rings)
    if (r.ring.rfind("event", 0) == 0)
      occ += fmt::format("{}{:.1f}%", occ.empty() ? "" : " ", r.capacity ? 100.0 * double(r.used_bytes) / double(r.capacity) : 0.0);
  return fmt::format("channel: {} events received ({} alerts, {} flows), {} gaps ({} since this spectre-cp attached), "
                     "{} data-plane ring drops; event ring occupancy {}",
                     c.events, c.alerts, c.flows, c.gaps, c.gaps_session, c.producer_drops, occ);
}

std::vector<FlowEntry> ShmDataPlaneLink::top_flows(size_t n) const {
  std::vector<FlowEntry> v;
  {
    std::lock_guard g(state_mu_);
    v.assign(flows_.begin(), flows_.end());
  }
  auto by_bytes = [](const FlowEntry& a, const FlowEntry& b) { return a.bytes > b.bytes; };
  if (n < v.size()) {
    std::partial_sort(v.begin(), v.begin() + long(n), v.end(), by_bytes);
    v.resize(n);
  } else {
    std::sort(v.begin(), v.end(), by_bytes);
  }
  return v;
}

std::string ShmDataPlaneLink::flows_scope() const {
  std::lock_guard g(state_mu_);
  return fmt::format("ended flows only: the last {} flow records received by spectre-cp ({} kept, {} seen; "
                     "age = flow duration)", opt_.recent_flows, flows_.size(), flows_seen_);
}

}  // namespace spectre::cp

namespace spectre::cp {

// Counters are cumulative per worker; a worker without a sample since the attach adds nothing.
WorkerTotals ShmDataPlaneLink::worker_totals() const {
  WorkerTotals t;
  t.attached = attached_.load();
  if (!t.attached) return t;
  std::lock_guard g(state_mu_);
  for (const LastStats& ls : last_stats_) {
    if (!ls.have) continue;
    t.workers++;
    t.ts_ns = std::max(t.ts_ns, ls.ts_ns);
    t.sum.packets += ls.s.packets;
    t.sum.bytes += ls.s.bytes;
    t.sum.drops += ls.s.drops;
    t.sum.alerts += ls.s.alerts;
    t.sum.flows_active += ls.s.flows_active;
    t.sum.events_dropped += ls.s.events_dropped;
  }
  return t;
}

}  // namespace spectre::cp
