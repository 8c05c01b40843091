// Helpers for the app-layer tests: a recording sink, a flow harness and
// split-feeding of conversations.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <zlib.h>

#include "dataplane/app/app.h"

namespace spectre::apptest {

struct Tx {
  bool to_server = false;
  std::map<int, std::string> bufs;  // present buffers only
  uint32_t events = 0;              // BufferSet::events
  int multi_buf = -1;               // the multi-buffer's instances (BufferSet::multi)
  std::vector<std::string> multi;
  AppMeta meta{};
  std::string describe() const {
    std::string s = to_server ? "to_server" : "to_client";
    for (auto& [b, v] : bufs) {
      s += "\n  ";
      s += std::to_string(b) + "=" + v;
    }
    return s;
  }
  bool operator==(const Tx& o) const {
    return to_server == o.to_server && bufs == o.bufs && events == o.events && multi == o.multi &&
           memcmp(&meta, &o.meta, sizeof(meta)) == 0;
  }
  bool has(rules::Buf b) const { return bufs.count(b) != 0; }
  std::string get(rules::Buf b) const {
    auto it = bufs.find(b);
    return it == bufs.end() ? std::string("<absent>") : it->second;
  }
};

struct Rec : AppSink {
  std::vector<Tx> txs;
  void on_tx(bool to_server, const BufferSet& bs, const AppMeta& meta) override {
    Tx t;
    t.to_server = to_server;
    t.events = bs.events;
    for (int b = 0; b < rules::kBufCount; b++)
      if (bs.has(rules::Buf(b)))
        t.bufs[b] = std::string(reinterpret_cast<const char*>(bs.data[b]), bs.len[b]);
    if (bs.multi_n) t.multi_buf = bs.multi_buf;
    for (uint32_t i = 0; i < bs.multi_n; i++)
      t.multi.emplace_back(reinterpret_cast<const char*>(bs.multi[i].data), bs.multi[i].len);
    memcpy(&t.meta, &meta, sizeof(meta));
    txs.push_back(std::move(t));
  }
};

// One flow's AppState in suitably aligned memory.
struct Flow {
  std::vector<uint64_t> mem;
  AppState* s;
  Flow() : mem(app_state_size() / 8 + 1) {
    s = reinterpret_cast<AppState*>(mem.data());
    app_state_init(s);
  }
};

struct Seg {
  bool to_server;
  std::string data;
  uint32_t gap = 0;
};

inline AppConfig small_cfg() {
  AppConfig c;
  c.tx_buffers = 8;
  return c;
}

// Feeds a TCP conversation; each segment is cut at the given points.
// cuts[i] lists split offsets for segment i (empty: whole).
inline std::vector<Tx> run_tcp(AppCtx& ctx, const std::vector<Seg>& segs,
                               const std::vector<std::vector<uint32_t>>& cuts = {},
                               uint16_t sport = 40000, uint16_t dport = 8080,
                               rules::AppProto* proto = nullptr) {
  Flow f;
  Rec r;
  for (size_t i = 0; i < segs.size(); i++) {
    const std::string& d = segs[i].data;
    std::vector<uint32_t> c = i < cuts.size() ? cuts[i] : std::vector<uint32_t>{};
    uint32_t prev = 0;
    c.push_back(uint32_t(d.size()));
    bool first = true;
    for (uint32_t at : c) {
      if (at < prev) continue;
      bool ts = segs[i].to_server;
      app_stream(ctx, f.s, ts, ts ? sport : dport, ts ? dport : sport,
                 reinterpret_cast<const uint8_t*>(d.data()) + prev, at - prev,
                 first ? segs[i].gap : 0, 0, r);
      first = false;
      prev = at;
    }
  }
  app_finish(ctx, f.s, r);
  if (proto) *proto = app_proto(f.s);
  return r.txs;
}

inline std::vector<uint32_t> every_byte(size_t n) {
  std::vector<uint32_t> v;
  for (uint32_t i = 1; i < n; i++) v.push_back(i);
  return v;
}

// Checks that every 2-way split of every segment, and 1-byte feeding of all
// segments, give the same transactions as whole segments.
inline void expect_split_invariant(AppConfig cfg, const std::vector<Seg>& segs,
                                   uint16_t sport = 40000, uint16_t dport = 8080) {
  AppCtx ctx(cfg);
  auto ref = run_tcp(ctx, segs, {}, sport, dport);
  ASSERT_FALSE(ref.empty());
  for (size_t i = 0; i < segs.size(); i++) {
    for (uint32_t k = 1; k < segs[i].data.size(); k++) {
      std::vector<std::vector<uint32_t>> cuts(segs.size());
      cuts[i] = {k};
      auto got = run_tcp(ctx, segs, cuts, sport, dport);
      ASSERT_EQ(got.size(), ref.size()) << "segment " << i << " split at " << k;
      for (size_t t = 0; t < ref.size(); t++)
        ASSERT_TRUE(got[t] == ref[t]) << "segment " << i << " split at " << k << " tx " << t
                                      << "\nwant " << ref[t].describe() << "\ngot "
                                      << got[t].describe();
    }
  }
  std::vector<std::vector<uint32_t>> cuts;
  for (auto& s : segs) cuts.push_back(every_byte(s.data.size()));
  auto got = run_tcp(ctx, segs, cuts, sport, dport);
  ASSERT_EQ(got.size(), ref.size()) << "1-byte feeding";
  for (size_t t = 0; t < ref.size(); t++)
    ASSERT_TRUE(got[t] == ref[t]) << "1-byte feeding tx " << t << "\nwant " << ref[t].describe()
                                  << "\ngot " << got[t].describe();
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

// Random mutation of a seed: flips, inserts, deletes, truncation, splices.
inline std::string mutate(std::mt19937& rng, const std::string& seed) {
  std::string s = seed;
  int ops = 1 + int(rng() % 6);
  for (int i = 0; i < ops; i++) {
    uint32_t kind = rng() % 6;
    size_t at = s.empty() ? 0 : rng() % s.size();
    switch (kind) {
      case 0: if (!s.empty()) s[at] = char(rng()); break;
      case 1: if (!s.empty()) s[at] ^= char(1 << (rng() % 8)); break;
      case 2: s.insert(at, 1, char(rng())); break;
      case 3: if (!s.empty()) s.erase(at, 1 + rng() % 8); break;
      case 4: s.resize(at); break;
      case 5: { size_t from = s.empty() ? 0 : rng() % s.size();
                s.insert(at, s.substr(from, rng() % 32)); break; }
    }
  }
  return s;
}

// Little-endian fields, UTF-16LE names and the NetBIOS session header of SMB messages.
inline std::string le16(uint32_t v) { return std::string{char(v & 0xff), char(v >> 8 & 0xff)}; }
inline std::string le32(uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); }
inline std::string le64(uint64_t v) { return le32(uint32_t(v)) + le32(uint32_t(v >> 32)); }
inline std::string utf16(const std::string& s) {
  std::string o;
  for (char ch : s) o += ch, o += '\0';
  return o;
}
inline std::string nbss(const std::string& m) {
  return std::string{0, char(m.size() >> 16), char(m.size() >> 8 & 0xff), char(m.size() & 0xff)} + m;
}

// zlib at level 9; wbits: 15 zlib, -15 raw deflate, 31 gzip.
inline std::string zcompress(const std::string& in, int wbits) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, uLong(in.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = uInt(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
inline std::string gzip(const std::string& in) { return zcompress(in, 31); }

}  // namespace spectre::apptest
