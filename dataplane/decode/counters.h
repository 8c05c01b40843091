// Decoder and defragmentation counters (see dataplane/core/counter_def.h).
#pragma once

// DecodeCounters; malformed[] (stats.decoder.event.*) is written by hand.
#define SPECTRE_DECODE_COUNTERS(X)                                                      \
  X(pkts, "decoder.pkts", kCounter, "Packets decoded.")                                  \
  X(bytes, "decoder.bytes", kCounter, "Bytes decoded (whole frames).")                   \
  X(malformed_total, "decoder.invalid", kCounter, "Packets with a decoder event.")       \
  X(ethernet, "decoder.ethernet", kCounter, "Ethernet frames.")                          \
  X(vlan, "decoder.vlan", kCounter, "Frames with a VLAN tag.")                           \
  X(vlan_qinq, "decoder.vlan_qinq", kCounter, "Frames with two VLAN tags.")             \
  X(ipv4, "decoder.ipv4", kCounter, "IPv4 packets.")                                     \
  X(ipv6, "decoder.ipv6", kCounter, "IPv6 packets.")                                     \
  X(tcp, "decoder.tcp", kCounter, "TCP packets.")                                        \
  X(udp, "decoder.udp", kCounter, "UDP packets.")                                        \
  X(icmpv4, "decoder.icmpv4", kCounter, "ICMPv4 packets.")                               \
  X(icmpv6, "decoder.icmpv6", kCounter, "ICMPv6 packets.")                               \
  X(other_ip, "decoder.other_ip", kCounter, "IP packets of another protocol.")          \
  X(not_ip, "decoder.not_ip", kCounter, "Frames that are not IP.")                      \
  X(ipv4_frags, "decoder.ipv4_frags", kCounter, "IPv4 fragments.")                      \
  X(ipv6_frags, "decoder.ipv6_frags", kCounter, "IPv6 fragments.")                      \
  X(sctp, "decoder.sctp", kCounter, "SCTP packets.")                                     \
  X(arp, "decoder.arp", kCounter, "ARP frames.")                                         \
  X(ppp, "decoder.ppp", kCounter, "PPP frames.")                                         \
  X(pppoe, "decoder.pppoe", kCounter, "PPPoE frames.")                                   \
  X(chdlc, "decoder.chdlc", kCounter, "Cisco HDLC frames.")                              \
  X(gre, "decoder.gre", kCounter, "GRE packets.")                                        \
  X(erspan, "decoder.erspan", kCounter, "ERSPAN packets.")                               \
  X(vxlan, "decoder.vxlan", kCounter, "VXLAN packets.")                                  \
  X(geneve, "decoder.geneve", kCounter, "Geneve packets.")                               \
  X(teredo, "decoder.teredo", kCounter, "Teredo packets.")                               \
  X(ipv4_in_ipv4, "decoder.ipv4_in_ipv4", kCounter, "IPv4 in IPv4 packets.")            \
  X(ipv6_in_ipv4, "decoder.ipv6_in_ipv4", kCounter, "IPv6 in IPv4 packets.")            \
  X(ipv4_in_ipv6, "decoder.ipv4_in_ipv6", kCounter, "IPv4 in IPv6 packets.")            \
  X(ipv6_in_ipv6, "decoder.ipv6_in_ipv6", kCounter, "IPv6 in IPv6 packets.")

#define SPECTRE_DEFRAG_COUNTERS(X)                                                               \
  X(fragments, "defrag.fragments", kCounter, "IP fragments seen by the reassembler.")            \
  X(reassembled, "defrag.reassembled", kCounter, "Datagrams reassembled.")                       \
  X(timeouts, "defrag.timeouts", kCounter, "Datagrams dropped unfinished at their timeout.")     \
  X(evicted, "defrag.evicted", kCounter, "Datagrams dropped unfinished for a new one.")          \
  X(too_many_frags, "defrag.max_frags_hit", kCounter, "Datagrams with too many fragments.")      \
  X(conflicts, "defrag.conflicts", kCounter, "Fragments overlapping earlier ones with other data.") \
  X(hdr_too_long, "defrag.hdr_too_long", kCounter, "Fragments whose headers do not fit.")
