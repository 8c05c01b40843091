// Hand-made mbufs for unit tests: no EAL or mempool, only the fields
// process_burst() reads (data, lengths, private MbufMeta).
#pragma once
#include <cstdlib>
#include <cstring>
#include <memory>

#include "dataplane/core/worker.h"
#include "tests/unit/pktbuild.h"

namespace spectre::testutil {

struct MbufDeleter {
  void operator()(rte_mbuf* m) const { std::free(m); }
};
using MbufPtr = std::unique_ptr<rte_mbuf, MbufDeleter>;

inline MbufPtr make_mbuf(const pb::Bytes& frame, uint64_t ts, uint16_t linktype = kLinkEthernet) {
  size_t sz = (sizeof(rte_mbuf) + kMbufPrivSize + frame.size() + 63) & ~size_t(63);
  auto* m = static_cast<rte_mbuf*>(std::aligned_alloc(64, sz));
  std::memset(static_cast<void*>(m), 0, sz);
  m->buf_addr = reinterpret_cast<uint8_t*>(m) + sizeof(rte_mbuf) + kMbufPrivSize;
  m->data_off = 0;
  m->data_len = uint16_t(frame.size());
  m->pkt_len = uint32_t(frame.size());
  m->nb_segs = 1;
  m->priv_size = kMbufPrivSize;
  std::memcpy(m->buf_addr, frame.data(), frame.size());
  MbufMeta* meta = mbuf_meta(m);
  meta->ts_ns = ts;
  meta->caplen = uint32_t(frame.size());
  meta->linktype = linktype;
  return MbufPtr(m);
}

}  // namespace spectre::testutil
