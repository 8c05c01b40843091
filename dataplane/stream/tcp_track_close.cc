// The TCP session tracker's close states (API and scope in tcp_track.h):
// Suricata's FIN_WAIT1, FIN_WAIT2, CLOSING, CLOSE_WAIT, LAST_ACK and TIME_WAIT
// handlers (stream-tcp.c, IDS mode), each in its branch order: RST, FIN, SYN,
// ACK. A check that fails raises its event and leaves the state unchanged.
// Side d sent the packet, o is its peer. Where Suricata's two directions
// differ only in naming they share one code path here; where they differ in
// substance (the FIN's sequence accounting, LAST_ACK, TIME_WAIT) dir decides.
#include "dataplane/stream/stream_events.h"
#include "dataplane/stream/tcp_track.h"
#include "dataplane/stream/tcp_track_util.h"

namespace spectre::tcp_track_internal {

namespace {

// A SYN or SYN/ACK after a FIN. Suricata's flow engine lets a session starter
// with a new ISN reuse the tuple only from LAST_ACK on in its state order
// (LAST_ACK, CLOSE_WAIT, CLOSING); FIN_WAIT1/2 and TIME_WAIT never reuse.
uint64_t syn_after_fin(const TcpTrack& t, const TcpTrackPkt& p, int d) {
  const TcpPhase ph = t.phase;
  if (ph == TcpPhase::kLastAck || ph == TcpPhase::kCloseWait || ph == TcpPhase::kClosing) {
    const bool ack = p.flags & kAckF;
    if (d == 0 && !ack && p.seq != t.isn[0]) return 0;  // a client SYN with another ISN
    if (d == 1 && ack && p.seq != t.isn[1]) return 0;   // a SYN/ACK with another server ISN
  }
  return sev_bit(kSevShutdownSynResend);
}

inline bool beyond_window(const TcpTrack& t, const TcpTrackPkt& p, int d) {
  return seq_gt(p.seq, t.last_ack[d] + t.window[d]);
}

inline void advance_if_next(TcpTrack& t, const TcpTrackPkt& p, int d) {
  if (p.seq == t.next_seq[d]) t.next_seq[d] = p.seq + p.len;
}

// FIN_WAIT1 and FIN_WAIT2 past their FIN branch: a SYN, or an ACK that is
// window-checked. In FIN_WAIT1 only the ACK of the FIN (to the server:
// exactly; to the client, as Suricata, any ACK from the side that sent the
// FIN) is judged, and in window it leads to FIN_WAIT2.
uint64_t fin_wait_tail(TcpTrack& t, const TcpTrackPkt& p, int d, bool fin1) {
  if (p.flags & kSynF) return syn_after_fin(t, p, d);
  if (!(p.flags & kAckF)) return 0;
  const bool re = retransmission(t, p, d);
  if (!ack_valid(t, p, d ^ 1)) return invalid_ack(fin1 ? kSevFin1InvalidAck : kSevFin2InvalidAck);
  if (!re && (!fin1 || d == 1 || p.ack == t.next_seq[d ^ 1])) {
    if (!seq_leq(p.seq + p.len, t.next_win[d]) && !(t.flags & (kTrkMidstream | kTrkAsync)))
      return sev_bit(fin1 ? kSevFin1AckWrongSeq : kSevFin2AckWrongSeq);
    if (fin1 && p.seq == (d == 0 ? t.next_seq[0] : t.next_seq[1] - 1)) t.phase = TcpPhase::kFinWait2;
  }
  advance_if_next(t, p, d);
  take_ack(t, p, d);
  return 0;
}

uint64_t fin_wait1(TcpTrack& t, const TcpTrackPkt& p, int d) {
  const uint8_t f = p.flags;
  const int o = d ^ 1;
  if (f & kFinF) {  // the peer's FIN (FIN/ACK: TIME_WAIT; a bare FIN: CLOSING)
    const bool re = retransmission(t, p, d) || (d == 1 && p.seq == t.next_seq[1] - 1 && p.ack == t.last_ack[0]);
    if (!re && (seq_lt(p.seq, t.next_seq[d] - 1) || beyond_window(t, p, d))) return sev_bit(kSevFin1FinWrongSeq);
    if (!ack_valid(t, p, o)) return invalid_ack(kSevFin1InvalidAck);
    if (!re) t.phase = (f & kAckF) ? TcpPhase::kTimeWait : TcpPhase::kClosing;
    advance_if_next(t, p, d);
    take_ack(t, p, d);
    return 0;
  }
  return fin_wait_tail(t, p, d, true);
}

uint64_t fin_wait2(TcpTrack& t, const TcpTrackPkt& p, int d) {
  const uint8_t f = p.flags;
  const int o = d ^ 1;
  if (f & kFinF) {  // the second FIN: TIME_WAIT
    const bool re = (p.seq == t.next_seq[d] - 1 && p.ack == t.last_ack[o]) || retransmission(t, p, d);
    if (!re && (seq_lt(p.seq, t.next_seq[d]) || beyond_window(t, p, d))) return sev_bit(kSevFin2FinWrongSeq);
    if (!ack_valid(t, p, o)) return invalid_ack(kSevFin2InvalidAck);
    if (!re) {
      t.phase = TcpPhase::kTimeWait;
      if (d == 0) advance_if_next(t, p, d);
    }
    take_ack(t, p, d);
    return 0;
  }
  return fin_wait_tail(t, p, d, false);
}

// CLOSING (both FINs sent, the first not yet acked): the ACK leads to
// TIME_WAIT. Suricata has no FIN branch here: a FIN/ACK is judged as an ACK.
uint64_t closing(TcpTrack& t, const TcpTrackPkt& p, int d) {
  if (p.flags & kSynF) return syn_after_fin(t, p, d);
  if (!(p.flags & kAckF)) return 0;
  const bool re = retransmission(t, p, d);
  if (p.seq != t.next_seq[d]) return sev_bit(kSevClosingAckWrongSeq);
  if (!ack_valid(t, p, d ^ 1)) return invalid_ack(kSevClosingInvalidAck);
  if (!re) t.phase = TcpPhase::kTimeWait;
  take_ack(t, p, d);
  return 0;
}

// CLOSE_WAIT (the client sent its FIN): the server's FIN leads to LAST_ACK.
uint64_t close_wait(TcpTrack& t, const TcpTrackPkt& p, int d) {
  const uint8_t f = p.flags;
  const int o = d ^ 1;
  const bool re = retransmission(t, p, d);
  if (f & kFinF) {
    if (!re && (seq_lt(p.seq, t.next_seq[d]) || beyond_window(t, p, d)))
      return sev_bit(kSevCloseWaitFinOutOfWindow);
    if (!ack_valid(t, p, o)) return invalid_ack(kSevCloseWaitInvalidAck);
    if (!re && d == 1) t.phase = TcpPhase::kLastAck;  // a client FIN again: Suricata waits for the server's
    take_ack(t, p, d);
    return 0;
  }
  if (f & kSynF) return syn_after_fin(t, p, d);
  if (!(f & kAckF)) return 0;
  if (p.len && seq_leq(p.seq + p.len, t.last_ack[d])) return sev_bit(kSevCloseWaitPktBeforeLastAck);
  if (beyond_window(t, p, d)) return sev_bit(kSevCloseWaitAckOutOfWindow);
  if (!ack_valid(t, p, o)) return invalid_ack(kSevCloseWaitInvalidAck);
  advance_if_next(t, p, d);
  take_ack(t, p, d);
  return 0;
}

// LAST_ACK (both FINs, the server's last): the client's ACK closes. Suricata
// judges only to-server ACKs here; FINs are ignored.
uint64_t last_ack(TcpTrack& t, const TcpTrackPkt& p, int d) {
  const uint8_t f = p.flags;
  if (f & kFinF) return 0;
  if (f & kSynF) return syn_after_fin(t, p, d);
  if (!(f & kAckF) || d != 0) return 0;
  const bool re = retransmission(t, p, 0);
  if (!ack_valid(t, p, 1)) return invalid_ack(kSevLastAckInvalidAck);
  if (!re && !seq_lt(p.seq, t.next_seq[0])) {
    if (p.seq != t.next_seq[0] && p.seq != t.next_seq[0] + 1) return sev_bit(kSevLastAckAckWrongSeq);
    t.phase = TcpPhase::kClosed;
  }
  take_ack(t, p, 0);
  return 0;
}

// TIME_WAIT (both FINs, the last acked or about to be): an ACK closes. The
// client's seq may count its FIN or not; the server's likewise (next_seq - 1).
uint64_t time_wait(TcpTrack& t, const TcpTrackPkt& p, int d) {
  const uint8_t f = p.flags;
  if (f & kFinF) return 0;
  if (f & kSynF) return syn_after_fin(t, p, d);
  if (!(f & kAckF)) return 0;
  const bool re = retransmission(t, p, d);
  if (!re) {
    const uint32_t lo = d == 0 ? t.next_seq[0] : t.next_seq[1] - 1;  // lo or lo + 1
    if (p.seq != lo && p.seq != lo + 1) {
      if (d == 1 && p.len && p.seq == t.last_ack[1]) return 0;  // a retransmission Suricata lets by
      return sev_bit(kSevTimeWaitAckWrongSeq);
    }
  }
  if (!ack_valid(t, p, d ^ 1)) return invalid_ack(kSevTimeWaitInvalidAck);
  if (!re) t.phase = TcpPhase::kClosed;
  take_ack(t, p, d);
  return 0;
}

}  // namespace

uint64_t close_state(TcpTrack& t, const TcpTrackPkt& p, int dir) {
  if (p.flags & kRstF) return rst(t, p, dir);  // every close state validates a RST first
  switch (t.phase) {
    case TcpPhase::kFinWait1:
      return fin_wait1(t, p, dir);
    case TcpPhase::kFinWait2:
      return fin_wait2(t, p, dir);
    case TcpPhase::kClosing:
      return closing(t, p, dir);
    case TcpPhase::kCloseWait:
      return close_wait(t, p, dir);
    case TcpPhase::kLastAck:
      return last_ack(t, p, dir);
    case TcpPhase::kTimeWait:
      return time_wait(t, p, dir);
    default:
      return 0;
  }
}

}  // namespace spectre::tcp_track_internal
