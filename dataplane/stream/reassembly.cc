// TCP reassembly (API in reassembly.h).
//
// Policy
// - First data wins, as Linux and BSD: a byte once delivered or buffered is never replaced.
//   Later copies of buffered bytes are compared (overlap_diff once per segment when they
//   differ). Delivered bytes are not kept, so a segment that is entirely old counts as a
//   retransmit without comparison; a segment fully covered by identical buffered bytes also
//   counts as a retransmit. The old head of a partly old segment is cut silently.
// - Start: a SYN sets next_seq = seq + 1 when the direction has not started; later SYNs do
//   not move it. Data on a SYN (TCP Fast Open) is stream data from seq + 1 on, as Suricata
//   inspects it (a retransmitted SYN's data is then old). Without a SYN the first data segment starts the
//   direction at its own seq when cfg.midstream, else data is dropped (no_syn) until a
//   SYN. Bytes before the start are old forever. cfg.depth is copied at the start.
// - Sequence numbers compare by serial arithmetic (int32 differences), so wraparound at
//   2^32 is transparent; a segment more than 2^31 behind reads as ahead. There is no window
//   check: a far-ahead segment is buffered like any other and at worst forces a counted gap.
// - Out-of-order limits per direction: cfg.max_ooo_bytes buffered bytes and a chunk cap of
//   4 * ceil(max_ooo_bytes / chunk_bytes) (at least 16, at most 65535), so a flow sending
//   tiny segments cannot take the worker's shared pool. When new out-of-order bytes do not
//   fit (byte limit, chunk cap or empty pool), the oldest holes are given up: buffered
//   chunks before the new bytes are delivered head first, each with gap_before = the hole
//   in front of it, until the new bytes fit; if nothing buffered is left before them, the
//   hole up to them is skipped and they are delivered straight from the packet. Each hole
//   skipped this way counts in ooo_limit_gaps (and gaps, gap_bytes); a segment that found
//   the pool short also counts once in pool_empty. Nothing is dropped for lack of memory:
//   the price is holes declared early (a later retransmission into them is old).
// - Depth: exactly `depth` bytes are delivered per direction (the last piece is cut), then
//   the chunks are freed and later segments return after one flag test. Skipped (gap)
//   bytes do not count toward depth. depth_reached counts once per direction.
// - FIN/RST are recorded in StreamDir::state only; stream_finish delivers what is
//   buffered, skipping holes (counted as gaps). Nothing after a trailing hole is known, so
//   a trailing hole is not reported.
//
// Storage: a chunk holds one run of contiguous bytes (up to chunk_bytes) with its seq and
// length; a longer run takes several chunks; a run contiguous with the chunk before it
// fills that chunk's free room first. Invariant between calls: the list is sorted, its runs
// do not overlap, and every run starts after next_seq (never at it: that would be drained).
#include "dataplane/stream/reassembly.h"

#include <algorithm>
#include <cstring>

namespace spectre {

struct SegmentPool::Impl {
  struct Hdr {
    uint32_t seq, len, next;
  };
  uint32_t nchunks = 0, cb = 0, free_head = 0, nfree = 0;
  std::unique_ptr<uint8_t[]> mem;  // headers, then data: one allocation
  Hdr* hdr = nullptr;
  uint8_t* data = nullptr;

  uint8_t* bytes(uint32_t c) { return data + size_t(c - 1) * cb; }
  uint32_t get() {
    uint32_t c = free_head;
    free_head = hdr[c].next;
    nfree--;
    return c;
  }
  void put(uint32_t c) {
    hdr[c].next = free_head;
    free_head = c;
    nfree++;
  }
};

SegmentPool::SegmentPool(uint32_t chunks, uint32_t chunk_bytes) : impl_(std::make_unique<Impl>()) {
  Impl& p = *impl_;
  p.nchunks = std::min<uint32_t>(chunks, 0xfffffffeu);
  p.cb = std::clamp<uint32_t>(chunk_bytes, 16, 1u << 24);
  const size_t hdr_bytes = (size_t(p.nchunks + 1) * sizeof(Impl::Hdr) + 63) & ~size_t(63);
  // Data pages are touched only when first used.
  p.mem.reset(new uint8_t[hdr_bytes + size_t(p.nchunks) * p.cb + 64]);
  uint8_t* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p.mem.get()) + 63) &
                                             ~uintptr_t(63));
  p.hdr = reinterpret_cast<Impl::Hdr*>(base);
  p.data = base + hdr_bytes;
  p.hdr[0] = {0, 0, 0};
  for (uint32_t c = p.nchunks; c >= 1; c--) p.put(c);  // free list in index order
}

SegmentPool::~SegmentPool() = default;
uint32_t SegmentPool::free_chunks() const { return impl_->nfree; }
uint32_t SegmentPool::chunks() const { return impl_->nchunks; }
uint32_t SegmentPool::chunk_bytes() const { return impl_->cb; }

struct StreamOps {
  static SegmentPool::Impl& impl(SegmentPool& p) { return *p.impl_; }
};

