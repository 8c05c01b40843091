// The stream hub's latency in Prometheus form (ctrlplane/stream/latency_metrics.h):
// bucket edges (le: a delay equal to a bound is in it), cumulative counts,
// +Inf equal to _count, the sum in seconds. No Beast: the hub's own delivery
// count is checked in test_hub_batch.cc (StreamBatchLatency).
#include <gtest/gtest.h>

#include <sstream>

#include "ctrlplane/stream/latency_metrics.h"

namespace spectre::stream {
namespace {

TEST(StreamLatencyMetrics, BucketsSumAndCountInPrometheusText) {
  LatencyMetrics m;
  for (int64_t ns : {-5, 0, 100000, 100001, 4999000, 5000000, 5000001, 2000000000})
    m.record(ns);
  LatencyMetrics::Snapshot s = m.snapshot();
  EXPECT_EQ(s.counts[0], 3u);  // -5 (as 0), 0, 100 us: le 0.0001
  EXPECT_EQ(s.counts[1], 1u);  // 100.001 us: le 0.00025
  EXPECT_EQ(s.counts[5], 2u);  // 4.999 ms, 5 ms: le 0.005
  EXPECT_EQ(s.counts[6], 1u);  // 5.000001 ms: le 0.01
  EXPECT_EQ(s.counts.back(), 1u);  // 2 s: above the last bound
  EXPECT_EQ(s.sum_ns, 0u + 100000 + 100001 + 4999000 + 5000000 + 5000001 + 2000000000);
  std::string t = prometheus_histogram("spectre_stream_latency_seconds", "Delay.", s);
  std::istringstream in(t);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 2 + LatencyMetrics::kBoundsUs.size() + 3);
  EXPECT_EQ(lines[0], "# HELP spectre_stream_latency_seconds Delay.");
  EXPECT_EQ(lines[1], "# TYPE spectre_stream_latency_seconds histogram");
  EXPECT_EQ(lines[2], "spectre_stream_latency_seconds_bucket{le=\"0.0001\"} 3");
  EXPECT_EQ(lines[3], "spectre_stream_latency_seconds_bucket{le=\"0.00025\"} 4");
  EXPECT_EQ(lines[7], "spectre_stream_latency_seconds_bucket{le=\"0.005\"} 6");
  EXPECT_EQ(lines[8], "spectre_stream_latency_seconds_bucket{le=\"0.01\"} 7");
  EXPECT_EQ(lines[13], "spectre_stream_latency_seconds_bucket{le=\"1\"} 7");
  EXPECT_EQ(lines[14], "spectre_stream_latency_seconds_bucket{le=\"+Inf\"} 8");
  EXPECT_EQ(lines[15], "spectre_stream_latency_seconds_sum 2.015199002");
  EXPECT_EQ(lines[16], "spectre_stream_latency_seconds_count 8");
  // Cumulative: never decreasing.
  uint64_t prev = 0;
  for (size_t i = 2; i <= 14; i++) {
    uint64_t v = std::stoull(lines[i].substr(lines[i].rfind(' ') + 1));
    EXPECT_GE(v, prev) << lines[i];
    prev = v;
  }
}

TEST(StreamLatencyMetrics, EmptyHistogramIsValid) {
  std::string t = prometheus_histogram("x_seconds", "h", LatencyMetrics().snapshot());
  EXPECT_NE(t.find("x_seconds_bucket{le=\"+Inf\"} 0\nx_seconds_sum 0\nx_seconds_count 0\n"), std::string::npos) << t;
}

}  // namespace
}  // namespace spectre::stream
