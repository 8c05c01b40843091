// TCP session tracker for stream events: Suricata's TCP state machine
// (stream-tcp.c, IDS mode) reduced to what its stream events judge, per flow,
// in the worker's session slot.
//
// Per side it keeps Suricata's ISN, next_seq, last_ack, window (scaled) and
// next_win, and the session state as a phase:
//   kNone: nothing tracked yet (Suricata's "no session")
//   kSynSent .. kTimeWait, kClosed: Suricata's states of the same names. A FIN
//     from the client first leads to CLOSE_WAIT (then LAST_ACK), one from the
//     server to FIN_WAIT1 (then FIN_WAIT2 / CLOSING, TIME_WAIT), as Suricata
//     names them; a RST accepted by its validation closes.
// Per packet, in Suricata's order: the keep-alive skip, the bad-window-update
// check, the spurious-retransmission test, then the phase's handler (RST, FIN,
// SYN/ACK, SYN, ACK). A packet a check rejects raises the event and leaves the
// state as it was, as Suricata's "return -1".
// Also judged: PAWS (pkt_invalid_timestamp, when both SYNs carried the
// timestamp option: a TSval of 0 or below the sender's last one, as Suricata's
// default BSD policy; its 24-day idle exception is not modelled), data wholly
// below last_ack (est_pkt_before_last_ack), Suricata's SYN/ACK queue as a count
// (3whs_synack_flood when a 6th different SYN/ACK comes; the last queued seq is
// kept, so a 3whs ACK for it is followed, an older queued one is not), and
// RSTs carrying TCP-MD5/AO signatures (suspected_rst_inject when their sender
// goes on sending). Not modelled: zero-window probe ACKs (est_ack_zwp_data),
// the SYN queue, OS policies (RSTs are validated as Suricata's BSD and windows
// policies do, seq == next_seq; its Linux policy, a window of seqs, is not).
// Midstream and async pickups assume the largest window scale (14), so their
// windows never reject, as Suricata's midstream flag skips its window checks.
//
// Cost (bench/micro/micro_tcp_track.cc; `spectre-micro --benchmark_filter=
// tcp_track --benchmark_repetitions=5 --benchmark_format=json`, medians on the
// 2-core test machine at load 8-9): 7.8 ns CPU (~20 cycles) per established
// data or ACK packet, 9.8 ns per packet with handshakes and closes; the
// tracker without windows, ACK checks and close states took 5.0 and 6.2 ns
// (+7 / +9 cycles). PAWS, the SYN/ACK count, signed RSTs and the before-
// last_ack check (44 -> 60 bytes): 8.7 and 9.0 ns against 7.4 and 8.1 ns,
// medians of three alternating runs of each build at load 12.5-12.9 (noisy:
// single runs spread 7.2-9.5 ns). No allocation.
#pragma once
#include <cstdint>

namespace spectre {

enum class TcpPhase : uint8_t {
  kNone, kSynSent, kSynRecv, kEstablished,
  kFinWait1, kFinWait2, kClosing, kCloseWait, kLastAck, kTimeWait, kClosed
};

enum TcpTrackFlags : uint8_t {
  kTrk4whs = 1,         // a SYN came back from the server in SYN_SENT (4-way handshake)
  kTrkConfirmed = 2,    // the server sent an ACK in ESTABLISHED (3whs confirmed)
  kTrkTfo = 4,          // data on the client's SYN (TCP Fast Open)
  kTrkMidSynAck = 8,    // picked up at a SYN/ACK (midstream or async)
  kTrkMidstream = 16,   // picked up without the client's SYN
  kTrkAsync = 32,       // stream.async_oneside applied
  kTrkSynWscale = 64,   // the client's SYN offered window scaling (wscale[1] holds it)
  kTrkSynTs = 128,      // the client's SYN carried the timestamp option
};

enum TcpTrackFlags2 : uint8_t {
  kTrk2Ts = 1,          // both SYNs carried timestamps: PAWS applies (Suricata's FLAG_TIMESTAMP)
  kTrk2RstRecv = 2,     // << d: side d received a signed (MD5/AO) RST (Suricata's RST_RECV)
};
constexpr uint8_t kMaxSynAckQueued = 5;  // Suricata's stream.max-synack-queued default

// 60 bytes; zero-initialised is kNone. [0] client (to server), [1] server.
struct TcpTrack {
  uint32_t isn[2];
  uint32_t next_seq[2];   // next sequence number expected from each side
  uint32_t last_ack[2];   // [d]: highest ack the peer sent for side d's data
  uint32_t next_win[2];   // [d]: right edge of d's send window (last_ack + window, never moves back)
  uint32_t window[2];     // [d]: the window the peer last advertised for d's data, scaled
  TcpPhase phase;
  uint8_t flags;
  uint8_t wscale[2];      // [d]: shift of the windows the peer advertises for d's data
  uint32_t last_ts[2];    // [d]: the last TSval accepted from side d (PAWS)
  uint32_t synack_seq;    // the last different SYN/ACK seq queued in SYN_RECV
  uint8_t synacks;        // different SYN/ACKs queued in SYN_RECV (up to kMaxSynAckQueued)
  uint8_t flags2;         // TcpTrackFlags2
};

struct TcpTrackPkt {
  uint32_t seq, ack;
  uint16_t win;
  uint16_t len;    // payload bytes
  uint8_t flags;   // TCP flags
  uint8_t wscale = 0xff;  // the window scale option (SYN, SYN/ACK); 0xff: absent
  bool has_ts = false;    // the timestamp option is present
  bool signed_opt = false;  // a TCP-MD5 (RFC 2385) or TCP-AO (RFC 5925) option is present
  uint32_t tsval = 0, tsecr = 0;
};

struct TcpTrackCfg {
  bool midstream = true;
  bool async_oneside = false;
};

// One packet in direction dir (0: to server): updates t and returns the
// stream-event bits it raises (sev_bit of stream/stream_events.h).
uint64_t tcp_track(TcpTrack& t, const TcpTrackPkt& p, int dir, const TcpTrackCfg& cfg);

namespace tcp_track_internal {
// The close states' handlers (tcp_track_close.cc).
uint64_t close_state(TcpTrack& t, const TcpTrackPkt& p, int dir);
// Shared helpers (tcp_track.cc).
bool ack_valid(const TcpTrack& t, const TcpTrackPkt& p, int o);
uint64_t rst(TcpTrack& t, const TcpTrackPkt& p, int dir);
void take_ack(TcpTrack& t, const TcpTrackPkt& p, int dir);
}  // namespace tcp_track_internal

}  // namespace spectre
