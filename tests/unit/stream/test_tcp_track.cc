// The TCP session tracker's stream events (stream/tcp_track.h: Suricata's
// stream-tcp.c conditions in IDS mode), one packet sequence per event.
#include <gtest/gtest.h>

#include "dataplane/stream/stream_events.h"
#include "dataplane/stream/tcp_track.h"

namespace spectre {
namespace {

constexpr uint8_t F = 0x01, S = 0x02, R = 0x04, P = 0x08, A = 0x10;

struct Conv {
  TcpTrack t{};
  TcpTrackCfg cfg{};
  uint64_t pkt(int dir, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t len = 0, uint16_t win = 8192,
              uint8_t wscale = 0xff) {
    return tcp_track(t, TcpTrackPkt{seq, ack, win, len, flags, wscale}, dir, cfg);
  }
  // With the timestamp option (TSval ts) or a TCP-MD5/AO signature.
  uint64_t ts(int dir, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t tsval, uint16_t len = 0) {
    return tcp_track(t, TcpTrackPkt{seq, ack, 8192, len, flags, 0xff, true, false, tsval, 0}, dir, cfg);
  }
  uint64_t sig(int dir, uint8_t flags, uint32_t seq, uint32_t ack) {
    return tcp_track(t, TcpTrackPkt{seq, ack, 8192, 0, flags, 0xff, false, true}, dir, cfg);
  }
  // SYN 1000, SYN/ACK 5000, ACK: established at client seq 1001, server 5001.
  void handshake() {
    EXPECT_EQ(pkt(0, S, 1000, 0), 0u);
    EXPECT_EQ(pkt(1, S | A, 5000, 1001), 0u);
    EXPECT_EQ(pkt(0, A, 1001, 5001), 0u);
    EXPECT_EQ(t.phase, TcpPhase::kEstablished);
  }
};

TEST(TcpTrack, NormalSessionRaisesNothing) {
  Conv c;
  c.handshake();
  EXPECT_EQ(c.pkt(0, P | A, 1001, 5001, 100), 0u);
  EXPECT_EQ(c.pkt(1, A, 5001, 1101), 0u);
  EXPECT_EQ(c.pkt(1, P | A, 5001, 1101, 200), 0u);
  EXPECT_EQ(c.pkt(0, A, 1101, 5201), 0u);
  EXPECT_EQ(c.pkt(0, F | A, 1101, 5201), 0u);
  EXPECT_EQ(c.pkt(1, F | A, 5201, 1102), 0u);
  EXPECT_EQ(c.pkt(0, A, 1102, 5202), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kClosed);
}

TEST(TcpTrack, SynSentAnomalies) {
  Conv c;
  c.pkt(0, S, 1000, 0);
  EXPECT_EQ(c.pkt(0, S | A, 1000, 1), sev_bit(kSevSynAckWrongDir));
  EXPECT_EQ(c.pkt(1, S | A, 5000, 1234), sev_bit(kSevSynAckWrongAck));
  EXPECT_EQ(c.t.phase, TcpPhase::kSynSent);  // rejected: still waiting
  Conv wrap;  // ISN + 1 wraps
  wrap.pkt(0, S, 0xffffffffu, 0);
  EXPECT_EQ(wrap.pkt(1, S | A, 5000, 0), 0u);
}

TEST(TcpTrack, FastOpen) {
  Conv ok;  // data on the SYN: the SYN/ACK acks ISN + 1 + data
  ok.pkt(0, S, 1000, 0, 5);
  EXPECT_EQ(ok.pkt(1, S | A, 5000, 1006), 0u);
  Conv ign;  // acks only the SYN: the server ignored the data
  ign.pkt(0, S, 1000, 0, 5);
  EXPECT_EQ(ign.pkt(1, S | A, 5000, 1001), sev_bit(kSevSynAckTfoDataIgnored));
  Conv bad;
  bad.pkt(0, S, 1000, 0, 5);
  EXPECT_EQ(bad.pkt(1, S | A, 5000, 1003), sev_bit(kSevSynAckWrongAck));
}

TEST(TcpTrack, FourWayHandshake) {
  Conv c;  // SYN, SYN back from the server, SYN/ACK from the client, ACK from the server
  c.pkt(0, S, 1000, 0);
  EXPECT_EQ(c.pkt(1, S, 5000, 0), 0u);
  EXPECT_EQ(c.pkt(0, S | A, 1000, 4000), sev_bit(kSev4whsSynAckWrongAck));
  EXPECT_EQ(c.pkt(0, S | A, 1234, 5001), sev_bit(kSev4whsSynAckWrongSyn));
  EXPECT_EQ(c.pkt(0, S | A, 1000, 5001), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kSynRecv);
  EXPECT_EQ(c.pkt(1, A, 5002, 1001), sev_bit(kSev4whsWrongSeq));
  EXPECT_EQ(c.pkt(1, A, 5001, 7777), sev_bit(kSev4whsInvalidAck) | sev_bit(kSevPktInvalidAck));
  EXPECT_EQ(c.pkt(1, A, 5001, 1001), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kEstablished);
}

TEST(TcpTrack, SynRecvSynAndSynAck) {
  Conv c;
  c.pkt(0, S, 1000, 0);
  c.pkt(1, S | A, 5000, 1001);
  EXPECT_EQ(c.pkt(0, S | A, 1000, 5001), sev_bit(kSevSynAckToServerOnSynRecv));
  EXPECT_EQ(c.pkt(1, S, 5000, 0), sev_bit(kSevSynToClientOnSynRecv));
  EXPECT_EQ(c.pkt(0, S, 1000, 0), 0u);  // the same SYN again: a plain resend
  EXPECT_EQ(c.pkt(0, S, 7777, 0), sev_bit(kSevSynResendDiffSeq));
  EXPECT_EQ(c.pkt(1, S | A, 5000, 1001), 0u);  // SYN/ACK resent as it was
  EXPECT_EQ(c.pkt(1, S | A, 5000, 1002), sev_bit(kSevSynAckResendDiffAck));
  EXPECT_EQ(c.pkt(1, S | A, 6000, 1001), 0u);  // another ISN: Suricata queues it
  EXPECT_EQ(c.pkt(0, S | R, 1000, 0), 0u);     // RST first: not a handshake packet
}

TEST(TcpTrack, SynRecvAckChecks) {
  Conv ev;  // right seq, wrong ack: the evasion; the session stays in SYN_RECV
  ev.pkt(0, S, 1000, 0);
  ev.pkt(1, S | A, 5000, 1001);
  EXPECT_EQ(ev.pkt(0, A, 1001, 9999), sev_bit(kSevRightSeqWrongAck));
  EXPECT_EQ(ev.t.phase, TcpPhase::kSynRecv);
  EXPECT_EQ(ev.pkt(0, A, 777, 9999), sev_bit(kSevWrongSeqWrongAck));
  // in window after a lost segment, right ack: established
  EXPECT_EQ(ev.pkt(0, A, 1101, 5001, 10), 0u);
  EXPECT_EQ(ev.t.phase, TcpPhase::kEstablished);
  Conv win;  // beyond the SYN/ACK's window (1001 + 100): wrong seq
  win.pkt(0, S, 1000, 0);
  win.pkt(1, S | A, 5000, 1001, 0, 100);
  EXPECT_EQ(win.pkt(0, A, 1200, 5001), sev_bit(kSevWrongSeqWrongAck));
  Conv missed;  // the server's data after a missed 3whs ACK: fine in IDS mode
  missed.pkt(0, S, 1000, 0);
  missed.pkt(1, S | A, 5000, 1001);
  EXPECT_EQ(missed.pkt(1, P | A, 5001, 1001, 50), 0u);
  EXPECT_EQ(missed.t.phase, TcpPhase::kEstablished);
}

TEST(TcpTrack, AsyncOneside) {
  Conv c;
  c.cfg.async_oneside = true;
  c.pkt(0, S, 1000, 0);
  EXPECT_EQ(c.pkt(0, A, 1005, 5001), sev_bit(kSevAsyncWrongSeq));
  EXPECT_EQ(c.pkt(0, A, 1001, 5001), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kEstablished);
  Conv off;  // async off: a client ACK in SYN_SENT is ignored
  off.pkt(0, S, 1000, 0);
  EXPECT_EQ(off.pkt(0, A, 1005, 5001), 0u);
  EXPECT_EQ(off.t.phase, TcpPhase::kSynSent);
}

TEST(TcpTrack, EstablishedSynAndSynAck) {
  Conv c;
  c.handshake();
  EXPECT_EQ(c.pkt(0, S | A, 1000, 5001), sev_bit(kSevEstSynAckToServer));
  EXPECT_EQ(c.pkt(1, S, 5000, 0), sev_bit(kSevEstSynToClient));
  EXPECT_EQ(c.pkt(0, S, 1000, 0), sev_bit(kSevEstSynResend));
  EXPECT_EQ(c.pkt(0, S, 4242, 0), sev_bit(kSevEstSynResendDiffSeq));
  EXPECT_EQ(c.pkt(1, S | A, 5000, 1001), 0u);  // the final ACK was lost: a plain resend
  EXPECT_EQ(c.pkt(1, S | A, 5555, 1001), sev_bit(kSevEstSynAckResendDiffSeq));
  EXPECT_EQ(c.pkt(1, A, 5001, 1001), 0u);  // the server ACKs: 3whs confirmed
  EXPECT_EQ(c.pkt(1, S | A, 5000, 1001), sev_bit(kSevEstSynAckResend));
  EXPECT_EQ(c.pkt(0, P | A, 1001, 5001, 10), 0u);
  EXPECT_EQ(c.pkt(1, A, 5001, 1011), 0u);  // client data acked: client.last_ack moves
  EXPECT_EQ(c.pkt(1, S | A, 5000, 1001), sev_bit(kSevEstSynAckResendDiffAck));
}

TEST(TcpTrack, ShutdownSynResend) {
  Conv c;
  c.handshake();
  c.pkt(0, F | A, 1001, 5001);
  EXPECT_EQ(c.t.phase, TcpPhase::kCloseWait);
  EXPECT_EQ(c.pkt(0, S, 1000, 0), sev_bit(kSevShutdownSynResend));
  EXPECT_EQ(c.pkt(1, S | A, 5000, 1001), sev_bit(kSevShutdownSynResend));
  EXPECT_EQ(c.pkt(1, S | A, 5099, 1001), 0u);  // another server ISN: may start anew
  EXPECT_EQ(c.pkt(1, S, 7000, 0), sev_bit(kSevShutdownSynResend));  // never a session starter
  EXPECT_EQ(c.pkt(0, S, 3000, 0), 0u);  // another ISN: Suricata may reuse the tuple
  // The FIN branch comes first: a FIN below the client's next_seq.
  EXPECT_EQ(c.pkt(0, S | F, 1000, 0), sev_bit(kSevCloseWaitFinOutOfWindow));
  c.pkt(1, R, 5001, 0);
  EXPECT_EQ(c.pkt(0, S, 1000, 0), 0u);  // closed
}

TEST(TcpTrack, SpuriousRetransmission) {
  Conv c;
  c.handshake();
  EXPECT_EQ(c.pkt(0, P | A, 1001, 5001, 100), 0u);
  EXPECT_EQ(c.pkt(0, P | A, 1001, 5001, 100), 0u);  // resent before the ACK: not spurious
  EXPECT_EQ(c.pkt(1, A, 5001, 1101), 0u);
  EXPECT_EQ(c.pkt(0, P | A, 1001, 5001, 100), sev_bit(kSevSpuriousRetransmission));
  EXPECT_EQ(c.pkt(0, P | A, 1051, 5001, 100), 0u);  // partly new
  EXPECT_EQ(c.pkt(1, A, 5001, 1151), 0u);
  EXPECT_EQ(c.pkt(0, A, 1150, 5001, 1), 0u);  // a one-byte keep-alive
}

TEST(TcpTrack, MidstreamPickup) {
  Conv c;  // first packet: client data, no handshake seen
  EXPECT_EQ(c.pkt(0, P | A, 7000, 9000, 20), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kEstablished);
  EXPECT_EQ(c.pkt(0, S, 6999, 0), sev_bit(kSevEstSynResend));  // ISN taken as seq - 1
  EXPECT_EQ(c.pkt(1, S, 8999, 0), sev_bit(kSevEstSynToClient));
  Conv off;
  off.cfg.midstream = false;
  EXPECT_EQ(off.pkt(0, P | A, 7000, 9000, 20), 0u);
  EXPECT_EQ(off.t.phase, TcpPhase::kNone);
  Conv sa;  // picked up at the SYN/ACK: the server sent it
  EXPECT_EQ(sa.pkt(1, S | A, 5000, 1001), 0u);
  EXPECT_EQ(sa.t.phase, TcpPhase::kSynRecv);
  EXPECT_EQ(sa.pkt(0, A, 1001, 5001), 0u);
  EXPECT_EQ(sa.t.phase, TcpPhase::kEstablished);
  Conv fin;  // a FIN without data is not picked up (fin_but_no_session)
  EXPECT_EQ(fin.pkt(0, F | A, 7000, 9000), 0u);
  EXPECT_EQ(fin.t.phase, TcpPhase::kNone);
}

constexpr uint64_t kInvalidAck = sev_bit(kSevPktInvalidAck);

// After handshake(): client next_seq/last_ack 1001, window 8192 (next_win
// 9193); server 5001, window 8192 (next_win 13193); no window scaling.

TEST(TcpTrack, ClientClosesFirst) {  // CLOSE_WAIT, LAST_ACK, CLOSED
  Conv c;
  c.handshake();
  EXPECT_EQ(c.pkt(0, F | A, 1001, 5001), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kCloseWait);
  EXPECT_EQ(c.pkt(1, A, 5001, 1002), 0u);
  EXPECT_EQ(c.pkt(1, P | A, 5001, 1002, 100), 0u);  // the server still sends (half close)
  EXPECT_EQ(c.pkt(0, A, 1002, 5101), 0u);
  EXPECT_EQ(c.pkt(1, F | A, 5101, 1002), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kLastAck);
  EXPECT_EQ(c.pkt(0, A, 1002, 5102), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kClosed);
}

TEST(TcpTrack, ServerClosesFirst) {  // FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSED
  Conv c;
  c.handshake();
  EXPECT_EQ(c.pkt(1, F | A, 5001, 1001), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kFinWait1);
  EXPECT_EQ(c.pkt(0, A, 1001, 5002), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kFinWait2);
  EXPECT_EQ(c.pkt(0, F | A, 1001, 5002), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kTimeWait);
  EXPECT_EQ(c.pkt(1, A, 5002, 1002), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kClosed);
  Conv sim;  // simultaneous: a bare FIN from the client in FIN_WAIT1 is CLOSING
  sim.handshake();
  sim.pkt(1, F | A, 5001, 1001);
  EXPECT_EQ(sim.pkt(0, F, 1001, 0), 0u);
  EXPECT_EQ(sim.t.phase, TcpPhase::kClosing);
  EXPECT_EQ(sim.pkt(1, A, 5002, 1002), 0u);
  EXPECT_EQ(sim.t.phase, TcpPhase::kTimeWait);
  EXPECT_EQ(sim.pkt(0, A, 1002, 5002), 0u);
  EXPECT_EQ(sim.t.phase, TcpPhase::kClosed);
}

TEST(TcpTrack, EstablishedAckAndFinChecks) {
  Conv c;
  c.handshake();
  EXPECT_EQ(c.pkt(0, A, 1001, 25001), sev_bit(kSevEstInvalidAck) | kInvalidAck);  // beyond next_win
  EXPECT_EQ(c.pkt(0, A, 1001, 5001 - 9000), sev_bit(kSevEstInvalidAck) | kInvalidAck);  // a window below
  EXPECT_EQ(c.pkt(0, A, 1001, 5001 - 100), 0u);  // old but within a window
  EXPECT_EQ(c.pkt(0, F | A, 1001, 90000), sev_bit(kSevFinInvalidAck) | kInvalidAck);
  EXPECT_EQ(c.pkt(0, F | A, 11001, 5001), sev_bit(kSevFinOutOfWindow));  // beyond next_win 9193
  EXPECT_EQ(c.pkt(0, F | A, 900, 5001), sev_bit(kSevFinOutOfWindow));    // below last_ack
  EXPECT_EQ(c.t.phase, TcpPhase::kEstablished);  // all rejected
  EXPECT_EQ(c.pkt(0, P | A, 10001, 5001, 100), sev_bit(kSevEstPacketOutOfWindow));  // ends past 9193
  EXPECT_EQ(c.pkt(0, P | A, 1001, 5001, 100), 0u);
  Conv mid;  // midstream: no window check
  mid.pkt(0, P | A, 7000, 9000, 20, 1);
  mid.pkt(1, A, 9000, 7020, 0, 1);
  EXPECT_EQ(mid.pkt(0, P | A, 7020 + 5000, 9000, 100, 1), 0u);
}

TEST(TcpTrack, RstValidation) {
  Conv c;
  c.handshake();
  EXPECT_EQ(c.pkt(0, R | A, 1001, 90000), sev_bit(kSevRstInvalidAck) | kInvalidAck);
  EXPECT_EQ(c.pkt(0, R, 5555, 0), 0u);  // not at next_seq: ignored (BSD policy)
  EXPECT_EQ(c.t.phase, TcpPhase::kEstablished);
  EXPECT_EQ(c.pkt(0, R | A, 1001, 5001, 10), sev_bit(kSevRstWithData));
  EXPECT_EQ(c.t.phase, TcpPhase::kClosed);
}

TEST(TcpTrack, BadWindowUpdate) {
  Conv c;
  c.handshake();
  // Ahead of both sides' next_seq, shrinking the window (8192 -> 100) by more
  // than its ack moved (499): flagged and skipped.
  EXPECT_EQ(c.pkt(0, A, 1500, 5500, 0, 100), sev_bit(kSevBadWindowUpdate));
  EXPECT_EQ(c.pkt(0, A, 1001, 5001, 0, 100), 0u);  // in order: a plain window update
}

TEST(TcpTrack, WindowScaling) {
  Conv on;  // both SYNs offer scaling: the server may send 1000 << 7 bytes past the ACK
  on.pkt(0, S, 1000, 0, 0, 1000, 7);
  on.pkt(1, S | A, 5000, 1001, 0, 1000, 7);
  on.pkt(0, A, 1001, 5001, 0, 1000);
  EXPECT_EQ(on.pkt(1, F | A, 105001, 1001), 0u);
  Conv off;  // the SYN/ACK does not: windows unscaled
  off.pkt(0, S, 1000, 0, 0, 1000, 7);
  off.pkt(1, S | A, 5000, 1001, 0, 1000);
  off.pkt(0, A, 1001, 5001, 0, 1000);
  EXPECT_EQ(off.pkt(1, F | A, 105001, 1001), sev_bit(kSevFinOutOfWindow));
}

TEST(TcpTrack, FinWait1Checks) {
  Conv c;
  c.handshake();
  c.pkt(1, F | A, 5001, 1001);  // the server's FIN: next_seq 5002
  EXPECT_EQ(c.pkt(0, A, 20000, 5002), sev_bit(kSevFin1AckWrongSeq));  // acks the FIN beyond the window
  EXPECT_EQ(c.pkt(0, A, 1001, 90000), sev_bit(kSevFin1InvalidAck) | kInvalidAck);
  EXPECT_EQ(c.pkt(0, F | A, 900, 5002), sev_bit(kSevFin1FinWrongSeq));
  EXPECT_EQ(c.pkt(0, F | A, 20000, 5002), sev_bit(kSevFin1FinWrongSeq));
  EXPECT_EQ(c.pkt(0, F | A, 1001, 90000), sev_bit(kSevFin1InvalidAck) | kInvalidAck);
  EXPECT_EQ(c.pkt(0, S, 1000, 0), sev_bit(kSevShutdownSynResend));
  EXPECT_EQ(c.pkt(0, S, 3000, 0), sev_bit(kSevShutdownSynResend));  // FIN_WAIT1 never reuses the tuple
  EXPECT_EQ(c.t.phase, TcpPhase::kFinWait1);
}

TEST(TcpTrack, FinWait2Checks) {
  Conv c;
  c.handshake();
  c.pkt(1, F | A, 5001, 1001);
  c.pkt(0, A, 1001, 5002);
  ASSERT_EQ(c.t.phase, TcpPhase::kFinWait2);
  EXPECT_EQ(c.pkt(0, F | A, 900, 5002), sev_bit(kSevFin2FinWrongSeq));
  EXPECT_EQ(c.pkt(0, F | A, 1001, 90000), sev_bit(kSevFin2InvalidAck) | kInvalidAck);
  EXPECT_EQ(c.pkt(0, A, 20000, 5002), sev_bit(kSevFin2AckWrongSeq));
  EXPECT_EQ(c.pkt(0, A, 1001, 90000), sev_bit(kSevFin2InvalidAck) | kInvalidAck);
  EXPECT_EQ(c.t.phase, TcpPhase::kFinWait2);
}

TEST(TcpTrack, CloseWaitChecks) {
  Conv c;
  c.handshake();
  c.pkt(0, F | A, 1001, 5001);
  c.pkt(1, A, 5001, 1002);  // acks the FIN: the client's next_seq 1002
  EXPECT_EQ(c.pkt(0, F | A, 1001, 5001), sev_bit(kSevCloseWaitFinOutOfWindow));  // the FIN again
  EXPECT_EQ(c.pkt(1, A, 14001, 1002), sev_bit(kSevCloseWaitAckOutOfWindow));     // past 5001 + 8192
  EXPECT_EQ(c.pkt(1, A, 5001, 50000), sev_bit(kSevCloseWaitInvalidAck) | kInvalidAck);
  EXPECT_EQ(c.pkt(1, P | A, 5001, 1002, 100), 0u);
  EXPECT_EQ(c.pkt(0, A, 1002, 5101), 0u);
  EXPECT_EQ(c.pkt(1, P | A, 5001, 1002, 100),
            sev_bit(kSevCloseWaitPktBeforeLastAck) | sev_bit(kSevSpuriousRetransmission));
  EXPECT_EQ(c.pkt(1, F | A, 4000, 1002), sev_bit(kSevCloseWaitFinOutOfWindow));  // below next_seq
  EXPECT_EQ(c.t.phase, TcpPhase::kCloseWait);
}

TEST(TcpTrack, ClosingChecks) {
  Conv c;
  c.handshake();
  c.pkt(1, F | A, 5001, 1001);
  c.pkt(0, F, 1001, 0);
  ASSERT_EQ(c.t.phase, TcpPhase::kClosing);
  EXPECT_EQ(c.pkt(1, A, 6000, 1002), sev_bit(kSevClosingAckWrongSeq));
  EXPECT_EQ(c.pkt(1, A, 5002, 90000), sev_bit(kSevClosingInvalidAck) | kInvalidAck);
  EXPECT_EQ(c.t.phase, TcpPhase::kClosing);
}

TEST(TcpTrack, LastAckChecks) {
  Conv c;
  c.handshake();
  c.pkt(0, F | A, 1001, 5001);
  c.pkt(1, F | A, 5001, 1002);
  ASSERT_EQ(c.t.phase, TcpPhase::kLastAck);
  EXPECT_EQ(c.pkt(0, A, 1500, 5002), sev_bit(kSevLastAckAckWrongSeq));
  EXPECT_EQ(c.pkt(0, A, 1002, 90000), sev_bit(kSevLastAckInvalidAck) | kInvalidAck);
  EXPECT_EQ(c.pkt(1, A, 7777, 1), 0u);  // to the client: not judged here
  EXPECT_EQ(c.pkt(0, S, 3000, 0), 0u);  // another ISN: Suricata reuses the tuple
  EXPECT_EQ(c.t.phase, TcpPhase::kLastAck);
}

TEST(TcpTrack, TimeWaitChecks) {
  Conv c;
  c.handshake();
  c.pkt(1, F | A, 5001, 1001);
  c.pkt(0, F | A, 1001, 5002);
  ASSERT_EQ(c.t.phase, TcpPhase::kTimeWait);
  EXPECT_EQ(c.pkt(1, A, 6000, 1002), sev_bit(kSevTimeWaitAckWrongSeq));
  EXPECT_EQ(c.pkt(1, A, 5002, 90000), sev_bit(kSevTimeWaitInvalidAck) | kInvalidAck);
  EXPECT_EQ(c.pkt(0, A, 1500, 5002), sev_bit(kSevTimeWaitAckWrongSeq));
  EXPECT_EQ(c.pkt(0, S, 3000, 0), sev_bit(kSevShutdownSynResend));  // TIME_WAIT never reuses
  EXPECT_EQ(c.t.phase, TcpPhase::kTimeWait);
}

// The path where Suricata's inline mode raises 3whs_ack_in_wrong_dir /
// 3whs_ack_data_inject (server data in SYN_RECV, the 3whs ACK missed) runs:
// the session is established from the server's packet and judged after it.
TEST(TcpTrack, MissedThreeWayAckPathRuns) {
  Conv c;
  c.pkt(0, S, 1000, 0);
  c.pkt(1, S | A, 5000, 1001);
  EXPECT_EQ(c.pkt(1, P | A, 5001, 1001, 12), 0u);
  ASSERT_EQ(c.t.phase, TcpPhase::kEstablished);
  EXPECT_EQ(c.t.next_seq[1], 5013u);
  EXPECT_EQ(c.pkt(0, A, 1001, 5013), 0u);
  EXPECT_EQ(c.pkt(1, P | A, 5001, 1001, 12), sev_bit(kSevSpuriousRetransmission));
}

TEST(TcpTrack, InvalidTimestamp) {
  Conv c;  // both SYNs carry timestamps: PAWS applies
  EXPECT_EQ(c.ts(0, S, 1000, 0, 100), 0u);
  EXPECT_EQ(c.ts(1, S | A, 5000, 1001, 900), 0u);
  EXPECT_EQ(c.ts(0, A, 1001, 5001, 101), 0u);
  EXPECT_EQ(c.ts(0, P | A, 1001, 5001, 105, 10), 0u);
  EXPECT_EQ(c.ts(0, P | A, 1011, 5001, 104, 10), sev_bit(kSevInvalidTimestamp));  // older than 105
  EXPECT_EQ(c.t.next_seq[0], 1011u);  // rejected: not taken
  EXPECT_EQ(c.ts(0, P | A, 1011, 5001, 0, 10), sev_bit(kSevInvalidTimestamp));  // zero (BSD policy)
  EXPECT_EQ(c.ts(0, P | A, 1011, 5001, 105, 10), 0u);  // equal is fine
  EXPECT_EQ(c.pkt(0, P | A, 1021, 5001, 10), 0u);      // no option: not checked
  EXPECT_EQ(c.ts(1, A, 5001, 1031, 899), sev_bit(kSevInvalidTimestamp));  // the server's own last is 900
  EXPECT_EQ(c.ts(1, S | A, 5000, 1001, 1), 0u);  // SYN/ACK branches are not PAWS-checked
  EXPECT_EQ(c.ts(0, F | A, 1031, 5001, 50), sev_bit(kSevInvalidTimestamp));  // nor is a FIN spared
  Conv one;  // only the client offered timestamps: no PAWS
  one.ts(0, S, 1000, 0, 100);
  one.pkt(1, S | A, 5000, 1001);
  one.ts(0, A, 1001, 5001, 101);
  EXPECT_EQ(one.ts(0, P | A, 1001, 5001, 5, 10), 0u);
  Conv mid;  // a midstream pickup takes TSval and TSecr
  EXPECT_EQ(mid.ts(0, P | A, 7000, 9000, 500, 10), 0u);
  EXPECT_EQ(mid.ts(0, P | A, 7010, 9000, 499, 10), sev_bit(kSevInvalidTimestamp));
}

TEST(TcpTrack, EstPktBeforeLastAck) {
  Conv c;
  c.handshake();
  EXPECT_EQ(c.pkt(0, P | A, 1001, 5001, 100), 0u);
  EXPECT_EQ(c.pkt(1, A, 5001, 1101), 0u);
  // Wholly below last_ack (ends at 1051 < 1101): rejected, also spurious.
  EXPECT_EQ(c.pkt(0, P | A, 1001, 5001, 50),
            sev_bit(kSevEstPktBeforeLastAck) | sev_bit(kSevSpuriousRetransmission));
  // Ending at last_ack: only spurious (Suricata's >= last_ack passes).
  EXPECT_EQ(c.pkt(0, P | A, 1051, 5001, 50), sev_bit(kSevSpuriousRetransmission));
  // The server acked data never seen, and next_seq stayed behind (as the
  // SYN_RECV path that takes such an ACK leaves it): data reaching past
  // next_seq is let by.
  Conv ahead;
  ahead.handshake();
  ahead.t.last_ack[0] = 1501;
  EXPECT_EQ(ahead.pkt(0, P | A, 1001, 5001, 100), sev_bit(kSevSpuriousRetransmission));
  EXPECT_EQ(ahead.pkt(0, P | A, 1001, 5001, 100),  // now next_seq is 1101: nothing new
            sev_bit(kSevSpuriousRetransmission) | sev_bit(kSevEstPktBeforeLastAck));
  Conv async;  // async sessions are not judged
  async.cfg.async_oneside = true;
  async.pkt(0, S, 1000, 0);
  async.pkt(0, A, 1001, 5001);
  EXPECT_EQ(async.t.flags & kTrkAsync, kTrkAsync);
  async.t.last_ack[0] = 2000;
  EXPECT_EQ(async.pkt(0, P | A, 1001, 5001, 10) & sev_bit(kSevEstPktBeforeLastAck), 0u);
}

TEST(TcpTrack, SynAckQueueAndFlood) {
  Conv c;
  c.pkt(0, S, 1000, 0);
  c.pkt(1, S | A, 5000, 1001);
  EXPECT_EQ(c.pkt(1, S | A, 5000, 1001), 0u);  // the same SYN/ACK again
  for (uint32_t k = 1; k <= kMaxSynAckQueued; k++) EXPECT_EQ(c.pkt(1, S | A, 5000 + 1000 * k, 1001), 0u);
  EXPECT_EQ(c.pkt(1, S | A, 5000 + 1000 * kMaxSynAckQueued, 1001), 0u);  // the last queued again
  EXPECT_EQ(c.pkt(1, S | A, 99000, 1001), sev_bit(kSevSynAckFlood));  // a 6th different one
  EXPECT_EQ(c.pkt(1, S | A, 98000, 1001), sev_bit(kSevSynAckFlood));
  EXPECT_EQ(c.pkt(1, S | A, 99000, 1234), sev_bit(kSevSynAckResendDiffAck));
  // The client acks the last queued SYN/ACK: the session follows it.
  const uint32_t q = 5000 + 1000 * kMaxSynAckQueued;
  EXPECT_EQ(c.pkt(0, A, 1001, q + 1), 0u);
  EXPECT_EQ(c.t.phase, TcpPhase::kEstablished);
  EXPECT_EQ(c.pkt(1, P | A, q + 1, 1001, 10), 0u);
}

TEST(TcpTrack, SuspectedRstInject) {
  Conv c;
  c.handshake();
  EXPECT_EQ(c.sig(1, R | A, 5001, 1001), 0u);  // a signed RST from the server: taken
  EXPECT_EQ(c.t.phase, TcpPhase::kClosed);
  EXPECT_EQ(c.pkt(0, A, 1001, 5001), 0u);                                 // the client: nothing
  EXPECT_EQ(c.pkt(1, R | A, 5001, 1001), 0u);                             // more RSTs are usual
  EXPECT_EQ(c.pkt(1, P | A, 5001, 1001, 10), sev_bit(kSevSuspectedRstInject));  // the "sender" goes on
  EXPECT_EQ(c.pkt(1, P | A, 5011, 1001, 10), 0u);                         // once per RST
  Conv plain;  // an unsigned RST is not tracked
  plain.handshake();
  plain.pkt(1, R | A, 5001, 1001);
  EXPECT_EQ(plain.pkt(1, P | A, 5001, 1001, 10), 0u);
  Conv bad;  // a signed RST the validation rejects (wrong seq) marks nothing
  bad.handshake();
  bad.sig(1, R | A, 7777, 1001);
  EXPECT_EQ(bad.t.phase, TcpPhase::kEstablished);
  EXPECT_EQ(bad.pkt(1, P | A, 5001, 1001, 10), 0u);
}

TEST(TcpTrack, NeverRaised) {
  // Loaded for rule sets, raised by no packet: Suricata itself queues a
  // SYN/ACK with another seq; a flow belongs to one worker (stream_events.h).
  Conv c;
  c.handshake();
  for (uint32_t k = 0; k < 50; k++) {
    c.pkt(k & 1, (k % 3 ? P : S) | A, 1000 + 7 * k, 5000 + 13 * k, uint16_t(k));
    EXPECT_EQ(c.pkt(1, S | A, 9000 + k, 1001) & (sev_bit(kSevSynAckResendDiffSeq) | sev_bit(kSevWrongThread)), 0u);
  }
}

}  // namespace
}  // namespace spectre
