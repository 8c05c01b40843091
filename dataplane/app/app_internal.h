// Internals shared by the app-layer parsers (not part of the public API).
//
// Memory: AppState is a flat POD placed in the worker's session slot (no
// constructor run besides app_state_init's memset). Message bytes that must
// survive across segments (an HTTP head and body, a DNS-over-TCP message, a
// TLS handshake message) live in one pooled transaction buffer per direction,
// taken when the message starts and returned when it has been handed to the
// sink. When the pool is empty a 256-byte per-direction fallback area in the
// AppState holds a truncated head, enough for AppMeta ("meta only": on_tx gets
// an empty BufferSet).
#pragma once
#include <cstdint>
#include <cstring>

#include "dataplane/core/fixed_str.h"
#include "dataplane/app/app.h"

namespace spectre {
namespace app {

constexpr uint32_t kNoBuf = 0xffffffffu;
struct FileHash;  // a file's running digests (app_file_hash.cc)
constexpr uint32_t kFallbackSize = 256;
constexpr uint32_t kProbeSize = 16;  // every detection decides within 16 bytes
constexpr uint32_t kMaxHeaders = 64; // header lines parsed per HTTP message
constexpr uint32_t kMaxPending = 16; // pipelined requests remembered for responses

// Detection state of one direction.
enum Det : uint8_t {
  kProbing = 0,  // collecting the first bytes in Dir::probe
  kActive,       // the flow's protocol parser runs on this direction
  kRejected,     // the first bytes matched no protocol
  kDead,         // parser gave up (gap, malformed); rest of the direction ignored
  kDnsCand,      // plausible DNS-over-TCP header; confirmed by the first full message
};

enum HttpSt : uint8_t {
  kHHead = 0, kHBodyLen, kHChunkSize, kHChunkData, kHChunkCrlf, kHTrailer,
  kHUntilClose, kHTunnel, kHDead,
};

struct HttpDir {
  uint8_t st;
  uint8_t is_req;      // this direction carries requests
  uint8_t started;     // a head has begun (first non-CR/LF byte seen)
  uint8_t first_line;  // still on the start line
  uint8_t first_cr;    // the current line so far is exactly "\r"
  uint8_t emitted;     // handed to on_tx already (body limit reached first)
  uint8_t chunk_digits, chunk_ext;
  uint8_t dec_n;       // content-codings being undone (0..kMaxLayers), dec[0] first
  uint8_t dec_stop;    // decoding stopped (store full or limit): the rest is only counted
  uint8_t file;        // the body is a file (response, PUT) inspected before its end: fileinfo at the end
  uint16_t dec[2];     // decoder slot + 1 per layer (0: none; memset-safe)
  uint16_t fh;         // the file's digest state + 1 (0: none; app_file_hash.cc)
  uint32_t dec_out;    // bytes produced by the decoders of this body (decompression limit)
  uint32_t line_len;   // bytes of the current line so far (saturating)
  uint32_t head_len;   // head bytes stored
  uint32_t head_seen;  // head bytes seen
  uint32_t body_stored;
  uint64_t body_total;
  uint64_t remaining;  // Content-Length or chunk bytes left
  uint64_t chunk_acc;
};

struct DnsTcpDir {
  uint8_t lenb0, len_n;  // length prefix bytes collected
  uint32_t msg_len, got, stored;
};

struct TlsDir {
  uint8_t hdr[5], hdr_n, rec_type, done;
  uint8_t in_rec;        // the record header is read; rec_left body bytes follow
  uint8_t hv2, v2;       // the record being read / every record so far has SSLv2's 2-byte header
  uint8_t recs;          // records started (saturates at 255)
  uint8_t open;          // a flight is stored: records from the one that began it (pooled buffer)
  uint8_t state;         // ssl_state bits of the open flight's messages (app_tls.cc kSt*)
  uint8_t ready;         // the flight's last message is in: its tx at the end of the record
  uint8_t vers;          // ssl_version bits of this direction's records and hellos
  uint8_t hello;         // this side's hello was seen
  uint8_t v2compat;      // an SSLv2 ClientHello asking for SSLv3/TLS (sslv2 dropped at a v3 ServerHello)
  uint8_t mh[4], mh_n;   // header of the handshake message being walked (v2: mh[0] the type)
  uint8_t cert;          // the flight's Certificate message: 1 ended, 2 and its record is complete
  uint16_t ver;          // negotiated version of the ServerHello (tls.version)
  uint16_t rec_left;     // payload bytes left in the current record
  uint32_t m_left;       // body bytes of that message still to come
  uint32_t seen, stored; // bytes of the open flight seen / stored (seen > stored: cut)
};

// SMTP (app_smtp.cc). The client direction runs the command / DATA / MIME
// machine; the server direction parses replies. Commands awaiting a reply are
// queued on the client side (4 bits each, oldest lowest).
struct SmtpDir {
  uint8_t mode;          // SmtpMode
  uint8_t hdrs;          // inside a header block (message or MIME part)
  uint8_t enc;           // transfer encoding of the current part: 0 plain, 1 base64, 2 qp
  uint8_t attach;        // the current part is an attachment
  uint8_t multi;         // the header block just read declared multipart (boundary pending)
  uint8_t nb;            // MIME boundaries known (nesting, at most 2)
  uint8_t blen[2];
  uint8_t b64n;          // base64 sextets in b64acc
  uint8_t crlf_pend;     // a plain/qp attachment line break waits for the next line
  uint8_t line_cr;       // last byte of the line area is CR
  uint8_t pend_n, bdat_last, envelope_sent, logged;
  uint8_t file_open;     // an attachment is being collected
  uint8_t top;           // the header block is the message's (From/To/Subject kept)
  uint16_t line_len, hdr_len;
  uint16_t cmd_len;      // command line between BDAT chunks (the message line waits)
  uint8_t bdat_open;     // a BDAT message is open (no LAST chunk yet)
  uint16_t fh;           // the attachment's digest state + 1 (0: none)
  uint32_t b64acc;
  uint32_t file_len;     // bytes kept of the current attachment
  uint64_t file_total;   // decoded bytes of the current attachment
  uint64_t bdat_left;    // BDAT chunk bytes still to come
  uint64_t pend;         // queued command kinds (client side)
};

// FTP control channel (app_ftp.cc) and ftp-data (file content).
struct FtpDir {
  uint16_t line_len;
  uint8_t line_over;     // the line outgrew the line area: rest ignored
  uint8_t multi;         // inside a multi-line reply ("123-")
  uint16_t multi_code;
  uint8_t data_cmd;      // ftp-data: 1 RETR, 2 STOR (from the expectation)
  uint8_t tls;           // AUTH TLS accepted: the channel is encrypted, ignored
  uint8_t exp_slot;      // client side: expectation slot + 1 of the latest PORT/PASV
  uint16_t fh;           // ftp-data: the transfer's digest state + 1 (0: none)
  uint32_t file_len;
  uint64_t file_total;
};

// QUIC (app_quic.cc). The client's CRYPTO stream of its Initial packets is
// gathered in the direction's pooled buffer up to kQuicCryptoMax bytes, as
// up to kQuicRanges disjoint ranges (frames may come out of order).
constexpr uint32_t kQuicRanges = 4;
constexpr uint32_t kQuicCryptoMax = 16384;  // a ClientHello with PQ key shares is ~2 KiB
struct QuicDir {
  uint8_t done;          // the hello was handed on, or given up: versions only
  uint8_t initials;      // Initial packets decrypted or tried (bounded)
  uint8_t logged;        // this direction's transaction was emitted
  uint8_t dcid_len;
  uint8_t dcid[20];      // the client's first DCID: the Initial keys (RFC 9001 §5.2)
  uint8_t nr;            // CRYPTO ranges held
  uint16_t lo[kQuicRanges], hi[kQuicRanges];
  uint32_t version;      // of the first long header seen in this direction
};

// SSH (app_ssh.cc): the banner line is kept in the direction's fallback area
// (the flow's whole life: KEXINIT records use a pooled buffer, never the
// fallback), then records are framed until NEWKEYS (the rest is encrypted).
struct SshDir {
  uint8_t phase;         // SshPhase
  uint8_t emitted;       // this direction's tx was handed on
  uint8_t logged;        // ... carrying the flow's EVE event (meta.ssh_log)
  uint8_t lines;         // lines before the banner skipped
  uint8_t hdr_n, hdr[6]; // record header: length, padding length, message code
  uint8_t kex_keep;      // the current record is a KEXINIT being stored
  uint8_t kex_held;      // this side's parsed KEXINIT is held for the EVE event
  uint16_t line_len;     // banner bytes kept (at most kFallbackSize - 1)
  uint32_t rec_left;     // bytes of the current record still to come
  uint32_t kex_need;     // payload bytes of that KEXINIT (after the message code)
  uint32_t kex_len;      // of which stored
};

// SIP over TCP (app_sip.cc): a message is gathered in the pooled buffer.
struct SipDir {
  uint8_t phase;         // 0 between messages, 1 head, 2 body, 3 skipping the rest of a cut body
  uint32_t stored;       // bytes in the buffer
  uint32_t head;         // head length (phase 2)
  uint64_t body_left;    // Content-Length bytes still to come
};

// MQTT (app_mqtt.cc): the fixed header, then the message gathered in the
// pooled buffer (a larger one is kept up to the buffer, the rest skipped).
struct MqttDir {
  uint8_t phase;         // 0 type byte, 1 remaining length, 2 body, 3 skipping the rest of a cut one
  uint8_t hdr;           // the type/flags byte
  uint8_t len_n;         // remaining-length bytes read (at most 4)
  uint32_t rem;          // remaining length
  uint32_t got;          // body bytes seen
  uint32_t stored;       // of which kept
};

// Kerberos over TCP (app_krb5.cc): the record marker, then the record
// gathered in the pooled buffer (one larger than the buffer is skipped).
struct KrbDir {
  uint8_t hdr_n, hdr[4]; // record marker bytes read
  uint8_t skip;          // the current record is too large: skipped
  uint8_t last_req;      // dir[0] only: the flow's latest request type (10, 12; 0 none)
  uint32_t need, got, stored;
};

// DCERPC (app_dcerpc.cc): PDUs framed from a byte stream (TCP, or the
// data of SMB reads / writes / ioctls / transactions on a pipe); the common
// and request/response header is kept here, stub data (reassembled over a
// call's fragments) and bind bodies in the second half of the direction's
// pooled buffer.
struct DceDir {
  uint8_t hdr[24];       // common header, request/response fields
  uint8_t hdr_n, need;   // header bytes held / wanted (16 or 24)
  uint8_t first;         // the call's first fragment was seen
  uint8_t dead;          // not DCERPC (bad version): ignored until the next SMB message
  uint8_t skip;          // a request's object UUID (16 bytes) still to pass before its stub
  uint8_t gap;           // DCERPC over TCP after a gap: hdr holds a candidate header's first hdr_n bytes
  uint16_t frag_cnt;
  uint32_t body_left;    // bytes of the current PDU after the header
  uint32_t stub_left;    // of which stub (request/response) or body (bind..) bytes
  uint32_t stub_n;       // bytes held in the area
  uint32_t stub_total;   // stub bytes of the call so far
};

// SMB over TCP (app_smb.cc): NetBIOS session framing, each message gathered
// in the first half of the pooled buffer (larger ones: the first part).
struct SmbDir {
  uint8_t nb_type, nb_n; // NetBIOS session header: type, header bytes read (length into len)
  // After a TCP gap: looking for the next header + SMB magic; the last
  // win_n (<= 8) bytes seen are in dce.hdr (no DCERPC state then).
  uint8_t resync, win_n;
  uint32_t len, got, stored;
  DceDir dce;
};

// A flow's SMB / DCERPC context (app_smb_file.cc) comes from the worker's
// pool (AppConfig::smb_flows, AppState::smbf; none free: smb_no_ctx) at
// the flow's first tracked CREATE or DCERPC request and is held until the
// flow ends. It holds the SMB2 file transfers and the DCERPC call tables.
// Bounds, each with its counter when exceeded: kSmbOpens files open at once
// (the oldest entry dropped, smb_file_table_full), kSmbReads READ requests
// awaiting their answer (the oldest dropped, smb_file_reads_full),
// kSmbRanges disjoint out-of-order ranges per transfer (more: a gap, the
// file TRUNCATED); kDcePend DCERPC requests awaiting their response (the
// oldest dropped, dcerpc_pend_full), kDcePark fragmented calls set aside
// per direction while another call's fragments come (the oldest dropped,
// dcerpc_calls_dropped).
constexpr uint32_t kSmbOpens = 8;
constexpr uint32_t kSmbReads = 16;
constexpr uint32_t kSmbRanges = 4;
constexpr uint32_t kDcePend = 8;
constexpr uint32_t kDcePark = 3;
// The file collected in one direction (READ answers: 1, WRITE requests: 0);
// its first bytes are kept in a pooled buffer as HTTP bodies are.
struct SmbXfer {
  uint64_t fid;          // FileId (hashed)
  uint64_t next;         // bytes from offset 0 received without a hole
  uint64_t size;         // highest offset + length announced or seen
  uint64_t lo[kSmbRanges], hi[kSmbRanges];  // ranges received beyond next
  uint64_t w_off;        // file offset of the current message's data
  uint32_t w_lo, w_hi;   // that data in the message: [w_lo, w_hi)
  uint32_t buf;          // pooled buffer of the kept part (kNoBuf: sizes only)
  uint8_t active, inspected, gap, nr;
  uint8_t w_state;       // current message: 0 undecided, 1 file data, 2 none
  uint16_t fh;           // digest state + 1 (0: none, or given up)
  uint64_t hashed;       // bytes from offset 0 fed to the digests (in file order)
  char name[64];
};
struct SmbCtx {
  struct Open { uint64_t fid; char name[64]; } open[kSmbOpens];
  struct Read { uint64_t fid, off; uint32_t key; } rd[kSmbReads];
  uint8_t open_n, rd_n;
  SmbXfer x[2];
  // DCERPC (app_dcerpc.cc): requests by call id, for their responses'
  // opnum, interface and EVE req numbers.
  struct DcePend { uint32_t call_id, stub_size; uint16_t opnum, ctx_id, frag_cnt; uint8_t bits; } dpend[kDcePend];
  // Fragmented calls set aside (their stub so far in a pooled buffer) and
  // the call whose fragments are in the direction's area (cur_open).
  struct DcePark { uint32_t call_id, buf, stub_n, stub_total; uint16_t frag_cnt; uint8_t first; } park[2][kDcePark];
  uint32_t cur_call[2];
  uint8_t cur_open[2], park_n[2], dpend_n;
};

struct Dir {
  uint8_t det, probe_n, fb;  // fb: the storage in use is the fallback area
  uint8_t probe[kProbeSize];
  uint32_t buf;              // pooled buffer index or kNoBuf
  union {
    HttpDir http;
    DnsTcpDir dns;
    TlsDir tls;
    SmtpDir smtp;
    FtpDir ftp;
    QuicDir quic;
    SshDir ssh;
    SipDir sip;
    MqttDir mqtt;
    KrbDir krb;
    SmbDir smb;        // SMB flows, and DCERPC over TCP (dce only)
  } u;
};

}  // namespace app

struct AppState {
  rules::AppProto proto;
  uint8_t pend_n;        // pipelined requests awaiting a response
  uint8_t is_tcp;
  uint64_t pend_bits;    // 3 bits per pending request, oldest lowest: 1 HEAD, 2 CONNECT, 4 HTTP/0.9
  uint32_t http_txs[2];  // HTTP messages handed on per direction (the tx_id of files)
  uint16_t h2;           // HTTP/2 context slot + 1 (0: none), app_http2.cc
  uint16_t smbf;         // SMB file context slot + 1 (0: none), app_smb_file.cc
  app::Dir dir[2];       // [0] client->server bytes (to_server), [1] the other
  uint8_t fallback[2][app::kFallbackSize];
  AppMeta meta;
};

struct AppCtx::Impl {
  AppConfig cfg;
  uint32_t buf_size = 0;      // header_limit + max(body limits)
  uint32_t nbufs = 0, free_n = 0;
  std::unique_ptr<uint8_t[]> mem;       // nbufs * buf_size, pages touched on use
  std::unique_ptr<uint32_t[]> free_list;
  // Per-call scratch for derived buffers (normalized URI, header buffers,
  // JA3 strings): sized for the worst case of one message, reset per on_tx.
  std::unique_ptr<uint8_t[]> scratch;
  uint32_t scratch_size = 0, scratch_used = 0;
  uint64_t now_ns = 0;  // time of the data being parsed (certificate validity, FTP expectation deadlines)
  // Body decoders (gzip/deflate): fixed slots, each a zlib stream and the
  // arena zlib allocates from; taken per compressed body, never per packet.
  std::unique_ptr<uint8_t[]> dec_mem;
  std::unique_ptr<uint16_t[]> dec_free;
  uint32_t dec_n = 0, dec_free_n = 0;
  // FTP data-channel expectations (PASV/EPSV replies, PORT/EPRT commands):
  // the responder port of the data flow to come, until a deadline. Per worker:
  // the IP-pair hash puts the data flow on the control flow's worker.
  struct Expect {
    uint64_t until_ns;
    uint16_t port;
    uint8_t cmd;           // 1 RETR, 2 STOR, 0 other/unknown yet
    char name[96];         // file name of the RETR/STOR argument
  };
  // QUIC Initial decryption (app_quic.cc): one cipher context per worker,
  // reused, and the plaintext area of one datagram.
  struct QuicCrypto;
  struct QuicCryptoFree { void operator()(QuicCrypto* q) const; };
  std::unique_ptr<QuicCrypto, QuicCryptoFree> quic;
  void* magic = nullptr;  // libmagic cookie (magic_t), opened at the first file
  bool magic_failed = false;
  static constexpr uint32_t kExpect = 64;
  Expect expect[kExpect] = {};
  uint32_t expect_n = 0;
  // HTTP/2 (app_http2.cc): per-flow contexts, the HPACK string area, and
  // the (http2.hdr) bytes emit() adds to a stream's tx (null: not HTTP/2).
  std::unique_ptr<uint8_t[]> h2_mem, h2_tmp;
  std::unique_ptr<uint16_t[]> h2_free;
  uint32_t h2_n = 0, h2_free_n = 0;
  const uint8_t* h2_hdr = nullptr;
  // The stream records shared by the worker's HTTP/2 flows, and the
  // pseudo-header order (kPseudo indexes) of the stream message emit() is on.
  std::unique_ptr<uint8_t[]> h2_st_mem;
  std::unique_ptr<uint16_t[]> h2_st_free;
  uint32_t h2_st_n = 0, h2_st_free_n = 0;
  const uint8_t* h2_pseudo = nullptr;
  uint32_t h2_pseudo_n = 0;
  const uint8_t* h2_hl = nullptr;    // the bound stream's header lists (kH2HdrLog each)
  const uint16_t* h2_hl_n = nullptr;
  // Streaming file digests (app_file_hash.cc): the state pool, touched on use.
  struct FileHashFree { void operator()(app::FileHash* p) const; };
  std::unique_ptr<app::FileHash, FileHashFree> fh_mem;
  std::unique_ptr<uint16_t[]> fh_free;
  uint32_t fh_n = 0, fh_free_n = 0;
  // SMB file contexts (app_smb_file.cc), touched on use.
  std::unique_ptr<app::SmbCtx[]> smbf;
  std::unique_ptr<uint16_t[]> smbf_free;
  uint32_t smbf_n = 0, smbf_free_n = 0;

