// TCP session tracker for stream events: the part of Suricata's TCP state
// machine (stream-tcp.c, IDS mode) that judges SYN / SYN-ACK anomalies and
// the handshake's ACK, per flow, in the worker's session slot.
//
// It mirrors Suricata's per-side ISN, next_seq (during the handshake) and
// last_ack, and its state as a phase:
//   kNone: nothing tracked yet (Suricata's "no session")
//   kSynSent / kSynRecv / kEstablished: as Suricata's states
//   kClosing: a FIN was seen (FIN_WAIT1 .. TIME_WAIT; Suricata's close states
//             differ only in which FIN/ACK it waits for, not judged here)
//   kClosed: RST, or FINs both ways
// Not modelled (their events are refused at compile, docs/ARCHITECTURE.md):
// windows after the handshake, ACK validation, timestamps, RST validation,
// the close states' sequence checks, the SYN/ACK queue. A FIN or RST is
// taken as accepted (Suricata may reject an out-of-window one and stay).
//
// Cost: an established data/ACK packet takes one out-of-line call, a switch,
// the spurious-retransmission test and two serial compares with stores
// (next_seq, last_ack): ~26 TSC cycles (10 ns) per packet measured on the
// 2-core test machine under load (report of branch s25-stream); SYN, FIN and
// RST packets and the handshake a few compares more. No allocation.
#pragma once
#include <cstdint>

namespace spectre {

enum class TcpPhase : uint8_t { kNone, kSynSent, kSynRecv, kEstablished, kClosing, kClosed };

enum TcpTrackFlags : uint8_t {
  kTrk4whs = 1,         // a SYN came back from the server in SYN_SENT (4-way handshake)
  kTrkConfirmed = 2,    // the server sent an ACK in ESTABLISHED (3whs confirmed)
  kTrkTfo = 4,          // data on the client's SYN (TCP Fast Open)
  kTrkMidSynAck = 8,    // picked up at a SYN/ACK (midstream or async)
  kTrkMidstream = 16,   // picked up without the client's SYN
  kTrkAsync = 32,       // stream.async_oneside applied
  kTrkFin0 = 64, kTrkFin1 = 128,  // FIN seen from the client / server
};

// 28 bytes; zero-initialised is kNone. [0] client (to server), [1] server.
struct TcpTrack {
  uint32_t isn[2];
  uint32_t next_seq[2];   // next sequence number expected from each side (handshake, then kept by data)
  uint32_t last_ack[2];   // [d]: highest ack the peer sent for side d's data
  uint32_t next_win0;     // SYN_RECV: client.last_ack + the SYN/ACK's window (Suricata's client.next_win)
  TcpPhase phase;
  uint8_t flags;
};

struct TcpTrackPkt {
  uint32_t seq, ack;
  uint16_t win;
  uint16_t len;    // payload bytes
  uint8_t flags;   // TCP flags
};

struct TcpTrackCfg {
  bool midstream = true;
  bool async_oneside = false;
};

// One packet in direction dir (0: to server): updates t and returns the
// stream-event bits it raises (sev_bit of stream/stream_events.h).
uint64_t tcp_track(TcpTrack& t, const TcpTrackPkt& p, int dir, const TcpTrackCfg& cfg);

}  // namespace spectre
