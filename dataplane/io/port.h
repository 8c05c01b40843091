// Live ports (main thread, before workers start). A port offering RSS with
// enough queues gets one RX queue per worker and a symmetric Toeplitz key,
// so both directions of a flow land on one worker. Other ports get a single
// queue that the main lcore distributes by symmetric hash to worker rings.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <rte_mempool.h>

#include "dataplane/core/stats.h"

namespace spectre {

// 0x6d5a repeated: Toeplitz over it gives hash(a,b) == hash(b,a).
extern const uint8_t kSymmetricRssKey[40];

struct PortPlan {
  uint16_t port;
  uint16_t nb_rxq;
  bool rss;
  std::string name;
  // net_af_packet: the PMD's packet sockets. DPDK 22.11 does not report the
  // kernel ring's drops (PACKET_STATISTICS); we read them so they are counted.
  std::vector<int> kernel_fds;
  uint64_t kernel_drops = 0;  // accumulated: PACKET_STATISTICS resets on read
};

bool ports_setup(uint32_t workers, uint32_t rx_desc, rte_mempool* pool,
                 std::vector<PortPlan>& out, std::string& err);
// Sums rte_eth_stats over the ports into `io` (absolute values); imissed
// includes af_packet kernel ring drops.
void ports_poll_stats(std::vector<PortPlan>& ports, IoCounters& io);
void ports_stop(std::vector<PortPlan>& ports);

}  // namespace spectre
