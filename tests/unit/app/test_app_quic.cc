// QUIC parser: RFC 9001 Appendix A (keys, header-protection mask, the opened
// client Initial), the ClientHello's SNI/JA3/JA4 through app_datagram, CRYPTO
// frames split across packets and out of order, gQUIC CHLO (CYU), versions
// we only report, and a 100k mutation fuzz of sealed and raw packets.
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>

#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

std::string unhex(const std::string& h) {
  std::string o;
  for (size_t i = 0; i + 1 < h.size(); i += 2) o += char(std::stoi(h.substr(i, 2), nullptr, 16));
  return o;
}
std::string hex(const uint8_t* p, size_t n) {
  static const char hx[] = "0123456789abcdef";
  std::string o;
  for (size_t i = 0; i < n; i++) o += hx[p[i] >> 4], o += hx[p[i] & 15];
  return o;
}
const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// RFC 9001 Appendix A.2: the client Initial (1200 bytes) and its payload.
const std::string kDcid = unhex("8394c8f03e515708");
const std::string kCryptoFrame = unhex(
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c000004130113020100"
    "00c000000010000e00000b6578616d706c652e636f6dff01000100000a00080006001d0017001800100007000504616c706e00"
    "0500050100000000003300260024001d00209370b2c9caa47fbabaf4559fedba753de171fa71f50f1ce15d43e994ec74d74800"
    "2b0003020304000d0010000e0403050306030203080408050806002d00020101001c00024001ffa500320408ffffffffffffff"
    "ff05048000ffff07048000ffff0801100104800075300901100f088394c8f03e51570806048000ffff");
const std::string kPacket = unhex(
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11d242b123dc9bd8bab936b47d92ec356c0bab7d"
    "f5976d27cd449f63300099f3991c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c8eb7539ec4d4"
    "905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df621230c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e"
    "2347b63d58c5457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c2084dce25ff9b06cde535d0f920a2db"
    "1bf362c23e596dee38f5a6cf3948838a3aec4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3485e"
    "8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db059ae0648db2f64264ed5e39be2e20d82df566da8dd5"
    "998ccabdae053060ae6c7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f89937f5a67258bf63ad6f"
    "1a0b1d96dbd4faddfcefc5266ba6611722395c906556be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d5411"
    "9c7468449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663ac69890f4157015853d91e923037c227a33cd"
    "d5ec281ca3f79c44546b9d90ca00f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632291d6a418211"
    "cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe5896425c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506"
    "f8d2c25e50fd14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ffef132eef2fa09346aee33c28eb13"
    "0ff28f5b766953334113211996d20011a198e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009ddc324"
    "044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c"
    "1da510b0ff20dcc0c77fcb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450efc60ac47683d7b8d0f81"
    "1365565fd98c4c8eb936bcab8d069fc33bd801b03adea2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e72"
    "404790a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2162f40a29f0c3c8745c0f50fba3852e566d4"
    "4575c29d39a03f0cda721984b6f440591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca06948109f23f3"
    "50db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e"
    "1a8e308f76f0be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f0940054da48781893a7e49ad5aff4af30"
    "0cd804a6b6279ab3ff3afb64491c85194aab760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9f96f"
    "3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4056df31bd267b6b90a079831aaf579be0a39013137aa"
    "c6d404f518cfd46840647e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f94742411092abbdf8b889e5c199"
    "d096e3f24788");

TEST(AppQuic, Rfc9001Keys) {
  uint8_t secret[32];
  const std::string salt = unhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
  app::quic_hmac(u8(salt), 20, u8(kDcid), 8, secret);
  EXPECT_EQ(hex(secret, 32), "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44");
  uint8_t key[16], iv[12], hp[16];
  ASSERT_TRUE(app::quic_client_keys(1, u8(kDcid), 8, key, iv, hp));
  EXPECT_EQ(hex(key, 16), "1f369613dd76d5467730efcbe3b1a22d");
  EXPECT_EQ(hex(iv, 12), "fa044b2f42a3fd3b46fb255c");
  EXPECT_EQ(hex(hp, 16), "9f50449e04a0e810283a1e9933adedd2");
  EXPECT_FALSE(app::quic_client_keys(0x54303531, u8(kDcid), 8, key, iv, hp));  // T051: not decrypted
  // The header-protection mask of the sample (RFC 9001 A.2): 437b9aec36.
  const std::string sample = kPacket.substr(22, 16);
  EXPECT_EQ(hex(u8(sample), 16), "d1b1c98dd7689fb8ec11d242b123dc9b");
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  uint8_t mask[32];
  int ol = 0;
  ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nullptr, hp, nullptr), 1);
  ASSERT_EQ(EVP_EncryptUpdate(ctx, mask, &ol, u8(sample), 16), 1);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(hex(mask, 5), "437b9aec36");
}

