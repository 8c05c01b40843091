// Cortex input port: one normalised detection (signature, ML, behaviour,
// intel alert) or flow summary, whatever produced it. The data plane's event
// writer fills it from its AlertRecord / FlowRecord (dataplane/events/incidents.cc);
// spectre-cp will fill it from the channel's Alert / FlowRecord messages.
// Strings are views valid only during Cortex::ingest: the library copies what it keeps.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace spectre::cortex {

enum class Kind : uint8_t { kSignature, kMl, kBehaviour, kIntel, kCorrelation, kFlow, kKindEnd };
constexpr int kDetectionKinds = 5;  // kinds that are detections (not kFlow)
const char* kind_name(Kind k);
bool parse_kind(std::string_view s, Kind& out);

constexpr uint32_t kMlGid = 9000, kBehaviourGid = 9100;

struct Detection {
  uint64_t ts_ns = 0;              // packet time
  uint64_t flow_id = 0;
  Kind kind = Kind::kSignature;
  uint8_t ip_ver = 4, proto = 0;
  uint8_t severity = 3;            // Suricata priority: 1 highest
  uint8_t src[16] = {}, dst[16] = {};  // as in the packet; IPv4 in the first 4 bytes
  uint16_t sport = 0, dport = 0;
  uint32_t gid = 1, sid = 0;
  float confidence = 0.5f;         // 0..1 (ML: the class probability)
  // ATT&CK as the source states it (ET metadata mitre_technique_id / mitre_tactic_id).
  std::string_view technique_id, tactic_id;
  // Evidence and entities (empty when unknown).
  std::string_view msg, category, detector, ml_class, evidence;
  std::string_view dns, sni, http_host, ja3;
  std::string_view feed, threat;   // kIntel: the feed's name and threat (evidence: the indicator)
  // kFlow: the flow's figures ("to server" = from the initiator, src).
  uint64_t duration_ns = 0, bytes_out = 0, bytes_in = 0;
  bool established = false;

  // Which end is the attacker: by the tactic (C2, exfiltration: the destination), or fixed by
  // the source (an intel hit on the source address: the listed host connecting in).
  enum class Side : uint8_t { kByTactic, kSrc, kDst } attacker_side = Side::kByTactic;
  // Whether the destination is the attacker (the tactic's direction unless fixed).
  bool attacker_is_dst(bool outbound_tactic) const {
    return attacker_side == Side::kByTactic ? outbound_tactic : attacker_side == Side::kDst;
  }

  // Filled by Mapper::map: indexes into AttackTable, 0 = none.
  uint8_t tactic = 0;
  uint16_t technique = 0;
};

// The normalisation that the data plane's hook (dataplane/events/incidents.cc)
// and EVE input (eve_input.cc) share, so both give the same Detection.
// Confidence before any corroboration: Suricata priority 1-2 signatures are
// specific; ML carries its class probability, but an isolation-forest score
// (class "anomaly") is not one; an intel hit the feed's confidence (0-100).
inline float signature_confidence(uint8_t severity) { return severity <= 2 ? 0.7f : 0.5f; }
constexpr float kBehaviourConfidence = 0.7f;
inline float ml_confidence(double score, bool anomaly) {  // not finite (EVE: null): as an anomaly score
  return anomaly || !(score == score) || score - score != 0 ? 0.5f : float(score < 0 ? 0 : score > 1 ? 1 : score);
}
inline float intel_confidence(double feed_confidence) {
  return feed_confidence > 0 ? float((feed_confidence < 100 ? feed_confidence : 100) / 100) : 0.5f;
}
// An address indicator names the attacker's end whatever the tactic (a listed
// C2 address connecting in is the attacker, the internal host its victim).
inline Detection::Side intel_side(std::string_view match) {
  return match == "src_ip" ? Detection::Side::kSrc : match == "dest_ip" ? Detection::Side::kDst
                                                                          : Detection::Side::kByTactic;
}

// 128-bit field value: addresses (IPv4 mapped into ::ffff:0:0/96), numbers, string hashes.
struct Val {
  uint64_t hi = 0, lo = 0;
  bool operator==(const Val& o) const { return hi == o.hi && lo == o.lo; }
  bool operator!=(const Val& o) const { return !(*this == o); }
};
struct ValHash {  // splitmix64 finaliser over both halves: addresses differ in low bits only
  static uint64_t mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }
  size_t operator()(const Val& v) const { return size_t(mix(v.hi ^ mix(v.lo))); }
};
Val addr_val(const uint8_t* a, uint8_t ver);
// The network of an address: /24 (IPv4) or /64 (IPv6).
Val net_val(const uint8_t* a, uint8_t ver);
Val str_val(std::string_view s);
inline Val num_val(uint64_t n) { return Val{0x4e554dull << 40, n}; }
// "10.0.0.1" / "2001:db8::1" for an address Val.
std::string val_addr_str(const Val& v);
bool parse_addr(std::string_view s, uint8_t (&out)[16], uint8_t& ver);

}  // namespace spectre::cortex
