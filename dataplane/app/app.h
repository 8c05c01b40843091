// Application-layer parsers: protocol detection by content, HTTP/1.x, DNS
// (UDP and TCP), TLS ClientHello/ServerHello with JA3/JA3S and the server's
// certificate chain (TLS <= 1.2). Parsers are
// incremental: TCP data arrives in order but split anywhere.
//
// Threads: a worker's own AppCtx and AppStates only. No allocation after
// AppCtx construction: transaction buffers come from AppCtx's fixed pool.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dataplane/app/counters.h"
#include "dataplane/core/counter_def.h"
#include "dataplane/detect/buffers.h"
#include "dataplane/rules/rule.h"

namespace spectre {

struct AppConfig {
  uint32_t request_body_limit = 8192;   // bytes of body kept for http.request_body
  uint32_t response_body_limit = 8192;  // http.response_body / file_data
  uint32_t header_limit = 8192;         // bytes of request/response head kept
  uint32_t tx_buffers = 4096;           // pooled transaction buffers per worker
  // gzip/deflate bodies: decompressed bytes per body at most (Suricata's
  // compression-bomb-limit, 1 MiB); the body limits above bound what is kept.
  uint32_t decompress_limit = 1u << 20;
  uint32_t decompress_streams = 64;     // concurrent decoders per worker (~48 KiB each)
  // HTTP/2 connections parsed at once per worker (~27 KiB each, touched on
  // use); held for the flow's life (a closed TCP flow lingers 30 s).
  uint32_t http2_flows = 128;
  // HTTP/2 streams open at once per worker, shared by its HTTP/2 flows (~2.7
  // KiB each; a flow holds at most kH2Streams = 256). At most 65535.
  uint32_t http2_streams = 2048;
  // SMB / DCERPC flows with a context at once per worker (~1.6 KiB each,
  // touched on use: SMB2 file transfers, DCERPC calls by call id), held for
  // the flow's life from its first file CREATE or DCERPC request; at most
  // 65535. Kept file bytes and set-aside DCERPC calls use the transaction
  // buffers. A flow without one: no files, DCERPC paired with the latest
  // request only.
  uint32_t smb_flows = 256;
  // Files hashed at once per worker (~310 bytes each, touched on use; at
  // most 65535): a running MD5/SHA state from a file's first byte to its end.
  // A file starting with none free gets no digests (file_hash_pool_empty).
  uint32_t file_hash_states = 1024;
};

// Fixed-size copy of what EVE prints for a flow's latest transaction.
struct AppMeta {
  rules::AppProto proto = rules::AppProto::kUnknown;
  // http
  char http_hostname[128], http_url[512], http_user_agent[256], http_method[16], http_protocol[16];
  char http_content_type[64];
  char http_refer[256];           // the request's Referer (EVE http.http_refer)
  uint16_t http_status = 0;
  uint64_t http_length = 0;
  // dns
  char dns_rrname[256];
  uint16_t dns_rrtype = 0, dns_id = 0;
  uint8_t dns_rcode = 0;
  bool dns_is_response = false;
  uint16_t dns_answers = 0;     // ANCOUNT of the latest message
  // tls
  char tls_sni[256], tls_version[16];
  char ja3_hash[33], ja3_string[512], ja3s_hash[33], ja3s_string[256];
  char ja4[37];               // JA4 of the ClientHello, "t13d1516h2_8daaf6152771_b186095e22b6"
  // The server's leaf certificate (TLS <= 1.2), as Suricata's EVE prints it.
  char tls_subject[384], tls_issuerdn[256];
  char tls_serial[64];        // "0A:E1:..." (first 21 bytes of the serial)
  char tls_fingerprint[60];   // SHA-1 of the DER, "4a:a3:..."
  char tls_notbefore[20], tls_notafter[20];  // "2016-08-22T00:00:00"
  // smtp: the envelope of the current mail transaction (helo persists). Sizes
  // bound what buffers and EVE get (longer values are cut): AppMeta is copied
  // into every alert record and lives in every session slot.
  char smtp_helo[96], smtp_mail_from[128];
  char smtp_rcpt_to[4][96];       // the first recipients (smtp_rcpt_n counts all)
  uint8_t smtp_rcpt_n = 0;
  // email: top-level headers and attachment names of the current message
  char email_from[128], email_to[192], email_cc[128], email_subject[128];
  char email_attach[4][64];
  uint8_t email_attach_n = 0;     // attachments seen (names kept for the first 4)
  bool email_done = false;        // the message reached its end (".", BDAT LAST)
  // ftp: the latest command and its reply
  char ftp_command[16], ftp_command_data[128], ftp_reply[128];
  uint16_t ftp_code = 0;          // 0: no reply yet
  uint16_t ftp_dyn_port = 0;      // port of a PASV/EPSV reply or PORT/EPRT command
  bool ftp_passive = false;
  // file (SMTP attachment, ftp-data transfer) of the latest file.data tx
  char file_name[64];
  uint64_t file_size = 0;
  bool file_truncated = false;    // more than the body limit: file.data has the first part
  bool file_tx = false;           // this tx completes a file: EVE `fileinfo` event
  char file_md5[33];              // of the whole file when it was kept whole, else ""
  char file_sha1[41], file_sha256[65];  // likewise, when computed (AppCtx::want_hash)
  // quic: SNI, JA3, JA4 in the tls_* / ja3_* / ja4 fields above, the user
  // agent (google_user_agent, or gQUIC's UAID) in http_user_agent, the CYU
  // string in ja3s_string (a flow has one protocol: fields are shared to keep
  // the session slot and the alert record small).
  char quic_version[12];          // EVE: "1", "ff00001d", "Q046"
  char quic_cyu_hash[33];
  bool quic_client = false;       // the client's transaction: the hello's fields are its own
  // sip: the latest start line; method, URI, version and status code in
  // http_method, http_url, http_protocol, http_status (0: a request).
  char sip_reason[64];
  char file_magic[96];            // libmagic's description of its first bytes (EVE magic, file.magic)
  bool file_incomplete = false;   // the file ended early (gap, flow end): EVE state TRUNCATED
  bool file_has_tx_id = false;    // HTTP: file_tx_id is the tx's index in the flow (EVE tx_id)
  bool file_part = false;         // SMB: a file's first part inspected before its end (no EVE event)
  uint32_t file_tx_id = 0;
  // ssh: [0] client, [1] server: banner fields and the HASSH md5s. The
  // HASSH strings (~1 KB each) are not kept here: the tx carrying the EVE
  // event has them as buffers (see app_ssh.cc) and its record copies them.
  char ssh_proto[2][16], ssh_software[2][128];
  char ssh_hassh[2][33];
  bool ssh_log = false;           // this tx completes the flow's EVE `ssh` event
  // mqtt: the latest message (one tx per message). Strings are cut to their
  // field (the buffers have them whole); 620 bytes in all. smb / dcerpc
  // share its place (a flow has one protocol): 0 bytes more per AppMeta.
  struct Mqtt {
    uint8_t type, flags;          // control packet type, fixed-header flags (low nibble)
    uint8_t version;              // protocol level of the flow's CONNECT (3, 4, 5; 0 not seen)
    uint8_t connect_flags;
    uint8_t has_reason, reason;   // reason / return code (CONNACK, PUBACK.., DISCONNECT, AUTH, UNSUBACK's first)
    uint8_t session_present;
    uint8_t truncated;            // larger than the pooled buffer: EVE truncated, skipped_length
    uint8_t has_id;
    uint8_t ntopics;              // SUBSCRIBE/UNSUBSCRIBE topics, SUBACK codes (first 4 kept)
    uint8_t topic_qos[4];         // SUBSCRIBE: requested QoS; SUBACK: granted
    uint16_t message_id;
    uint32_t length;              // remaining length
    char protocol_string[8];
    char client_id[48], username[48], will_topic[48], will_message[64];
    char topic[96], message[96];  // PUBLISH
    char topics[4][48];           // SUBSCRIBE / UNSUBSCRIBE
  };
  // krb5: the latest message; cname, realm and sname (joined by '/') are in
  // http_refer, http_user_agent and http_url (one protocol per flow). 20 bytes.
  struct Krb5 {
    uint8_t msg_type = 0;         // 10 AS-REQ, 11 AS-REP, 12 TGS-REQ, 13 TGS-REP, 30 KRB-ERROR
    uint8_t failed_request = 0;   // KRB-ERROR: the flow's latest request type (0: unknown)
    uint8_t has_error = 0, has_etype = 0, has_ticket_etype = 0;
    uint8_t has_cname = 0, has_sname = 0, has_realm = 0;
    int32_t error_code = 0;
    int32_t etype = 0;            // the reply's enc-part (EVE encryption)
    int32_t ticket_etype = 0;     // the ticket's enc-part (replies; TGS-REQ's PA-TGS-REQ)
  } krb5;
  // smb (SMB1/2/3) and dcerpc (over TCP, UDP, SMB pipes): the tx's fields,
  // then the flow's state the parsers keep across txs (app_smb.cc,
  // app_dcerpc.cc); ~470 bytes.
  struct Smb {
    uint8_t version;              // 1, 2 (SMB2/3); 0: DCERPC over TCP/UDP
    uint8_t share_type;           // tree connect: 1 FILE, 2 PIPE, 3 PRINT, 0 not known
    uint8_t dce;                  // the tx is a DCERPC PDU (d_* fields)
    uint8_t ntlmssp;              // a session setup with NTLMSSP AUTHENTICATE (user, domain, host)
    uint8_t tree_tx;              // a tree connect (share / named_pipe in EVE)
    uint16_t command;
    uint32_t status, tree_id;
    uint64_t session_id;
    char filename[64];            // CREATE / NT_CREATE_ANDX
    char user[48], domain[48], host[32];
    uint8_t d_type, d_bits, d_minor;  // PDU type, (dcerpc.hdr) bits, rpc minor version
    uint8_t d_udp;                // connectionless (UDP): version 4
    uint8_t d_le;                 // the PDU's integers are little endian (drep[0] & 0x10)
    uint16_t d_opnum, d_frag_cnt;
    uint32_t d_call_id, d_stub_size;
    // Flow state.
    char share[64];               // the latest tree connect's path
    uint16_t dialect;             // SMB2 revision (0x02ff "2.??"), 1 "NT LM 0.12", 0 unknown
    uint8_t neg_smb1;             // the client negotiated with SMB1: the answer counts as version 1
    uint8_t ipc_n;                // pipe trees known
    uint32_t ipc_tree[4];         // tree ids whose share is a pipe (DCERPC rides them)
    // SMB requests awaiting their answer, paired by key (SMB2: the message
    // id's low 32 bits; SMB1: pid << 16 | mid): creates, tree connects and
    // session setups, whose answers log the request's names. Full: the
    // oldest is dropped (counted smb_pair_full); an answer with no entry is
    // logged without the request's names (counted smb_unpaired).
    struct Pend {
      uint32_t key;
      uint8_t kind;               // 0 free, 1 create, 2 tree connect, 3 session setup
      uint8_t flags;              // 1: the latest of its kind (its full name is in filename / share), 2: NTLMSSP
      char name[38];              // the name's last 37 bytes (a newer request of its kind overwrote the field)
    } pend[4];
    uint8_t pend_n;               // entries in use, oldest first
    uint8_t req_type;             // the latest request's PDU type + 1 (0 none), its bits
    uint8_t req_bits, nifs;
    uint16_t req_opnum, req_frag_cnt, req_ctx;
    uint32_t req_call_id, req_stub_size;
    struct Iface {                // bound contexts of the latest bind / alter_context
      uint8_t uuid[16];           // text order
      uint16_t ver, ver_minor, ctx_id;
      uint16_t ack;               // bind_ack result (0 accepted), 0xffff none yet
    } ifs[4];
  };
  union {
    Mqtt mqtt;
    Smb smb;
  };
  // http2: the stream of the tx (its HTTP fields are the http_* above);
  // h2_ctrl: a tx of frames alone (stream 0...), not logged as an http event.
  uint32_t h2_stream = 0;
  uint8_t h2_ctrl = 0;
};

// The counters: dataplane/app/counters.h.
struct AppCounters {
  uint64_t detected[rules::kAppProtoCount];  // flows by AppProto
  SPECTRE_APP_COUNTERS(SPECTRE_COUNTER_FIELD)
};

class AppSink {
 public:
  virtual ~AppSink() = default;
  // A transaction direction is complete: HTTP request (head and body up to the
  // limit) or response, a DNS query or answer, a TLS ClientHello or ServerHello.
  // Buffers and meta are valid only during the call.
  virtual void on_tx(bool to_server, const BufferSet& bufs, const AppMeta& meta) = 0;
};

struct AppState;  // per flow, fixed size, lives in the worker's session slot
size_t app_state_size();
void app_state_init(AppState* s);

class AppCtx {
 public:
  explicit AppCtx(const AppConfig& cfg);
  ~AppCtx();
  AppCounters ctr{};
  // libmagic per file (~10-50 us each): only when the loaded rules inspect
  // file.magic (filemagic). Set by inspection from the snapshot; worker thread.
  bool want_magic = false;
  // File digests (whole files only): kHashMd5 for EVE fileinfo and filemd5,
  // sha1 / sha256 only for filesha1 / filesha256 rules (a pass over the file
  // each: ~2-15 cycles/byte). Set by inspection from the snapshot.
  static constexpr uint8_t kHashMd5 = 1, kHashSha1 = 2, kHashSha256 = 4;
  uint8_t want_hash = kHashMd5;
  // HTTP/2 header lists for EVE's request_headers / response_headers (a copy
  // of each head's fields, up to 2 x kH2HdrLog bytes per stream, and of both
  // lists into the response tx): only when transactions are logged. Set by
  // inspection from the snapshot.
  bool want_h2_log = true;
  // The flow initiator's address (16 bytes, IPv4 in the first 4; null:
  // unknown) while a stream chunk is parsed, set by inspection: ftpbounce
  // compares a PORT command's address with it, as Suricata does (f->src).
  const uint8_t* flow_src = nullptr;
  struct Impl;
  std::unique_ptr<Impl> impl;
};

// In-order TCP data of one direction (after reassembly); `gap_before` bytes
// were lost just before it (parsers resynchronise or give up on the flow).
void app_stream(AppCtx& c, AppState* s, bool to_server, uint16_t sport, uint16_t dport,
                const uint8_t* d, uint32_t n, uint32_t gap_before, uint64_t ts_ns, AppSink& sink);
// One UDP datagram.
void app_datagram(AppCtx& c, AppState* s, bool to_server, uint16_t sport, uint16_t dport,
                  const uint8_t* d, uint32_t n, uint64_t ts_ns, AppSink& sink);
// Whether a UDP datagram could start an app-layer flow (DNS by port or by a
// plausible header); the worker opens a session only then. Stateless, cheap.
bool app_datagram_candidate(uint16_t sport, uint16_t dport, const uint8_t* d, uint32_t n);
// Flow end: completes open transactions (e.g. a body delimited by close) and
// returns pooled buffers. The state may be re-initialised afterwards.
void app_finish(AppCtx& c, AppState* s, AppSink& sink);

rules::AppProto app_proto(const AppState* s);
const AppMeta& app_meta(const AppState* s);  // latest transaction, for alerts

// Pool accounting (tests, stats): free and total transaction buffers.
uint32_t app_pool_free(const AppCtx& c);
uint32_t app_pool_size(const AppCtx& c);
// Body decoders (gzip/deflate): free and total.
uint32_t app_decoders_free(const AppCtx& c);
uint32_t app_decoders_size(const AppCtx& c);

// Appends the EVE object of m's protocol (`"http":{...}`, `"dns":{...}` or
// `"tls":{...}`, no leading comma) to out; nothing for other protocols.
// Empty fields are omitted. Not for the packet path (appends to a string).
// `hassh`: the client's and server's HASSH strings for the ssh object (null:
// none), kept outside AppMeta (they are ~1 KB each).
// `h2_headers`: an HTTP/2 stream's (http2.headers) bytes for its
// request_headers / response_headers (empty: none).
void format_app_json(const AppMeta& m, std::string& out, const char* const* hassh = nullptr,
                     std::string_view h2_headers = {});
// Suricata's `"fileinfo":{...}` object of a file tx (meta.file_tx), no leading comma.
void format_fileinfo_json(const AppMeta& m, std::string& out);

}  // namespace spectre
