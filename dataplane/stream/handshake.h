// Three-way-handshake anomalies that Suricata's TCP state machine reports as
// stream events in IDS mode (StreamTcpPacketStateSynSent / SynRecv), judged
// from the two directions' reassembly state before the packet is added.
// A few compares per SYN-bearing packet; nothing for other packets.
#pragma once

#include <cstdint>

#include "dataplane/stream/reassembly.h"

namespace spectre {

enum HandshakeEvent : uint8_t {
  kHsSynAckWrongDir = 1,           // 3whs_synack_in_wrong_direction: SYN/ACK from the client
  kHsSynAckWrongAck = 2,           // 3whs_synack_with_wrong_ack: ack != client ISN + 1
  kHsSynAckToServerOnSynRecv = 4,  // 3whs_synack_toserver_on_syn_recv
  kHsSynToClientOnSynRecv = 8,     // 3whs_syn_toclient_on_syn_recv
  kHsSynResendDiffSeq = 16,        // 3whs_syn_resend_diff_seq_on_syn_recv: client SYN, another ISN
};

// sd: [0] client, [1] server direction, before this packet's segment;
// established: the flow's handshake completed (a SYN-bearing packet never
// completes it). SYN_SENT is "client SYN seen, no server SYN"; SYN_RECV
// "both seen, not established".
inline uint8_t handshake_events(const StreamDir sd[2], bool established, int dir, uint8_t tcp_flags,
                                uint32_t seq, uint32_t ack) {
  constexpr uint8_t kSyn = 0x02, kAck = 0x10, kRst = 0x04;
  if (!(tcp_flags & kSyn) || (tcp_flags & kRst) || established || !(sd[0].state & kStreamSyn)) return 0;
  const bool synack = tcp_flags & kAck;
  // The client ISN is known while its SYN carried no data (TFO: Suricata
  // accepts other acks there) and nothing followed.
  const bool isn_known = sd[0].delivered == 0 && sd[0].ooo_head == 0;
  const uint32_t client_isn1 = sd[0].next_seq;  // ISN + 1 when isn_known
  if (!(sd[1].state & kStreamSyn)) {            // SYN_SENT
    if (synack && dir == 0) return kHsSynAckWrongDir;
    if (synack && dir == 1 && isn_known && ack != client_isn1) return kHsSynAckWrongAck;
    return 0;
  }
  if (synack) return dir == 0 ? kHsSynAckToServerOnSynRecv : 0;  // SYN_RECV
  if (dir == 1) return kHsSynToClientOnSynRecv;
  return isn_known && seq != client_isn1 - 1 ? kHsSynResendDiffSeq : 0;
}

}  // namespace spectre
