// The flow's TCP state machine (flow/flow_tcp.h): handshake, midstream
// pickup on and off, async-oneside, RST, FINs, and the timeout class of each state.
#include <gtest/gtest.h>

#include "dataplane/flow/flow_tcp.h"

namespace spectre {
namespace {

Flow tcp_flow() {
  Flow f{};
  f.key.proto = 6;
  return f;
}

// As the flow stage: the packet is counted in its direction, then tracked.
void pkt(Flow& f, uint8_t flags, int dir, FlowTcpCfg cfg = {}) {
  f.pkts[dir]++;
  flow_tcp_track(f, flags, dir, cfg);
}

TEST(FlowTcp, ThreeWayHandshake) {
  Flow f = tcp_flow();
  pkt(f, kSyn, 0);
  EXPECT_EQ(f.tcp_state, TcpState::kSynSent);
  EXPECT_EQ(timeout_class(f), kTmoTcpNew);
  pkt(f, kSyn | kAck, 1);
  EXPECT_EQ(f.tcp_state, TcpState::kSynRecv);
  EXPECT_FALSE(f.flags & kFlowEstablished);
  pkt(f, kAck, 0);
  EXPECT_EQ(f.tcp_state, TcpState::kEstablished);
  EXPECT_TRUE(f.flags & kFlowEstablished);
  EXPECT_FALSE(f.flags & kFlowMidstream);
  EXPECT_EQ(timeout_class(f), kTmoTcpEstablished);
  EXPECT_EQ(f.tcp_flags_ts, kSyn | kAck);
  EXPECT_EQ(f.tcp_flags_tc, kSyn | kAck);
}

TEST(FlowTcp, SynAckFromTheClientSideDoesNotAdvance) {
  Flow f = tcp_flow();
  pkt(f, kSyn, 0);
  pkt(f, kSyn | kAck, 0);  // wrong direction
  EXPECT_EQ(f.tcp_state, TcpState::kSynSent);
  pkt(f, kSyn | kAck, 1);
  pkt(f, kAck, 1);  // the handshake's ACK comes from the client only
  EXPECT_EQ(f.tcp_state, TcpState::kSynRecv);
}

TEST(FlowTcp, MidstreamOnPicksUpEstablished) {
  Flow f = tcp_flow();
  pkt(f, kAck | kPsh, 0, {true, false});
  EXPECT_EQ(f.tcp_state, TcpState::kEstablished);
  EXPECT_TRUE(f.flags & kFlowEstablished);
  EXPECT_TRUE(f.flags & kFlowMidstream);
}

TEST(FlowTcp, MidstreamOffNeverEstablishes) {
  Flow f = tcp_flow();
  const FlowTcpCfg off{false, false};
  pkt(f, kAck | kPsh, 0, off);
  EXPECT_EQ(f.tcp_state, TcpState::kNone);
  EXPECT_TRUE(f.flags & kFlowMidstream);
  pkt(f, kAck, 1, off);
  pkt(f, kAck, 0, off);
  EXPECT_EQ(f.tcp_state, TcpState::kNone);
  EXPECT_FALSE(f.flags & kFlowEstablished);
  EXPECT_EQ(timeout_class(f), kTmoTcpNew);
}

TEST(FlowTcp, SynAckFirstNeedsMidstreamOrAsync) {
  Flow on = tcp_flow(), off = tcp_flow(), async = tcp_flow();
  pkt(on, kSyn | kAck, 0, {true, false});
  pkt(off, kSyn | kAck, 0, {false, false});
  pkt(async, kSyn | kAck, 0, {false, true});
  EXPECT_EQ(on.tcp_state, TcpState::kSynRecv);
  EXPECT_EQ(off.tcp_state, TcpState::kNone);
  EXPECT_TRUE(off.flags & kFlowMidstream);
  EXPECT_EQ(async.tcp_state, TcpState::kSynRecv);
}

TEST(FlowTcp, AsyncOnesideClientOnly) {
  Flow f = tcp_flow(), plain = tcp_flow();
  pkt(f, kSyn, 0, {true, true});
  pkt(f, kAck, 0, {true, true});
  EXPECT_EQ(f.tcp_state, TcpState::kEstablished);
  EXPECT_TRUE(f.flags & kFlowEstablished);
  pkt(plain, kSyn, 0);
  pkt(plain, kAck, 0);
  EXPECT_EQ(plain.tcp_state, TcpState::kSynSent);  // async off: waits for the SYN-ACK
}

TEST(FlowTcp, AsyncOnesideNotOnceTheOtherSideWasSeen) {
  Flow f = tcp_flow();
  pkt(f, kSyn, 0, {true, true});
  pkt(f, kAck, 1, {true, true});  // something from the server, not a SYN-ACK
  pkt(f, kAck, 0, {true, true});
  EXPECT_EQ(f.tcp_state, TcpState::kSynSent);
}

TEST(FlowTcp, AsyncOnesideServerOnly) {
  // The flow starts at the SYN-ACK (its sender is the server: direction 1).
  Flow f = tcp_flow(), plain = tcp_flow();
  pkt(f, kSyn | kAck, 1, {false, true});
  EXPECT_EQ(f.tcp_state, TcpState::kSynRecv);
  pkt(f, kAck, 1, {false, true});
  EXPECT_EQ(f.tcp_state, TcpState::kEstablished);
  EXPECT_TRUE(f.flags & kFlowEstablished);
  pkt(plain, kSyn | kAck, 1, {true, false});
  pkt(plain, kAck, 1, {true, false});
  EXPECT_EQ(plain.tcp_state, TcpState::kSynRecv);  // async off: waits for the client's ACK
}

TEST(FlowTcp, RstClosesFromAnyState) {
  Flow a = tcp_flow(), b = tcp_flow();
  pkt(a, kSyn, 0);
  pkt(a, kRst | kAck, 1);
  EXPECT_EQ(a.tcp_state, TcpState::kClosed);
  EXPECT_EQ(timeout_class(a), kTmoTcpClosed);
  EXPECT_EQ(a.tcp_flags_tc, kRst | kAck);
  pkt(b, kAck, 0);
  pkt(b, kRst, 0);
  EXPECT_EQ(b.tcp_state, TcpState::kClosed);
}

TEST(FlowTcp, FinBothWaysCloses) {
  Flow f = tcp_flow();
  pkt(f, kSyn, 0);
  pkt(f, kSyn | kAck, 1);
  pkt(f, kAck, 0);
  pkt(f, kFin | kAck, 1);  // the server closes first
  EXPECT_EQ(f.tcp_state, TcpState::kFinWait1);
  EXPECT_EQ(timeout_class(f), kTmoTcpClosing);
  EXPECT_TRUE(f.flags & kFlowFinToClient);
  EXPECT_FALSE(f.flags & kFlowFinToServer);
  pkt(f, kFin | kAck, 1);  // its FIN again: still one way
  EXPECT_EQ(f.tcp_state, TcpState::kFinWait1);
  pkt(f, kFin | kAck, 0);
  EXPECT_EQ(f.tcp_state, TcpState::kClosed);
  EXPECT_TRUE(f.flags & kFlowFinToServer);
  EXPECT_EQ(timeout_class(f), kTmoTcpClosed);

  Flow c = tcp_flow();  // the client closes first
  pkt(c, kAck, 0);
  pkt(c, kFin | kAck, 0);
  EXPECT_EQ(c.tcp_state, TcpState::kFinWait1);
  EXPECT_TRUE(c.flags & kFlowFinToServer);
  EXPECT_FALSE(c.flags & kFlowFinToClient);
  pkt(c, kFin | kAck, 1);
  EXPECT_EQ(c.tcp_state, TcpState::kClosed);
}

TEST(FlowTcp, TimeoutClassOfOtherProtocols) {
  Flow f{};
  f.key.proto = 17;
  EXPECT_EQ(timeout_class(f), kTmoUdp);
  f.key.proto = 1;
  EXPECT_EQ(timeout_class(f), kTmoIcmp);
  f.key.proto = 58;
  EXPECT_EQ(timeout_class(f), kTmoIcmp);
  f.key.proto = 132;
  EXPECT_EQ(timeout_class(f), kTmoOther);
}

}  // namespace
}  // namespace spectre
