// Client messages: subscribe / unsubscribe / ack / ping over WebSocket, and
// the SSE subscription from the request line.
#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "ctrlplane/stream/client.h"
#include "ctrlplane/stream/hub.h"

namespace spectre::stream {

namespace {

using json = nlohmann::json;

bool parse_u64(std::string_view s, uint64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc{} && p == s.data() + s.size();
}

// "alerts,incidents" -> channel set. False on an unknown or empty list.
bool parse_channel_list(std::string_view list, std::array<bool, kChannels>& out, std::string& reason) {
  bool any = false;
  while (!list.empty()) {
    size_t c = list.find(',');
    std::string_view name = list.substr(0, c);
    list = c == std::string_view::npos ? std::string_view() : list.substr(c + 1);
    if (name.empty()) continue;
    Channel ch;
    if (!parse_channel(name, ch)) {
      reason = "unknown channel: " + std::string(name.substr(0, 32));
      return false;
    }
    out[static_cast<size_t>(ch)] = any = true;
  }
  if (!any) reason = "no channel given";
  return any;
}

// "alerts:123,incidents:7" (SSE Last-Event-ID / ?resume=).
bool parse_resume_list(std::string_view list, std::array<int64_t, kChannels>& out, std::string& reason) {
  while (!list.empty()) {
    size_t c = list.find(',');
    std::string_view item = list.substr(0, c);
    list = c == std::string_view::npos ? std::string_view() : list.substr(c + 1);
    size_t colon = item.find(':');
    Channel ch;
    uint64_t seq = 0;
    if (colon == std::string_view::npos || !parse_channel(item.substr(0, colon), ch) ||
        !parse_u64(item.substr(colon + 1), seq) || seq > INT64_MAX) {
      reason = "bad resume position (want channel:seq): " + std::string(item.substr(0, 48));
      return false;
    }
    out[static_cast<size_t>(ch)] = static_cast<int64_t>(seq);
  }
  return true;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc{} && p == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
      } else {
        out += '%';
      }
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

void Client::error(std::string reason) {
  hub_.counters().bad_messages.fetch_add(1, std::memory_order_relaxed);
  push_control(json{{"type", "error"}, {"reason", std::move(reason)}}.dump());
}

void Client::handle_text(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error("message is not a JSON object");
  auto op = j.find("op");
  if (op == j.end() || !op->is_string()) return error("missing op");
  const std::string& name = op->get_ref<const std::string&>();
  std::string reason;
  if (name == "subscribe") {
    if (!subscribe(j, reason)) error(reason);
  } else if (name == "unsubscribe") {
    std::array<bool, kChannels> chans{};
    auto c = j.find("channels");
    if (c == j.end() || !c->is_array()) return error("unsubscribe needs channels");
    for (const auto& v : *c) {
      Channel ch;
      if (!v.is_string() || !parse_channel(v.get_ref<const std::string&>(), ch)) return error("unknown channel");
      chans[static_cast<size_t>(ch)] = true;
    }
    for (size_t i = 0; i < kChannels; ++i) {
      if (!chans[i]) continue;
      sub_[i] = ChannelSub{};  // events already queued are still sent
      hub_.subscriptions_changed(static_cast<Channel>(i));
    }
    push_control(R"({"type":"unsubscribed"})");
  } else if (name == "ack") {
    op_ack(j);
  } else if (name == "ping") {
    push_control(R"({"type":"pong"})");
  } else {
    error("unknown op: " + name.substr(0, 32));
  }
}

void Client::op_ack(const json& j) {
  auto c = j.find("channel");
  auto s = j.find("seq");
  Channel ch;
  if (c == j.end() || !c->is_string() || !parse_channel(c->get_ref<const std::string&>(), ch) || s == j.end() ||
      !s->is_number_unsigned())
    return error("ack needs channel and seq");
  ChannelSub& cs = sub(ch);
  cs.acked = std::max(cs.acked, s->get<uint64_t>());
  hub_.counters().acks.fetch_add(1, std::memory_order_relaxed);
}

bool Client::subscribe(const json& j, std::string& reason) {
  std::array<bool, kChannels> chans{};
  auto c = j.find("channels");
  if (c == j.end() || !c->is_array() || c->empty()) {
    reason = "subscribe needs a non-empty channels array";
    return false;
  }
  for (const auto& v : *c) {
    Channel ch;
    if (!v.is_string() || !parse_channel(v.get_ref<const std::string&>(), ch)) {
      reason = "unknown channel in subscribe";
      return false;
    }
    chans[static_cast<size_t>(ch)] = true;
  }
  Filter f;
  if (auto fj = j.find("filter"); fj != j.end() && !parse_filter(*fj, f, reason)) return false;
  uint32_t agg = 0;
  if (auto a = j.find("aggregate_ms"); a != j.end()) {
    if (!a->is_number_unsigned() || a->get<uint64_t>() > hub_.options().max_aggregate_ms) {
      reason = "aggregate_ms must be 0.." + std::to_string(hub_.options().max_aggregate_ms);
      return false;
    }
    agg = static_cast<uint32_t>(a->get<uint64_t>());
  }
  std::array<int64_t, kChannels> resume;
  resume.fill(-1);
  if (auto r = j.find("resume"); r != j.end() && !r->is_null()) {
    if (!r->is_object()) {
      reason = "resume must be an object {channel: seq}";
      return false;
    }
    for (auto it = r->begin(); it != r->end(); ++it) {
      Channel ch;
      if (!parse_channel(it.key(), ch) || !it->is_number_unsigned()) {
        reason = "bad resume entry: " + it.key().substr(0, 32);
        return false;
      }
      resume[static_cast<size_t>(ch)] = static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), INT64_MAX));
    }
  }
  return apply_subscription(chans, f, agg, resume);
}