// RFC 9369 Appendix A.1: version 2's salt and "quicv2" labels.
TEST(AppQuic, Rfc9369Keys) {
  uint8_t secret[32];
  const std::string salt = unhex("0dede3def700a6db819381be6e269dcbf9bd2ed9");
  app::quic_hmac(u8(salt), 20, u8(kDcid), 8, secret);
  EXPECT_EQ(hex(secret, 32), "2062e8b3cd8d52092614b8071d0aa1fb7c2e3ac193f78b280e72d8f5751f6aba");
  for (uint32_t v : {0x6b3343cfu, 0x709a50c4u}) {
    uint8_t key[16], iv[12], hp[16];
    ASSERT_TRUE(app::quic_client_keys(v, u8(kDcid), 8, key, iv, hp));
    EXPECT_EQ(hex(key, 16), "8b1a0bc121284290a29e0971b5cd045d");
    EXPECT_EQ(hex(iv, 12), "91f73e2351d8fa91660e909f");
    EXPECT_EQ(hex(hp, 16), "45b95e15235d6f45a6b19cbcb0294ba9");
  }
}

TEST(AppQuic, Rfc9001OpenClientInitial) {
  ASSERT_EQ(kPacket.size(), 1200u);
  AppCtx ctx(small_cfg());
  std::vector<uint8_t> w(app::kQuicWork);
  uint32_t len = 0;
  int32_t at = app::quic_open(*ctx.impl, 1, u8(kDcid), 8, u8(kPacket), 1200, 18, w.data(), &len);
  ASSERT_EQ(at, 22);  // header: c3 ... 449e + 4-byte packet number 00000002
  EXPECT_EQ(hex(w.data(), 22), "c300000001088394c8f03e5157080000449e00000002");
  ASSERT_EQ(len, 1162u);
  std::string want = kCryptoFrame + std::string(1162 - kCryptoFrame.size(), '\0');
  EXPECT_EQ(std::string(reinterpret_cast<char*>(w.data()) + at, len), want);
  // One flipped ciphertext bit: the tag fails.
  std::string bad = kPacket;
  bad[600] ^= 1;
  EXPECT_LT(app::quic_open(*ctx.impl, 1, u8(kDcid), 8, u8(bad), 1200, 18, w.data(), &len), 0);
}

std::vector<Tx> run_udp(AppCtx& ctx, const std::vector<Seg>& dgrams, AppProto* proto = nullptr) {
  Flow f;
  Rec r;
  for (auto& d : dgrams)
    app_datagram(ctx, f.s, d.to_server, d.to_server ? 50000 : 443, d.to_server ? 443 : 50000, u8(d.data),
                 uint32_t(d.data.size()), 0, r);
  app_finish(ctx, f.s, r);
  if (proto) *proto = app_proto(f.s);
  return r.txs;
}

