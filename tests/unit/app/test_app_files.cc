// Files: HTTP response and PUT bodies as files (file.name from
// Content-Disposition or the URI path, (file.size), the fileinfo record at the
// body's end, also after early inspection, TRUNCATED when cut short), and the
// same buffers on SMTP attachments.
#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

std::vector<const Tx*> files(const std::vector<Tx>& txs) {
  std::vector<const Tx*> v;
  for (auto& t : txs)
    if (t.meta.file_tx) v.push_back(&t);
  return v;
}

TEST(AppFiles, HttpResponsesAreFiles) {
  AppCtx ctx(small_cfg());
  ctx.want_magic = true;  // as when a loaded rule inspects file.magic
  std::string r1 = "HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\n"
                   "Content-Length: 11\r\n\r\nhello world";
  std::string r2 = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n" + std::string("MZ\x90\x00", 4);
  auto txs = run_tcp(ctx, {{true, "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"}, {false, r1},
                           {true, "GET http://h/dl/x.exe?y=2 HTTP/1.1\r\nHost: h\r\n\r\n"}, {false, r2},
                           {true, "POST /form HTTP/1.1\r\nContent-Length: 3\r\n\r\na=b"}});
  auto f = files(txs);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0]->get(kFileName), "report.pdf");
  EXPECT_EQ(f[0]->get(kFileSize), "11");
  EXPECT_STREQ(f[0]->meta.file_md5, "5eb63bbbe01eeed093cb22bb8f5acdc3");  // md5("hello world")
  EXPECT_EQ(f[0]->meta.file_tx_id, 0u);
  EXPECT_EQ(f[1]->get(kFileName), "/dl/x.exe");  // the URI path (absolute form: after the authority)
  EXPECT_EQ(f[1]->get(kFileSize), "4");
  EXPECT_EQ(f[1]->meta.file_tx_id, 1u);
  std::string j;
  format_fileinfo_json(f[1]->meta, j);
  std::string mg = f[1]->meta.file_magic;
  EXPECT_EQ(j, "\"fileinfo\":{\"filename\":\"/dl/x.exe\"," + (mg.empty() ? "" : "\"magic\":\"" + mg + "\",") +
               "\"gaps\":false,\"state\":\"CLOSED\",\"md5\":\"" + std::string(f[1]->meta.file_md5) +
               "\",\"stored\":false,\"size\":4,\"tx_id\":1}");
  // file.magic: libmagic's description ("hello world" is text).
  EXPECT_NE(std::string(f[0]->meta.file_magic).find("text"), std::string::npos) << f[0]->meta.file_magic;
  {  // No rule inspects file.magic: libmagic is not run (Suricata computes magic on demand too).
    AppCtx off(small_cfg());
    auto t2 = run_tcp(off, {{true, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"},
                            {false, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"}}, {}, 40000, 80);
    bool file = false;
    for (auto& t : t2)
      if (t.meta.file_tx) {
        file = true;
        EXPECT_EQ(t.meta.file_magic[0], 0);
        EXPECT_FALSE(t.has(kFileMagic));
      }
    EXPECT_TRUE(file);
  }
  // A POST form body (not multipart) is file.data but not a file.
  ASSERT_TRUE(txs.back().to_server);
  EXPECT_TRUE(txs.back().has(kFileData));
  EXPECT_FALSE(txs.back().has(kFileName));
}

TEST(AppFiles, PutUploadIsAFile) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, "PUT /up/shell.php HTTP/1.1\r\nContent-Length: 5\r\n\r\n<?php"},
                           {false, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"}});
  auto f = files(txs);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0]->to_server);
  EXPECT_EQ(f[0]->get(kFileName), "/up/shell.php");
  EXPECT_EQ(f[0]->meta.file_size, 5u);
}

