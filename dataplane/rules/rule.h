// Parsed rule: the parse-time form of one Suricata/Snort-style signature.
// Produced by the rule parser (rules/parser.h), consumed by the detection
// compiler (detect/compile.h) and the naive reference evaluator in tests.
// Never read by workers: they see only the compiled ruleset.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <memory>
#include <vector>

#include "dataplane/rules/dataset.h"

namespace spectre::rules {

enum class Action : uint8_t { kAlert, kPass, kDrop, kReject };

// Header protocol. App-layer protocols imply tcp (http, tls) or udp/tcp (dns)
// plus an app-layer-protocol check.
enum class Proto : uint8_t { kIp, kTcp, kUdp, kIcmp, kHttp, kDns, kTls, kSmtp, kFtp, kFtpData, kSmb, kQuic, kSip, kSsh, kMqtt, kKrb5, kDcerpc, kHttp2 };

// Detected application protocol of a flow (also used by app/ and EVE).
enum class AppProto : uint8_t { kUnknown, kHttp, kDns, kTls, kFailed, kSmtp, kFtp, kFtpData, kSmb, kQuic, kSip, kSsh, kMqtt, kKrb5, kDcerpc, kHttp2 };
constexpr int kAppProtoCount = 16;
const char* app_proto_name(AppProto p);  // "http", "dns", "tls", "failed", "smtp", "ftp", "ftp-data", "smb", "quic", "sip", "ssh", "mqtt", "krb5", "dcerpc", "http2", "unknown"

// Inspection buffers. kPayload is the packet payload or, for TCP flows with
// reassembly, the reassembled stream chunk (the engine decides; `rawbytes`
// is accepted and ignored as in Suricata). The rest come from app/ parsers.
#define SPECTRE_BUFFERS(X)                                              \
  X(kPayload, "payload")                                               \
  X(kHttpUri, "http.uri")                                              \
  X(kHttpUriRaw, "http.uri.raw")                                       \
  X(kHttpMethod, "http.method")                                        \
  X(kHttpProtocol, "http.protocol")                                    \
  X(kHttpRequestLine, "http.request_line")                             \
  X(kHttpHost, "http.host")                                            \
  X(kHttpHostDot, "http.host.dotprefix")  /* "." + host (dotprefix) */ \
  X(kHttpUserAgent, "http.user_agent")                                 \
  X(kHttpHeader, "http.header")         /* request or response, by direction */ \
  X(kHttpHeaderNames, "http.header_names")                             \
  X(kHttpCookie, "http.cookie")                                        \
  X(kHttpReferer, "http.referer")                                      \
  X(kHttpContentType, "http.content_type")                             \
  X(kHttpContentLen, "http.content_len")                               \
  X(kHttpAccept, "http.accept")                                        \
  X(kHttpConnection, "http.connection")                                \
  X(kHttpAcceptEnc, "http.accept_enc")                                 \
  X(kHttpAcceptLang, "http.accept_lang")                               \
  X(kHttpStart, "http.start")         /* start line + headers + CRLF */ \
  X(kHttpHeaderRaw, "http.header.raw")  /* header lines as received */ \
  X(kHttpHostRaw, "http.host.raw")                                     \
  X(kHttpStatCode, "http.stat_code")                                   \
  X(kHttpStatMsg, "http.stat_msg")                                     \
  X(kHttpResponseLine, "http.response_line")                           \
  X(kHttpServer, "http.server")                                        \
  X(kHttpLocation, "http.location")                                    \
  X(kHttpRequestBody, "http.request_body")                             \
  X(kHttpResponseBody, "http.response_body")                           \
  X(kFileData, "file.data")  /* HTTP request or response body, by direction */ \
  X(kDnsQuery, "dns.query")                                            \
  X(kDnsQueryDot, "dns.query.dotprefix")                               \
  X(kTlsSni, "tls.sni")                                                \
  X(kTlsSniDot, "tls.sni.dotprefix")                                   \
  X(kJa3Hash, "ja3.hash")                                              \
  X(kJa3String, "ja3.string")                                          \
  X(kJa3sHash, "ja3s.hash")                                            \
  X(kJa3sString, "ja3s.string")                                       \
  X(kTlsCertSubject, "tls.cert_subject")  /* server's leaf certificate */ \
  X(kTlsCertIssuer, "tls.cert_issuer")                                 \
  X(kTlsCertSerial, "tls.cert_serial")                                 \
  X(kTlsCertFingerprint, "tls.cert_fingerprint")                       \
  X(kTlsCerts, "tls.certs")  /* multi-buffer: each certificate's DER */ \
  X(kJa4Hash, "ja4.hash")                                              \
  /* Internal (no sticky keyword can name them): tls.version's 2-byte */ \
  /* version; 'V'/'E' (valid/expired) + notBefore + notAfter as */     \
  /* YYYYMMDDHHMMSS digits for tls_cert_* and tls.cert_not* */         \
  X(kTlsVersionNum, "(tls.version)")                                   \
  X(kTlsState, "(tls.state)")                                          \
  X(kTlsCertTimes, "(tls.cert_times)")                                 \
  X(kSmtpHelo, "smtp.helo")                                            \
  X(kSmtpMailFrom, "smtp.mail_from")                                   \
  X(kSmtpRcptTo, "smtp.rcpt_to")                                       \
  X(kFtpCommand, "ftp.command")                                        \
  X(kFtpCommandData, "ftp.command_data")                               \
  /* Internal: 1 byte, present on a PORT command whose address is not */ \
  /* the flow initiator's (ftpbounce) */                                \
  X(kFtpBounce, "(ftp.bounce)")                                        \
  /* Packet header buffers (raw bytes, options included): packet rules */ \
  X(kIpv4Hdr, "ipv4.hdr")                                              \
  X(kIpv6Hdr, "ipv6.hdr")                                              \
  X(kTcpHdr, "tcp.hdr")                                                \
  X(kUdpHdr, "udp.hdr")                                                \
  X(kIcmpv4Hdr, "icmpv4.hdr")                                          \
  X(kIcmpv6Hdr, "icmpv6.hdr")                                          \
  X(kQuicVersion, "quic.version")  /* the long header's 4 version bytes */ \
  X(kQuicSni, "quic.sni")                                              \
  X(kQuicUa, "quic.ua")                                                \
  X(kQuicCyuHash, "quic.cyu.hash")                                     \
  X(kQuicCyuString, "quic.cyu.string")                                 \
  X(kSipMethod, "sip.method")                                          \
  X(kSipUri, "sip.uri")                                                \
  X(kSipRequestLine, "sip.request_line")                               \
  X(kSipStatCode, "sip.stat_code")                                     \
  X(kSipStatMsg, "sip.stat_msg")                                       \
  X(kSipResponseLine, "sip.response_line")                             \
  X(kSipProtocol, "sip.protocol")                                       \
  /* sip headers (long or compact name); sip.via: every Via (multi-buffer) */ \
  X(kSipFrom, "sip.from")                                              \
  X(kSipTo, "sip.to")                                                  \
  X(kSipVia, "sip.via")                                                \
  X(kSipUserAgent, "sip.user_agent")                                   \
  X(kSipContentType, "sip.content_type")                               \
  X(kSipContentLength, "sip.content_length")                           \
  /* ssh: the banner and HASSH of the tx's direction (client to_server, */ \
  /* server to_client: ssh.hassh.server is kSshHassh in a to_client rule) */ \
  X(kSshProto, "ssh.proto")                                            \
  X(kSshSoftware, "ssh.software")                                      \
  X(kSshHassh, "ssh.hassh")                                            \
  X(kSshHasshString, "ssh.hassh.string")                              \
  /* Internal: both sides' hassh strings on the tx carrying the flow's */ \
  /* EVE ssh event (the record copies them; AppMeta keeps the md5s) */  \
  X(kSshHasshClient, "(ssh.hassh.client)")                             \
  X(kSshHasshServer, "(ssh.hassh.server)")                             \
  /* mqtt (one message per tx); subscribe/unsubscribe topics: multi-buffers */ \
  X(kMqttClientId, "mqtt.connect.clientid")                            \
  X(kMqttUsername, "mqtt.connect.username")                            \
  X(kMqttPassword, "mqtt.connect.password")                            \
  X(kMqttWillTopic, "mqtt.connect.willtopic")                          \
  X(kMqttWillMessage, "mqtt.connect.willmessage")                      \
  X(kMqttProtocolString, "mqtt.connect.protocol_string")               \
  X(kMqttPublishTopic, "mqtt.publish.topic")                           \
  X(kMqttPublishMessage, "mqtt.publish.message")                       \
  X(kMqttSubscribeTopic, "mqtt.subscribe.topic")                       \
  X(kMqttUnsubscribeTopic, "mqtt.unsubscribe.topic")                   \
  /* Internal: the message's numbers for mqtt.type/flags/qos/... (see */ \
  /* mqtt_opts.cc for the layout) */                                   \
  X(kMqttHdr, "(mqtt.hdr)")                                            \
  /* krb5: name components (multi-buffer); internal: the numbers for */ \
  /* krb5_msg_type & co (krb5_opts.cc), the ticket etype in decimal */  \
  X(kKrb5Cname, "krb5_cname")                                          \
  X(kKrb5Sname, "krb5_sname")                                          \
  X(kKrb5Hdr, "(krb5.hdr)")                                            \
  X(kKrb5TicketEtype, "(krb5.ticket_etype)")                           \
  /* smb (SMB1/2/3) and dcerpc (over TCP, UDP and SMB named pipes); */ \
  /* internal: the SMB version and the DCERPC numbers the keywords */  \
  /* test (layouts in smb_opts.cc) */                                  \
  X(kSmbNamedPipe, "smb.named_pipe")                                   \
  X(kSmbShare, "smb.share")                                            \
  X(kSmbNtlmsspUser, "smb.ntlmssp_user")                               \
  X(kSmbNtlmsspDomain, "smb.ntlmssp_domain")                           \
  X(kDcerpcStubData, "dcerpc.stub_data")                               \
  X(kSmbHdr, "(smb.hdr)")                                              \
  X(kDcerpcHdr, "(dcerpc.hdr)")                                        \
  /* Internal: an HTTP/2 transaction's frame facts for http2.frametype & */ \
  /* co (see http2_opts.cc for the layout) */                           \
  X(kHttp2Hdr, "(http2.hdr)")                                          \
  /* multi-buffer: each header name of an HTTP/2 message (regular ones; */ \
  /* :authority for the Host written from it) */                        \
  X(kHttp2HeaderName, "http2.header_name")                             \
  /* Internal: a stream's request and response header lists for EVE's */ \
  /* request_headers / response_headers (app_http2.cc h2_log_buf) */    \
  X(kHttp2Headers, "(http2.headers)")                                  \
  /* Files (with file.data): the name (HTTP: Content-Disposition filename */ \
  /* or the URI path; SMTP attachment; FTP RETR/STOR argument) and, */  \
  /* internal, the size as decimal digits (filesize: byte_test on it) */ \
  X(kFileName, "file.name")                                            \
  X(kFileSize, "(file.size)")                                          \
  X(kFileMagic, "file.magic")  /* libmagic's description of the file's first bytes */ \
  /* Internal: the whole file's digests (raw bytes), for filemd5 & co; */ \
  /* present only when computed (a rule needs it, or EVE fileinfo md5) */ \
  X(kFileMd5, "(file.md5)")                                            \
  X(kFileSha1, "(file.sha1)")                                          \
  X(kFileSha256, "(file.sha256)")                                      \
  /* The packet's source / destination address (4 or 16 bytes), with */ \
  /* any protocol and on every inspection call (Suricata 8's ip.src */   \
  /* and ip.dst: datasets of type ipv4 / ip) */                          \
  X(kIpSrc, "ip.src")                                                  \
  X(kIpDst, "ip.dst")

enum Buf : uint8_t {
#define SPECTRE_X(id, name) id,
  SPECTRE_BUFFERS(SPECTRE_X)
#undef SPECTRE_X
  kBufCount
};
static_assert(kBufCount <= 128, "BufMask holds 128 buffers");
// A set of buffers: two words (a transaction's present buffers, a rule's needed ones).
struct BufMask {
  uint64_t w[2] = {};
  void add(int b) { w[b >> 6] |= uint64_t(1) << (b & 63); }
  bool has(int b) const { return (w[b >> 6] >> (b & 63)) & 1; }
  bool within(const BufMask& o) const { return !(w[0] & ~o.w[0]) && !(w[1] & ~o.w[1]); }
  bool empty() const { return !(w[0] | w[1]); }
};
const char* buf_name(Buf b);  // the sticky-buffer keyword above
// ipv4.hdr .. icmpv6.hdr: inspected per packet (like dsize), from the decoder's view.
inline bool is_header_buf(Buf b) { return b >= kIpv4Hdr && b <= kIcmpv6Hdr; }
// ip.src / ip.dst: from DetectPacket, whatever the call (packet, stream chunk, transaction).
inline bool is_addr_buf(Buf b) { return b == kIpSrc || b == kIpDst; }

// An address or port set: (any or one of `include`) and none of `exclude`.
struct IpRange {
  uint8_t ver = 4;           // 4 or 6
  uint8_t lo[16] = {}, hi[16] = {};  // network order; IPv4 uses the first 4 bytes
};
struct IpSet {
  bool any = true;
  std::vector<IpRange> include, exclude;
  bool contains(const uint8_t* addr, uint8_t ver) const;
};
struct PortRange { uint16_t lo = 0, hi = 65535; };
struct PortSet {
  bool any = true;
  std::vector<PortRange> include, exclude;
  bool contains(uint16_t port) const;
};

struct Header {
  Action action = Action::kAlert;
  Proto proto = Proto::kIp;
  IpSet src, dst;
  PortSet sport, dport;
  bool bidir = false;        // "<>": also matches with src/dst swapped
};

// One match item, in rule order; relative items (distance/within, pcre R,
// isdataat relative) refer to the previous item of the same buffer.
struct Content {
  std::string bytes;         // decoded (|hex| and escapes resolved)
  bool negated = false, nocase = false, fast_pattern = false;
  bool startswith = false, endswith = false;
  bool has_offset = false, has_depth = false, has_distance = false, has_within = false;
  int32_t offset = 0, depth = 0, distance = 0, within = 0;
  // byte_extract / byte_math variables (Rule::byte_vars index + 1; 0: the number above).
  uint8_t var_offset = 0, var_depth = 0, var_distance = 0, var_within = 0;
};
struct Pcre {
  std::string pattern;       // without delimiters and flags
  bool caseless = false, dotall = false, multiline = false, extended = false;
  bool relative = false;     // R
  bool negated = false;
};
// asn1 (Suricata): the checks, and where decoding starts (absolute offset,
// or relative to the previous match; neither: the buffer start).
struct Asn1 {
  bool bitstring_overflow = false, double_overflow = false, has_oversize = false;
  bool relative = false;
  uint32_t oversize_length = 0;
  int32_t offset = 0;
};
struct IsDataAt {
  int32_t n = 0;
  bool relative = false, negated = false;
  uint8_t var_n = 0;         // a byte_extract / byte_math variable (index + 1) instead of n
};
// bsize: the size of the item's buffer (same operators as dsize, 32-bit).
struct Bsize {
  uint8_t op = 0;            // Dsize::Op
  uint32_t lo = 0, hi = 0;
};
// byte_test / byte_jump (Suricata payload keywords): read `nbytes` at
// `offset` (from the previous match end when relative, else from the buffer
// start), binary (big/little endian) or as a string number, mask with
// `bitmask` and shift right by its trailing zeros. byte_test compares with
// `value`; byte_jump moves the detection pointer.
// byte_extract / byte_math variables per rule (the parser's limit and the
// engine's per-chain value array).
constexpr int kMaxByteVars = 8;

struct ByteOp {
  enum class Op : uint8_t { kLt, kGt, kEq, kLe, kGe, kAnd, kXor } op = Op::kEq;  // byte_test
  uint8_t nbytes = 1;        // 1..8 binary, 1..20 string; 0: a string to the buffer end, or byte_jump from_end
  uint8_t base = 0;          // 0: binary; 8, 10, 16: string
  bool negated = false;      // '!' before the operator
  bool relative = false, little = false;
  bool dce = false;           // byte order from the DCERPC PDU's data representation ((dcerpc.hdr)[22])
  bool align = false, from_beginning = false, from_end = false;  // byte_jump
  int32_t offset = 0;
  int32_t post_offset = 0;   // byte_jump
  uint32_t multiplier = 1;   // byte_jump
  uint64_t value = 0;        // byte_test; byte_math: rvalue
  uint64_t bitmask = 0;      // 0: none
  // byte_extract / byte_math (Rule::byte_vars index + 1, 0: none): the
  // variable written, and variables read instead of `value` / `offset`.
  uint8_t var_out = 0, var_value = 0, var_offset = 0;
  uint8_t math_op = 0;       // byte_math: '+', '-', '*', '/', '<' (<<), '>' (>>)
  uint8_t align_to = 0;      // byte_extract align 2|4: round the value up (0: none)
};
// Transforms (Suricata): applied in order to a sticky buffer before its
// match items (`http.uri; to_lowercase; content:"..."`).
struct Transform {
  enum class Kind : uint8_t {
    kToLower, kToUpper, kStripWs, kCompressWs, kUrlDecode, kDotPrefix, kHeaderLower, kXor, kFromBase64,
    kPcreXform,
  } kind = Kind::kToLower;
  std::string arg;           // xor: key bytes; pcrexform: the pattern
  uint32_t b64_bytes = 0, b64_offset = 0;  // from_base64: 0 bytes = to the end
  uint8_t b64_mode = 0;      // from_base64: 0 rfc4648, 1 rfc2045, 2 strict
};

struct MatchItem {
  enum class Kind : uint8_t {
    kContent, kPcre, kIsDataAt, kBsize, kByteTest, kByteJump,
    kBase64Decode,  // base64_decode: decodes from the position into the rule's base64 data
    kBase64Data,    // base64_data: the following items of this buffer inspect the decoded data
    kByteExtract,   // byte_extract: reads a number into byte.var_out, moves past it (like byte_jump by nbytes)
    kByteMath,      // byte_math: (number oper rvalue) into byte.var_out; position unchanged
    kDataset,       // dataset / datarep / filemd5 & co: the whole buffer looked up in Rule::datasets[ds - 1]
    kAsn1,          // asn1: BER objects from an offset checked (core/der.h asn1_match)
  } kind = Kind::kContent;
  Buf buf = kPayload;
  Content content;           // kind == kContent
  Pcre pcre;                 // kind == kPcre
  IsDataAt isdataat;         // kind == kIsDataAt
  Bsize bsize;               // kind == kBsize
  ByteOp byte;               // kind == kByteTest, kByteJump
  uint8_t xform = 0;         // 0: the buffer as is; k: Rule::xforms[k - 1] applied to it first
  bool b64 = false;          // after base64_data: inspects the decoded data (never a fast pattern)
  uint32_t b64_bytes = 0, b64_offset = 0;  // kBase64Decode (bytes 0: to the buffer end); relative in byte.relative
  uint8_t ds = 0;            // kDataset: Rule::datasets index + 1
  Asn1 asn1;                 // kind == kAsn1
};

// dataset / datarep / filemd5 / filesha1 / filesha256 (rules/dataset.h).
// The parser fills the request; the loader resolves it to a loaded set
// (RuleSet::datasets[set]), reading its file relative to the rule file.
struct DatasetUse {
  enum class Cmd : uint8_t { kSet, kIsSet, kIsNotSet, kUnset, kRep } cmd = Cmd::kIsSet;
  enum class Op : uint8_t { kGt, kLt, kGe, kLe, kEq } op = Op::kEq;  // datarep
  uint32_t value = 0;        // datarep: compared with the value's reputation
  std::string name;          // set name; filemd5 & co: "filemd5:" + the list's file name
  bool has_type = false;     // `type` given (else the set must be defined by an earlier rule)
  SetType type = SetType::kString;
  SetFormat format = SetFormat::kDataset;
  std::string load, save;    // as written in the rule (state: both)
  bool state = false;
  uint64_t memcap = 0;       // bytes, 0: none
  uint32_t hashsize = 0;     // accepted; our table sizes itself
  int32_t set = -1;          // resolved by the loader: RuleSet::datasets index
};

enum FlowOpt : uint16_t {
  kFlowEstablished = 1, kFlowNotEstablished = 2, kFlowStateless = 4,
  kFlowToServer = 8, kFlowToClient = 16, kFlowOnlyStream = 32, kFlowNoStream = 64,
};

struct Flowbit {
  enum class Cmd : uint8_t { kSet, kIsSet, kIsNotSet, kUnset, kToggle, kNoAlert } cmd;
  std::vector<std::string> names;  // "a|b" (any of) for isset/isnotset; "a&b" (all) split likewise
  bool any_of = false;             // names joined by '|'
};

struct Threshold {
  enum class Type : uint8_t { kLimit, kThreshold, kBoth, kDetectionFilter } type;
  enum class Track : uint8_t { kBySrc, kByDst, kByRule, kByBoth } track;
  uint32_t count = 1, seconds = 60;
};

struct Dsize {
  enum class Op : uint8_t { kEq, kNe, kLt, kGt, kRange } op = Op::kEq;  // range: lo < dsize < hi
  uint16_t lo = 0, hi = 0;
};

// ICMP packet keywords: itype/icode compare like dsize (8-bit values);
// icmp_id/icmp_seq match echo-style messages (echo, timestamp, information,
// address mask requests and replies; ICMPv6 echo) only, as in Suricata, and
// compare like dsize too (Snort 3's forms: <N, !N, N<>M, ...).
struct IcmpMatch {
  bool has_type = false, has_code = false, has_id = false, has_seq = false;
  Dsize type, code, id, seq;
  bool any() const { return has_type || has_code || has_id || has_seq; }
};

// IP and TCP header keywords (Suricata's header-keywords, Snort 3's ttl,
// tos, id, fragbits, fragoffset, ipopts, sameip, seq, ack, window): checks on
// the inspected packet's own headers, per packet like dsize. A rule may hold
// several (`tos:!0; tos:!8;`): all must hold.
struct HdrCheck {
  enum class Field : uint8_t { kTtl, kTos, kIpId, kFragOffset, kSeq, kAck, kWindow, kFragbits, kIpopts, kSameip };
  // kRange: lo < x < hi (Suricata's A-B, Snort's A<>B); kRangeIn: lo <= x <= hi (Snort's A<=>B).
  enum class Op : uint8_t { kEq, kNe, kLt, kGt, kLe, kGe, kRange, kRangeIn };
  Field field = Field::kTtl;
  Op op = Op::kEq;
  // kFragbits: bits in lo (R 4, D 2, M 1), mode as flags_mode (0 exact, 1 '+'
  // all of these, 2 '*' any of these, 3 '!' none of these). kIpopts: the
  // option type in lo, or kAnyIpopt.
  uint8_t mode = 0;
  uint32_t lo = 0, hi = 0;
  static constexpr uint32_t kAnyIpopt = 256;
};

// stream_size (Suricata): bytes of the TCP session by sequence numbers
// (next_seq - ISN, so the SYN counts 1) of one side, compared with `value`.
struct StreamSize {
  enum class Side : uint8_t { kServer, kClient, kBoth, kEither } side = Side::kEither;
  enum class Op : uint8_t { kLt, kGt, kEq, kNe, kLe, kGe } op = Op::kEq;
  uint32_t value = 0;
};

// xbits (Suricata): bits kept per host (track ip_src / ip_dst) or address
// pair (ip_pair), across flows, until `expire` seconds after the last set.
struct Xbit {
  Flowbit::Cmd cmd = Flowbit::Cmd::kSet;  // set, unset, toggle, isset, isnotset
  enum class Track : uint8_t { kIpSrc, kIpDst, kIpPair } track = Track::kIpSrc;
  std::string name;
  uint32_t expire = 30;      // seconds (Suricata's default when none is given)
};

// flowint (Suricata): an unsigned 32-bit integer per flow and name. Set
// operations (=, +, -) and checks run in rule order once the rule's other
// conditions hold; a failing check stops the rule (earlier changes stay).
struct Flowint {
  enum class Op : uint8_t { kIsSet, kNotSet, kSet, kAdd, kSub, kEq, kNe, kLt, kGt, kLe, kGe } op = Op::kIsSet;
  std::string name;
  uint32_t value = 0;
  std::string var;           // the operand is another flowint (empty: `value`)
};

// app-layer-event values we raise (BufferSet::events bits).
enum AppEvent : uint32_t {
  kEvHttpInvalidTeRequest = 1,  // http.invalid_transfer_encoding_value_in_request (libhtp: T-E not "chunked")
};

struct Rule {
  // Identity and reporting.
  uint32_t gid = 1, sid = 0, rev = 0;
  std::string msg, classtype;
  int priority = 0;          // 0: from classtype (or 3 when none)
  std::vector<std::string> references;
  std::vector<std::pair<std::string, std::string>> metadata;  // key, value
  std::string target;        // "src_ip", "dest_ip" or empty

