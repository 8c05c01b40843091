// `behaviour:` configuration: keys, allow-list, HOME_NET, errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>

#include <arpa/inet.h>

#include "dataplane/core/config.h"
#include "dataplane/core/snapshot.h"

namespace spectre {
namespace {

std::string load(const std::string& text, Config* out = nullptr) {
  static std::atomic<int> n{0};
  std::string path = testing::TempDir() + "spectre_bh_" + std::to_string(getpid()) + "_" + std::to_string(n++) + ".yaml";
  std::ofstream(path) << text;
  std::string err;
  auto c = load_config(path, err);
  std::remove(path.c_str());
  if (c && out) *out = *c;
  return c ? "" : err;
}

TEST(BehaveConfig, DefaultsOn) {
  Config c;
  EXPECT_TRUE(c.behave.enabled);
  EXPECT_EQ(c.behave.window_s, 60u);
  EXPECT_DOUBLE_EQ(c.behave.grow, 4.0);
  // Authentication ports are the brute-force detector's, never beacon candidates,
  // also when the operator replaces the beacon exclusion list.
  behave::Settings s;
  behave::Config bc = c.behave;
  bc.beacon_exclude_ports = {53};
  behave::build_settings(bc, nullptr, s);
  EXPECT_TRUE(s.beacon_excluded(53));
  EXPECT_TRUE(s.beacon_excluded(22));
  EXPECT_TRUE(s.beacon_excluded(3389));
  EXPECT_FALSE(s.beacon_excluded(443));
  EXPECT_FALSE(s.beacon_excluded(8443));
}

TEST(BehaveConfig, EveryKey) {
  Config c;
  ASSERT_EQ(load("behaviour:\n  enabled: false\n  sources: 1024\n  pairs: 2048\n  victims: 512\n  mailbox: 4096\n"
                 "  window: 30\n  grow: 2.5\n  scan: {distinct_dsts: 10, distinct_ports: 20, failed_ratio: 0.5}\n"
                 "  synflood: {half_open_per_s: 5, window: 5}\n  flood: {flows_per_s: 7, min_sources: 3}\n"
                 "  bruteforce: {attempts: 5, max_duration: 10, ports: [22, 2222]}\n"
                 "  beacon: {min_connections: 6, max_cv: 0.3, max_size_cv: 1, min_interval: 1, max_interval: 600, "
                 "udp: true, exclude_ports: [53]}\n"
                 "  slowdos: {flows: 4, min_duration: 10, max_rate: 10}\n  exfil: {min_bytes: 1000, factor: 3}\n"
                 "  allow:\n    - {src: 10.0.0.0/8, dst: 192.0.2.1, port: 443, detectors: [beacon, exfil]}\n",
                 &c),
            "");
  const behave::Config& b = c.behave;
  EXPECT_FALSE(b.enabled);
  EXPECT_EQ(b.sources, 1024u);
  EXPECT_EQ(b.window_s, 30u);
  EXPECT_DOUBLE_EQ(b.grow, 2.5);
  EXPECT_EQ(b.scan_dsts, 10u);
  EXPECT_EQ(b.flood_window_s, 5u);
  EXPECT_EQ(b.flood_sources, 3u);
  EXPECT_EQ(b.auth_ports, (std::vector<uint32_t>{22, 2222}));
  EXPECT_TRUE(b.beacon_udp);
  EXPECT_EQ(b.exfil_min_bytes, 1000u);
  ASSERT_EQ(b.allow.size(), 1u);
  EXPECT_EQ(b.allow[0].port, 443u);
  EXPECT_EQ(b.allow[0].detectors, uint8_t(1u << behave::kBeacon | 1u << behave::kExfil));
}

TEST(BehaveConfig, Errors) {
  EXPECT_NE(load("behaviour:\n  scan: {distinct_hosts: 3}\n").find(":2: unknown key 'distinct_hosts' in 'behaviour.scan'"),
            std::string::npos);
  EXPECT_NE(load("behaviour:\n  typo: 1\n").find("unknown key 'typo' in 'behaviour'"), std::string::npos);
  EXPECT_NE(load("behaviour:\n  allow:\n    - {src: 10.0.0.0/99}\n").find("expected an address or CIDR"),
            std::string::npos);
  EXPECT_NE(load("behaviour:\n  allow:\n    - {detectors: [ddos]}\n").find("unknown detector"), std::string::npos);
  EXPECT_NE(load("behaviour:\n  scan: {failed_ratio: 2}\n").find("out of range"), std::string::npos);
}

TEST(BehaveConfig, HomeNetAndAllowInSnapshot) {
  Config c;
  ASSERT_EQ(load("vars:\n  address: {HOME_NET: \"[10.0.0.0/8,192.168.0.0/16,!10.1.0.0/16,$X]\", X: 172.16.1.0/24}\n"
                 "behaviour:\n  allow: [{src: 10.9.0.0/16, detectors: [scan]}]\n",
                 &c),
            "");
  auto s = build_snapshot(c, 1);
  uint8_t a[16] = {}, b[16] = {}, neg[16] = {}, var[16] = {};
  inet_pton(AF_INET, "192.168.3.4", a);
  inet_pton(AF_INET, "8.8.8.8", b);
  inet_pton(AF_INET, "10.1.2.3", neg);
  inet_pton(AF_INET, "172.16.1.9", var);
  // The rules' HOME_NET, negations and variables included.
  EXPECT_TRUE(s->behave.in_home(a, 4));
  EXPECT_FALSE(s->behave.in_home(b, 4));
  EXPECT_FALSE(s->behave.in_home(neg, 4));
  EXPECT_TRUE(s->behave.in_home(var, 4));
  EXPECT_EQ(s->behave.in_home(a, 4), s->home_net.contains(a, 4));
  // Not configured (or not parseable): exfiltration toward any destination.
  Config none;
  EXPECT_FALSE(build_snapshot(none, 1)->behave.in_home(a, 4));
  uint8_t c9[16] = {};
  inet_pton(AF_INET, "10.9.1.1", c9);
  EXPECT_TRUE(s->behave.allowed(behave::kScan, c9, b, 4, 80));
  EXPECT_FALSE(s->behave.allowed(behave::kBeacon, c9, b, 4, 80));
  EXPECT_FALSE(s->behave.allowed(behave::kScan, a, b, 4, 80));
  EXPECT_TRUE(s->behave.is_auth(22));
  EXPECT_FALSE(s->behave.is_auth(88));
  EXPECT_TRUE(s->behave.beacon_excluded(123));
}

}  // namespace
}  // namespace spectre