TEST(AppFiles, EarlyInspectionThenRecordAndTruncation) {
  AppConfig cfg = small_cfg();
  cfg.response_body_limit = 16;
  AppCtx ctx(cfg);
  std::string body(100, 'A');
  auto txs = run_tcp(ctx, {{true, "GET /big.bin HTTP/1.1\r\n\r\n"},
                           {false, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body}});
  // The response is inspected at the limit (no file record yet), the record follows at its end.
  ASSERT_EQ(txs.size(), 3u);
  EXPECT_FALSE(txs[1].meta.file_tx);
  EXPECT_EQ(txs[1].get(kFileName), "/big.bin");
  EXPECT_TRUE(txs[2].meta.file_tx);
  EXPECT_EQ(txs[2].bufs.size(), 1u);  // its digest alone (filemd5 inspected at the end)
  EXPECT_EQ(txs[2].meta.file_size, 100u);
  char md5[33];
  app::md5_hex(body.data(), body.size(), md5);
  EXPECT_STREQ(txs[2].meta.file_md5, md5);  // the whole file's, streamed
  EXPECT_EQ(txs[2].get(kFileMd5).size(), 16u);
  EXPECT_FALSE(txs[2].meta.file_incomplete);
  // The flow ends 40 bytes into a 100-byte body: TRUNCATED.
  txs = run_tcp(ctx, {{true, "GET /cut HTTP/1.1\r\n\r\n"},
                      {false, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body.substr(0, 10)}});
  auto f = files(txs);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0]->meta.file_incomplete);
  EXPECT_EQ(f[0]->meta.file_size, 10u);
  std::string j;
  format_fileinfo_json(f[0]->meta, j);
  EXPECT_NE(j.find("\"state\":\"TRUNCATED\""), std::string::npos) << j;
  EXPECT_STREQ(f[0]->meta.file_md5, "");  // not seen whole
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
  EXPECT_EQ(app::fhash_free(ctx), AppConfig{}.file_hash_states);
}

TEST(AppFiles, SmtpAttachmentBuffers) {
  AppCtx ctx(small_cfg());
  std::string msg =
      "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
      "--XX\r\nContent-Disposition: attachment; filename=\"run.BAT\"\r\n\r\necho 1\r\n--XX--\r\n.\r\n";
  auto txs = run_tcp(ctx, {{false, "220 mx ESMTP\r\n"},
                           {true, "EHLO x\r\n"},
                           {false, "250 mx\r\n"},
                           {true, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"},
                           {false, "250 Ok\r\n250 Ok\r\n354 go\r\n"},
                           {true, msg},
                           {false, "250 queued\r\n"}},
                     {}, 40000, 25);
  auto f = files(txs);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0]->get(kFileName), "run.BAT");
  EXPECT_EQ(f[0]->get(kFileSize), std::to_string(f[0]->meta.file_size));
  EXPECT_GT(f[0]->meta.file_size, 0u);
}

// Digests on demand (AppCtx::want_hash): md5 by default (EVE fileinfo), sha1
// and sha256 only when asked (a filesha1 / filesha256 rule); each also as the
// raw-bytes buffer filemd5 & co look up. Known values: FIPS 180 "abc".
TEST(AppFiles, DigestsOnDemand) {
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  auto file_of = [&](AppCtx& ctx) {
    auto txs = run_tcp(ctx, {{true, "GET /f HTTP/1.1\r\nHost: h\r\n\r\n"}, {false, resp}}, {}, 40000, 80);
    auto f = files(txs);
    EXPECT_EQ(f.size(), 1u);
    return f.empty() ? Tx{} : *f[0];
  };
  AppCtx def(small_cfg());
  Tx a = file_of(def);
  EXPECT_STREQ(a.meta.file_md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_STREQ(a.meta.file_sha1, "");
  EXPECT_STREQ(a.meta.file_sha256, "");
  EXPECT_EQ(a.get(kFileMd5), std::string("\x90\x01\x50\x98\x3c\xd2\x4f\xb0\xd6\x96\x3f\x7d\x28\xe1\x7f\x72", 16));
  EXPECT_FALSE(a.has(kFileSha256));
  AppCtx all(small_cfg());
  all.want_hash = AppCtx::kHashSha1 | AppCtx::kHashSha256;  // no md5: neither field nor buffer
  Tx b = file_of(all);
  EXPECT_STREQ(b.meta.file_md5, "");
  EXPECT_FALSE(b.has(kFileMd5));
  EXPECT_STREQ(b.meta.file_sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_STREQ(b.meta.file_sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(b.get(kFileSha1).size(), 20u);
  EXPECT_EQ(uint8_t(b.get(kFileSha256)[0]), 0xbau);
  std::string j;
  format_fileinfo_json(b.meta, j);
  EXPECT_NE(j.find("\"sha1\":\"a9993e36"), std::string::npos) << j;
  EXPECT_NE(j.find("\"sha256\":\"ba7816bf"), std::string::npos) << j;
  EXPECT_EQ(j.find("\"md5\""), std::string::npos) << j;
}

}  // namespace
}  // namespace spectre
