#include "dataplane/decode/defrag.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace spectre {

namespace {
constexpr uint32_t kHdrRoom = 512;               // max unfragmentable header we rebuild
constexpr uint32_t kBufSize = kHdrRoom + 65536;
constexpr uint32_t kBlocks = 65536 / 8;
}  // namespace

struct Defrag::Slot {
  uint8_t src[16], dst[16];
  uint32_t id;
  uint16_t vlan[2];
  uint8_t ver, proto;
  bool used, done, have_first;
  uint64_t first_ts, last_ts;
  uint32_t frame_bytes;
  uint16_t nfrags, hdr_len, nh_field;
  uint8_t next_proto;
  int32_t total;                 // datagram payload length, -1 until the last fragment
  uint32_t blocks_set;
  uint64_t bitmap[kBlocks / 64];
  uint8_t* buf;
};

Defrag::Defrag(const DefragConfig& cfg) : cfg_(cfg) {
  if (cfg_.max_datagrams == 0) cfg_.max_datagrams = 1;
  slots_ = new Slot[cfg_.max_datagrams]();
  arena_ = static_cast<uint8_t*>(std::aligned_alloc(64, size_t(kBufSize) * cfg_.max_datagrams));
  if (!arena_) throw std::bad_alloc();
  for (uint32_t i = 0; i < cfg_.max_datagrams; i++) slots_[i].buf = arena_ + size_t(i) * kBufSize;
}

Defrag::~Defrag() {
  delete[] slots_;
  std::free(arena_);
}

void Defrag::free_slot(Slot& s) {
  if (s.used) used_--;
  uint8_t* buf = s.buf;
  std::memset(&s, 0, sizeof s);
  s.buf = buf;
}

void Defrag::release(int slot) {
  if (slot >= 0 && uint32_t(slot) < cfg_.max_datagrams) free_slot(slots_[slot]);
}

Defrag::Slot* Defrag::find_or_alloc(const PacketInfo& pi, uint64_t ts_ns) {
  const uint8_t* l3 = pi.l3;
  unsigned alen = pi.ip_ver == 4 ? 4 : 16;
  const uint8_t* src = pi.ip_ver == 4 ? l3 + 12 : l3 + 8;
  const uint8_t* dst = src + alen;
  uint8_t proto = pi.ip_ver == 4 ? pi.frag.next_proto : 0;
  Slot* free_s = nullptr;
  Slot* oldest = nullptr;
  for (uint32_t i = 0; i < cfg_.max_datagrams; i++) {
    Slot& s = slots_[i];
    if (!s.used) { if (!free_s) free_s = &s; continue; }
    if (s.done) continue;  // awaiting release in this burst
    if (s.id == pi.frag.id && s.ver == pi.ip_ver && s.proto == proto &&
        s.vlan[0] == pi.vlan[0] && s.vlan[1] == pi.vlan[1] &&
        std::memcmp(s.src, src, alen) == 0 && std::memcmp(s.dst, dst, alen) == 0) {
      if (ts_ns <= s.first_ts + cfg_.timeout_ns) return &s;
      counters.timeouts++;  // timed out: this fragment starts a new datagram in the freed slot
      free_slot(s);
      if (!free_s) free_s = &s;
      continue;
    }
    if (!oldest || s.first_ts < oldest->first_ts) oldest = &s;
  }
  if (!free_s) {
    if (!oldest) return nullptr;  // every slot awaits release: burst larger than the pool
    counters.evicted++;
    free_slot(*oldest);
    free_s = oldest;
  }
  Slot& s = *free_s;
  s.used = true;
  used_++;
  std::memcpy(s.src, src, alen);
  std::memcpy(s.dst, dst, alen);
  s.id = pi.frag.id;
  s.ver = pi.ip_ver;
  s.proto = proto;
  s.vlan[0] = pi.vlan[0];
  s.vlan[1] = pi.vlan[1];
  s.first_ts = ts_ns;
  s.total = -1;
  return &s;
}

bool Defrag::add(const PacketInfo& pi, uint64_t ts_ns, uint32_t frame_len, Done& out) {
  counters.fragments++;
  Slot* sp = find_or_alloc(pi, ts_ns);
  if (!sp) return false;
  Slot& s = *sp;
  const FragInfo& f = pi.frag;
  if (s.nfrags >= cfg_.max_frags) {
    counters.too_many_frags++;
    free_slot(s);
    return false;
  }
  s.nfrags++;
  s.frame_bytes += frame_len;
  s.last_ts = ts_ns;
  if (f.offset == 0 && !s.have_first) {
    if (f.hdr_len > kHdrRoom) {
      counters.hdr_too_long++;
      free_slot(s);
      return false;
    }
    s.have_first = true;
    s.hdr_len = f.hdr_len;
    s.nh_field = f.nh_field;
    s.next_proto = f.next_proto;
    std::memcpy(s.buf + kHdrRoom - f.hdr_len, pi.l3, f.hdr_len);
  }
  uint32_t end = uint32_t(f.offset) + f.data_len;
  if (!f.more) {
    if (s.total >= 0 && uint32_t(s.total) != end) {
      counters.conflicts++;
      free_slot(s);
      return false;
    }
    s.total = int32_t(end);
  }
  // Copy each 8-byte block not yet filled: earlier data wins on overlap.
  const uint8_t* data = pi.l3 + f.data_off;
  uint8_t* payload = s.buf + kHdrRoom;
  for (uint32_t b = f.offset / 8u; b * 8u < end; b++) {
    uint64_t bit = 1ull << (b & 63);
    if (s.bitmap[b >> 6] & bit) continue;
    uint32_t lo = b * 8u, n = end - lo < 8 ? end - lo : 8;
    std::memcpy(payload + lo, data + (lo - f.offset), n);
    s.bitmap[b >> 6] |= bit;
    s.blocks_set++;
  }
  if (s.total < 0 || !s.have_first) return false;
  uint32_t need = (uint32_t(s.total) + 7) / 8;
  if (s.blocks_set < need) return false;
  for (uint32_t b = 0; b < need; b++)
    if (!(s.bitmap[b >> 6] & (1ull << (b & 63)))) return false;

  uint8_t* l3 = payload - s.hdr_len;
  uint32_t len = s.hdr_len + uint32_t(s.total);
  if (s.ver == 4) {
    if (len > 65535) { counters.conflicts++; free_slot(s); return false; }
    l3[2] = uint8_t(len >> 8); l3[3] = uint8_t(len);
    l3[6] = 0; l3[7] = 0;
  } else {
    uint32_t plen = len - 40;
    if (plen > 65535) { counters.conflicts++; free_slot(s); return false; }
    l3[4] = uint8_t(plen >> 8); l3[5] = uint8_t(plen);
    l3[s.nh_field] = s.next_proto;
  }
  s.done = true;
  counters.reassembled++;
  out = Done{l3, len, s.frame_bytes, uint16_t(s.ver == 4 ? 0x0800 : 0x86dd), int(&s - slots_)};
  return true;
}

void Defrag::expire(uint64_t now_ns) {
  for (uint32_t i = 0; i < cfg_.max_datagrams; i++) {
    Slot& s = slots_[i];
    if (s.used && !s.done && now_ns > s.first_ts + cfg_.timeout_ns) {
      counters.timeouts++;
      free_slot(s);
    }
  }
}

}  // namespace spectre
