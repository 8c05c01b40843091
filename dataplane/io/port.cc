#include "dataplane/io/port.h"

#include <dirent.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>
#include <rte_ethdev.h>

namespace spectre {

const uint8_t kSymmetricRssKey[40] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

namespace {

// The AF_PACKET sockets of this process bound to interface `ifindex` (the
// af_packet PMD keeps them private; /proc/self/fd is the only way to them).
std::vector<int> packet_sockets_of(int ifindex) {
  std::vector<int> fds;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return fds;
  while (dirent* e = readdir(d)) {
    char* end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end || end == e->d_name || fd == dirfd(d)) continue;
    int dom = 0;
    socklen_t len = sizeof dom;
    if (getsockopt(int(fd), SOL_SOCKET, SO_DOMAIN, &dom, &len) != 0 || dom != AF_PACKET) continue;
    sockaddr_ll sll{};
    len = sizeof sll;
    if (getsockname(int(fd), reinterpret_cast<sockaddr*>(&sll), &len) == 0 && sll.sll_ifindex == ifindex)
      fds.push_back(int(fd));
  }
  closedir(d);
  return fds;
}

}  // namespace

bool ports_setup(uint32_t workers, uint32_t rx_desc, rte_mempool* pool,
                 std::vector<PortPlan>& out, std::string& err) {
  uint16_t pid;
  RTE_ETH_FOREACH_DEV(pid) {
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(pid, &info) != 0) {
      err = fmt::format("port {}: cannot read device info", pid);
      return false;
    }
    PortPlan p{pid, 1, false, info.driver_name ? info.driver_name : "?", {}, 0};
    rte_eth_conf conf{};
    // IP-only hash: fragments (no ports) must reach the same worker as their flow.
    uint64_t hf = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;
    if (workers > 1 && hf && info.max_rx_queues >= workers) {
      p.rss = true;
      p.nb_rxq = uint16_t(workers);
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_key = const_cast<uint8_t*>(kSymmetricRssKey);
      conf.rx_adv_conf.rss_conf.rss_key_len =
          info.hash_key_size && info.hash_key_size < 40 ? info.hash_key_size : 40;
      conf.rx_adv_conf.rss_conf.rss_hf = hf;
    }
    int rc = rte_eth_dev_configure(pid, p.nb_rxq, 1, &conf);
    if (rc < 0) {
      err = fmt::format("port {} ({}): configure failed: {}", pid, p.name, rte_strerror(-rc));
      return false;
    }
    uint16_t nrx = uint16_t(rx_desc), ntx = 512;
    rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx);
    for (uint16_t q = 0; q < p.nb_rxq; q++) {
      rc = rte_eth_rx_queue_setup(pid, q, nrx, rte_eth_dev_socket_id(pid), nullptr, pool);
      if (rc < 0) {
        err = fmt::format("port {}: rx queue {} setup failed: {}", pid, q, rte_strerror(-rc));
        return false;
      }
    }
    rc = rte_eth_tx_queue_setup(pid, 0, ntx, rte_eth_dev_socket_id(pid), nullptr);
    if (rc < 0) {
      err = fmt::format("port {}: tx queue setup failed: {}", pid, rte_strerror(-rc));
      return false;
    }
    rc = rte_eth_dev_start(pid);
    if (rc < 0) {
      err = fmt::format("port {}: start failed: {}", pid, rte_strerror(-rc));
      return false;
    }
    rte_eth_promiscuous_enable(pid);
    rte_eth_stats_reset(pid);
    if (p.name == "net_af_packet" && info.if_index > 0) {
      p.kernel_fds = packet_sockets_of(int(info.if_index));
      for (int fd : p.kernel_fds) {  // start from zero, like the port counters
        tpacket_stats ks{};
        socklen_t len = sizeof ks;
        getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len);
      }
    }
    out.push_back(p);
  }
  if (out.empty()) {
    err = "no ports: give a PCI device (-a) or a virtual device (--vdev)";
    return false;
  }
  return true;
}

void ports_poll_stats(std::vector<PortPlan>& ports, IoCounters& io) {
  uint64_t ip = 0, miss = 0, ierr = 0, nombuf = 0;
  for (PortPlan& p : ports) {
    for (int fd : p.kernel_fds) {
      tpacket_stats ks{};
      socklen_t len = sizeof ks;
      if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0) p.kernel_drops += ks.tp_drops;
    }
    miss += p.kernel_drops;
    rte_eth_stats st;
    if (rte_eth_stats_get(p.port, &st) != 0) continue;
    ip += st.ipackets;
    miss += st.imissed;
    ierr += st.ierrors;
    nombuf += st.rx_nombuf;
  }
  io.port_ipackets = ip;
  io.port_imissed = miss;
  io.port_ierrors = ierr;
  io.port_rx_nombuf = nombuf;
}

void ports_stop(std::vector<PortPlan>& ports) {
  for (PortPlan& p : ports) {
    p.kernel_fds.clear();  // closed by the PMD below
    rte_eth_dev_stop(p.port);
    rte_eth_dev_close(p.port);
  }
}

}  // namespace spectre
