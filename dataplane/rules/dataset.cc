#include "dataplane/rules/dataset.h"

#include <arpa/inet.h>

#include <cstring>

namespace spectre::rules {

const char* set_type_name(SetType t) {
  switch (t) {
    case SetType::kString: return "string";
    case SetType::kMd5: return "md5";
    case SetType::kSha1: return "sha1";
    case SetType::kSha256: return "sha256";
    case SetType::kIpv4: return "ipv4";
    case SetType::kIp: return "ip";
  }
  return "?";
}

bool parse_set_type(std::string_view s, SetType& t) {
  if (s == "string") t = SetType::kString;
  else if (s == "md5") t = SetType::kMd5;
  else if (s == "sha256") t = SetType::kSha256;
  else if (s == "ipv4") t = SetType::kIpv4;
  else if (s == "ip" || s == "ipv6") t = SetType::kIp;  // Suricata: both are its IPv6 set (IPv4 mapped)
  else return false;
  return true;
}

uint32_t set_key_len(SetType t) {
  switch (t) {
    case SetType::kMd5: return 16;
    case SetType::kSha1: return 20;
    case SetType::kSha256: return 32;
    case SetType::kIpv4: return 4;
    case SetType::kIp: return 16;
    default: return 0;
  }
}

namespace {

constexpr uint64_t kM1 = 0x9E3779B97F4A7C15ull, kM2 = 0xC2B2AE3D27D4EB4Full;

uint64_t fmix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// RFC 4648 base64, '=' padding optional at the end only.
bool base64(std::string_view v, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < v.size() && v[i] != '='; i++) {
    int x = b64val(v[i]);
    if (x < 0) return false;
    acc = (acc << 6) | uint32_t(x);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xff));
    }
  }
  size_t pad = v.size() - i;
  for (; i < v.size(); i++)
    if (v[i] != '=') return false;
  if (pad > 2 || (pad && (v.size() % 4) != 0)) return false;
  return (v.size() - pad) % 4 != 1;  // one lone sextet is not a byte
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

uint64_t set_hash(const uint8_t* d, uint32_t n) {
  uint64_t h = kM1 ^ (uint64_t(n) * kM2);
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, d + i, 8);
    h = (h ^ fmix(w ^ kM2)) * kM1;
  }
  uint64_t t = 0;
  for (uint32_t k = 0; i + k < n; k++) t |= uint64_t(d[i + k]) << (8 * k);
  h = fmix(h ^ fmix(t ^ kM1));
  return h ? h : 1;  // 0 marks an empty slot
}

void DataSet::grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (!s.hash) continue;
    size_t i = s.hash & mask;
    while (slots_[i].hash) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

bool DataSet::insert(const uint8_t* k, uint32_t n, uint32_t rep) {
  const uint32_t want = set_key_len(type_);
  if (n == 0 || (want && n != want)) return false;
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const uint64_t h = set_hash(k, n);
  const size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  for (; slots_[i].hash; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.hash == h && s.len == n && memcmp(pool_.data() + s.off, k, n) == 0) {
      s.rep = rep;
      dups_++;
      return true;
    }
  }
  slots_[i] = Slot{h, uint32_t(pool_.size()), n, rep, 0};
  pool_.append(reinterpret_cast<const char*>(k), n);
  count_++;
  return true;
}

bool DataSet::find(const uint8_t* k, uint32_t n, uint32_t* rep) const {
  if (slots_.empty()) return false;
  const uint64_t h = set_hash(k, n);
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {  // terminates: load <= 1/2
    const Slot& s = slots_[i];
    if (!s.hash) return false;
    if (s.hash == h && s.len == n && memcmp(pool_.data() + s.off, k, n) == 0) {
      if (rep) *rep = s.rep;
      return true;
    }
  }
}

bool key_for(SetType t, const uint8_t* d, uint32_t n, uint8_t tmp[16], const uint8_t*& k, uint32_t& kn) {
  if (!d || n == 0) return false;
  if (t == SetType::kIp && n == 4) {
    memset(tmp, 0, 10);
    tmp[10] = tmp[11] = 0xff;
    memcpy(tmp + 12, d, 4);
    k = tmp, kn = 16;
    return true;
  }
  const uint32_t want = set_key_len(t);
  if (want && n != want) return false;
  k = d, kn = n;
  return true;
}

bool parse_set_value(SetType t, std::string_view v, std::string& out, std::string& why) {
  out.clear();
  if (v.empty()) return why = "empty value", false;
  switch (t) {
    case SetType::kString:
      if (!base64(v, out) || out.empty()) return why = "not base64 (string sets hold base64 values)", false;
      return true;
    case SetType::kIpv4: case SetType::kIp: {
      std::string s(v);
      uint8_t a[16];
      if (inet_pton(AF_INET, s.c_str(), a) == 1) {
        if (t == SetType::kIpv4) out.assign(reinterpret_cast<char*>(a), 4);
        else out.assign("\0\0\0\0\0\0\0\0\0\0\xff\xff", 12), out.append(reinterpret_cast<char*>(a), 4);
        return true;
      }
      if (t == SetType::kIp && inet_pton(AF_INET6, s.c_str(), a) == 1) {
        out.assign(reinterpret_cast<char*>(a), 16);
        return true;
      }
      return why = std::string("not an ") + (t == SetType::kIpv4 ? "IPv4" : "IP") + " address", false;
    }
    default: {
      const uint32_t want = set_key_len(t);
      if (v.size() != 2 * want)
        return why = std::string("not a ") + set_type_name(t) + " (" + std::to_string(2 * want) + " hex digits)", false;
      for (uint32_t i = 0; i < want; i++) {
        int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);
        if (hi < 0 || lo < 0) return why = std::string("not a hex ") + set_type_name(t), false;
        out.push_back(char(hi << 4 | lo));
      }
      return true;
    }
  }
}

void parse_set_text(std::string_view text, SetFormat fmt, DataSet& out, SetLoadStats& st) {
  std::string key, why;
  auto bad = [&](uint32_t line, std::string w) {
    if (!st.bad++) st.first_bad_line = line, st.first_bad = std::move(w);
  };
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const uint32_t no = ++st.lines;
    if (line.empty() || line[0] == '#') {
      st.skipped++;
      continue;
    }
    std::string_view v = line;
    uint32_t rep = 0;
    if (fmt == SetFormat::kDatarep) {
      const size_t c = line.find(',');
      if (c == std::string_view::npos) {
        bad(no, "no ',<reputation>' (datarep lines are value,reputation)");
        continue;
      }
      v = trim(line.substr(0, c));
      std::string_view r = trim(line.substr(c + 1));
      uint32_t x = 0;
      bool ok = !r.empty() && r.size() <= 5;
      for (char ch : r) ok = ok && ch >= '0' && ch <= '9', x = x * 10 + uint32_t(ch - '0');
      if (!ok || x > 65535) {
        bad(no, "bad reputation '" + std::string(r) + "' (0..65535)");
        continue;
      }
      rep = x;
    } else if (fmt == SetFormat::kHashList) {
      v = line.substr(0, line.find_first_of(" \t,"));  // md5sum's "hash  name": the name is ignored
    }
    if (!parse_set_value(out.type(), v, key, why)) {
      bad(no, why);
      continue;
    }
    out.insert(reinterpret_cast<const uint8_t*>(key.data()), uint32_t(key.size()), rep);
    st.values++;
  }
}

}  // namespace spectre::rules
