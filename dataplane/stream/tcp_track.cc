// TCP session tracker (API and scope in tcp_track.h). The branch order of each
// phase follows Suricata's handlers (RST, then FIN, then SYN/ACK, then SYN,
// then ACK), since a packet is judged by the first branch its flags take.
#include "dataplane/stream/tcp_track.h"

#include "dataplane/stream/stream_events.h"

namespace spectre {

namespace {

constexpr uint8_t kFinF = 0x01, kSynF = 0x02, kRstF = 0x04, kAckF = 0x10;

inline bool seq_gt(uint32_t a, uint32_t b) { return int32_t(a - b) > 0; }
inline bool seq_leq(uint32_t a, uint32_t b) { return int32_t(a - b) <= 0; }

// Suricata's StreamTcpPacketStateNone for a session's first tracked packet.
// dir 0 is the flow's initiator; a SYN/ACK pickup needs it from the server.
uint64_t start(TcpTrack& t, const TcpTrackPkt& p, int dir, const TcpTrackCfg& cfg) {
  const uint8_t f = p.flags;
  if (f & kRstF) return 0;  // rst_but_no_session: raised by flags (core/inspect.cc)
  if (f & kFinF) {
    if (!cfg.midstream || p.len == 0 || dir != 0) return 0;  // fin_but_no_session
    t = TcpTrack{};
    t.phase = TcpPhase::kClosing;  // Suricata: FIN_WAIT1, picked up midstream
    t.flags = kTrkMidstream | kTrkFin0;
  } else if ((f & (kSynF | kAckF)) == (kSynF | kAckF)) {
    if ((!cfg.midstream && !cfg.async_oneside) || dir != 1) return 0;
    t = TcpTrack{};
    t.phase = TcpPhase::kSynRecv;
    t.flags = kTrkMidstream | kTrkMidSynAck;
    t.isn[1] = p.seq;
    t.next_seq[1] = p.seq + 1;
    t.isn[0] = p.ack - 1;
    t.next_seq[0] = p.ack;
    t.last_ack[0] = p.ack;
    t.last_ack[1] = p.seq;
    if (cfg.async_oneside) t.flags |= kTrkAsync;
    return 0;  // next_win0 stays 0: Suricata sets no client window here
  } else if (f & kSynF) {
    if (dir != 0) return 0;
    t = TcpTrack{};
    t.phase = TcpPhase::kSynSent;
    t.isn[0] = p.seq;
    t.next_seq[0] = p.seq + 1 + p.len;
    if (p.len) t.flags |= kTrkTfo;
    return 0;
  } else {
    if (!cfg.midstream || dir != 0) return 0;
    t = TcpTrack{};
    t.phase = TcpPhase::kEstablished;
    t.flags = kTrkMidstream;
  }
  // Midstream ESTABLISHED / FIN_WAIT1: both sides from this client packet.
  t.isn[0] = p.seq - 1;
  t.next_seq[0] = p.seq + p.len;
  t.last_ack[0] = p.seq;
  t.isn[1] = p.ack - 1;
  t.next_seq[1] = p.ack;
  t.last_ack[1] = p.ack;
  if (cfg.async_oneside) t.flags |= kTrkAsync;
  return 0;
}

uint64_t syn_sent(TcpTrack& t, const TcpTrackPkt& p, int dir, const TcpTrackCfg& cfg) {
  const uint8_t f = p.flags;
  if ((f & (kSynF | kAckF)) == (kSynF | kAckF)) {
    if (dir == 1) {
      uint64_t ev = 0;
      if (!(t.flags & kTrkTfo)) {
        if (p.ack != t.isn[0] + 1) return sev_bit(kSevSynAckWrongAck);
      } else if (p.ack == t.isn[0] + 1 && p.ack != t.next_seq[0]) {
        ev = sev_bit(kSevSynAckTfoDataIgnored);  // the server acked the SYN, not its data
        t.next_seq[0] = t.isn[0];                // as Suricata: reset to the ISN
      } else if (p.ack != t.next_seq[0]) {
        return sev_bit(kSevSynAckWrongAck);
      }
      t.phase = TcpPhase::kSynRecv;
      t.isn[1] = p.seq;
      t.next_seq[1] = p.seq + 1;
      t.last_ack[0] = p.ack;
      t.last_ack[1] = p.seq + 1;
      t.next_win0 = p.ack + p.win;  // a SYN/ACK's window is never scaled
      t.flags &= uint8_t(~kTrk4whs);
      return ev;
    }
    if (!(t.flags & kTrk4whs)) return sev_bit(kSevSynAckWrongDir);
    if (p.ack != t.isn[1] + 1) return sev_bit(kSev4whsSynAckWrongAck);
    if (p.seq != t.isn[0]) return sev_bit(kSev4whsSynAckWrongSyn);
    t.phase = TcpPhase::kSynRecv;  // the client answers the server's SYN
    t.next_seq[0] = p.seq + 1;
    t.last_ack[1] = p.ack;
    t.last_ack[0] = t.isn[0] + 1;
    t.next_win0 = t.last_ack[0];
    return 0;
  }
  if (f & kRstF) {
    // To the server only an exact reply to the SYN closes (ack ISN + 1, window 0).
    if (dir == 1 || (p.seq == t.isn[0] && p.win == 0 && p.ack == t.isn[0] + 1)) t.phase = TcpPhase::kClosed;
    return 0;
  }
  if (f & kFinF) return 0;
  if (f & kSynF) {
    if (dir == 1) {  // a SYN from the server: 4-way handshake
      t.flags |= kTrk4whs;
      t.isn[1] = p.seq;
      t.next_seq[1] = p.seq + 1;
    }
    return 0;  // a client SYN resend keeps the first ISN
  }
  if ((f & kAckF) && cfg.async_oneside) {
    if (p.seq != t.next_seq[0]) return sev_bit(kSevAsyncWrongSeq);
    t.phase = TcpPhase::kEstablished;
    t.flags |= kTrkAsync;
    t.last_ack[0] = p.seq;
    t.isn[1] = p.ack - 1;
    t.next_seq[1] = p.ack;
    t.last_ack[1] = p.ack;
    t.next_seq[0] = p.seq + p.len;
  }
  return 0;
}

// SYN_RECV, a packet with ACK and no SYN/FIN/RST: Suricata's checks before
// it calls the session established (IDS mode; no SYN/ACK queue, no timestamps).
uint64_t syn_recv_ack(TcpTrack& t, const TcpTrackPkt& p, int dir, const TcpTrackCfg& cfg) {
  if ((t.flags & kTrk4whs) && dir == 1) {
    if (p.seq != t.next_seq[1]) return sev_bit(kSev4whsWrongSeq);
    t.phase = TcpPhase::kEstablished;
    t.next_seq[1] += p.len;
    if (seq_gt(p.ack, t.last_ack[0])) t.last_ack[0] = p.ack;
    return 0;
  }
  // A server packet here means the 3whs ACK was missed (IPS would reject it:
  // 3whs_ack_in_wrong_dir / 3whs_ack_data_inject; IDS goes on).
  const bool missed_ack = dir == 1 && !(t.flags & (kTrkMidSynAck | kTrkTfo));
  const uint32_t end = p.seq + p.len;
  if (p.seq == t.next_seq[0] && p.ack == t.next_seq[1]) {
    t.next_seq[0] = end;
    t.last_ack[1] = p.ack;
  } else if (cfg.async_oneside && p.seq == t.next_seq[1]) {
    t.flags |= kTrkAsync;
    t.next_seq[1] = end;
  } else if (p.seq == t.next_seq[0]) {
    return sev_bit(kSevRightSeqWrongAck);  // right seq, wrong ack: the evasion Linux/Solaris allow
  } else if (dir == 1 && seq_gt(p.seq, t.next_seq[0]) && seq_gt(p.ack, t.last_ack[0])) {
    t.last_ack[0] = p.ack;  // acks data we did not see
    t.next_seq[1] = end;
  } else if (seq_gt(p.seq, t.next_seq[0]) && seq_leq(p.seq, t.next_win0) && p.ack == t.next_seq[1]) {
    t.next_seq[0] = end;  // in window after missed packets
    t.last_ack[1] = p.ack;
  } else if ((missed_ack || (t.flags & kTrkTfo)) && p.ack == t.last_ack[0] && p.seq == t.next_seq[1]) {
    t.next_seq[1] = end;
  } else {
    return sev_bit(kSevWrongSeqWrongAck);
  }
  t.phase = TcpPhase::kEstablished;
  return 0;
}

// A RST closes; a FIN starts closing (its side noted). True when f did either.
bool closes(TcpTrack& t, uint8_t f, int dir) {
  if (f & kRstF) {
    t.phase = TcpPhase::kClosed;
    return true;
  }
  if (!(f & kFinF)) return false;
  t.phase = TcpPhase::kClosing;
  t.flags |= dir ? kTrkFin1 : kTrkFin0;
  return true;
}

uint64_t syn_recv(TcpTrack& t, const TcpTrackPkt& p, int dir, const TcpTrackCfg& cfg) {
  const uint8_t f = p.flags;
  if (closes(t, f, dir)) return 0;
  if ((f & (kSynF | kAckF)) == (kSynF | kAckF)) {
    if (dir == 0) return sev_bit(kSevSynAckToServerOnSynRecv);
    if (p.ack != t.last_ack[0]) return sev_bit(kSevSynAckResendDiffAck);
    return 0;  // another seq is queued by Suricata (3whs_synack_flood after 5: not judged)
  }
  if (f & kSynF) {
    if (dir == 1) return sev_bit(kSevSynToClientOnSynRecv);
    return p.seq != t.isn[0] ? sev_bit(kSevSynResendDiffSeq) : 0;
  }
  if (f & kAckF) return syn_recv_ack(t, p, dir, cfg);
  return 0;
}

uint64_t established(TcpTrack& t, const TcpTrackPkt& p, int dir) {
  const uint8_t f = p.flags;
  if (closes(t, f, dir)) return 0;
  if ((f & (kSynF | kAckF)) == (kSynF | kAckF)) {
    if (dir == 0) return sev_bit(kSevEstSynAckToServer);
    if (p.ack != t.last_ack[0]) return sev_bit(kSevEstSynAckResendDiffAck);
    if (p.seq != t.isn[1]) return sev_bit(kSevEstSynAckResendDiffSeq);
    return (t.flags & kTrkConfirmed) ? sev_bit(kSevEstSynAckResend) : 0;
  }
  if (f & kSynF) {
    if (dir == 1) return sev_bit(kSevEstSynToClient);
    return p.seq != t.isn[0] ? sev_bit(kSevEstSynResendDiffSeq) : sev_bit(kSevEstSynResend);
  }
  if ((f & kAckF) && dir == 1) t.flags |= kTrkConfirmed;
  return 0;
}

// A SYN to the server or a SYN/ACK to the client with another ISN may start a
// new session in Suricata's later close states (its reuse check, by state
// order); only the ones that never do are judged here.
inline bool starts_anew(const TcpTrack& t, const TcpTrackPkt& p, int dir) {
  const bool ack = p.flags & kAckF;
  if (dir == 0 && !ack) return p.seq != t.isn[0];
  if (dir == 1 && ack) return p.seq != t.isn[1];
  return false;
}

}  // namespace

uint64_t tcp_track(TcpTrack& t, const TcpTrackPkt& p, int dir, const TcpTrackCfg& cfg) {
  const TcpPhase ph = t.phase;
  switch (ph) {
    case TcpPhase::kNone:
      return start(t, p, dir, cfg);
    case TcpPhase::kSynSent:
      return syn_sent(t, p, dir, cfg);
    case TcpPhase::kClosed:
      return 0;
    default:
      break;
  }
  const int o = dir ^ 1;
  const uint32_t end = p.seq + p.len;
  const bool plain = !(p.flags & (kSynF | kFinF | kRstF));
  uint64_t ev = 0;
  // Before the state logic, as Suricata: data entirely below what the peer
  // already acked is a spurious retransmission; a keep-alive (one byte just
  // before next_seq, acking what was acked) is skipped first.
  if (p.len && seq_leq(end, t.last_ack[dir]) &&
      !(p.len == 1 && plain && p.seq == t.next_seq[dir] - 1 && p.ack == t.last_ack[o]))
    ev |= sev_bit(kSevSpuriousRetransmission);
  if (ph == TcpPhase::kSynRecv) return ev | syn_recv(t, p, dir, cfg);
  if (ph == TcpPhase::kEstablished) {
    ev |= established(t, p, dir);
  } else if (p.flags & kRstF) {  // kClosing
    t.phase = TcpPhase::kClosed;
  } else if (p.flags & kFinF) {
    t.flags |= dir ? kTrkFin1 : kTrkFin0;
    if ((t.flags & (kTrkFin0 | kTrkFin1)) == (kTrkFin0 | kTrkFin1)) t.phase = TcpPhase::kClosed;
  } else if ((p.flags & kSynF) && !starts_anew(t, p, dir)) {
    ev |= sev_bit(kSevShutdownSynResend);  // a SYN after a FIN that cannot start a new session
  }
  // An accepted packet moves next_seq and the peer's last_ack forward
  // (Suricata checks both against the windows first; not modelled).
  if (!(p.flags & kSynF)) {
    if (seq_gt(end, t.next_seq[dir])) t.next_seq[dir] = end;
    if ((p.flags & kAckF) && seq_gt(p.ack, t.last_ack[o])) t.last_ack[o] = p.ack;
  }
  return ev;
}

}  // namespace spectre