TEST(AppQuic, ClientHelloFields) {
  AppCtx ctx(small_cfg());
  EXPECT_TRUE(app_datagram_candidate(50000, 443, u8(kPacket), 1200));
  AppProto p;
  auto txs = run_udp(ctx, {{true, kPacket}}, &p);
  EXPECT_EQ(p, AppProto::kQuic);
  ASSERT_EQ(txs.size(), 1u);
  const Tx& t = txs[0];
  EXPECT_TRUE(t.to_server);
  EXPECT_EQ(t.get(kQuicVersion), std::string("\0\0\0\1", 4));
  EXPECT_EQ(t.get(kQuicSni), "example.com");
  EXPECT_FALSE(t.has(kTlsSni));  // tls.sni is TLS's, as in Suricata
  EXPECT_EQ(t.get(kJa3String), "771,4865-4866,0-65281-10-16-5-51-43-13-45-28-65445,29-23-24,");
  EXPECT_EQ(t.get(kJa3Hash), "2b589d6c7b4bf2a84d1b8242eb062ade");  // md5 of the string (python hashlib)
  // JA4 by hand: QUIC, TLS 1.3, SNI, 2 ciphers, 11 extensions, ALPN "alpn";
  // sha256("1301,1302") and sha256 of the sorted extensions "_" signature algorithms
  // (python hashlib; the hello carries the draft transport-parameter codepoint 0xffa5).
  EXPECT_EQ(t.get(kJa4Hash), "q13d0211an_62ed6f6ca7ad_9611b774dd2e");
  EXPECT_EQ(ctx.ctr.quic_initials, 1u);
  EXPECT_EQ(ctx.ctr.quic_hellos, 1u);
  std::string j;
  format_app_json(t.meta, j);
  EXPECT_EQ(j, "\"quic\":{\"version\":\"1\",\"sni\":\"example.com\",\"ja3\":{\"hash\":"
               "\"2b589d6c7b4bf2a84d1b8242eb062ade\",\"string\":\"771,4865-4866,0-65281-10-16-5-51-43-13-45-28-65445,"
               "29-23-24,\"},\"ja4\":\"q13d0211an_62ed6f6ca7ad_9611b774dd2e\"}");
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

// Seals a client Initial (version v, 4-byte packet number pn) around frames,
// padded to 1200 bytes, as a client does (RFC 9001 §5.3, §5.4).
std::string seal(uint32_t v, const std::string& dcid, uint32_t pn, std::string frames) {
  uint8_t key[16], iv[12], hp[16];
  if (!app::quic_client_keys(v, u8(dcid), uint32_t(dcid.size()), key, iv, hp)) return "";
  std::string h;
  h += char(app::quic_is_v2(v) ? 0xd3 : 0xc3);  // Initial: type 0b00, v2 0b01 (RFC 9369 §3.2)
  for (int s = 24; s >= 0; s -= 8) h += char(v >> s);
  h += char(dcid.size()) + dcid;
  h += char(0);         // SCID
  h += char(0);         // token
  uint32_t hdr_len = uint32_t(h.size()) + 2 + 4;
  if (hdr_len + frames.size() + 16 < 1200) frames.resize(1200 - hdr_len - 16, '\0');
  uint32_t length = 4 + uint32_t(frames.size()) + 16;
  h += char(0x40 | (length >> 8)), h += char(length);
  uint32_t pn_off = uint32_t(h.size());
  for (int s = 24; s >= 0; s -= 8) h += char(pn >> s);
  for (int k = 0; k < 4; k++) iv[11 - k] ^= uint8_t(pn >> (8 * k));
  std::string ct(frames.size() + 16, '\0');
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int l = 0;
  EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, key, iv);
  EVP_EncryptUpdate(c, nullptr, &l, u8(h), int(h.size()));
  EVP_EncryptUpdate(c, reinterpret_cast<uint8_t*>(ct.data()), &l, u8(frames), int(frames.size()));
  EVP_EncryptFinal_ex(c, reinterpret_cast<uint8_t*>(ct.data()) + l, &l);
  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, ct.data() + frames.size());
  std::string pkt = h + ct;
  uint8_t mask[16];
  EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), nullptr, hp, nullptr);
  EVP_EncryptUpdate(c, mask, &l, u8(pkt) + pn_off + 4, 16);
  EVP_CIPHER_CTX_free(c);
  pkt[0] = char(pkt[0] ^ (mask[0] & 0x0f));
  for (int k = 0; k < 4; k++) pkt[pn_off + k] = char(pkt[pn_off + k] ^ mask[1 + k]);
  return pkt;
}

std::string crypto_frame(uint32_t off, const std::string& data) {
  std::string f;
  f += char(0x06);
  f += char(0x80), f += char(0), f += char(off >> 8), f += char(off);  // 4-byte varints
  f += char(0x80), f += char(0), f += char(data.size() >> 8), f += char(data.size());
  return f + data;
}

const std::string kHello = kCryptoFrame.substr(4);  // the ClientHello message (type, length, body)

TEST(AppQuic, SealMatchesRfc) {  // the test's sealer is the RFC's: the same packet
  EXPECT_EQ(hex(u8(seal(1, kDcid, 2, kCryptoFrame)), 1200), hex(u8(kPacket), 1200));
}

