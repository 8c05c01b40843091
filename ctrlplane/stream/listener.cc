#include "ctrlplane/stream/listener.h"

#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace spectre::stream {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

struct HttpFront : std::enable_shared_from_this<HttpFront> {
  HttpFront(net::ip::tcp::socket s, StreamHub& hub) : stream(std::move(s)), hub(hub) {}

  void run() {
    stream.expires_after(std::chrono::seconds(10));
    http::async_read(stream, buf, req, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->dispatch();
    });
  }

  void dispatch() {
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    if (beast::websocket::is_upgrade(req) && path == "/api/v1/stream") {
      hub.accept_websocket(std::move(stream), std::move(req));
    } else if (req.method() == http::verb::get && path == "/api/v1/stream/sse") {
      hub.accept_sse(std::move(stream), std::move(req));
    } else {
      auto res = std::make_shared<http::response<http::string_body>>(http::status::not_found, req.version());
      res->set(http::field::content_type, "application/json");
      res->body() = R"({"error":"not found"})";
      res->prepare_payload();
      res->keep_alive(false);
      http::async_write(stream, *res, [self = shared_from_this(), res](beast::error_code, size_t) {
        beast::error_code ec;
        self->stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
      });
    }
  }

  beast::tcp_stream stream;
  StreamHub& hub;
  beast::flat_buffer buf;
  Request req;
};

}  // namespace

StreamListener::StreamListener(net::io_context& io, StreamHub& hub, const std::string& addr, uint16_t port)
    : io_(io), hub_(hub), acceptor_(io) {
  net::ip::tcp::endpoint ep(net::ip::make_address(addr), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(net::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

void StreamListener::start() {
  net::post(io_, [this] { accept(); });
}

void StreamListener::stop() {
  net::post(io_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
}

void StreamListener::accept() {
  acceptor_.async_accept([this](beast::error_code ec, net::ip::tcp::socket s) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      s.set_option(net::ip::tcp::no_delay(true), ec);
      std::make_shared<HttpFront>(std::move(s), hub_)->run();
    }
    accept();
  });
}

}  // namespace spectre::stream
