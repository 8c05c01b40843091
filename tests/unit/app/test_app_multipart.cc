// multipart/form-data uploads: each part with a filename is a file
// (file.data = its content, file.name = its filename, a fileinfo record per
// file), whatever the segment and chunk splits; a missing final boundary
// leaves the last file TRUNCATED.
#include <random>

#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

const char kBody[] =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"comment\"\r\n\r\n"
    "not a file\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"up\"; filename=\"shell.php\"\r\n"
    "Content-Type: application/octet-stream\r\n\r\n"
    "<?php system($_GET['c']); ?>\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"up2\"; filename=\"b.txt\"\r\n\r\n"
    "hello world\r\n"
    "--XyZ--\r\n";

std::string post(const std::string& body, const std::string& ct = "multipart/form-data; boundary=XyZ") {
  return "POST /upload.php HTTP/1.1\r\nHost: h\r\nContent-Type: " + ct +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::vector<const Tx*> file_txs(const std::vector<Tx>& txs) {
  std::vector<const Tx*> v;
  for (auto& t : txs)
    if (t.meta.file_tx && t.to_server) v.push_back(&t);
  return v;
}

TEST(AppMultipart, FilePartsAreFiles) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, post(kBody)}, {false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}});
  ASSERT_FALSE(txs.empty());
  const Tx& rq = txs[0];
  ASSERT_TRUE(rq.to_server);
  // file.data: the two files' contents (a multi-buffer), not the form field.
  ASSERT_EQ(rq.multi_buf, int(kFileData));
  ASSERT_EQ(rq.multi.size(), 2u);
  EXPECT_EQ(rq.multi[0], "<?php system($_GET['c']); ?>");
  EXPECT_EQ(rq.multi[1], "hello world");
  EXPECT_EQ(rq.get(kFileName), "shell.php");
  EXPECT_EQ(rq.get(kFileSize), "28");
  EXPECT_EQ(rq.get(kHttpRequestBody), std::string(kBody));  // the body stays whole
  auto f = file_txs(txs);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_STREQ(f[0]->meta.file_name, "shell.php");
  EXPECT_EQ(f[0]->meta.file_size, 28u);
  EXPECT_FALSE(f[0]->meta.file_incomplete);
  EXPECT_STREQ(f[1]->meta.file_name, "b.txt");
  EXPECT_EQ(f[1]->meta.file_size, 11u);
  EXPECT_STREQ(f[1]->meta.file_md5, "5eb63bbbe01eeed093cb22bb8f5acdc3");  // md5("hello world")
  EXPECT_TRUE(f[1]->bufs.empty());  // the second record alone: inspected with the tx
  EXPECT_EQ(f[1]->meta.file_tx_id, 0u);
  std::string j;
  format_fileinfo_json(f[1]->meta, j);
  EXPECT_NE(j.find("\"state\":\"CLOSED\""), std::string::npos) << j;
}

TEST(AppMultipart, SplitAndChunkedGiveTheSame) {
  expect_split_invariant(small_cfg(), {{true, post(kBody)}});
  // Chunked: chunk borders inside a delimiter and inside a file.
  std::string b = kBody;
  std::string ch;
  for (size_t i = 0; i < b.size(); i += 13) {
    std::string piece = b.substr(i, 13);
    char hx[16];
    snprintf(hx, sizeof hx, "%zx", piece.size());
    ch += std::string(hx) + "\r\n" + piece + "\r\n";
  }
  ch += "0\r\n\r\n";
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, "POST /u HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=\"XyZ\"\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n" + ch}});
  auto f = file_txs(txs);
  ASSERT_EQ(f.size(), 2u);
  ASSERT_EQ(txs[0].multi.size(), 2u);
  EXPECT_EQ(txs[0].multi[0], "<?php system($_GET['c']); ?>");
  EXPECT_STREQ(f[1]->meta.file_name, "b.txt");
}

TEST(AppMultipart, MissingFinalBoundaryTruncates) {
  AppCtx ctx(small_cfg());
  std::string body = "--XyZ\r\nContent-Disposition: form-data; name=a; filename=x.exe\r\n\r\nMZPAYLOAD";
  auto txs = run_tcp(ctx, {{true, post(body)}});
  auto f = file_txs(txs);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0]->get(kFileData), "MZPAYLOAD");
  EXPECT_EQ(f[0]->get(kFileName), "x.exe");
  EXPECT_TRUE(f[0]->meta.file_incomplete);
  EXPECT_STREQ(f[0]->meta.file_md5, "");
  std::string j;
  format_fileinfo_json(f[0]->meta, j);
  EXPECT_NE(j.find("\"state\":\"TRUNCATED\""), std::string::npos) << j;
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppMultipart, NotFilesOrNotMultipart) {
  AppCtx ctx(small_cfg());
  // Only form fields: no file, no file.data.
  auto txs = run_tcp(ctx, {{true, post("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ--\r\n")}});
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_FALSE(txs[0].has(kFileData));
  EXPECT_FALSE(txs[0].meta.file_tx);
  EXPECT_TRUE(txs[0].has(kHttpRequestBody));
  // Another content type (or multipart without a boundary): the body is file.data, as before.
  for (const char* ct : {"application/x-www-form-urlencoded", "multipart/form-data"}) {
    txs = run_tcp(ctx, {{true, post(kBody, ct)}});
    ASSERT_EQ(txs.size(), 1u) << ct;
    EXPECT_EQ(txs[0].get(kFileData), std::string(kBody)) << ct;
    EXPECT_FALSE(txs[0].meta.file_tx) << ct;
  }
}

