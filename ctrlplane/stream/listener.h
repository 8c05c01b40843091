// A minimal plain-TCP HTTP front for the stream hub, for tests and the
// benchmark only: spectre-cp's API server (ctrlplane/api) authenticates and
// hands sessions over itself. Reads one request per connection and passes
// GET .../stream (WebSocket upgrade) or GET .../stream/sse to the hub; 404
// otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "ctrlplane/stream/hub.h"

namespace spectre::stream {

class StreamListener {
 public:
  // Binds at once (port 0: any free port); accepts once start() is called.
  StreamListener(net::io_context& io, StreamHub& hub, const std::string& addr = "127.0.0.1", uint16_t port = 0);
  void start();
  void stop();  // thread-safe
  uint16_t port() const { return port_; }

 private:
  void accept();

  net::io_context& io_;
  StreamHub& hub_;
  net::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
};

}  // namespace spectre::stream
