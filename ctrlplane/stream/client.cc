#include "ctrlplane/stream/client.h"

#include <algorithm>
#include <ctime>

#include "ctrlplane/stream/hub.h"

namespace spectre::stream {

namespace {

std::string envelope(const StreamEvent& ev, uint64_t count, uint64_t first_seq) {
  std::string m;
  m.reserve(ev.json.size() + 96);
  m += R"({"type":"event","channel":")";
  m += channel_name(ev.channel);
  m += R"(","seq":)";
  m += std::to_string(ev.seq);
  if (count > 1) {
    m += R"(,"count":)" + std::to_string(count) + R"(,"first_seq":)" + std::to_string(first_seq);
  }
  m += R"(,"data":)";
  m += ev.json.empty() ? std::string_view("{}") : std::string_view(ev.json);
  m += '}';
  return m;
}

size_t bucket(int severity) { return static_cast<size_t>(std::clamp(severity, 1, 4) - 1); }

std::string rfc3339_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int64_t mono_ns() { return std::chrono::steady_clock::now().time_since_epoch() / std::chrono::nanoseconds(1); }

ItemPtr make_item(StreamEvent ev) {
  auto it = std::make_shared<Item>();
  it->msg = envelope(ev, 1, ev.seq);
  if (!ev.src_ip.empty()) parse_ip(ev.src_ip, it->src);
  if (!ev.dest_ip.empty()) parse_ip(ev.dest_ip, it->dst);
  it->ev = std::move(ev);
  return it;
}

Client::Client(StreamHub& hub, bool sse) : hub_(hub), sse_(sse), agg_timer_(hub.strand()) {}

Client::~Client() = default;

bool Client::catching_up() const {
  return std::any_of(sub_.begin(), sub_.end(), [](const ChannelSub& s) { return s.on && s.catching_up; });
}

bool Client::offer(const ItemPtr& it) {
  ChannelSub& s = sub(it->ev.channel);
  if (closed || !s.on || s.catching_up || it->ev.seq <= s.hw) return false;
  s.hw = it->ev.seq;
  if (s.aggregate_ms > 0 && !it->ev.key.empty()) {
    aggregate(it, s.aggregate_ms);
    return false;
  }
  return enqueue(it);
}

// The bounded queue: over queue_limit, drop-oldest removes the oldest event of
// the lowest priority present (or the new one when it is lower still) and
// records a gap; disconnect closes the client.
bool Client::enqueue(ItemPtr it) {
  const StreamOptions& o = hub_.options();
  size_t b = bucket(it->ev.severity);
  if (queued_ >= o.queue_limit) {
    if (o.slow_policy == SlowPolicy::kDisconnect) {
      hub_.counters().disconnects.fetch_add(1, std::memory_order_relaxed);
      close_now();
      return false;
    }
    size_t low = 3;
    while (low > 0 && q_[low].empty()) --low;
    hub_.counters().dropped.fetch_add(1, std::memory_order_relaxed);
    if (b > low || q_[low].empty()) {
      note_gap(it->ev.channel, 1, it->ev.seq, it->ev.seq);
      return false;
    }
    const StreamEvent& old = q_[low].front().second->ev;
    note_gap(old.channel, 1, old.seq, old.seq);
    q_[low].pop_front();
    --queued_;
  }
  q_[b].emplace_back(++arrivals_, std::move(it));
  ++queued_;
  if (touched) return false;
  touched = true;
  return true;
}

void Client::note_gap(Channel ch, uint64_t missed, uint64_t from, uint64_t to) {
  ChannelSub& s = sub(ch);
  s.gap_from = s.gap_missed == 0 ? from : std::min(s.gap_from, from);
  s.gap_to = std::max(s.gap_to, to);
  s.gap_missed += missed;
  gaps_pending_ = true;
}

void Client::aggregate(const ItemPtr& it, uint32_t window_ms) {
  std::string key(1, static_cast<char>(it->ev.channel));
  key += it->ev.key;
  auto [pos, fresh] = agg_.try_emplace(key);
  Agg& a = pos->second;
  if (fresh) {
    a.first_seq = it->ev.seq;
    agg_order_.emplace_back(std::chrono::steady_clock::now() + std::chrono::milliseconds(window_ms), key);
  }
  ++a.count;
  a.last = it;
  if (!agg_armed_) arm_agg_timer();
}

void Client::arm_agg_timer() {
  if (agg_order_.empty() || closed) return;
  agg_armed_ = true;
  agg_timer_.expires_at(agg_order_.front().first);
  agg_timer_.async_wait([this, keep = shared_from_this()](boost::system::error_code ec) {
    agg_armed_ = false;
    if (ec || closed) return;
    flush_aggregates(false);
    arm_agg_timer();
  });
}

