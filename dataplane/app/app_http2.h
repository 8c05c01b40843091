// HTTP/2 internals (app_http2.cc, app_hpack.cc): HPACK decoding (RFC 7541)
// and the per-flow connection context. Not part of the public API.
#pragma once
#include <cstdint>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

// HPACK dynamic table, bounded at the protocol's default size: a peer that
// raises SETTINGS_HEADER_TABLE_SIZE above it gets a smaller table here, so a
// reference to an entry it kept and we evicted is a decoding error (counted).
constexpr uint32_t kHpackTable = 4096;
constexpr uint32_t kHpackEntries = kHpackTable / 32;  // each entry costs 32 + its bytes
constexpr uint32_t kHpackStr = 4096;  // a decoded name or value longer than this is cut

struct HpackTable {
  uint32_t max_size;   // current maximum (dynamic table size updates), <= kHpackTable
  uint32_t size;       // RFC 7541 size: sum of name + value + 32
  uint32_t n;          // entries, oldest first (index 62 is ent[n - 1])
  uint32_t used;       // bytes in data
  struct Ent {
    uint16_t off, nlen, vlen;
  } ent[kHpackEntries];
  uint8_t data[kHpackTable];
};
void hpack_init(HpackTable& t);

enum class HpackErr : uint8_t { kOk = 0, kTruncated, kInteger, kIndex, kHuffman, kSizeUpdate };

class HpackSink {
 public:
  virtual ~HpackSink() = default;
  // One decoded field; `cut`: the name or value was longer than kHpackStr.
  virtual void field(const uint8_t* name, uint32_t nlen, const uint8_t* value, uint32_t vlen, bool cut) = 0;
  virtual void size_update(uint32_t size) { (void)size; }
};

// Decodes a whole header block, updating t. `tmp`: 2 * kHpackStr bytes.
// On error the table may be partly updated (the connection's HPACK state is lost).
HpackErr hpack_decode(HpackTable& t, const uint8_t* p, uint32_t n, uint8_t* tmp, HpackSink& sink);
// Huffman-decoded string (RFC 7541 5.2, Appendix B) into out (cap bytes;
// *cut when longer). False: bad code, EOS or bad padding.
bool hpack_huffman(const uint8_t* p, uint32_t n, uint8_t* out, uint32_t cap, uint32_t* out_n, bool* cut);

// Frame parsing (app_http2.cc).
// Streams tracked at once per flow (the oldest is finished early): above the
// SETTINGS_MAX_CONCURRENT_STREAMS servers announce (100-256). Suricata's
// http2.max-streams (4096) counts a flow's live transactions, done or not;
// ours are open streams only (a finished stream's record is free).
constexpr uint32_t kH2Streams = 256;
// Bytes of each direction's header list kept per stream for EVE's
// request_headers / response_headers (name and value with 2-byte lengths
// each; entries past it are left out, counted in `truncated`).
constexpr uint32_t kH2HdrLog = 640;
// Pseudo-header names (RFC 9113 8.3, RFC 8441's :protocol), kept in order per head.
constexpr const char* kPseudo[6] = {":method", ":path", ":authority", ":scheme", ":status", ":protocol"};
constexpr uint32_t kH2Block = 8192;     // header block bytes assembled (HEADERS + CONTINUATION)
constexpr uint32_t kH2Pseudo = 4096;    // pseudo-header values (:path...) kept per block
constexpr uint32_t kH2HdrBuf = 50;      // the (http2.hdr) buffer: see dataplane/rules/http2_opts.cc

// Whether the first bytes of a direction are the client preface ("PRI * HTTP/2.0\r\n"):
// 0 no, 1 yes, 2 undecided.
int h2_probe(const uint8_t* p, uint32_t n);
void h2_init_pool(AppCtx::Impl& m);
size_t h2_conn_size();    // bytes of one flow's HTTP/2 context (tests, docs)
size_t h2_stream_size();  // bytes of one pooled stream record
uint32_t h2_streams_free(const AppCtx& c);  // stream records free in the worker's pool (tests)
void h2_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink);
void h2_gap(AppCtx& c, AppState* s, int d, AppSink& sink);
void h2_finish(AppCtx& c, AppState* s, AppSink& sink);
// An HTTP/1.1 connection switched to h2c (101 with Upgrade: h2c): the
// upgrade request is stream 1 (its response comes as HTTP/2).
void h2_upgrade(AppCtx& c, AppState* s);

// The HTTP/1 machinery (app_http.cc) on a stream's message: the head text
// is in the direction's storage (h.head_len bytes); `end`: the message has
// no body (END_STREAM on its HEADERS).
void http_head_external(AppCtx& c, AppState* s, int d, bool end, AppSink& sink);
// The (http2.headers) buffer of the stream's response tx (emit()):
// [u16 request list bytes][request list][response list], in scratch.
void h2_log_buf(AppCtx::Impl& m, BufferSet& bs);
// EVE's "request_headers":[...],"response_headers":[...] from that buffer,
// each {"name":..,"value":..} in wire order, {"table_size_update":N} for a
// size update, as Suricata's http2 logger (no leading comma; nothing when empty).
void h2_headers_json(std::string& out, const uint8_t* p, uint32_t n);

}  // namespace app
}  // namespace spectre
