// TCP stream events this engine raises on a packet: Suricata's stream-event
// names (its rules/stream-events.rules), one bit each in a 64-bit mask
// (DetectPacket::stream_events). Names not listed are refused at rule compile
// (detect/extra_checks.cc says why: stream_event_unsupported_reason).
#pragma once
#include <cstdint>

namespace spectre {

#define SPECTRE_STREAM_EVENTS(X)                                                          \
  /* reassembly (core/inspect.cc ReasmMark) */                                            \
  X(kSevRetransmission, "pkt_retransmission")          /* old data, same bytes */         \
  X(kSevOverlapDiff, "reassembly_overlap_different_data")                                 \
  X(kSevSeqGap, "reassembly_seq_gap")                  /* a hole was skipped */           \
  X(kSevDepthReached, "reassembly_depth_reached")      /* this segment reached depth */   \
  X(kSevBeforeBaseSeq, "reassembly_segment_before_base_seq") /* wholly before kept data */   \
  /* by flags alone (core/inspect.cc tcp_flag_events) */                                  \
  X(kSevFinSyn, "fin_syn")                             /* FIN and SYN together */         \
  X(kSevBrokenAck, "pkt_broken_ack")                   /* ack field set, ACK flag not */  \
  X(kSevRstNoSession, "rst_but_no_session")            /* RST, no session (state none) */ \
  X(kSevFinNoSession, "fin_but_no_session")            /* FIN, no session picked up */    \
  /* the session tracker (stream/tcp_track.h) */                                          \
  X(kSevSynAckWrongDir, "3whs_synack_in_wrong_direction")                                 \
  X(kSevSynAckWrongAck, "3whs_synack_with_wrong_ack")                                     \
  X(kSevSynAckToServerOnSynRecv, "3whs_synack_toserver_on_syn_recv")                      \
  X(kSevSynToClientOnSynRecv, "3whs_syn_toclient_on_syn_recv")                            \
  X(kSevSynResendDiffSeq, "3whs_syn_resend_diff_seq_on_syn_recv")                         \
  X(kSevSynAckResendDiffAck, "3whs_synack_resend_with_different_ack")                     \
  X(kSevSynAckResendDiffSeq, "3whs_synack_resend_with_diff_seq") /* never: queued instead */ \
  X(kSevSynAckFlood, "3whs_synack_flood")              /* a 6th different SYN/ACK */      \
  X(kSevSynAckTfoDataIgnored, "3whs_synack_tfo_data_ignored")                             \
  X(kSevRightSeqWrongAck, "3whs_right_seq_wrong_ack_evasion")                             \
  X(kSevWrongSeqWrongAck, "3whs_wrong_seq_wrong_ack")                                     \
  X(kSevAsyncWrongSeq, "3whs_async_wrong_seq")                                            \
  X(kSevAckInWrongDir, "3whs_ack_in_wrong_dir")        /* IPS only: never in IDS mode */  \
  X(kSevAckDataInject, "3whs_ack_data_inject")         /* IPS only: never in IDS mode */  \
  X(kSev4whsSynAckWrongAck, "4whs_synack_with_wrong_ack")                                 \
  X(kSev4whsSynAckWrongSyn, "4whs_synack_with_wrong_syn")                                 \
  X(kSev4whsWrongSeq, "4whs_wrong_seq")                                                   \
  X(kSevEstSynAckToServer, "est_synack_toserver")                                         \
  X(kSevEstSynAckResendDiffAck, "est_synack_resend_with_different_ack")                   \
  X(kSevEstSynAckResendDiffSeq, "est_synack_resend_with_diff_seq")                        \
  X(kSevEstSynAckResend, "est_synack_resend")                                             \
  X(kSevEstSynToClient, "est_syn_toclient")                                               \
  X(kSevEstSynResendDiffSeq, "est_syn_resend_diff_seq")                                   \
  X(kSevEstSynResend, "est_syn_resend")                                                   \
  X(kSevShutdownSynResend, "shutdown_syn_resend")                                         \
  X(kSevSpuriousRetransmission, "pkt_spurious_retransmission")                           \
  X(kSevEstPktBeforeLastAck, "est_pkt_before_last_ack") /* data wholly below last_ack */  \
  X(kSevInvalidTimestamp, "pkt_invalid_timestamp")     /* PAWS (RFC 7323), BSD policy */  \
  X(kSevSuspectedRstInject, "suspected_rst_inject")    /* sender of a signed RST goes on */ \
  X(kSevWrongThread, "wrong_thread")                   /* never: one worker owns a flow */ \
  /* RST, FIN and ACK validation (Suricata's ValidateRst / HandleFin / ValidateAck) */  \
  X(kSevPktInvalidAck, "pkt_invalid_ack")              /* with every *_invalid_ack */     \
  X(kSevRstInvalidAck, "rst_invalid_ack")                                                 \
  X(kSevRstWithData, "rst_with_data")                                                     \
  X(kSevEstInvalidAck, "est_invalid_ack")                                                 \
  X(kSevEstPacketOutOfWindow, "est_packet_out_of_window")                                 \
  X(kSev4whsInvalidAck, "4whs_invalid_ack")                                               \
  X(kSevFinInvalidAck, "fin_invalid_ack")                                                 \
  X(kSevFinOutOfWindow, "fin_out_of_window")                                              \
  X(kSevBadWindowUpdate, "pkt_bad_window_update")                                         \
  /* the close states */                                                                  \
  X(kSevFin1AckWrongSeq, "fin1_ack_wrong_seq")                                            \
  X(kSevFin1FinWrongSeq, "fin1_fin_wrong_seq")                                            \
  X(kSevFin1InvalidAck, "fin1_invalid_ack")                                               \
  X(kSevFin2AckWrongSeq, "fin2_ack_wrong_seq")                                            \
  X(kSevFin2FinWrongSeq, "fin2_fin_wrong_seq")                                            \
  X(kSevFin2InvalidAck, "fin2_invalid_ack")                                               \
  X(kSevCloseWaitFinOutOfWindow, "closewait_fin_out_of_window")                           \
  X(kSevCloseWaitAckOutOfWindow, "closewait_ack_out_of_window")                           \
  X(kSevCloseWaitPktBeforeLastAck, "closewait_pkt_before_last_ack")                       \
  X(kSevCloseWaitInvalidAck, "closewait_invalid_ack")                                     \
  X(kSevClosingAckWrongSeq, "closing_ack_wrong_seq")                                      \
  X(kSevClosingInvalidAck, "closing_invalid_ack")                                         \
  X(kSevLastAckAckWrongSeq, "lastack_ack_wrong_seq")                                      \
  X(kSevLastAckInvalidAck, "lastack_invalid_ack")                                         \
  X(kSevTimeWaitAckWrongSeq, "timewait_ack_wrong_seq")                                    \
  X(kSevTimeWaitInvalidAck, "timewait_invalid_ack")

enum StreamEvent : uint8_t {
#define SPECTRE_X(id, name) id,
  SPECTRE_STREAM_EVENTS(SPECTRE_X)
#undef SPECTRE_X
  kStreamEventCount
};
static_assert(kStreamEventCount <= 64, "stream events are bits of a uint64_t");

constexpr uint64_t sev_bit(StreamEvent e) { return uint64_t(1) << e; }

}  // namespace spectre
