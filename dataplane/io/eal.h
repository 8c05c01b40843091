// DPDK EAL start-up and packet pools (main thread, before any worker starts).
#pragma once
#include <string>
#include <vector>

#include <rte_mempool.h>

namespace spectre {

// EAL arguments for offline runs: no hugepages, no PCI, in-memory (several
// instances can run at once), `nlcores` lcores floating over the allowed CPUs.
std::vector<std::string> offline_eal_args(unsigned nlcores);

// Returns false and sets `err` on failure. Safe to call once per process.
bool eal_start(const std::vector<std::string>& args, std::string& err);
void eal_stop();

// Packet pool with room for MbufMeta in each mbuf. nullptr and `err` on failure.
rte_mempool* make_pool(const char* name, unsigned n, uint16_t data_room, std::string& err);

}  // namespace spectre
