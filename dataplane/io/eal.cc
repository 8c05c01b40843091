#include "dataplane/io/eal.h"

#include <sched.h>
#include <unistd.h>

#include <fmt/format.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "dataplane/core/worker.h"

namespace spectre {

std::vector<std::string> offline_eal_args(unsigned nlcores) {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  std::string cpus;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
  return {"spectre-dp", fmt::format("--lcores=(0-{})@({})", nlcores - 1, cpus),
          "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--no-telemetry",
          fmt::format("--file-prefix=spectre{}", getpid()),
          "--log-level=lib.eal:error"};
}

bool eal_start(const std::vector<std::string>& args, std::string& err) {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = rte_eal_init(int(copy.size()), argv.data());
  if (rc < 0) {
    err = fmt::format("DPDK EAL initialisation failed: {}", rte_strerror(rte_errno));
    return false;
  }
  return true;
}

void eal_stop() { rte_eal_cleanup(); }

rte_mempool* make_pool(const char* name, unsigned n, uint16_t data_room, std::string& err) {
  rte_mempool* mp = rte_pktmbuf_pool_create(name, n, n >= 1024 ? 256 : 0, kMbufPrivSize, data_room, SOCKET_ID_ANY);
  if (!mp) err = fmt::format("cannot create mbuf pool '{}' ({} x {} B): {}", name, n, data_room,
                             rte_strerror(rte_errno));
  return mp;
}

}  // namespace spectre
