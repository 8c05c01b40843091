#include "ctrlplane/api/live_stream.h"

namespace spectre::api {

LiveStream::LiveStream(boost::asio::io_context& io, Ingest& in, stream::StreamOptions o) : in_(in), hub_(io, o) {
  hub_.set_replay_source(this);
}

// Declared before the ingest in ApiRuntime, so destroyed after it: no publish reaches a dead hub.
LiveStream::~LiveStream() { hub_.stop(); }

bool LiveStream::replay(stream::Channel ch, uint64_t after, size_t max, std::vector<stream::StreamEvent>& out) {
  return in_.replay(ch, after, max, out);  // the store keeps alerts and incident updates only
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
  in_.set_publish([hub = &hub_](stream::StreamEvent&& e) { hub->publish(std::move(e)); });
}

}  // namespace spectre::api
