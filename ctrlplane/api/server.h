// The HTTP/1.1 server of the REST API: Boost.Beast on one io_context (its
// own thread), plain TCP or TLS (OpenSSL; --api-cert/--api-key), keep-alive,
// a header and body size limit (413), a read timeout, and the hand-off of
// /api/v1/stream (WebSocket upgrade) and /api/v1/stream/sse to the stream
// hub's hooks once the request is authorized.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "ctrlplane/api/service.h"

namespace spectre::api {

namespace beast = boost::beast;
using HttpRequest = beast::http::request<beast::http::string_body>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;                   // 0: an ephemeral port (port() tells)
  std::string cert, key;               // PEM files: TLS when both are set
  size_t max_body = 1 << 20;           // 413 above (a 10,000-id bulk is ~110 KB)
  size_t detect_max_body = 0;          // POST /api/v1/detect's limit (a capture); 0: max_body
  size_t max_header = 16 << 10;
  std::chrono::seconds timeout{30};    // per read/write
};

// Set by main when the stream hub is built in; unset routes answer 501.
struct StreamHooks {
  std::function<void(beast::tcp_stream&&, HttpRequest&&)> websocket, sse;
  std::function<void(TlsStream&&, HttpRequest&&)> websocket_tls, sse_tls;
};

class ApiServer {
 public:
  // io: the io_context the server (and the stream hub, built on the same one) runs on; run by start()'s thread.
  ApiServer(ApiService& svc, ServerOptions o, boost::asio::io_context& io);
  ~ApiServer();
  void set_stream_hooks(StreamHooks h) { hooks_ = std::move(h); }  // before start()
  bool start(std::string& err);  // binds and listens, then serves on its own thread
  void stop();
  uint16_t port() const { return port_; }
  bool tls() const { return bool(ssl_); }
  boost::asio::io_context& io() { return io_; }

 private:
  void do_accept();  // one async_accept; its handler starts the session and calls this again (io thread)
  struct Impl;
  ApiService& svc_;
  ServerOptions opt_;
  StreamHooks hooks_;
  boost::asio::io_context& io_;
  std::unique_ptr<boost::asio::ssl::context> ssl_;
  std::unique_ptr<Impl> impl_;
  std::thread thr_;
  uint16_t port_ = 0;
};

}  // namespace spectre::api