namespace {

using Impl = SegmentPool::Impl;

inline int32_t sdiff(uint32_t a, uint32_t b) { return int32_t(a - b); }

struct Ctx {
  StreamDir& d;
  Impl& P;
  StreamCounters& ctr;
  StreamDeliver deliver;
  void* user;
};

void release_all(StreamDir& d, Impl& P) {
  for (uint32_t c = d.ooo_head; c;) {
    uint32_t n = P.hdr[c].next;
    P.put(c);
    c = n;
  }
  d.ooo_head = 0;
  d.ooo_bytes = 0;
  d.ooo_chunks = 0;
}

// Delivers `len` bytes starting `gap` bytes after next_seq, cut at depth. Returns false
// when depth was reached (the list is freed then: the caller must stop).
bool emit(Ctx& x, const uint8_t* p, uint32_t len, uint32_t gap) {
  StreamDir& d = x.d;
  d.next_seq += gap + len;
  if (gap) {
    x.ctr.gaps++;
    x.ctr.gap_bytes += gap;
  }
  uint32_t out = len;
  bool stop = false;
  if (d.depth) {
    uint32_t room = d.depth - d.delivered;  // > 0: the depth flag stops earlier calls
    if (len >= room) {
      out = room;
      stop = true;
    }
  }
  d.delivered += out;  // before the call: stream_size counts the piece, as Suricata's next_seq
  x.ctr.bytes_delivered += out;
  if (out) x.deliver(x.user, p, out, gap);
  if (stop) {
    d.state |= kStreamDepth;
    x.ctr.depth_reached++;
    release_all(d, x.P);
  }
  return !stop;
}

// Unlinks the head chunk, delivers it (skipping the hole before it) and frees it.
bool emit_head(Ctx& x) {
  StreamDir& d = x.d;
  Impl& P = x.P;
  uint32_t c = d.ooo_head;
  const Impl::Hdr h = P.hdr[c];
  d.ooo_head = h.next;
  d.ooo_bytes -= h.len;
  d.ooo_chunks--;
  bool ok = emit(x, P.bytes(c), h.len, h.seq - d.next_seq);
  P.put(c);
  return ok;
}

enum StoreResult { kStored, kLimit, kPoolShort };

// Copies [p, p + n) into chunks linked at *link, after `prev` (0: at the head). On success
// prev/link move past the new chunks. All or nothing.
StoreResult store(Ctx& x, uint32_t max_ooo, uint32_t cap, uint32_t& prev, uint32_t*& link,
                  uint32_t p, const uint8_t* data, uint32_t n) {
  StreamDir& d = x.d;
  Impl& P = x.P;
  uint32_t fill = 0;
  if (prev && P.hdr[prev].seq + P.hdr[prev].len == p) fill = std::min(n, P.cb - P.hdr[prev].len);
  const uint32_t need = (n - fill + P.cb - 1) / P.cb;
  if (uint64_t(d.ooo_bytes) + n > max_ooo || uint64_t(d.ooo_chunks) + need > cap) return kLimit;
  if (need > P.nfree) return kPoolShort;
  d.ooo_bytes += n;
  d.ooo_chunks = uint16_t(d.ooo_chunks + need);
  if (fill) {
    memcpy(P.bytes(prev) + P.hdr[prev].len, data, fill);
    P.hdr[prev].len += fill;
    data += fill;
    p += fill;
    n -= fill;
  }
  while (n) {
    uint32_t c = P.get();
    uint32_t k = std::min(n, P.cb);
    memcpy(P.bytes(c), data, k);
    P.hdr[c] = {p, k, *link};
    *link = c;
    prev = c;
    link = &P.hdr[c].next;
    data += k;
    p += k;
    n -= k;
  }
  return kStored;
}

// Everything but the fast path: a direction that has not started, SYN, depth, old or
// out-of-order data, or a non-empty list.
void segment_slow(Ctx& x, const StreamConfig& cfg, uint32_t seq, uint8_t flags,
                  const uint8_t* data, uint32_t len) {
  StreamDir& d = x.d;
  Impl& P = x.P;
  Impl::Hdr* H = P.hdr;
  d.state |= flags & (kStreamFin | kStreamRst);
  if (flags & kStreamSyn) {
    if (!(d.state & kStreamInit)) {
      d.next_seq = seq + 1;
      d.depth = cfg.depth;
      d.state |= kStreamInit;
    }
    d.state |= kStreamSyn;
    if (len == 0) return;
    seq += 1;  // TCP Fast Open: data on a SYN follows the SYN's sequence number
  }
  if ((d.state & kStreamDepth) || len == 0) return;
  if (len > (1u << 30)) return;  // no packet is this long; keeps serial arithmetic valid
  if (!(d.state & kStreamInit)) {
    if (!cfg.midstream) {
      x.ctr.no_syn++;
      return;
    }
    d.next_seq = seq;
    d.depth = cfg.depth;
    d.state |= kStreamInit;
  }

  const int32_t old = sdiff(d.next_seq, seq);
  if (old > 0) {
    if (uint32_t(old) >= len) {
      x.ctr.retransmits++;
      x.ctr.before_base++;
      return;
    }
    data += old;
    len -= uint32_t(old);
    seq = d.next_seq;
  } else if (old < 0) {
    x.ctr.ooo_segments++;
  }

  const uint32_t cap = uint32_t(std::clamp<uint64_t>(
      4 * ((uint64_t(cfg.max_ooo_bytes) + P.cb - 1) / P.cb), 16, 65535));
  uint32_t p = seq, rem = len, prev = 0, fresh = 0;
  uint32_t* link = &d.ooo_head;  // insertion point; == &d.ooo_head whenever p == next_seq
  bool diff = false, pool_counted = false;
  auto compare = [&](const uint8_t* buffered, uint32_t n) {
    if (!diff && memcmp(data, buffered, n) != 0) {
      diff = true;
      x.ctr.overlap_diff++;
    }
    data += n;
    p += n;
    rem -= n;
  };

  while (rem) {
    const uint32_t c = *link;
    if (p == d.next_seq) {
      // In order: new bytes up to the next chunk go straight from the packet; a chunk that
      // starts here wins over the packet's bytes and is delivered.
      if (c == 0 || H[c].seq != p) {
        uint32_t n = c ? std::min(rem, H[c].seq - p) : rem;
        fresh += n;
        if (!emit(x, data, n, 0)) return;
        data += n;
        p += n;
        rem -= n;
        continue;
      }
      compare(P.bytes(c), std::min(rem, H[c].len));
      if (!emit_head(x)) return;
      continue;
    }
    if (c) {
      const int32_t s = sdiff(H[c].seq, p);
      if (s <= 0) {  // chunk starts at or before p: skip it, comparing what overlaps
        const uint32_t off = uint32_t(-s);
        if (off < H[c].len) compare(P.bytes(c) + off, std::min(rem, H[c].len - off));
        prev = c;
        link = &H[c].next;
        continue;
      }
    }
    // New bytes ahead of next_seq, up to the next chunk: buffer them.
    const uint32_t n = c ? std::min(rem, H[c].seq - p) : rem;
    fresh += n;
    StoreResult r = store(x, cfg.max_ooo_bytes, cap, prev, link, p, data, n);
    while (r != kStored) {
      if (r == kPoolShort && !pool_counted) {
        pool_counted = true;
        x.ctr.pool_empty++;
      }
      if (prev == 0) {  // nothing buffered before p: skip the hole, deliver from the packet
        const uint32_t gap = p - d.next_seq;
        if (gap) x.ctr.ooo_limit_gaps++;
        if (!emit(x, data, n, gap)) return;
        break;
      }
      const bool last = d.ooo_head == prev;
      if (H[d.ooo_head].seq != d.next_seq) x.ctr.ooo_limit_gaps++;
      if (!emit_head(x)) return;
      if (last) {
        prev = 0;
        link = &d.ooo_head;
        if (d.next_seq == p) continue;  // in order now: deliver from the packet
      }
      r = store(x, cfg.max_ooo_bytes, cap, prev, link, p, data, n);
    }
    data += n;
    p += n;
    rem -= n;
  }
  if (fresh == 0 && !diff) x.ctr.retransmits++;
  // Chunks that became contiguous.
  while (d.ooo_head && H[d.ooo_head].seq == d.next_seq)
    if (!emit_head(x)) return;
}

}  // namespace

