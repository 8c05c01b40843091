// Compact JSON reader for model files (load time only, never on the packet path).
// The document is a flat pre-order array of nodes that point into the source text,
// so a 30 MB model costs ~28 bytes per value, and numbers are converted on demand
// with std::from_chars (locale independent, correctly rounded straight to float).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spectre::ml::json {

enum class Type : uint8_t { Null, Bool, Number, String, Array, Object };

struct Node {
  Type type = Type::Null;
  uint32_t next = 0;     // index of next sibling, or kNone
  uint32_t count = 0;    // number of children (arrays/objects)
  uint32_t off = 0, len = 0;          // raw text: number, string body, true/false
  uint32_t key_off = 0, key_len = 0;  // raw member key when parent is an object
};

inline constexpr uint32_t kNone = 0xffffffffu;

class Doc {
 public:
  // Parses `text` (which must outlive the Doc). Nesting deeper than kMaxDepth or
  // any syntax error gives false and a message with the byte offset.
  bool parse(std::string_view text, std::string& err);
  static constexpr int kMaxDepth = 64;

  uint32_t root() const { return 0; }
  const Node& at(uint32_t i) const { return nodes_[i]; }
  Type type(uint32_t i) const { return nodes_[i].type; }
  uint32_t size(uint32_t i) const { return nodes_[i].count; }
  uint32_t first(uint32_t i) const { return nodes_[i].count ? i + 1 : kNone; }
  uint32_t next(uint32_t i) const { return nodes_[i].next; }
  // Member of object `obj` named `key` (raw compare; model keys have no escapes).
  uint32_t find(uint32_t obj, std::string_view key) const;
  std::string_view raw(uint32_t i) const { return text_.substr(nodes_[i].off, nodes_[i].len); }
  std::string str(uint32_t i) const;  // unescaped string value

  // Conversions: false if the node is not a number of that kind (bools count as 0/1).
  bool to_float(uint32_t i, float& v) const;
  bool to_double(uint32_t i, double& v) const;
  bool to_int(uint32_t i, int64_t& v) const;

 private:
  bool value(int depth);
  bool string_body(uint32_t& off, uint32_t& len);
  bool fail(const char* what);
  void skip_ws();

  std::string_view text_;
  size_t pos_ = 0;
  std::vector<Node> nodes_;
  std::string* err_ = nullptr;
};

}  // namespace spectre::ml::json