TEST(AppQuic, CryptoAcrossPacketsAndOutOfOrder) {
  AppCtx ctx(small_cfg());
  auto ref = run_udp(ctx, {{true, kPacket}});
  ASSERT_EQ(ref.size(), 1u);
  const size_t n = kHello.size();
  for (size_t cut = 1; cut < n; cut += 7) {
    for (int order = 0; order < 2; order++) {
      std::string a = seal(1, kDcid, 0, crypto_frame(0, kHello.substr(0, cut)));
      std::string b = seal(1, kDcid, 1, crypto_frame(uint32_t(cut), kHello.substr(cut)));
      auto txs = order ? run_udp(ctx, {{true, b}, {true, a}}) : run_udp(ctx, {{true, a}, {true, b}});
      ASSERT_EQ(txs.size(), 1u) << cut << " " << order;
      ASSERT_TRUE(txs[0] == ref[0]) << cut << " " << order << txs[0].describe();
    }
  }
  // Three frames in one packet, reversed and overlapping.
  std::string f = crypto_frame(100, kHello.substr(100)) + crypto_frame(40, kHello.substr(40, 70)) +
                  crypto_frame(0, kHello.substr(0, 50));
  auto txs = run_udp(ctx, {{true, seal(1, kDcid, 0, f)}});
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_TRUE(txs[0] == ref[0]);
  // Half a hello, then nothing: the version only, at the flow's end.
  txs = run_udp(ctx, {{true, seal(1, kDcid, 0, crypto_frame(0, kHello.substr(0, 60)))}});
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_FALSE(txs[0].has(kQuicSni));
  EXPECT_EQ(txs[0].get(kQuicVersion), std::string("\0\0\0\1", 4));
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppQuic, Draft29AndServerAndOtherVersions) {
  AppCtx ctx(small_cfg());
  std::string d29 = seal(0xff00001d, kDcid, 0, kCryptoFrame);
  std::string server = unhex("c1000000010008f067a5502a4262b50040750001") + std::string(120, 'x');
  auto txs = run_udp(ctx, {{true, d29}, {false, server}});
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].get(kQuicSni), "example.com");
  EXPECT_EQ(std::string(txs[0].meta.quic_version), "ff00001d");
  EXPECT_FALSE(txs[1].to_server);
  EXPECT_EQ(std::string(txs[1].meta.quic_version), "1");
  EXPECT_FALSE(txs[1].has(kQuicSni));
  std::string j;
  format_app_json(txs[1].meta, j);
  EXPECT_EQ(j, "\"quic\":{\"version\":\"1\"}");
  // QUIC v2 (0x6b3343cf), sealed as RFC 9369 A.2 seals it: decrypted.
  std::string v2 = seal(0x6b3343cf, kDcid, 2, kCryptoFrame);
  // The RFC's protected header and the start of its protected payload.
  EXPECT_EQ(hex(u8(v2), 38), "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485dd04de806071");
  AppProto p;
  txs = run_udp(ctx, {{true, v2}}, &p);
  EXPECT_EQ(p, AppProto::kQuic);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(std::string(txs[0].meta.quic_version), "6b3343cf");
  EXPECT_EQ(txs[0].get(kQuicVersion), "\x6b\x33\x43\xcf");
  EXPECT_EQ(txs[0].get(kQuicSni), "example.com");
  // mvfst (draft-27 based): opened with draft 23's salt (checked against nDPI in test_quic.py).
  txs = run_udp(ctx, {{true, seal(0xfaceb002, kDcid, 0, kCryptoFrame)}});
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(std::string(txs[0].meta.quic_version), "faceb002");
  EXPECT_EQ(txs[0].get(kQuicSni), "example.com");
  // A v1 packet relabelled v2: v2's keys do not open it (counted), version only.
  std::string relabel = kPacket;
  relabel[1] = 0x6b, relabel[2] = 0x33, relabel[3] = 0x43, relabel[4] = char(0xcf);
  relabel[0] = char(0xd0 | (relabel[0] & 0x0f));
  uint64_t e0 = ctx.ctr.quic_decrypt_errors;
  txs = run_udp(ctx, {{true, relabel}});
  EXPECT_EQ(ctx.ctr.quic_decrypt_errors, e0 + 1);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_FALSE(txs[0].has(kQuicSni));
  // A bad tag on v1: counted, version only at the end.
  std::string bad = kPacket;
  bad[700] ^= 4;
  uint64_t errs = ctx.ctr.quic_decrypt_errors;
  txs = run_udp(ctx, {{true, bad}});
  EXPECT_EQ(ctx.ctr.quic_decrypt_errors, errs + 1);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_FALSE(txs[0].has(kQuicSni));
  // Not QUIC: an unknown version, a short packet.
  std::string odd = kPacket;
  odd[1] = 0x12;
  EXPECT_FALSE(app_datagram_candidate(50000, 443, u8(odd), 1200));
  EXPECT_FALSE(app_datagram_candidate(50000, 443, u8(kPacket), 6));
}

