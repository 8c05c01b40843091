// TCP reassembly counters (see dataplane/core/counter_def.h).
#pragma once

#define SPECTRE_STREAM_COUNTERS(X)                                                                   \
  X(segments, "stream.segments", kCounter, "TCP segments reassembled.")                              \
  X(bytes_delivered, "stream.bytes", kCounter, "Stream bytes delivered to inspection.")              \
  X(ooo_segments, "stream.ooo_segments", kCounter, "Segments ahead of the next expected byte.")      \
  X(retransmits, "stream.retransmits", kCounter, "Segments of old data, same bytes.")                \
  X(overlap_diff, "stream.overlap_diff", kCounter, "Old data with different bytes (first wins).")    \
  X(gaps, "stream.gaps", kCounter, "Holes skipped.")                                                 \
  X(gap_bytes, "stream.gap_bytes", kCounter, "Bytes of the holes skipped.")                          \
  X(ooo_limit_gaps, "stream.ooo_limit_gaps", kCounter, "Holes skipped: out-of-order buffer full.")   \
  X(depth_reached, "stream.depth_reached", kCounter, "Directions that hit the reassembly depth.")    \
  X(pool_empty, "stream.pool_empty", kCounter, "Segments that found no free chunk.")                 \
  X(before_base, "stream.before_base", kCounter, "Retransmits wholly before the delivered data.")    \
  X(no_syn, "stream.no_syn", kCounter, "Data segments dropped: no SYN seen, midstream off.")