  Header hdr;
  std::vector<MatchItem> items;
  std::vector<std::vector<Transform>> xforms;  // transform chains, see MatchItem::xform
  uint16_t flow = 0;         // FlowOpt bits
  std::vector<Flowbit> flowbits;
  bool has_threshold = false, has_detection_filter = false;
  Threshold threshold, detection_filter;
  bool has_dsize = false;
  Dsize dsize;
  // flags:[+*!]FSRPAUCE0[,ignore]: TCP flags of the packet (a packet keyword,
  // like dsize). Mode 0 exact, 1 '+' all of these and maybe others, 2 '*'
  // any of these, 3 '!' none of these; `flags_ignore` bits are masked first.
  bool has_flags = false;
  uint8_t flags_set = 0, flags_ignore = 0, flags_mode = 0;
  IcmpMatch icmp;            // a packet keyword, like dsize
  bool has_app_proto = false, app_proto_negated = false;
  AppProto app_proto = AppProto::kUnknown;
  bool has_ip_proto = false;  // ip_proto: the IP protocol number (like dsize: =, !, <, >)
  Dsize ip_proto;
  std::vector<HdrCheck> hdr_checks;  // a packet keyword, like dsize
  bool has_stream_size = false, has_stream_size2 = false;  // ET Open has rules with two (client and server)
  StreamSize stream_size, stream_size2;
  std::vector<Xbit> xbits;
  // app-layer-event: AppEvent bits the transaction must have raised (an app rule).
  uint32_t app_events = 0;
  // decode-event: a decoder event name. Such a rule matches only packets the
  // decoder rejected for that reason (detect maps the name; it has no payload).
  std::string decode_event;
  // stream-event: a TCP stream event name (detect maps it; a packet rule).
  std::string stream_event;
  // byte_extract / byte_math result names; MatchItem var fields hold index + 1.
  std::vector<std::string> byte_vars;
  std::vector<Flowint> flowints;
  std::vector<DatasetUse> datasets;  // MatchItem::ds

  // Where it came from, for messages.
  std::string file;
  uint32_t line = 0;
};

struct Classification {
  std::string description;
  int priority = 3;
};

// Address and port variables ($HOME_NET, $HTTP_PORTS, ...): name without '$'
// -> the textual value, which may itself reference variables.
struct Vars {
  std::map<std::string, std::string> address, port;
  static Vars suricata_defaults();
};

// Parses an address set such as "[10.0.0.0/8,!10.1.0.0/16]" or "$HOME_NET"
// against `vars` (config files, --home-net). False with `err` when malformed.
bool parse_address_set(std::string_view text, const Vars& vars, IpSet& out, std::string& err);

struct RuleSet {
  std::vector<Rule> rules;
  std::vector<std::shared_ptr<const DataSet>> datasets;  // loaded sets, shared with compiled rulesets
  std::map<std::string, Classification> classes;
  Vars vars;
};

}  // namespace spectre::rules