void stream_segment(StreamDir& d, SegmentPool& pool, const StreamConfig& cfg, uint32_t seq,
                    uint8_t flags, const uint8_t* data, uint32_t len, StreamCounters& ctr,
                    StreamDeliver deliver, void* user) {
  ctr.segments++;
  // Fast path: started, below depth, no SYN, exactly in order, nothing buffered. Five
  // compares on the 24-byte StreamDir (one cache line), then the callback: no copy.
  if (((d.state & (kStreamInit | kStreamDepth)) | (flags & kStreamSyn)) == kStreamInit &&
      seq == d.next_seq && d.ooo_head == 0 && (d.depth == 0 || len < d.depth - d.delivered)) {
    d.state |= flags & (kStreamFin | kStreamRst);
    if (len) {
      d.next_seq += len;
      d.delivered += len;
      ctr.bytes_delivered += len;
      deliver(user, data, len, 0);
    }
    return;
  }
  Ctx x{d, StreamOps::impl(pool), ctr, deliver, user};
  segment_slow(x, cfg, seq, flags, data, len);
}

void stream_finish(StreamDir& d, SegmentPool& pool, StreamCounters& ctr, StreamDeliver deliver,
                   void* user) {
  Ctx x{d, StreamOps::impl(pool), ctr, deliver, user};
  while (d.ooo_head)
    if (!emit_head(x)) break;  // depth: the rest is freed
}

void stream_release(StreamDir& d, SegmentPool& pool) { release_all(d, StreamOps::impl(pool)); }

}  // namespace spectre