void Client::flush_aggregates(bool all) {
  auto now = std::chrono::steady_clock::now();
  while (!agg_order_.empty() && (all || agg_order_.front().first <= now)) {
    auto node = agg_.extract(agg_order_.front().second);
    agg_order_.pop_front();
    if (node.empty()) continue;
    Agg& a = node.mapped();
    if (a.count > 1) {
      auto merged = std::make_shared<Item>(*a.last);
      merged->msg = envelope(merged->ev, a.count, a.first_seq);
      hub_.counters().aggregated.fetch_add(a.count - 1, std::memory_order_relaxed);
      enqueue(std::move(merged));
    } else {
      enqueue(std::move(a.last));
    }
  }
  if (touched) {
    touched = false;
    wake();
  }
}

void Client::push_control(std::string json) {
  if (closed) return;
  control_.push_back(std::move(json));
  wake();
}

void Client::push_heartbeat() {
  std::string m = R"({"type":"heartbeat","ts":")" + rfc3339_now() + R"(","seq":{)";
  bool first = true;
  for (size_t i = 0; i < kChannels; ++i) {
    if (!sub_[i].on) continue;
    if (!first) m += ',';
    first = false;
    m += '"';
    m += channel_name(static_cast<Channel>(i));
    m += "\":" + std::to_string(hub_.head(static_cast<Channel>(i)));
  }
  m += "}}";
  push_control(std::move(m));
}

bool Client::pop_gap(OutMsg& m) {
  for (size_t i = 0; i < kChannels; ++i) {
    ChannelSub& s = sub_[i];
    if (s.gap_missed == 0) continue;
    m.item.reset();
    m.seq = 0;
    m.text = R"({"type":"gap","channel":")" + std::string(channel_name(static_cast<Channel>(i))) +
             R"(","missed":)" + std::to_string(s.gap_missed) + R"(,"from_seq":)" + std::to_string(s.gap_from) +
             R"(,"to_seq":)" + std::to_string(s.gap_to) + "}";
    s.gap_missed = s.gap_from = s.gap_to = 0;
    hub_.counters().gaps.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  gaps_pending_ = false;
  return false;
}

// Order: control messages, gap notices, resume backlog (oldest first), then
// live events: in arrival order, by severity once the client is backed up.
bool Client::pop(OutMsg& m) {
  if (!control_.empty()) {
    m.item.reset();
    m.seq = 0;
    m.text = std::move(control_.front());
    control_.pop_front();
    return true;
  }
  if (gaps_pending_ && pop_gap(m)) return true;
  if (replay_q_.empty() && catching_up()) hub_.refill(*this);
  if (gaps_pending_ && pop_gap(m)) return true;  // the store could not reach back far enough
  m.replay = !replay_q_.empty();
  if (m.replay) {
    m.item = std::move(replay_q_.front());
    replay_q_.pop_front();
    hub_.counters().replayed.fetch_add(1, std::memory_order_relaxed);
  } else if (queued_ > 0) {
    std::deque<std::pair<uint64_t, ItemPtr>>* q = nullptr;
    for (auto& b : q_) {
      if (b.empty()) continue;
      if (backed_up_) {  // priority: the first non-empty bucket
        q = &b;
        break;
      }
      if (!q || b.front().first < q->front().first) q = &b;  // arrival order
    }
    m.item = std::move(q->front().second);
    q->pop_front();
    --queued_;
  } else {
    return false;
  }
  m.ch = m.item->ev.channel;
  m.seq = m.item->ev.seq;
  sub(m.ch).last_sent = m.seq;
  ++popped_;
  return true;
}

void Client::flush_sent_count() {
  if (popped_ == 0) return;
  hub_.count_sent(popped_);
  popped_ = 0;
}

std::string Client::sse_id() const {
  std::string id;
  for (size_t i = 0; i < kChannels; ++i) {
    if (!sub_[i].on || sub_[i].last_sent == 0) continue;
    if (!id.empty()) id += ',';
    id += channel_name(static_cast<Channel>(i));
    id += ':' + std::to_string(sub_[i].last_sent);
  }
  return id;
}

ClientInfo Client::info() const {
  ClientInfo ci;
  ci.id = id;
  ci.sse = sse_;
  for (size_t i = 0; i < kChannels; ++i) {
    ci.subscribed[i] = sub_[i].on;
    ci.acked[i] = sub_[i].acked;
    ci.last_sent[i] = sub_[i].last_sent;
  }
  ci.queued = queued_;
  return ci;
}

}  // namespace spectre::stream
