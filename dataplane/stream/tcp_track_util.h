// Internal helpers of the TCP session tracker (tcp_track.cc, tcp_track_close.cc).
#pragma once
#include <cstdint>

#include "dataplane/stream/stream_events.h"
#include "dataplane/stream/tcp_track.h"

namespace spectre::tcp_track_internal {

constexpr uint8_t kFinF = 0x01, kSynF = 0x02, kRstF = 0x04, kAckF = 0x10;
constexpr uint8_t kMaxWscale = 14;  // RFC 7323; Suricata's TCP_WSCALE_MAX

inline bool seq_gt(uint32_t a, uint32_t b) { return int32_t(a - b) > 0; }
inline bool seq_lt(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }
inline bool seq_leq(uint32_t a, uint32_t b) { return int32_t(a - b) <= 0; }
inline bool seq_geq(uint32_t a, uint32_t b) { return int32_t(a - b) >= 0; }

// Suricata's StreamTcpPacketIsRetransmission: data starting below what the
// peer acked, or ending at or before what side d already sent.
inline bool retransmission(const TcpTrack& t, const TcpTrackPkt& p, int d) {
  return p.len && (seq_lt(p.seq, t.last_ack[d]) || seq_leq(p.seq + p.len, t.next_seq[d]));
}

// Suricata's StreamTcpValidateAck failing: the event pair of a state.
inline uint64_t invalid_ack(StreamEvent e) { return sev_bit(e) | sev_bit(kSevPktInvalidAck); }

}  // namespace spectre::tcp_track_internal
