// Microbenchmarks: the TLS parser (dataplane/app) over one whole connection,
// in 1460-byte segments, on a fresh flow state each iteration:
//   tls_handshake/<certs>   ClientHello (SNI, 17 ciphers, 9 extensions); ServerHello,
//                           Certificate with <certs> 2048-bit RSA certificates (made
//                           with libcrypto at start), ServerHelloDone; ClientKeyExchange,
//                           ChangeCipherSpec, Finished. Each flight's records are copied
//                           into its transaction's payload (tls.* buffers, ssl_state +
//                           content rules), and each certificate is parsed (subject,
//                           issuer, serial, validity, SHA-1 fingerprint).
//   tls_appdata/<KiB>       the same handshake, then <KiB> of application-data records:
//                           what a long encrypted transfer costs after its handshake.
// Counters: cycles per connection (tsc_cycles), per byte (cyc_per_byte).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <rte_cycles.h>

#include <string>
#include <vector>

#include "dataplane/app/app.h"

namespace spectre::micro {
namespace {

struct Bytes {
  std::string b;
  void u8(uint32_t v) { b += char(v & 0xFF); }
  void u16(uint32_t v) { u8(v >> 8), u8(v); }
  void u24(uint32_t v) { u8(v >> 16), u16(v); }
};

std::string record(uint8_t type, const std::string& body) {
  Bytes r;
  r.u8(type), r.u16(0x0303), r.u16(uint32_t(body.size()));
  return r.b + body;
}

std::string handshake(uint8_t type, const std::string& body) {
  Bytes h;
  h.u8(type), h.u24(uint32_t(body.size()));
  return h.b + body;
}

std::string ext(uint16_t type, const std::string& data) {
  Bytes e;
  e.u16(type), e.u16(uint32_t(data.size()));
  return e.b + data;
}

std::string client_hello() {
  Bytes h;
  h.u16(0x0303);
  h.b += std::string(32, 'r');
  h.u8(0);
  h.u16(17 * 2);
  for (uint32_t c = 0; c < 17; c++) h.u16(0xc02b + c);
  h.u8(1), h.u8(0);
  Bytes sni;
  sni.u16(16), sni.u8(0), sni.u16(13);
  sni.b += "www.example.org";
  std::string exts = ext(0, sni.b) + ext(23, "") + ext(0xff01, std::string(1, '\0')) +
                     ext(10, std::string("\x00\x06\x00\x1d\x00\x17\x00\x18", 8)) +
                     ext(11, std::string("\x01\x00", 2)) + ext(35, "") +
                     ext(16, std::string("\x00\x0c\x02h2\x08http/1.1", 14)) + ext(5, std::string(5, '\0')) +
                     ext(13, std::string("\x00\x04\x04\x03\x08\x04", 6));
  h.u16(uint32_t(exts.size()));
  h.b += exts;
  return record(22, handshake(1, h.b));
}

// A self-signed 2048-bit RSA certificate, DER.
std::string make_cert(int serial) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("NL"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Example"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("www.example.org"),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  X509_sign(x, key, EVP_sha256());
  unsigned char* der = nullptr;
  int n = i2d_X509(x, &der);
  std::string out(reinterpret_cast<char*>(der), size_t(n > 0 ? n : 0));
  OPENSSL_free(der);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

struct Conversation {
  std::vector<std::pair<bool, std::string>> segs;  // to_server, bytes (<= 1460)
  size_t bytes = 0;
  void add(bool to_server, const std::string& s) {
    for (size_t o = 0; o < s.size(); o += 1460) segs.emplace_back(to_server, s.substr(o, 1460));
    bytes += s.size();
  }
};

Conversation tls_conversation(int ncerts, size_t appdata_kib) {
  static std::vector<std::string> certs;  // RSA key generation: once per process
  while (int(certs.size()) < ncerts) certs.push_back(make_cert(int(certs.size()) + 1));
  Conversation c;
  c.add(true, client_hello());
  Bytes sh;
  sh.u16(0x0303), sh.b += std::string(32, 's'), sh.u8(0), sh.u16(0xc02f), sh.u8(0), sh.u16(0);
  Bytes list;
  for (int i = 0; i < ncerts; i++) list.u24(uint32_t(certs[i].size())), list.b += certs[i];
  Bytes cert;
  cert.u24(uint32_t(list.b.size()));
  cert.b += list.b;
  c.add(false, record(22, handshake(2, sh.b)) + record(22, handshake(11, cert.b)) + record(22, handshake(14, "")));
  c.add(true, record(22, handshake(16, std::string(66, 'k'))) + record(20, std::string(1, '\1')) +
                  record(22, std::string(40, 'f')));
  c.add(false, record(20, std::string(1, '\1')) + record(22, std::string(40, 'f')));
  for (size_t k = 0; k < appdata_kib; k += 16) c.add(false, record(23, std::string(16384, 'd')));
  return c;
}

struct CountSink : AppSink {
  uint64_t txs = 0;
  void on_tx(bool, const BufferSet&, const AppMeta&) override { txs++; }
};

void run(benchmark::State& st, const Conversation& conv) {
  AppConfig cfg;
  AppCtx ctx(cfg);
  std::vector<uint64_t> mem(app_state_size() / 8 + 1);
  AppState* s = reinterpret_cast<AppState*>(mem.data());
  CountSink sink;
  uint64_t t0 = rte_rdtsc();
  for (auto _ : st) {
    app_state_init(s);
    for (const auto& [to_server, d] : conv.segs)
      app_stream(ctx, s, to_server, to_server ? 40000 : 443, to_server ? 443 : 40000,
                 reinterpret_cast<const uint8_t*>(d.data()), uint32_t(d.size()), 0, 0, sink);
    app_finish(ctx, s, sink);
  }
  double cyc = double(rte_rdtsc() - t0) / double(st.iterations());
  st.counters["tsc_cycles"] = cyc;
  st.counters["cyc_per_byte"] = cyc / double(conv.bytes);
  st.counters["txs"] = double(sink.txs) / double(st.iterations());
  st.SetBytesProcessed(int64_t(st.iterations() * conv.bytes));
}

void BM_Handshake(benchmark::State& st) { run(st, tls_conversation(int(st.range(0)), 0)); }
void BM_AppData(benchmark::State& st) { run(st, tls_conversation(2, size_t(st.range(0)))); }

}  // namespace

BENCHMARK(BM_Handshake)->Name("tls_handshake")->ArgName("certs")->Arg(1)->Arg(3);
BENCHMARK(BM_AppData)->Name("tls_appdata")->ArgName("KiB")->Arg(64)->Arg(1024);

}  // namespace spectre::micro
