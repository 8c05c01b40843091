// File keywords (Suricata's file-keywords page) on the file buffers every
// file-carrying tx has (HTTP bodies, SMTP attachments, ftp-data), rewritten as
// match items so detection needs nothing new:
//   filename:"secret"  -> file.name; content:"secret"; nocase
//   fileext:"pdf"      -> file.name; content:".pdf"; nocase; endswith
//   filesize:100<>200  -> byte_test:0,>,100,0,string,dec and <,200 on (file.size)
//                         (units KB, MB, GB: 1024-based, as Suricata's)
//   filemagic:"PDF"    -> file.magic; content:"PDF"; nocase (libmagic's description)
//   filestore[:...]    -> accepted; nothing is stored
// filemd5/filesha1/filesha256: dataset_opts.cc (a hash list looked up like a dataset).
#include <cctype>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

// `"text"` or `!"text"` (quotes optional): the text and the negation.
bool quoted(std::string_view v, std::string& out, bool& neg) {
  v = trim(v);
  neg = !v.empty() && v[0] == '!';
  if (neg) v = trim(v.substr(1));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  out = unescape(v);
  return !out.empty();
}

void push_name(Ctx& c, std::string bytes, bool neg, bool ends) {
  MatchItem it;
  it.kind = MatchItem::Kind::kContent;
  it.buf = kFileName;
  it.content.bytes = std::move(bytes);
  it.content.nocase = true;
  it.content.negated = neg;
  it.content.endswith = ends;
  c.r.items.push_back(std::move(it));
}

bool size_value(std::string_view v, uint64_t& out) {
  v = trim(v);
  uint64_t mult = 1;
  auto unit = [&](const char* u, uint64_t m) {
    size_t n = std::char_traits<char>::length(u);
    if (v.size() > n && v.substr(v.size() - n) == u) {
      mult = m;
      v = trim(v.substr(0, v.size() - n));
    }
  };
  unit("KB", 1024);
  unit("MB", 1024 * 1024);
  unit("GB", 1024ull * 1024 * 1024);
  uint32_t x;
  if (!parse_u32(v, x)) return false;
  out = uint64_t(x) * mult;
  return true;
}

void push_size(Ctx& c, ByteOp::Op op, uint64_t value) {
  MatchItem it;
  it.kind = MatchItem::Kind::kByteTest;
  it.buf = kFileSize;
  it.byte.op = op;
  it.byte.nbytes = 0;  // the digits to the buffer end
  it.byte.base = 10;
  it.byte.value = value;
  c.r.items.push_back(std::move(it));
}

bool opt_filesize(Ctx& c, std::string_view v) {
  v = trim(v);
  uint64_t a = 0, b = 0;
  bool ok;
  if (size_t q = v.find("<>"); q != std::string_view::npos) {
    ok = size_value(v.substr(0, q), a) && size_value(v.substr(q + 2), b) && a < b;
    if (ok) {
      push_size(c, ByteOp::Op::kGt, a);
      push_size(c, ByteOp::Op::kLt, b);
    }
  } else if (!v.empty() && (v[0] == '<' || v[0] == '>')) {
    ok = size_value(v.substr(1), a);
    if (ok) push_size(c, v[0] == '<' ? ByteOp::Op::kLt : ByteOp::Op::kGt, a);
  } else {
    ok = size_value(v, a);
    if (ok) push_size(c, ByteOp::Op::kEq, a);
  }
  return ok || fail(c.st, "filesize: bad value '" + std::string(v) + "' (N, <N, >N or N<>M; units KB MB GB)");
}

}  // namespace

bool opt_file(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled) {
  handled = true;
  std::string text;
  bool neg = false;
  if (name == "filename" || name == "fileext" || name == "filemagic") {
    if (!has_value || !quoted(v, text, neg)) return fail(c.st, std::string(name) + " needs a value");
    if (name == "fileext") text = "." + text;
    push_name(c, std::move(text), neg, name == "fileext");
    if (name == "filemagic") c.r.items.back().buf = kFileMagic;
    return true;
  }
  if (name == "filesize") return has_value ? opt_filesize(c, v) : fail(c.st, "filesize needs a value");
  if (name == "filestore") return true;  // accepted: files are not stored
  handled = false;
  return true;
}

}  // namespace spectre::rules::detail