TEST(AppMultipart, PreambleLfOnlyAndEmptyFile) {
  AppCtx ctx(small_cfg());
  std::string body = "preamble\n--XyZ\nContent-Disposition: form-data; filename=\"e.bin\"\n\n"
                     "\r\n--XyZ\nContent-Disposition: form-data; FILENAME=lf.txt\n\nabc\n--XyZ--";
  auto txs = run_tcp(ctx, {{true, post(body)}});
  auto f = file_txs(txs);
  ASSERT_EQ(f.size(), 2u);
  ASSERT_EQ(txs[0].multi.size(), 2u);
  EXPECT_EQ(txs[0].multi[0], "");
  EXPECT_EQ(txs[0].multi[1], "abc");
  EXPECT_STREQ(f[1]->meta.file_name, "lf.txt");
  EXPECT_EQ(f[0]->meta.file_size, 0u);
}

TEST(AppMultipart, DirectParserBounds) {
  // Bad input of every shape: no crash, never beyond the body.
  const uint8_t* b;
  uint32_t bn;
  std::string ct = "Multipart/Form-Data; charset=x; boundary=\"q\"";
  ASSERT_TRUE(app::multipart_boundary(reinterpret_cast<const uint8_t*>(ct.data()), uint32_t(ct.size()), &b, &bn));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b), bn), "q");
  std::string s = "--q\r\nContent-Disposition: form-data; filename=a\r\n\r\n0123456789\r\n--q--";
  app::MpFile out[app::kMaxMpFiles];
  for (size_t n = 0; n <= s.size(); n++) {
    uint32_t k = app::multipart_files(reinterpret_cast<const uint8_t*>(s.data()), uint32_t(n), b, bn, out,
                                      app::kMaxMpFiles);
    ASSERT_LE(k, 1u);
    if (k) {
      EXPECT_LE(out[0].data + out[0].n, reinterpret_cast<const uint8_t*>(s.data()) + n);
      EXPECT_EQ(out[0].closed, n >= s.size() - 2) << n;
    }
  }
  // Many files: at most kMaxMpFiles.
  std::string many;
  for (int i = 0; i < 40; i++) many += "--q\r\nContent-Disposition: form-data; filename=f\r\n\r\nx\r\n";
  EXPECT_EQ(app::multipart_files(reinterpret_cast<const uint8_t*>(many.data()), uint32_t(many.size()), b, bn,
                                 out, app::kMaxMpFiles),
            app::kMaxMpFiles);
}

TEST(AppMultipart, BodyLimitKeepsTheStart) {
  AppConfig cfg = small_cfg();
  cfg.request_body_limit = 120;
  AppCtx ctx(cfg);
  std::string big(500, 'A');
  std::string body = "--XyZ\r\nContent-Disposition: form-data; name=f; filename=big.bin\r\n\r\n" + big +
                     "\r\n--XyZ--\r\n";
  auto txs = run_tcp(ctx, {{true, post(body)}, {false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}});
  auto f = file_txs(txs);
  ASSERT_EQ(f.size(), 1u);  // one record, at the limit (none again at the end)
  std::string fd = f[0]->get(kFileData);
  EXPECT_FALSE(fd.empty());
  EXPECT_EQ(fd, big.substr(0, fd.size()));
  EXPECT_TRUE(f[0]->meta.file_truncated);
  EXPECT_STREQ(f[0]->meta.file_md5, "");  // not kept whole: no digest
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppMultipart, Fuzz100k) {
  // Bodies of random pieces (delimiters, header lines, CR/LF, junk): the
  // files stay inside the body, in order, never more than max.
  const char* pieces[] = {"--q", "--q--", "\r\n", "\n", "\r", "Content-Disposition: form-data; filename=",
                          "\"x\"", "filename=\"", ";", "data", "-", "q", "\r\n\r\n"};
  std::mt19937 rng(12);
  const uint8_t* b = reinterpret_cast<const uint8_t*>("q");
  app::MpFile out[4];
  for (int it = 0; it < 100000; it++) {
    std::string s;
    int n = int(rng() % 24);
    for (int i = 0; i < n; i++) s += pieces[rng() % (sizeof pieces / sizeof pieces[0])];
    auto* p = reinterpret_cast<const uint8_t*>(s.data());
    uint32_t k = app::multipart_files(p, uint32_t(s.size()), b, 1, out, 4);
    ASSERT_LE(k, 4u);
    const uint8_t* prev = p;
    for (uint32_t i = 0; i < k; i++) {
      ASSERT_GE(out[i].data, prev) << s;
      ASSERT_LE(out[i].data + out[i].n, p + s.size()) << s;
      ASSERT_GE(out[i].name, p);
      ASSERT_LE(out[i].name + out[i].name_n, p + s.size());
      prev = out[i].data + out[i].n;
    }
  }
}

}  // namespace
}  // namespace spectre
