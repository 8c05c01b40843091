// The flow's own TCP state (Flow::tcp_state: timeouts, EVE tcp.state,
// flow:established), moved here from the worker. Not the session tracker of
// stream/tcp_track.h, which judges stream events on sequence numbers.
// Header-only: called per TCP packet by the worker's flow stage.
#pragma once
#include <cstdint>

#include "dataplane/decode/packet.h"
#include "dataplane/flow/flow.h"

namespace spectre {

// The flow state's share of the stream settings (StreamConfig's midstream and async_oneside).
struct FlowTcpCfg {
  bool midstream = true;
  bool async_oneside = false;
};

// Timeout class (LRU list) of a flow in its current state.
inline uint8_t timeout_class(const Flow& f) {
  switch (f.key.proto) {
    case 6:
      switch (f.tcp_state) {
        case TcpState::kEstablished: return kTmoTcpEstablished;
        case TcpState::kFinWait1: return kTmoTcpClosing;
        case TcpState::kClosed: return kTmoTcpClosed;
        default: return kTmoTcpNew;
      }
    case 17: return kTmoUdp;
    case 1: case 58: return kTmoIcmp;
    default: return kTmoOther;
  }
}

// Handshake tracking for one packet with TCP flags `fl` in direction `dir`
// (0: to server), after the flow stage counted it in f.pkts. `cfg.midstream`
// off: a flow first seen without SYN (a SYN-ACK too, unless async-oneside) is
// never established (Suricata creates no session for it).
// `cfg.async_oneside` on: a handshake of which only one side is seen (SYN then
// more client packets, or SYN-ACK then more server packets) becomes
// established, as Suricata's stream.async-oneside.
// RST or FINs both ways close the flow; one FIN: fin_wait1.
inline void flow_tcp_track(Flow& f, uint8_t fl, int dir, FlowTcpCfg cfg) {
  if (dir == 0) f.tcp_flags_ts |= fl; else f.tcp_flags_tc |= fl;
  if (fl & kRst) {
    f.tcp_state = TcpState::kClosed;
    return;
  }
  const bool syn = fl & kSyn;
  switch (f.tcp_state) {
    case TcpState::kNone:  // first packet of the flow (or every packet: midstream off)
      if ((fl & (kSyn | kAck)) == kSyn) f.tcp_state = TcpState::kSynSent;
      // A SYN-ACK starts a session only with midstream or async-oneside (Suricata 7).
      else if ((fl & (kSyn | kAck)) == (kSyn | kAck) && (cfg.midstream || cfg.async_oneside))
        f.tcp_state = TcpState::kSynRecv;
      else if (cfg.midstream) { f.tcp_state = TcpState::kEstablished; f.flags |= kFlowMidstream | kFlowEstablished; }
      else f.flags |= kFlowMidstream;
      break;
    case TcpState::kSynSent:
      if (dir == 1 && (fl & (kSyn | kAck)) == (kSyn | kAck)) f.tcp_state = TcpState::kSynRecv;
      else if (cfg.async_oneside && dir == 0 && !syn && !f.pkts[1]) {
        f.tcp_state = TcpState::kEstablished;
        f.flags |= kFlowEstablished;
      }
      break;
    case TcpState::kSynRecv:
      if (dir == 0 && (fl & (kSyn | kAck)) == kAck) {
        f.tcp_state = TcpState::kEstablished;
        f.flags |= kFlowEstablished;
      } else if (cfg.async_oneside && dir == 1 && !syn && !f.pkts[0]) {
        f.tcp_state = TcpState::kEstablished;
        f.flags |= kFlowEstablished;
      }
      break;
    default: break;
  }
  if (fl & kFin) {
    f.flags |= dir == 0 ? kFlowFinToServer : kFlowFinToClient;
    if ((f.flags & kFlowFinToServer) && (f.flags & kFlowFinToClient)) f.tcp_state = TcpState::kClosed;
    else if (f.tcp_state != TcpState::kClosed) f.tcp_state = TcpState::kFinWait1;
  }
}

}  // namespace spectre