bool Client::apply_subscription(const std::array<bool, kChannels>& chans, const Filter& f, uint32_t agg_ms,
                                const std::array<int64_t, kChannels>& resume) {
  json ack = {{"type", "subscribed"}, {"channels", json::array()}, {"seq", json::object()}};
  for (size_t i = 0; i < kChannels; ++i) {
    if (!chans[i]) continue;
    Channel ch = static_cast<Channel>(i);
    ChannelSub& s = sub_[i];
    s.on = true;
    s.filter = f;
    s.aggregate_ms = agg_ms;
    uint64_t head = hub_.head(ch);
    if (resume[i] >= 0 && !hub_.options().resumable[i]) {
      // Not replayed (stats): what was published after the position is a gap; live from here.
      uint64_t from = static_cast<uint64_t>(resume[i]);
      if (from < head) note_gap(ch, head - from, from + 1, head);
      s.catching_up = false;
      s.cursor = 0;
      s.hw = std::max(s.hw, head);
    } else if (resume[i] >= 0) {
      s.catching_up = true;
      s.cursor = s.hw = static_cast<uint64_t>(resume[i]);
    } else if (s.hw == 0) {
      s.hw = hub_.head(ch);  // live from now on
    }
    hub_.subscriptions_changed(ch);
    ack["channels"].push_back(channel_name(ch));
    ack["seq"][channel_name(ch)] = hub_.head(ch);
  }
  push_control(ack.dump());
  return true;
}

bool Client::subscribe_query(std::string_view target, std::string_view last_event_id, std::string& reason) {
  std::array<bool, kChannels> chans{};
  chans[static_cast<size_t>(Channel::kAlerts)] = chans[static_cast<size_t>(Channel::kIncidents)] = true;
  Filter f;
  uint32_t agg = 0;
  std::array<int64_t, kChannels> resume;
  resume.fill(-1);
  size_t q = target.find('?');
  std::string_view rest = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    size_t eq = kv.find('=');
    std::string name = url_decode(kv.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : url_decode(kv.substr(eq + 1));
    if (name == "channels") {
      chans = {};
      if (!parse_channel_list(value, chans, reason)) return false;
    } else if (name == "aggregate_ms") {
      uint64_t v = 0;
      if (!parse_u64(value, v) || v > hub_.options().max_aggregate_ms) {
        reason = "bad aggregate_ms";
        return false;
      }
      agg = static_cast<uint32_t>(v);
    } else if (name == "resume") {
      if (last_event_id.empty() && !parse_resume_list(value, resume, reason)) return false;
    } else if (name == "token") {
      // authentication is the API server's; ignore here
    } else if (filter_param(name, value, f, reason)) {
      if (!reason.empty()) return false;
    } else {
      reason = "unknown parameter: " + name.substr(0, 32);
      return false;
    }
  }
  if (!last_event_id.empty() && !parse_resume_list(last_event_id, resume, reason)) return false;
  return apply_subscription(chans, f, agg, resume);
}

}  // namespace spectre::stream
