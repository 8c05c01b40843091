// Handshake stream events (Suricata's 3whs_* in IDS mode) from a generated
// packet sequence: each packet is judged on the reassembly state before it
// is added, then added (as inspect_packet does).
#include <gtest/gtest.h>

#include "dataplane/stream/handshake.h"
#include "tests/unit/stream/stream_util.h"

namespace spectre {
namespace {

using namespace stest;

struct Conv {
  SegmentPool pool{64, 256};
  StreamConfig cfg{};
  StreamDir sd[2]{};
  StreamCounters ctr{};
  Sink sink;
  bool established = false;
  // One packet in direction dir: its events, then its segment.
  uint8_t pkt(int dir, uint8_t flags, uint32_t seq, uint32_t ack, const std::string& data = "") {
    uint8_t ev = handshake_events(sd, established, dir, flags, seq, ack);
    stream_segment(sd[dir], pool, cfg, seq, flags, reinterpret_cast<const uint8_t*>(data.data()),
                   uint32_t(data.size()), ctr, &Sink::cb, &sink);
    if (dir == 0 && (flags & (kSyn | kAck)) == kAck && (sd[1].state & kStreamSyn)) established = true;
    return ev;
  }
  ~Conv() {
    stream_release(sd[0], pool);
    stream_release(sd[1], pool);
  }
};

TEST(StreamHandshake, NormalHandshakeRaisesNothing) {
  Conv c;
  EXPECT_EQ(c.pkt(0, kSyn, 1000, 0), 0);
  EXPECT_EQ(c.pkt(1, kSyn | kAck, 5000, 1001), 0);
  EXPECT_EQ(c.pkt(0, kAck, 1001, 5001), 0);
  EXPECT_EQ(c.pkt(0, kAck, 1001, 5001, "GET / HTTP/1.0\r\n\r\n"), 0);
  EXPECT_EQ(c.pkt(0, kSyn, 1000, 0), 0);  // a SYN after the handshake: not a 3whs event
  EXPECT_EQ(c.pkt(0, kSyn, 1000, 0), 0);
}

TEST(StreamHandshake, SynAckInWrongDirection) {
  Conv c;
  c.pkt(0, kSyn, 1000, 0);
  EXPECT_EQ(c.pkt(0, kSyn | kAck, 1000, 1), kHsSynAckWrongDir);
}

TEST(StreamHandshake, SynAckWithWrongAck) {
  Conv c;
  c.pkt(0, kSyn, 1000, 0);
  EXPECT_EQ(c.pkt(1, kSyn | kAck, 5000, 1234), kHsSynAckWrongAck);
  Conv ok;
  ok.pkt(0, kSyn, 0xffffffffu, 0);  // ISN + 1 wraps
  EXPECT_EQ(ok.pkt(1, kSyn | kAck, 5000, 0), 0);
  Conv tfo;  // data on the SYN (TCP Fast Open): the ack is not checked
  tfo.pkt(0, kSyn, 1000, 0, "hello");
  EXPECT_EQ(tfo.pkt(1, kSyn | kAck, 5000, 1001), 0);
}

TEST(StreamHandshake, SynRecvAnomalies) {
  Conv c;
  c.pkt(0, kSyn, 1000, 0);
  c.pkt(1, kSyn | kAck, 5000, 1001);
  EXPECT_EQ(c.pkt(0, kSyn | kAck, 1000, 5001), kHsSynAckToServerOnSynRecv);
  EXPECT_EQ(c.pkt(1, kSyn, 5000, 0), kHsSynToClientOnSynRecv);
  EXPECT_EQ(c.pkt(0, kSyn, 1000, 0), 0);  // the same SYN again: a plain resend
  EXPECT_EQ(c.pkt(0, kSyn, 7777, 0), kHsSynResendDiffSeq);
  EXPECT_EQ(c.pkt(1, kSyn | kAck, 5000, 1001), 0);  // SYN/ACK resent to the client
  EXPECT_EQ(c.pkt(0, kSyn | kRst, 1000, 0), 0);      // RST: not a handshake packet
  c.pkt(0, kAck, 1001, 5001);
  EXPECT_EQ(c.pkt(0, kSyn | kAck, 1000, 5001), 0);  // established
}

}  // namespace
}  // namespace spectre
