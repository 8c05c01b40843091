// The "yara" objects of EVE records (dataplane/yaramatch/). Writer thread only.
#include <iterator>
#include <string>

#include "dataplane/events/eve.h"

namespace spectre {

namespace {

// {"rule":..,"namespace":..,"strings":[{"id":..,"offset":..,"length":..}]}, then `extra` before the brace.
template <typename Out>
void put_hit(Out& out, const YaraEventMeta::Hit& h, const char* extra_tags, const char* extra_meta) {
  auto esc = [&](const char* s) {
    fmt::memory_buffer b;
    put_json_escaped(b, s);
    out.append(std::string_view(b.data(), b.size()));
  };
  out.append(std::string_view("{\"rule\":\""));
  esc(h.rule);
  out.append(std::string_view("\",\"namespace\":\""));
  esc(h.ns);
  out.push_back('"');
  if (extra_tags) {
    out.append(std::string_view(",\"tags\":"));
    out.append(std::string_view(extra_tags[0] ? extra_tags : "[]"));
    out.append(std::string_view(",\"meta\":"));
    out.append(std::string_view(extra_meta[0] ? extra_meta : "{}"));
  }
  out.append(std::string_view(",\"strings\":["));
  for (uint32_t i = 0; i < h.nstr && i < 6; i++) {
    if (i) out.push_back(',');
    out.append(std::string_view("{\"id\":\""));
    esc(h.str[i].id);
    const std::string t = fmt::format("\",\"offset\":{},\"length\":{}}}", h.str[i].offset, h.str[i].len);
    out.append(std::string_view(t));
  }
  out.push_back(']');
  if (h.str_cut) out.append(std::string_view(",\"strings_cut\":true"));
  out.push_back('}');
}

struct StrOut {
  std::string& s;
  void append(std::string_view v) { s.append(v); }
  void push_back(char c) { s.push_back(c); }
};

}  // namespace

void format_yara_object(fmt::memory_buffer& out, const AlertRecord& a) {
  const YaraEventMeta& m = a.x.yara;
  std::string s = "\"yara\":";
  StrOut o{s};
  if (m.n) {
    put_hit(o, m.hit[0], m.tags, m.meta);
    s.pop_back();
    s += ',';
  } else {
    s += '{';  // never written by the scanner (an alert has its rule); kept valid JSON
  }
  s += fmt::format("\"scanned\":{}}}", m.scanned);
  out.append(std::string_view(s));
}

void append_fileinfo_yara(std::string& fileinfo, const AlertRecord& a) {
  const YaraEventMeta& m = a.x.yara;
  if (!a.has_yara || fileinfo.empty() || fileinfo.back() != '}') return;
  fileinfo.pop_back();  // inside the fileinfo object
  StrOut o{fileinfo};
  fileinfo += ",\"yara\":[";
  for (uint32_t i = 0; i < m.n && i < 4; i++) {
    if (i) fileinfo.push_back(',');
    put_hit(o, m.hit[i], nullptr, nullptr);
  }
  fileinfo += ']';
  if (m.cut) fileinfo += ",\"yara_cut\":true";
  fileinfo += '}';
}

}  // namespace spectre
