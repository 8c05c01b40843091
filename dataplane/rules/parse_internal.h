// Internal helpers shared by the rule parser's translation units.
// Not part of the public API: include parser.h instead.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/rules/rule.h"

namespace spectre::rules::detail {

// Outcome of a failed parse step: a message, and whether the input is valid
// but uses something we do not support (a skip) rather than a syntax error.
struct Status {
  std::string err;
  bool unsupported = false;
};
inline bool fail(Status& s, std::string m) {
  s.err = std::move(m);
  s.unsupported = false;
  return false;
}
inline bool unsup(Status& s, std::string m) {
  s.err = std::move(m);
  s.unsupported = true;
  return false;
}

std::string_view trim(std::string_view s);
// Pieces separated by `sep`, each trimmed (empty pieces kept).
std::vector<std::string_view> split(std::string_view s, char sep);
// Whole-string decimal numbers (optional leading '-' for i32); false on junk or overflow.
bool parse_u32(std::string_view s, uint32_t& v);
// s (trimmed) as an integer of at most `max`.
bool parse_u32_max(std::string_view s, uint32_t max, uint32_t& out);
bool parse_i32(std::string_view s, int32_t& v);
bool is_ident_char(char c);  // [A-Za-z0-9_.-]

// Address / port expressions with variables, lists and negation (addr.cc).
bool parse_ip_set(std::string_view text, const Vars& vars, IpSet& out, Status& st);
bool parse_port_set(std::string_view text, const Vars& vars, PortSet& out, Status& st);

// The parse state of one rule's options (options.cc, buffers.cc).
struct Ctx {
  Rule& r;
  Status st;
  Buf cur = kPayload;        // buffer for following match items
  bool sticky = false;       // a sticky buffer is active (pkt_data clears it)
  const char* sticky_kw = nullptr;  // keyword that set it, for messages
  size_t sticky_start = 0;   // items.size() when it was set
  bool snort3 = false;       // Snort 3 style: legacy http_* names are sticky
  int last_content = -1;     // index of the last content item
  int fast_patterns = 0;
  bool seen_flow = false, seen_app_proto = false;
  uint8_t cur_xform = 0;     // transform chain of the active sticky buffer (MatchItem::xform)
  size_t xform_start = 0;    // items.size() when cur_xform was started
  bool b64_data = false;     // base64_data active: new items inspect the decoded data
  bool b64_decode = false;   // a base64_decode was seen in the current buffer
  uint16_t ssh_dir = 0;      // FlowOpt direction a HASSH buffer implies
  std::vector<uint32_t> var_chain;  // per Rule::byte_vars: buf << 8 | xform where it was defined
  explicit Ctx(Rule& rule) : r(rule) {}
};

// byte_extract / byte_math variables: at most kMaxByteVars per rule, used in
// the buffer (and transform chain) that defines them, after the definition.
constexpr size_t kMaxByteVars = rules::kMaxByteVars;
// `name` as a variable of the active buffer: slot (index + 1) in `slot`.
// False with c.st set when it is not one (a syntax error naming `kw`).
bool use_var(Ctx& c, std::string_view name, std::string_view kw, uint8_t& slot);
bool is_var_name(std::string_view v);
// Appends a byte_test on buffer b: the app keywords' numbers, which their
// parsers lay out in an internal buffer ((mqtt.hdr), (krb5.hdr) ...).
void push_byte_test(Ctx& c, Buf b, int32_t off, uint8_t nbytes, ByteOp::Op op, uint64_t v, bool neg = false);
// Suricata's unsigned-integer keyword value (`N`, `=N`, `!N`, `<N`, `>N`,
// `<=N`, `>=N`, `A-B` exclusive) as byte_tests of `nbytes` at `off` of b.
bool push_uint_cmp(Ctx& c, Buf b, std::string_view kw, std::string_view v, int32_t off, uint8_t nbytes,
                   uint32_t max);

// Option handlers: value is the text after ':' (trimmed), empty when none.
bool opt_content(Ctx& c, std::string_view v);
bool opt_content_modifier(Ctx& c, std::string_view name, std::string_view v, bool has_value);
bool opt_pcre(Ctx& c, std::string_view v);
bool opt_isdataat(Ctx& c, std::string_view v);
bool opt_byte_test(Ctx& c, std::string_view v);   // byte_opts.cc
bool opt_byte_jump(Ctx& c, std::string_view v);
bool opt_byte_extract(Ctx& c, std::string_view v);
bool opt_byte_math(Ctx& c, std::string_view v);
bool opt_base64_decode(Ctx& c, std::string_view v);
bool opt_base64_data(Ctx& c);
// Transform keywords (transform_opts.cc); `handled` false when `name` is none.
bool opt_transform(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled);
bool opt_flow(Ctx& c, std::string_view v);
bool opt_flowbits(Ctx& c, std::string_view v);
bool opt_threshold(Ctx& c, std::string_view v, bool detection_filter);
// The `type` and `track` values of threshold, detection_filter and
// threshold.config lines (one parser for all): false with st set (unsupported
// for Suricata's values we do not implement: type backoff, track by_flow).
// `kw` names the keyword in messages; by_rule only where `allow_rule`.
bool parse_threshold_type(std::string_view v, const char* kw, Threshold::Type& t, Status& st);
bool parse_threshold_track(std::string_view v, const char* kw, bool allow_rule, Threshold::Track& t, Status& st);
bool opt_dsize(Ctx& c, std::string_view v);
bool opt_icmp(Ctx& c, std::string_view name, std::string_view v);  // itype, icode, icmp_id, icmp_seq
bool opt_bsize(Ctx& c, std::string_view v);
bool opt_bufferlen(Ctx& c, std::string_view v);  // Snort 3: bsize in Snort's range syntax
// IP/TCP header keywords (pkt_opts.cc): ttl, tos, id, fragbits, fragoffset,
// ipopts, sameip, seq, ack, window; `handled` false when `name` is none.
bool opt_pkt_hdr(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled);
// Snort 3's sip_method / sip_stat_code (snort3_opts.cc); `handled` false when `name` is neither.
bool opt_snort3(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled);
bool opt_urilen(Ctx& c, std::string_view v);
bool opt_flags(Ctx& c, std::string_view v);
bool opt_app_proto(Ctx& c, std::string_view v);
// TLS keywords with values (tls_opts.cc); `handled` false when `name` is none.
bool opt_tls(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled);
// SSH keywords with values (ssh_opts.cc); `handled` false when `name` is none.
bool opt_ssh(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled);
// MQTT keywords with values (mqtt_opts.cc); `handled` false when `name` is none.
bool opt_mqtt(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled);
// Kerberos keywords with values (krb5_opts.cc); `handled` false when `name` is none.
bool opt_krb5(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled);
bool opt_krb5_weak_event(Ctx& c);  // app-layer-event:krb5.weak_encryption
bool opt_krb5_malformed_event(Ctx& c);  // app-layer-event:krb5.malformed_data
bool opt_asn1(Ctx& c, std::string_view v);  // asn1 (krb5_opts.cc, next to the Kerberos DER keywords)
// dcerpc.iface / dcerpc.opnum / smb.version and their dce_* forms (smb_opts.cc).
bool opt_smb(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled);
// HTTP/2 frame keywords (http2_opts.cc); `handled` false when `name` is none.
bool opt_http2(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled);
// File keywords (file_opts.cc): filename, fileext, filesize, filestore.
bool opt_file(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled);
// Set keywords (dataset_opts.cc): dataset, datarep, filemd5, filesha1, filesha256.
bool opt_set(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled);
bool opt_ip_proto(Ctx& c, std::string_view v);     // host_opts.cc
bool opt_stream_size(Ctx& c, std::string_view v);
bool opt_xbits(Ctx& c, std::string_view v);
bool opt_app_event(Ctx& c, std::string_view v);
bool opt_decode_event(Ctx& c, std::string_view v);
bool opt_stream_event(Ctx& c, std::string_view v);
bool opt_hostbits(Ctx& c, std::string_view v);
bool opt_flowint(Ctx& c, std::string_view v);
// Buffer keywords (sticky or legacy modifier); returns false with
// st.err empty when `name` is not a buffer keyword.
bool opt_buffer(Ctx& c, std::string_view name, bool& handled);
// End-of-rule checks on buffers (sticky buffer without matches, http.host case,
// buffers that contradict the header protocol).
bool check_buffers(Ctx& c);

// Unescape a quoted option value's inside (msg): \" \; \\ \: become the char.
std::string unescape(std::string_view s);
// Decode a content string's inside: |hex| blocks and escapes.
bool decode_content(std::string_view s, std::string& out, Status& st);

}  // namespace spectre::rules::detail
