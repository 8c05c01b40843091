#include "ctrlplane/stream/hub.h"

#include <algorithm>
#include <future>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace spectre::stream {

StreamHub::StreamHub(net::io_context& io, StreamOptions opts)
    : io_(io), opts_(opts), strand_(net::make_strand(io)), heartbeat_(strand_), batch_timer_(strand_) {
  if (opts_.queue_limit == 0) opts_.queue_limit = 1;
  if (opts_.ring_size == 0) opts_.ring_size = 1;
  if (opts_.replay_batch == 0) opts_.replay_batch = 1;
  handoff_.reserve(1024);
  if (opts_.measure_latency) latency_.assign(kLatencyBuckets + 1, 0);
  net::dispatch(strand_, [this] { arm_heartbeat(); });
}

StreamHub::~StreamHub() = default;

void StreamHub::publish(StreamEvent ev) {
  if (opts_.measure_latency) ev.published_ns = mono_ns();
  bool post = false;
  {
    std::lock_guard<std::mutex> lk(handoff_mu_);
    if (handoff_.size() >= opts_.handoff_limit) {
      ctr_.handoff_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    handoff_.push_back(std::move(ev));
    post = !drain_posted_;
    drain_posted_ = true;
  }
  if (!post) return;
  net::post(strand_, [this] {
    if (opts_.batch_delay.count() <= 0) return drain();
    batch_timer_.expires_after(opts_.batch_delay);
    batch_timer_.async_wait([this](boost::system::error_code) { drain(); });
  });
}

// One batch: every event published since the last drain goes to its ring and
// to the matching clients; each touched client is woken once, so its writes
// for the batch go out in one socket write.
void StreamHub::drain() {
  {
    std::lock_guard<std::mutex> lk(handoff_mu_);
    batch_.swap(handoff_);
    drain_posted_ = false;
  }
  if (stopped_) {
    batch_.clear();
    return;
  }
  for (StreamEvent& ev : batch_) {
    // Resume and the ring rely on increasing seqs: anything else is counted and dropped.
    if (static_cast<size_t>(ev.channel) >= kChannels || ev.seq == 0 ||
        ev.seq <= rings_[static_cast<size_t>(ev.channel)].head) {
      ctr_.bad_seq.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    Ring& r = rings_[static_cast<size_t>(ev.channel)];
    bool keep = opts_.resumable[static_cast<size_t>(ev.channel)];
    ItemPtr it = make_item(std::move(ev));
    if (r.covered_after == UINT64_MAX) r.covered_after = it->ev.seq - 1;
    r.head = it->ev.seq;
    if (keep) r.items.push_back(it);
    if (r.items.size() > opts_.ring_size) {
      r.covered_after = r.items.front()->ev.seq;
      r.items.pop_front();
    }
    ctr_.published.fetch_add(1, std::memory_order_relaxed);
    fan_out(it);
  }
  batch_.clear();
  // wake() may fail a write and detach that client (erasing it from clients_
  // and touched_): iterate a copy. Each client is still alive here, its
  // pending read handler holds it.
  std::vector<Client*> woken;
  woken.swap(touched_);
  for (Client* c : woken) {
    c->touched = false;
    if (!c->closed) c->wake();
  }
  woken.clear();
  if (touched_.empty()) touched_.swap(woken);  // keep the capacity
}

size_t StreamHub::PrefixHash::operator()(const PrefixKey& k) const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (uint8_t b : k.b) h = (h ^ b) * 1099511628211ull;
  return static_cast<size_t>(h);
}

StreamHub::PrefixKey StreamHub::prefix_key(const IpAddr& a, uint8_t bits) {
  StreamHub::PrefixKey k;
  IpAddr m = mask(a, bits);
  std::copy(m.b.begin(), m.b.end(), k.b.begin());
  k.b[16] = bits;
  return k;
}

void StreamHub::rebuild_index(size_t ch) {
  Index& ix = index_[ch];
  ix.scan.clear();
  ix.by_net.clear();
  ix.prefix_lens.clear();
  for (auto& [p, c] : clients_) {
    const ChannelSub& s = c->sub(static_cast<Channel>(ch));
    if (!s.on || c->closed) continue;
    if (!s.filter.has_ip) {
      ix.scan.push_back(p);
      continue;
    }
    ix.by_net[prefix_key(s.filter.ip.net, s.filter.ip.bits)].push_back(p);
    if (std::find(ix.prefix_lens.begin(), ix.prefix_lens.end(), s.filter.ip.bits) == ix.prefix_lens.end())
      ix.prefix_lens.push_back(s.filter.ip.bits);
  }
  ix.dirty = false;
}

void StreamHub::deliver(Client* c, const ItemPtr& it) {
  if (c->mark == mark_) return;  // matched on both src and dest
  c->mark = mark_;
  if (!c->sub(it->ev.channel).filter.match_rest(it->ev)) return;
  if (c->offer(it)) touched_.push_back(c);
}

// Cost per event: the clients without an address filter, plus two hash
// look-ups per distinct prefix length among the address filters.
void StreamHub::fan_out(const ItemPtr& it) {
  size_t ch = static_cast<size_t>(it->ev.channel);
  Index& ix = index_[ch];
  if (ix.dirty) rebuild_index(ch);
  ++mark_;
  for (Client* c : ix.scan) deliver(c, it);
  for (uint8_t bits : ix.prefix_lens) {
    for (const IpAddr* a : {&it->src, &it->dst}) {
      if (!a->valid) continue;
      auto f = ix.by_net.find(prefix_key(*a, bits));
      if (f == ix.by_net.end()) continue;
      for (Client* c : f->second) deliver(c, it);
    }
  }
}

bool StreamHub::admit(const std::shared_ptr<Client>& c) {
  if (stopped_ || clients_.size() >= opts_.max_clients) {
    ctr_.rejected.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  c->id = next_id_++;
  clients_.emplace(c.get(), c);
  ctr_.clients_total.fetch_add(1, std::memory_order_relaxed);
  nclients_.store(clients_.size(), std::memory_order_relaxed);
  return true;
}

void StreamHub::detach(Client* c) {
  if (c->detached) return;
  c->detached = true;
  c->closed = true;
  for (Index& ix : index_) ix.dirty = true;
  touched_.erase(std::remove(touched_.begin(), touched_.end(), c), touched_.end());
  auto [direct, async] = c->writes();
  writes_.direct += direct;
  writes_.async += async;
  clients_.erase(c);
  nclients_.store(clients_.size(), std::memory_order_relaxed);
}

void StreamHub::arm_heartbeat() {
  if (stopped_ || opts_.heartbeat.count() <= 0) return;
  heartbeat_.expires_after(opts_.heartbeat);
  heartbeat_.async_wait([this](boost::system::error_code ec) {
    if (!ec) heartbeat_tick();
  });
}

void StreamHub::heartbeat_tick() {
  if (stopped_) return;
  std::vector<std::shared_ptr<Client>> all;  // push_heartbeat may detach a client
  all.reserve(clients_.size());
  for (auto& [p, c] : clients_) all.push_back(c);
  for (auto& c : all) {
    if (c->closed) continue;
    ctr_.heartbeats.fetch_add(1, std::memory_order_relaxed);  // before the write: a reader never sees more
    c->push_heartbeat();
  }
  arm_heartbeat();
}

void StreamHub::stop() {
  net::dispatch(strand_, [this] {
    stopped_ = true;
    heartbeat_.cancel();
    batch_timer_.cancel();
    std::vector<std::shared_ptr<Client>> all;
    for (auto& [p, c] : clients_) all.push_back(c);
    for (auto& c : all) c->close_now();
  });
}

std::vector<ClientInfo> StreamHub::clients_info() {
  std::promise<std::vector<ClientInfo>> done;
  auto f = done.get_future();
  net::post(strand_, [this, &done] {
    std::vector<ClientInfo> out;
    for (auto& [p, c] : clients_) out.push_back(c->info());
    std::sort(out.begin(), out.end(), [](const ClientInfo& a, const ClientInfo& b) { return a.id < b.id; });
    done.set_value(std::move(out));
  });
  return f.get();
}

std::vector<uint64_t> StreamHub::latency_histogram() {
  std::promise<std::vector<uint64_t>> done;
  auto f = done.get_future();
  net::post(strand_, [this, &done] { done.set_value(latency_); });
  return f.get();
}

StreamHub::WriteCounts StreamHub::write_counts() {
  std::promise<WriteCounts> done;
  auto f = done.get_future();
  net::post(strand_, [this, &done] {
    WriteCounts w = writes_;
    for (auto& [p, c] : clients_) {
      auto [direct, async] = c->writes();
      w.direct += direct;
      w.async += async;
    }
    done.set_value(w);
  });
  return f.get();
}

StreamStats StreamHub::stats() const {
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  StreamStats s;
  s.clients = ld(nclients_);
  s.clients_total = ld(ctr_.clients_total);
  s.rejected = ld(ctr_.rejected);
  s.published = ld(ctr_.published);
  s.handoff_dropped = ld(ctr_.handoff_dropped);
  s.bad_seq = ld(ctr_.bad_seq);
  s.sent = ld(sent_);
  s.aggregated = ld(ctr_.aggregated);
  s.dropped = ld(ctr_.dropped);
  s.gaps = ld(ctr_.gaps);
  s.disconnects = ld(ctr_.disconnects);
  s.replayed = ld(ctr_.replayed);
  s.replay_queries = ld(ctr_.replay_queries);
  s.heartbeats = ld(ctr_.heartbeats);
  s.bad_messages = ld(ctr_.bad_messages);
  s.acks = ld(ctr_.acks);
  return s;
}

}  // namespace spectre::stream