TEST(AppQuic, GoogleQuicChloCyu) {
  // Q043 public header (version + 8-byte CID), packet number, 12-byte hash,
  // a stream frame and the CHLO with the tags of Suricata's CYU example.
  const char* tags[] = {"PAD", "SNI", "VER", "CCS", "PDMD", "ICSL", "MIDS", "CFCW", "SFCW", "UAID"};
  std::string vals[] = {std::string(20, '-'), "www.example.org", "Q043", std::string(16, 'c'), "X509", "x", "d",
                        "cfcw", "sfcw", "Chrome/70.0"};
  std::string chlo = "CHLO";
  chlo += char(10), chlo += char(0), chlo += std::string(2, '\0');
  uint32_t end = 0;
  for (int i = 0; i < 10; i++) {
    std::string t = tags[i];
    t.resize(4, '\0');
    end += uint32_t(vals[i].size());
    chlo += t;
    for (int s = 0; s < 32; s += 8) chlo += char(end >> s);
  }
  for (auto& v : vals) chlo += v;
  std::string pkt = std::string("\x09", 1) + "ABCDEFGH" + "Q043" + char(1) + std::string(12, 'h') +
                    std::string("\xa0\x01\x00\x00", 4) + chlo;
  AppCtx ctx(small_cfg());
  AppProto p;
  auto txs = run_udp(ctx, {{true, pkt}}, &p);
  EXPECT_EQ(p, AppProto::kQuic);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kQuicVersion), "Q043");
  EXPECT_EQ(txs[0].get(kQuicSni), "www.example.org");
  EXPECT_EQ(txs[0].get(kQuicUa), "Chrome/70.0");
  EXPECT_EQ(txs[0].get(kQuicCyuString), "43,PAD-SNI-VER-CCS-PDMD-ICSL-MIDS-CFCW-SFCW-UAID");
  std::string j;
  format_app_json(txs[0].meta, j);
  EXPECT_NE(j.find("\"version\":\"Q043\",\"sni\":\"www.example.org\",\"ua\":\"Chrome/70.0\",\"cyu\":[{\"hash\":"),
            std::string::npos) << j;
  // Suricata's documented CYU: "43,PAD-SNI-VER-CCS-PDMD-ICSL-MIDS-CFCW-SFCW" -> e030dea1...
  char h[33];
  const char* s = "43,PAD-SNI-VER-CCS-PDMD-ICSL-MIDS-CFCW-SFCW";
  app::md5_hex(s, strlen(s), h);
  EXPECT_STREQ(h, "e030dea1f2eea44ac7db5fe4de792acd");
}

TEST(AppQuic, TransportParamUserAgent) {
  std::string tp = unhex("0408ffffffffffffffff") + unhex("7129") + char(6) + "Chrome" + unhex("0504") + "abcd";
  app::HelloView h;
  app::quic_transport_params(u8(tp), uint32_t(tp.size()), h);
  ASSERT_NE(h.ua, nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(h.ua), h.ua_len), "Chrome");
}

// Cost of a client Initial: detection, key derivation, header protection,
// GCM over 1182 bytes, the hello's JA3/JA4 (printed; bounded loosely).
TEST(AppQuic, InitialCost) {
  AppCtx ctx(small_cfg());
  constexpr int kRuns = 5000;
  auto t0 = std::chrono::steady_clock::now();
  size_t txs = 0;
  for (int i = 0; i < kRuns; i++) txs += run_udp(ctx, {{true, kPacket}}).size();
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / kRuns;
  std::printf("QUIC client Initial (1200 bytes) to a transaction: %.2f us\n", us);
  EXPECT_EQ(txs, size_t(kRuns));
  EXPECT_LT(us, 1000.0);  // loose: sanitizer builds on a loaded machine take ~100 us
}

TEST(AppQuic, MutationFuzz) {
  AppCtx ctx(small_cfg());
  std::mt19937 rng(12);
  const std::vector<std::string> plain = {kCryptoFrame, crypto_frame(0, kHello.substr(0, 90)) + "\x01\x02\x03",
                                          crypto_frame(90, kHello.substr(90))};
  uint64_t txs = 0;
  for (int it = 0; it < 100000; it++) {
    std::string a, b;
    switch (it % 3) {
      case 0:  // mutated plaintext, sealed: the frame and hello parsers see it
        a = seal(1, kDcid, 0, mutate(rng, plain[size_t(it) % plain.size()]));
        b = seal(1, kDcid, 1, mutate(rng, plain[2]));
        break;
      case 1:  // mutated packets: headers, lengths, tags
        a = mutate(rng, kPacket);
        b = mutate(rng, kPacket.substr(0, 80));
        break;
      default:
        a = mutate(rng, seal(0xff00001d, kDcid, 0, plain[1]));
        b = mutate(rng, std::string("\x09", 1) + "ABCDEFGHQ046" + "CHLO\x03\x00\x00\x00SNI\x00\x05\x00\x00\x00");
    }
    txs += run_udp(ctx, {{true, a}, {true, b}, {false, mutate(rng, b)}}).size();
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << it;
  }
  EXPECT_GT(txs, 50000u);
}

}  // namespace
}  // namespace spectre
