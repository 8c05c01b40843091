#include "ml/json.h"

#include <charconv>
#include <cstring>

namespace spectre::ml::json {

bool Doc::fail(const char* what) {
  *err_ = std::string("json: ") + what + " at byte " + std::to_string(pos_);
  return false;
}

void Doc::skip_ws() {
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    ++pos_;
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Validates a string starting at the opening quote; records the body span.
bool Doc::string_body(uint32_t& off, uint32_t& len) {
  ++pos_;  // opening quote
  size_t start = pos_;
  while (true) {
    if (pos_ >= text_.size()) return fail("unterminated string");
    unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') break;
    if (c < 0x20) return fail("control character in string");
    if (c == '\\') {
      if (++pos_ >= text_.size()) return fail("unterminated escape");
      char e = text_[pos_];
      if (e == 'u') {
        if (pos_ + 4 >= text_.size()) return fail("truncated \\u escape");
        for (int k = 1; k <= 4; ++k)
          if (hexval(text_[pos_ + k]) < 0) return fail("bad \\u escape");
        pos_ += 4;
      } else if (!std::strchr("\"\\/bfnrt", e) || e == 0) {
        return fail("bad escape");
      }
    }
    ++pos_;
  }
  off = static_cast<uint32_t>(start);
  len = static_cast<uint32_t>(pos_ - start);
  ++pos_;  // closing quote
  return true;
}

bool Doc::value(int depth) {
  if (depth > kMaxDepth) return fail("nesting too deep");
  if (nodes_.size() >= kNone - 1) return fail("too many values");
  skip_ws();
  if (pos_ >= text_.size()) return fail("unexpected end of input");
  uint32_t self = static_cast<uint32_t>(nodes_.size());
  nodes_.push_back(Node{});
  nodes_[self].next = kNone;
  char c = text_[pos_];
  if (c == '{' || c == '[') {
    bool obj = c == '{';
    nodes_[self].type = obj ? Type::Object : Type::Array;
    ++pos_;
    skip_ws();
    char close = obj ? '}' : ']';
    if (pos_ < text_.size() && text_[pos_] == close) { ++pos_; return true; }
    uint32_t prev = kNone, count = 0;
    while (true) {
      uint32_t koff = 0, klen = 0;
      if (obj) {
        skip_ws();
        if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected member name");
        if (!string_body(koff, klen)) return false;
        skip_ws();
        if (pos_ >= text_.size() || text_[pos_] != ':') return fail("expected ':'");
        ++pos_;
      }
      uint32_t child = static_cast<uint32_t>(nodes_.size());
      if (!value(depth + 1)) return false;
      nodes_[child].key_off = koff;
      nodes_[child].key_len = klen;
      if (prev != kNone) nodes_[prev].next = child;
      prev = child;
      ++count;
      skip_ws();
      if (pos_ >= text_.size()) return fail("unexpected end of input");
      if (text_[pos_] == ',') { ++pos_; continue; }
      if (text_[pos_] == close) { ++pos_; break; }
      return fail(obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    nodes_[self].count = count;
    return true;
  }
  if (c == '"') {
    nodes_[self].type = Type::String;
    return string_body(nodes_[self].off, nodes_[self].len);
  }
  auto word = [&](std::string_view w) {
    return text_.compare(pos_, w.size(), w) == 0;
  };
  nodes_[self].off = static_cast<uint32_t>(pos_);
  if (word("true") || word("false") || word("null")) {
    nodes_[self].type = c == 'n' ? Type::Null : Type::Bool;
    size_t n = c == 'f' ? 5 : 4;
    nodes_[self].len = static_cast<uint32_t>(n);
    pos_ += n;
    return true;
  }
  // Non-finite floats as some writers emit them (NaN, Infinity, -Infinity).
  for (std::string_view w : {"NaN", "Infinity", "-Infinity"}) {
    if (word(w)) {
      nodes_[self].type = Type::Number;
      nodes_[self].len = static_cast<uint32_t>(w.size());
      pos_ += w.size();
      return true;
    }
  }
  // Strict JSON number grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?
  size_t p = pos_;
  auto digit = [&](size_t i) { return i < text_.size() && text_[i] >= '0' && text_[i] <= '9'; };
  if (p < text_.size() && text_[p] == '-') ++p;
  if (!digit(p)) return fail("unexpected character");
  if (text_[p] == '0') ++p; else while (digit(p)) ++p;
  if (p < text_.size() && text_[p] == '.') {
    ++p;
    if (!digit(p)) return fail("bad number");
    while (digit(p)) ++p;
  }
  if (p < text_.size() && (text_[p] == 'e' || text_[p] == 'E')) {
    ++p;
    if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
    if (!digit(p)) return fail("bad number exponent");
    while (digit(p)) ++p;
  }
  nodes_[self].type = Type::Number;
  nodes_[self].len = static_cast<uint32_t>(p - pos_);
  pos_ = p;
  return true;
}

bool Doc::parse(std::string_view text, std::string& err) {
  text_ = text;
  pos_ = 0;
  nodes_.clear();
  err_ = &err;
  if (text.size() >= kNone) return fail("document too large");
  if (!value(0)) return false;
  skip_ws();
  if (pos_ != text_.size()) return fail("trailing characters");
  return true;
}

uint32_t Doc::find(uint32_t obj, std::string_view key) const {
  if (obj >= nodes_.size() || nodes_[obj].type != Type::Object) return kNone;
  for (uint32_t c = first(obj); c != kNone; c = nodes_[c].next)
    if (text_.substr(nodes_[c].key_off, nodes_[c].key_len) == key) return c;
  return kNone;
}

std::string Doc::str(uint32_t i) const {
  std::string_view r = raw(i);
  std::string out;
  out.reserve(r.size());
  for (size_t k = 0; k < r.size(); ++k) {
    if (r[k] != '\\') { out += r[k]; continue; }
    char e = r[++k];  // escapes were validated by parse()
    switch (e) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        unsigned cp = 0;
        for (int j = 1; j <= 4; ++j) cp = cp * 16 + static_cast<unsigned>(hexval(r[k + j]));
        k += 4;
        // UTF-8 encode (surrogate pairs are kept as separate code units; keys never use them).
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else if (cp < 0x800) {
          out += static_cast<char>(0xc0 | (cp >> 6));
          out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
          out += static_cast<char>(0xe0 | (cp >> 12));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
          out += static_cast<char>(0x80 | (cp & 0x3f));
        }
        break;
      }
      default: out += e;
    }
  }
  return out;
}

namespace {
// A number node's text as T (bools count as 0/1); over/underflow is malformed.
template <typename T>
bool number_as(const Node& n, std::string_view r, T& v) {
  if (n.type == Type::Bool) {
    v = r[0] == 't' ? T(1) : T(0);
    return true;
  }
  if (n.type != Type::Number) return false;
  auto res = std::from_chars(r.data(), r.data() + r.size(), v);
  return res.ec == std::errc() && res.ptr == r.data() + r.size();
}
}  // namespace

bool Doc::to_float(uint32_t i, float& v) const { return number_as(nodes_[i], raw(i), v); }
bool Doc::to_double(uint32_t i, double& v) const { return number_as(nodes_[i], raw(i), v); }
bool Doc::to_int(uint32_t i, int64_t& v) const { return number_as(nodes_[i], raw(i), v); }

}  // namespace spectre::ml::json