  // Bump allocation in scratch, 8-byte aligned. The scratch is sized for the
  // worst case of one message (see AppCtx's constructor), so it cannot run out.
  uint8_t* alloc(uint32_t n) {
    uint32_t at = (scratch_used + 7) & ~7u;
    if (at > scratch_size || n > scratch_size - at) return nullptr;
    scratch_used = at + n;
    return scratch.get() + at;
  }
};

namespace app {

// Storage of a direction: the pooled buffer, the fallback area or nothing.
uint8_t* storage(AppCtx& c, AppState* s, int d, uint32_t* cap);
// Takes a pooled buffer for a new message (fallback area when the pool is empty).
void acquire(AppCtx& c, AppState* s, int d);
void release(AppCtx& c, AppState* s, int d);

void set_proto(AppCtx& c, AppState* s, rules::AppProto p);
void reject_dir(AppCtx& c, AppState* s, int d);  // first bytes unusable: maybe kFailed

// Protocol parsers. `d` is the direction index (0 = to_server bytes).
void http_start(AppState* s, int d, bool is_req);
void http_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
void http_gap(AppCtx& c, AppState* s, int d, AppSink& sink);
void http_finish(AppCtx& c, AppState* s, int d, AppSink& sink);

bool dns_header_plausible(const uint8_t* p, uint32_t n, bool hint);
// A whole DNS message (UDP datagram or TCP message); false when malformed.
bool dns_message(AppCtx& c, AppState* s, const uint8_t* p, uint32_t n, bool strict,
                 bool truncated, AppSink& sink);
void dns_tcp_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, bool hint,
                  AppSink& sink);

// HTTP normalisation (app_http_norm.cc). out needs n + 2 bytes (URI) or n (host).
int hexv(uint8_t ch);  // -1 when not a hex digit
uint32_t normalize_uri(const uint8_t* u, uint32_t n, uint8_t* out);
uint32_t normalize_host(const uint8_t* h, uint32_t n, uint8_t* out);

// Body decoding (app_http_decomp.cc).
constexpr int kMaxLayers = 2;  // content-codings undone per body (Suricata's layer limit)
void decomp_init(AppCtx::Impl& m);
// Content-Encoding values -> decoders for the body of direction d (at most
// kMaxLayers, outermost first). `codings` holds the header values.
void decomp_start(AppCtx& c, HttpDir& h, const uint8_t* const* vals, const uint32_t* lens, uint32_t nvals);
// Body bytes through the decoders into dst (room bytes); returns the bytes
// written. Sets h.dec_stop when dst is full or the decompression limit cut it.
uint32_t decomp_feed(AppCtx& c, HttpDir& h, const uint8_t* p, uint32_t n, uint8_t* dst, uint32_t room);
void decomp_release(AppCtx& c, HttpDir& h);

void tls_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
// The direction ends (flow end or a gap): a ServerHello still waiting for its
// Certificate is handed on alone.
void tls_flush(AppCtx& c, AppState* s, int d, AppSink& sink);

// JA4 of a ClientHello (app_ja4.cc): its version field, cipher list bytes and
// extensions block content (already validated); 36 characters + NUL, or ""
// when out of scratch.
void ja4_string(AppCtx::Impl& m, uint16_t ver, const uint8_t* cs, uint32_t cs_len, const uint8_t* ext,
                uint32_t ext_n, char out[37], char kind = 't');

// A parsed ClientHello (app_tls.cc), shared by TLS and QUIC.
struct HelloView {
  uint16_t ver = 0;
  const uint8_t* sni = nullptr;
  uint32_t sni_len = 0;
  const char* ja3 = nullptr;  // JA3 string in scratch
  uint32_t ja3_len = 0;
  const uint8_t* ua = nullptr;  // QUIC google_user_agent transport parameter
  uint32_t ua_len = 0;
};
// ClientHello body (after the handshake header) -> h and meta.tls_sni,
// ja3_hash/ja3_string, ja4 (prefix `kind`). False when malformed.
bool client_hello_fields(AppCtx::Impl& m, AppMeta& meta, const uint8_t* b, uint32_t n, char kind, HelloView& h);
// An SSLv2 CLIENT-HELLO (2-byte header) at the start of a direction: 1 yes, 2 more bytes, 0 no.
int tls_v2_probe(const uint8_t* p, uint32_t n);

// QUIC (app_quic.cc).
bool quic_candidate(const uint8_t* p, uint32_t n);  // a plausible first QUIC datagram
void quic_datagram(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
void quic_finish(AppCtx& c, AppState* s, AppSink& sink);
void quic_transport_params(const uint8_t* p, uint32_t n, HelloView& h);
// SIP (app_sip.cc): one message per UDP datagram; over TCP framed by its
// head and Content-Length. sip_probe: whether the first bytes of a TCP
// direction start a SIP message (0 no, 1 yes, 2 undecided yet); `port`: the
// SIP port (any extension method then).
bool sip_candidate(const uint8_t* p, uint32_t n);
bool sip_message(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
int sip_probe(const uint8_t* p, uint32_t n, bool port);
void sip_tcp_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
// MQTT 3.1, 3.1.1 and 5 over TCP (app_mqtt.cc). mqtt_probe: as sip_probe, a
// CONNECT from the client (any port), or any well-formed first packet on
// the MQTT port.
int mqtt_probe(const uint8_t* p, uint32_t n, bool port);
void mqtt_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
// Kerberos 5 (app_krb5.cc). krb5_probe: as sip_probe, over UDP (a message)
// or TCP (`tcp`: after the record marker); krb5_message: one whole message
// (a UDP datagram or a TCP record), false when malformed (counted).
int krb5_probe(const uint8_t* p, uint32_t n, bool tcp);
bool krb5_message(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
void krb5_tcp_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
bool krb5_weak(int32_t etype);  // Suricata's weak (deprecated) encryption types
// SMB over TCP (app_smb.cc) and DCERPC (app_dcerpc.cc). dce_feed: stream
// bytes of direction d (TCP, or pipe data inside SMB); emits a tx per
// complete PDU (a request or response at its last fragment).
void smb_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
// A TCP gap before the next bytes of SMB (or DCERPC over TCP) direction d: the message in progress
// is dropped and the direction resynchronises on the next session header.
void smb_gap(AppCtx& c, AppState* s, int d);
int dcerpc_probe(const uint8_t* p, uint32_t n);  // as sip_probe: a connection-oriented PDU header
void dce_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
bool dce_pending(const AppState* s, int d);       // a PDU or call is partly held in the buffer
void dce_gap(AppCtx& c, AppState* s, int d);     // DCERPC over TCP: resynchronise at the next header
bool dcerpc_udp_candidate(const uint8_t* p, uint32_t n);
void dcerpc_udp(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
// SMB2 file transfers (app_smb_file.cc). FileIds are 16 bytes as on the
// wire. open: a successful CREATE answer on a file tree (takes the flow's
// context); read_req: a READ request on an open file (paired by message id
// `key` with its answer); close: a CLOSE request (the file's fileinfo).
void smb_files_init(AppCtx::Impl& m);
void smb1_fid16(const uint8_t* fid, uint8_t out[16]);  // an SMB1 FID (2 bytes) as a FileId
void smb_file_open(AppCtx& c, AppState* s, const uint8_t* fid, const char* name);
void smb_file_read_req(AppCtx& c, AppState* s, uint32_t key, const uint8_t* fid, uint64_t off);
void smb_file_close(AppCtx& c, AppState* s, const uint8_t* fid, AppSink& sink);
// Message bytes of direction d as they arrive: [got, got + k) at p; the
// message's first bytes are in st (msg_len: its NetBIOS length). The data
// of a READ answer / WRITE request on an open file feeds its transfer.
void smb_file_bytes(AppCtx& c, AppState* s, int d, const uint8_t* st, uint32_t msg_len, uint32_t got,
                    const uint8_t* p, uint32_t k, AppSink& sink);
bool smb_file_window(AppCtx& c, const AppState* s, int d);  // the current message's data is file data
void smb_file_msg_end(AppCtx& c, AppState* s, int d);  // the message ended (or a gap cut it)
void smb_file_finish(AppCtx& c, AppState* s, AppSink& sink);  // flow end: open transfers TRUNCATED
// The flow's context; `take`: from the pool when it has none (null: none free, counted).
SmbCtx* smb_ctx(AppCtx& c, AppState* s, bool take);
// UTF-16LE -> UTF-8 (unpaired surrogates as U+FFFD) into out (3 * n/2 bytes); returns the length.
uint32_t utf16_to_utf8(const uint8_t* p, uint32_t n, uint8_t* out);
void smb_json(const AppMeta& m, std::string& out);  // EVE smb / dcerpc object (app_smb_eve.cc)
// Initial packet protection (app_quic_crypto.cc).
constexpr uint32_t kQuicWork = 65536;  // the per-worker plaintext area
void quic_init(AppCtx::Impl& m);
bool quic_decryptable(uint32_t version);  // v1, drafts 23-32, v2
// QUIC version 2 (RFC 9369: 0x6b3343cf, and its draft codepoint 0x709a50c4).
inline bool quic_is_v2(uint32_t v) { return v == 0x6b3343cf || v == 0x709a50c4; }
uint8_t* quic_work(AppCtx::Impl& m);
void quic_hmac(const uint8_t* key, uint32_t kn, const uint8_t* msg, uint32_t mn, uint8_t out[32]);
void quic_expand_label(const uint8_t secret[32], const char* label, uint32_t len, uint8_t* out);
bool quic_client_keys(uint32_t version, const uint8_t* dcid, uint32_t dcid_len, uint8_t key[16], uint8_t iv[12],
                      uint8_t hp[16]);
// Opens the long-header packet pkt[0, n) whose packet number starts at
// pn_off into w (kQuicWork bytes): returns the plaintext's offset in w and
// its length in *len, or -1 (unknown version, too short, bad tag).
int32_t quic_open(AppCtx::Impl& m, uint32_t version, const uint8_t* dcid, uint32_t dcid_len, const uint8_t* pkt,
                  uint32_t n, uint32_t pn_off, uint8_t* w, uint32_t* len);

// SMTP (app_smtp.cc).
void smtp_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
void smtp_finish(AppCtx& c, AppState* s, AppSink& sink);
// FTP control channel and data channel (app_ftp.cc).
void ftp_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
void ftp_data_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
void ftp_data_finish(AppCtx& c, AppState* s, AppSink& sink);
// SSH (app_ssh.cc). ssh_flush: the direction ends (gap, flow end): its tx is
// handed on with what was seen. ssh_finish: flow end, both directions.
void ssh_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
void ssh_flush(AppCtx& c, AppState* s, int d, AppSink& sink);
void ssh_finish(AppCtx& c, AppState* s, AppSink& sink);
// A flow whose responder port was announced on an FTP control channel of
// this worker (consumed); fills the ftp-data state of both directions.
bool ftp_data_expected(AppCtx& c, AppState* s, uint16_t responder_port);
// Line helpers shared by the SMTP and FTP parsers.
bool ieq_prefix(const uint8_t* p, uint32_t n, const char* w);  // case-insensitive prefix
// Parameter `name=value` of a header value (name after ';' or a blank, any
// case; so "filename" does not match "name"): quoted, or up to ';' (and a
// blank when `blank_ends`; trailing blanks dropped). app_smtp.cc.
bool header_param(const uint8_t* v, uint32_t n, const char* name, const uint8_t** out, uint32_t* on,
                  bool blank_ends = true);
void copy_field(char* dst, size_t cap, const uint8_t* p, uint32_t n);  // NUL-terminated, cut

// The file buffers of a tx that carries file.data: file.name (when n > 0),
// (file.size), the size as decimal digits in scratch (filesize rules), and
// file.magic, libmagic's description of the first kMagicBytes of `data`
// (into meta.file_magic: once per file, ~50-500 us, never per packet).
constexpr uint32_t kMagicBytes = 4096;
void file_bufs(AppCtx& c, AppState* s, BufferSet& b, const uint8_t* name, uint32_t n, uint64_t size,
               const uint8_t* data, uint32_t data_n);

// MD5 of n bytes as 32 lowercase hex digits + NUL.
void md5_hex(const void* data, size_t n, char out[33]);
// A whole file's digests: those c.want_hash asks for into a's file_md5 /
// file_sha1 / file_sha256 (hex) and, with b, as raw bytes into the internal
// (file.md5) / (file.sha1) / (file.sha256) buffers (filemd5 & co).
void file_hashes(AppCtx& c, AppMeta& a, BufferSet* b, const uint8_t* data, uint32_t n);
inline void clear_file_hashes(AppMeta& a) { a.file_md5[0] = a.file_sha1[0] = a.file_sha256[0] = 0; }
// Streaming digests of a file of any size (app_file_hash.cc). A parser keeps
// the state's id (slot + 1, 0: none) with its file: fhash_take when the file
// starts (0 when no digest is wanted or the pool is empty, counted), then
// every file byte in file order, then fhash_final at its end: with `ok` (the
// file was seen whole) the wanted digests into a (hex) and b (raw buffers,
// filemd5 & co); the state is returned and id zeroed either way. fhash_drop:
// given up (a hole, data not in order that was not kept).
// States per worker: AppConfig::file_hash_states, held from a file's first
// byte to its end while a digest is wanted (AppCtx::want_hash).
void fhash_init(AppCtx::Impl& m);
uint16_t fhash_take(AppCtx& c);
void fhash_update(AppCtx& c, uint16_t id, const void* p, size_t n);
void fhash_final(AppCtx& c, uint16_t& id, AppMeta& a, BufferSet* b, bool ok);
void fhash_drop(AppCtx& c, uint16_t& id);
size_t fhash_state_size();  // bytes of one state (tests, docs)
uint32_t fhash_free(const AppCtx& c);  // free states (tests)

// multipart/form-data request bodies (app_multipart.cc). The boundary of a
// Content-Type value; false when it is not multipart/form-data with one.
bool multipart_boundary(const uint8_t* ct, uint32_t n, const uint8_t** b, uint32_t* bn);
// A file part: its filename and data (pointers into the body); closed when a
// delimiter follows it (else the body ended inside it).
struct MpFile {
  const uint8_t* name;
  uint32_t name_n;
  const uint8_t* data;
  uint32_t n;
  bool closed;
};
// The file parts of a body (up to max), in order.
uint32_t multipart_files(const uint8_t* body, uint32_t n, const uint8_t* b, uint32_t bn, MpFile* out,
                         uint32_t max);
constexpr uint32_t kMaxMpFiles = 16;  // files per request handed to detection and EVE
// The k files of a request tx: file.data (all files: a multi-buffer when bs
// has none yet), file.name & co and the fileinfo meta of the first (logged
// with the tx). `whole`: the body ended and was kept whole.
void multipart_bufs(AppCtx& c, AppState* s, BufferSet& bs, const MpFile* f, uint32_t k, bool whole);
// After the tx's on_tx: the fileinfo records of files 1..k-1, each alone.
void multipart_records(AppCtx& c, AppState* s, AppSink& sink, bool req, const MpFile* f, uint32_t k,
                       bool whole);

}  // namespace app
}  // namespace spectre
