// Sets of values for Suricata's dataset / datarep and the file hash
// keywords (filemd5, filesha1, filesha256): one facility for all of them.
// A DataSet is built off the fast path (rule load, RCU reload) and is
// immutable afterwards; workers look values up without allocating:
// open addressing over fixed 24-byte slots (load <= 1/2), the key bytes in
// one pool, 64-bit hash compared before the bytes. Values added or removed
// at runtime (dataset:set / unset) live in a per-worker overlay (detect/).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spectre::rules {

// Value types. Key sizes: string any (>= 1), md5 16, sha1 20, sha256 32,
// ipv4 4, ip 16 (IPv4 as ::ffff:a.b.c.d, as Suricata's type ip).
enum class SetType : uint8_t { kString, kMd5, kSha1, kSha256, kIpv4, kIp };
const char* set_type_name(SetType t);
bool parse_set_type(std::string_view s, SetType& t);  // "string", "md5", "sha256", "ipv4", "ip" (and "ipv6")
uint32_t set_key_len(SetType t);                      // 0: variable (string)

// File formats: dataset (one value a line: base64 for strings, hex for
// hashes, text addresses), datarep (`value,reputation`), and the hash lists
// of filemd5 & co (hex at the start of the line, the rest ignored: md5sum's
// output works). Blank lines and lines starting with '#' are skipped.
enum class SetFormat : uint8_t { kDataset, kDatarep, kHashList };

// 64-bit hash of a key (word at a time; ~1 cycle/byte for long strings).
uint64_t set_hash(const uint8_t* d, uint32_t n);

class DataSet {
 public:
  DataSet(std::string name, SetType type, bool rep) : name_(std::move(name)), type_(type), rep_(rep) {}
  const std::string& name() const { return name_; }
  SetType type() const { return type_; }
  bool rep() const { return rep_; }  // a datarep set: each value carries a reputation

  // Build time. False when the key's size does not fit the type. A value
  // given twice keeps the later reputation (counted in duplicates()).
  bool insert(const uint8_t* k, uint32_t n, uint32_t rep = 0);
  // Lookup of a normalised key (key_for()); `rep` receives the value's
  // reputation. No allocation.
  bool find(const uint8_t* k, uint32_t n, uint32_t* rep = nullptr) const;
  size_t size() const { return count_; }
  size_t duplicates() const { return dups_; }
  size_t memory() const { return pool_.size() + slots_.size() * sizeof(Slot); }
  // Every value, for tests and dumps: fn(key, n, rep).
  template <class F>
  void each(F&& fn) const {
    for (const Slot& s : slots_)
      if (s.hash) fn(reinterpret_cast<const uint8_t*>(pool_.data()) + s.off, s.len, s.rep);
  }

 private:
  struct Slot {
    uint64_t hash;  // 0: empty
    uint32_t off, len, rep, pad;
  };
  void grow();
  std::string name_;
  SetType type_;
  bool rep_;
  std::string pool_;
  std::vector<Slot> slots_;
  size_t count_ = 0, dups_ = 0;
};

// The key a buffer is looked up by in a set of type t: the bytes themselves,
// or for type ip a 4-byte buffer as ::ffff:a.b.c.d (in `tmp`). False when
// the buffer cannot be a value of the type (empty, wrong size): no lookup.
bool key_for(SetType t, const uint8_t* d, uint32_t n, uint8_t tmp[16], const uint8_t*& k, uint32_t& kn);

struct SetLoadStats {
  uint32_t lines = 0, values = 0, skipped = 0;  // skipped: blank and '#' lines
  uint32_t bad = 0;                             // malformed lines
  uint32_t first_bad_line = 0;
  std::string first_bad;                        // why the first malformed line was refused
};

// Parses a set file's text into `out` (appending). Malformed lines are
// counted in `st` and not added; the caller refuses a set with any (as
// Suricata refuses such a file).
void parse_set_text(std::string_view text, SetFormat fmt, DataSet& out, SetLoadStats& st);

// One value of type t as written in a set file (base64 string, hex hash,
// address): its key bytes in `out`. False with `why` when malformed.
bool parse_set_value(SetType t, std::string_view v, std::string& out, std::string& why);

}  // namespace spectre::rules
