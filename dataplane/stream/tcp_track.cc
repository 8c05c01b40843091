// TCP session tracker (API and scope in tcp_track.h): the handshake and
// ESTABLISHED; the close states are in tcp_track_close.cc. The branch order of
// each phase follows Suricata's handlers (RST, then FIN, then SYN/ACK, then
// SYN, then ACK), since a packet is judged by the first branch its flags take.
#include "dataplane/stream/tcp_track.h"

#include "dataplane/stream/stream_events.h"
#include "dataplane/stream/tcp_track_util.h"

namespace spectre {

namespace tcp_track_internal {

// Suricata's StreamTcpValidateAck for a packet acking side o's data.
bool ack_valid(const TcpTrack& t, const TcpTrackPkt& p, int o) {
  if (!(p.flags & kAckF)) return true;
  const uint32_t a = p.ack, la = t.last_ack[o];
  if (a == la || (seq_gt(a, la) && seq_leq(a, t.next_win[o]))) return true;
  if (seq_lt(a, la)) return t.window[o] == 0 || seq_geq(a, la - t.window[o]);  // old, within a window
  return t.flags & kTrkAsync;  // beyond next_win: async sessions are not checked further
}

// An accepted packet's ACK side (Suricata's updates after each handler): the
// peer's window, next_seq when it acks data not seen, last_ack and next_win.
void take_ack(TcpTrack& t, const TcpTrackPkt& p, int dir) {
  if (!(p.flags & kAckF)) return;
  const int o = dir ^ 1;
  t.window[o] = uint32_t(p.win) << t.wscale[o];
  if (seq_lt(t.next_seq[o], p.ack)) t.next_seq[o] = p.ack;
  if (seq_gt(p.ack, t.last_ack[o])) t.last_ack[o] = p.ack;
  const uint32_t nw = t.last_ack[o] + t.window[o];
  if (seq_gt(nw, t.next_win[o])) t.next_win[o] = nw;
}

// Suricata's StreamTcpValidateRst as its BSD and windows policies judge (the
// RST's seq must be the sender's next_seq; async: at or after it); an accepted
// RST closes the session.
uint64_t rst(TcpTrack& t, const TcpTrackPkt& p, int dir) {
  uint64_t ev = p.len ? sev_bit(kSevRstWithData) : 0;
  if ((p.flags & kAckF) && p.ack && !ack_valid(t, p, dir ^ 1)) return ev | invalid_ack(kSevRstInvalidAck);
  const bool ok = (t.flags & kTrkAsync) ? seq_geq(p.seq, t.next_seq[dir]) : p.seq == t.next_seq[dir];
  if (ok) {
    t.phase = TcpPhase::kClosed;
    // A signed RST cannot be verified here: whether the receiver took it shows
    // when its sender sends again (suspected_rst_inject, tcp_track()).
    if (p.signed_opt) t.flags2 |= uint8_t(kTrk2RstRecv << (dir ^ 1));
  }
  return ev;
}

}  // namespace tcp_track_internal

namespace {

using namespace tcp_track_internal;  // NOLINT(build/namespaces): this file's own helpers

inline uint8_t clamp_ws(uint8_t w) { return w > kMaxWscale ? kMaxWscale : w; }

// Both sides' windows from one packet's, at the largest scale (pickups whose
// handshake, and so whose scale, was not seen: never rejects by window).
void wide_windows(TcpTrack& t, uint16_t win) {
  for (int d = 0; d < 2; d++) {
    t.wscale[d] = kMaxWscale;
    t.window[d] = uint32_t(win) << kMaxWscale;
    t.next_win[d] = t.last_ack[d] + t.window[d];
  }
}

// A pickup's timestamps (Suricata's midstream): the sender's TSval and the
// TSecr it echoes of the peer; PAWS applies from then on.
void pickup_ts(TcpTrack& t, const TcpTrackPkt& p, int dir) {
  if (!p.has_ts) return;
  t.last_ts[dir] = p.tsval;
  t.last_ts[dir ^ 1] = p.tsecr;
  t.flags2 |= kTrk2Ts;
}

// Suricata's StreamTcpPacketStateNone for a session's first tracked packet.
// dir 0 is the flow's initiator; a SYN/ACK pickup needs it from the server.
uint64_t start(TcpTrack& t, const TcpTrackPkt& p, int dir, const TcpTrackCfg& cfg) {
  const uint8_t f = p.flags;
  if (f & kRstF) return 0;  // rst_but_no_session: raised by flags (core/inspect.cc)
  if (f & kFinF) {
    if (!cfg.midstream || p.len == 0 || dir != 0) return 0;  // fin_but_no_session
    t = TcpTrack{};
    t.phase = TcpPhase::kFinWait1;  // as Suricata, picked up midstream
    t.flags = kTrkMidstream;
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
    wide_windows(t, p.win);
    if (p.wscale == 0xff) t.wscale[0] = t.wscale[1] = 0;  // no scaling offered: windows as sent
    pickup_ts(t, p, 1);
    return 0;
  } else if (f & kSynF) {
    if (dir != 0) return 0;
    t = TcpTrack{};
    t.phase = TcpPhase::kSynSent;
    t.isn[0] = p.seq;
    t.next_seq[0] = p.seq + 1 + p.len;
    t.window[1] = p.win;  // a SYN's window is never scaled
    if (p.wscale != 0xff) {
      t.flags |= kTrkSynWscale;
      t.wscale[1] = clamp_ws(p.wscale);
    }
    if (p.len) t.flags |= kTrkTfo;
    if (p.has_ts) {
      t.flags |= kTrkSynTs;
      t.last_ts[0] = p.tsval;
    }
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
  wide_windows(t, p.win);
  pickup_ts(t, p, 0);
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
      // Scaling holds when both SYNs offered it; a SYN/ACK's window is never scaled.
      if ((t.flags & kTrkSynWscale) && p.wscale != 0xff) {
        t.wscale[0] = clamp_ws(p.wscale);
      } else {
        t.wscale[0] = t.wscale[1] = 0;
      }
      t.window[0] = p.win;
      t.next_win[0] = p.ack + p.win;
      if ((t.flags & kTrkSynTs) && p.has_ts) {  // timestamps on both SYNs: PAWS
        t.flags2 |= kTrk2Ts;
        t.last_ts[1] = p.tsval;
      }
      t.next_win[1] = t.last_ack[1] + t.window[1];
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
    t.wscale[0] = t.wscale[1] = p.wscale == 0xff ? 0 : kMaxWscale;  // the server's scale was not kept
    t.window[0] = t.window[1] = uint32_t(p.win) << t.wscale[0];
    t.next_win[0] = t.last_ack[0];  // as Suricata: the client's window opens with the server's ACK
    t.next_win[1] = t.last_ack[1] + t.window[1];
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
    wide_windows(t, p.win);
  }
  return 0;
}

// SYN_RECV, a packet with ACK and no SYN/FIN/RST: Suricata's checks before
// it calls the session established (IDS mode; no SYN/ACK queue, no timestamps).
uint64_t syn_recv_ack(TcpTrack& t, const TcpTrackPkt& p, int dir, const TcpTrackCfg& cfg) {
  if ((t.flags & kTrk4whs) && dir == 1) {
    if (p.seq != t.next_seq[1]) return sev_bit(kSev4whsWrongSeq);
    if (!ack_valid(t, p, 0)) return invalid_ack(kSev4whsInvalidAck);
    t.phase = TcpPhase::kEstablished;
    t.next_seq[1] += p.len;
    if (seq_gt(p.ack, t.last_ack[0])) t.last_ack[0] = p.ack;
    return 0;
  }
  // The client acks the last queued SYN/ACK: the server's ISN was that one
  // (Suricata takes the queued SYN/ACK's state).
  if (t.synacks && dir == 0 && p.ack == t.synack_seq + 1 && p.ack != t.next_seq[1]) {
    t.isn[1] = t.synack_seq;
    t.next_seq[1] = p.ack;
    t.last_ack[1] = p.ack;
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
  } else if (seq_gt(p.seq, t.next_seq[0]) && seq_leq(p.seq, t.next_win[0]) && p.ack == t.next_seq[1]) {
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

// Suricata's StreamTcpHandleFin (SYN_RECV, ESTABLISHED): the FIN's ack and
// window checked; the client's FIN leads to CLOSE_WAIT, the server's to
// FIN_WAIT1 (next_seq counts the FIN on the server side only, as Suricata).
uint64_t fin(TcpTrack& t, const TcpTrackPkt& p, int dir) {
  if (!ack_valid(t, p, dir ^ 1)) return invalid_ack(kSevFinInvalidAck);
  const uint32_t end = p.seq + p.len;
  if (!(seq_geq(p.seq, t.last_ack[dir]) && seq_leq(end, t.next_win[dir]))) return sev_bit(kSevFinOutOfWindow);
  if (p.flags & kSynF) return 0;  // fin_syn: raised by the flags alone (core/inspect.cc); rejected
  if (dir == 0) {
    t.phase = TcpPhase::kCloseWait;
    t.next_seq[0] = end;
  } else {
    t.phase = TcpPhase::kFinWait1;
    t.next_seq[1] = end + 1;
  }
  take_ack(t, p, dir);
  return 0;
}

uint64_t syn_recv(TcpTrack& t, const TcpTrackPkt& p, int dir, const TcpTrackCfg& cfg) {
  const uint8_t f = p.flags;
  if (f & kRstF) return rst(t, p, dir);
  if (f & kFinF) return fin(t, p, dir);
  if ((f & (kSynF | kAckF)) == (kSynF | kAckF)) {
    if (dir == 0) return sev_bit(kSevSynAckToServerOnSynRecv);
    if (p.ack != t.last_ack[0]) return sev_bit(kSevSynAckResendDiffAck);
    // Another seq is queued (Suricata's 3whs_synack_resend_with_diff_seq is
    // not raised since it queues); a full queue rejects it.
    if (p.seq == t.isn[1] || (t.synacks && p.seq == t.synack_seq)) return 0;
    if (t.synacks >= kMaxSynAckQueued) return sev_bit(kSevSynAckFlood);
    t.synacks++;
    t.synack_seq = p.seq;
    return 0;
  }
  if (f & kSynF) {
    if (dir == 1) return sev_bit(kSevSynToClientOnSynRecv);
    return p.seq != t.isn[0] ? sev_bit(kSevSynResendDiffSeq) : 0;
  }
  if (!(f & kAckF)) return 0;
  const uint64_t ev = syn_recv_ack(t, p, dir, cfg);
  if (t.phase == TcpPhase::kEstablished) take_ack(t, p, dir);  // the windows from the accepting packet
  return ev;
}

// Suricata's exceptions for data ending below last_ack in ESTABLISHED: async
// sessions, and data the peer acked although it was not seen (last_ack ahead
// of next_seq and the data reaching beyond next_seq).
inline bool before_last_ack_ok(const TcpTrack& t, const TcpTrackPkt& p, int dir) {
  if (t.flags & kTrkAsync) return true;
  return seq_gt(t.last_ack[dir], t.next_seq[dir]) && seq_gt(p.seq + p.len, t.next_seq[dir]);
}

uint64_t established(TcpTrack& t, const TcpTrackPkt& p, int dir) {
  const uint8_t f = p.flags;
  if (f & kRstF) return rst(t, p, dir);
  if (f & kFinF) return fin(t, p, dir);
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
  if (!(f & kAckF)) return 0;  // Suricata's "default case": nothing
  if (dir == 1) t.flags |= kTrkConfirmed;
  if (!ack_valid(t, p, dir ^ 1)) return invalid_ack(kSevEstInvalidAck);
  if (seq_lt(p.seq + p.len, t.last_ack[dir]) && !before_last_ack_ok(t, p, dir))
    return sev_bit(kSevEstPktBeforeLastAck);
  // next_seq moves before the window check, as Suricata's; a zero-window
  // probe (one byte at next_seq into a closed window) skips it; midstream and
  // async sessions are not window-checked.
  const uint32_t end = p.seq + p.len;
  const bool zwp = p.len == 1 && p.seq == t.next_seq[dir] && t.window[dir] == 0;
  if (seq_gt(end, t.next_seq[dir])) t.next_seq[dir] = end;
  if (!seq_leq(end, t.next_win[dir]) && !zwp && !(t.flags & (kTrkMidstream | kTrkAsync)))
    return sev_bit(kSevEstPacketOutOfWindow);
  take_ack(t, p, dir);
  return 0;
}

// Suricata's StreamTcpPacketIsKeepAlive: at most one byte just before
// next_seq, acking what was acked; the state handlers skip it.
inline bool keep_alive(const TcpTrack& t, const TcpTrackPkt& p, int dir) {
  return p.len <= 1 && !(p.flags & (kSynF | kFinF | kRstF)) && p.seq == t.next_seq[dir] - 1 &&
         p.ack == t.last_ack[dir ^ 1];
}

// Suricata's StreamTcpPacketIsBadWindowUpdate (ESTABLISHED and the close
// states; a plain packet): it shrinks the window by more than its own data
// and than its ack moved, acking and sending beyond what was seen.
// The first test (the window shrinks) is inline; the rest is rarely reached.
inline bool window_shrinks(const TcpTrack& t, const TcpTrackPkt& p, int o) {
  return (uint32_t(p.win) << t.wscale[o]) < t.window[o];
}

[[gnu::cold, gnu::noinline]] bool bad_window_update(const TcpTrack& t, const TcpTrackPkt& p, int dir) {
  const int o = dir ^ 1;
  const uint32_t pw = uint32_t(p.win) << t.wscale[o];
  const uint32_t diff = t.window[o] - pw;
  if (diff <= p.len || !seq_gt(p.ack, t.next_seq[o]) || !seq_gt(p.seq, t.next_seq[dir])) return false;
  // Suricata's FIN shutdown ACK exception: the last ACK of the 4-way close.
  const TcpPhase ph = t.phase;
  if ((ph == TcpPhase::kTimeWait || ph == TcpPhase::kCloseWait || ph == TcpPhase::kLastAck) && p.flags == kAckF &&
      !p.len && p.seq == t.next_seq[dir] + 1 && p.ack == t.next_seq[o] + 1)
    return false;
  const uint32_t adiff = p.ack - t.last_ack[o];
  return pw > 1024 ? diff > adiff + 32 : diff > adiff;
}

// PAWS (Suricata's StreamTcpValidateTimestamp, BSD policy): a TSval of 0, or
// one older than the sender's last accepted, is invalid.
inline bool paws_ok(const TcpTrack& t, const TcpTrackPkt& p, int dir) {
  return !p.has_ts || (p.tsval != 0 && int32_t(p.tsval - t.last_ts[dir]) >= 0);
}

// Suricata's StreamTcpPacketCheckPostRst: a non-RST packet from the side that
// sent a signed RST means its receiver ignored it (or never got it from there).
[[gnu::cold, gnu::noinline]] uint64_t post_rst(TcpTrack& t, const TcpTrackPkt& p, int dir) {
  const uint8_t bit = uint8_t(kTrk2RstRecv << (dir ^ 1));
  if ((p.flags & kRstF) || !(t.flags2 & bit)) return 0;
  t.flags2 &= uint8_t(~bit);
  return sev_bit(kSevSuspectedRstInject);
}

}  // namespace

uint64_t tcp_track(TcpTrack& t, const TcpTrackPkt& p, int dir, const TcpTrackCfg& cfg) {
  if (t.flags2 & (kTrk2RstRecv | kTrk2RstRecv << 1)) [[unlikely]] {
    if (const uint64_t ev = post_rst(t, p, dir)) return ev | tcp_track(t, p, dir, cfg);
  }
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
  // Before the state logic, as Suricata: keep-alives are skipped; a bad window
  // update is flagged and skipped; data entirely below what the peer already
  // acked is a spurious retransmission (flagged, then handled).
  if (keep_alive(t, p, dir)) return 0;
  if (ph != TcpPhase::kSynRecv && !(p.flags & (kSynF | kFinF | kRstF)) && window_shrinks(t, p, dir ^ 1) &&
      bad_window_update(t, p, dir))
    return sev_bit(kSevBadWindowUpdate);
  uint64_t ev = 0;
  if (p.len && seq_leq(p.seq + p.len, t.last_ack[dir])) ev = sev_bit(kSevSpuriousRetransmission);
  // PAWS on what Suricata's RST, FIN and ACK branches validate (not SYNs).
  if ((t.flags2 & kTrk2Ts) && ((p.flags & (kRstF | kFinF)) || (p.flags & (kAckF | kSynF)) == kAckF)) {
    if (!paws_ok(t, p, dir)) return ev | sev_bit(kSevInvalidTimestamp);
    if (p.has_ts && seq_leq(p.seq, t.next_seq[dir]) && int32_t(p.tsval - t.last_ts[dir]) > 0)
      t.last_ts[dir] = p.tsval;  // in sequence: the sender's newest (RFC 7323 TS.Recent)
  }
  if (ph == TcpPhase::kEstablished) return ev | established(t, p, dir);
  if (ph == TcpPhase::kSynRecv) return ev | syn_recv(t, p, dir, cfg);
  return ev | close_state(t, p, dir);
}

}  // namespace spectre
