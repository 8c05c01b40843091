#include "ctrlplane/api/live_stream.h"

namespace spectre::api {

LiveStream::LiveStream(boost::asio::io_context& io, Ingest& in, stream::StreamOptions o) : in_(in), hub_(io, o) {
  hub_.set_replay_source(this);
}

// Declared before the ingest in ApiRuntime, so destroyed after it: no publish reaches a dead hub.
LiveStream::~LiveStream() { hub_.stop(); }

stream::StreamEvent LiveStream::to_stream(PublishedEvent&& e) {
  stream::StreamEvent s;
  s.channel = stream::Channel(e.channel);
  s.seq = e.seq;
  s.severity = e.severity;
  s.key = std::move(e.key);
  s.json = std::move(e.json);
  s.signature = std::move(e.signature);
  s.src_ip = std::move(e.src_ip);
  s.dest_ip = std::move(e.dest_ip);
  s.category = std::move(e.category);
  s.level = std::move(e.level);
  return s;
}

bool LiveStream::replay(stream::Channel ch, uint64_t after, size_t max, std::vector<stream::StreamEvent>& out) {
  // The store keeps alerts and incident updates; flows and stats live only in the hub's ring.
  if (ch != stream::Channel::kAlerts && ch != stream::Channel::kIncidents) return false;
  std::vector<PublishedEvent> v;
  bool ok = in_.replay(uint8_t(ch), after, max, v);
  out.reserve(out.size() + v.size());
  for (auto& e : v) out.push_back(to_stream(std::move(e)));
  return ok;
}

StreamHooks LiveStream::hooks() {
  StreamHooks h;
  auto* hub = &hub_;
  h.websocket = [hub](beast::tcp_stream&& s, HttpRequest&& r) { hub->accept_websocket(std::move(s), std::move(r)); };
  h.sse = [hub](beast::tcp_stream&& s, HttpRequest&& r) { hub->accept_sse(std::move(s), std::move(r)); };
  h.websocket_tls = [hub](TlsStream&& s, HttpRequest&& r) { hub->accept_websocket(std::move(s), std::move(r)); };
  h.sse_tls = [hub](TlsStream&& s, HttpRequest&& r) { hub->accept_sse(std::move(s), std::move(r)); };
  return h;
}

void LiveStream::attach() {
  in_.set_publish([hub = &hub_](PublishedEvent&& e) { hub->publish(to_stream(std::move(e))); });
}

}  // namespace spectre::api
