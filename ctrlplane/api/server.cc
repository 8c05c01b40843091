#include "ctrlplane/api/server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>

namespace spectre::api {

namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Takes the body (a capture upload may be 64 MiB: not copied).
Request to_request(HttpRequest& m, const std::string& peer, bool& ok, std::string& why) {
  Request r;
  r.method = std::string(m.method_string());
  std::string_view t(m.target().data(), m.target().size());
  size_t qm = t.find('?');
  ok = url_decode(t.substr(0, qm), r.path, false) && !r.path.empty() && r.path[0] == '/' &&
       r.path.find('\0') == std::string::npos;
  if (!ok) { why = "bad request target"; return r; }
  if (qm != std::string_view::npos && !parse_query(t.substr(qm + 1), r.query)) {
    ok = false;
    why = "bad query string (percent escape)";
    return r;
  }
  for (auto& f : m) {
    std::string k(f.name_string());
    std::transform(k.begin(), k.end(), k.begin(), ::tolower);
    r.headers[k] = std::string(f.value());
  }
  r.body = std::move(m.body());
  r.peer = peer;
  return r;
}

template <class Stream>
struct Session : std::enable_shared_from_this<Session<Stream>> {
  Stream stream;
  beast::flat_buffer buf;
  std::optional<http::request_parser<http::string_body>> parser;
  ApiService& svc;
  const ServerOptions& opt;
  const StreamHooks& hooks;
  std::string peer;
  std::shared_ptr<http::response<http::string_body>> res;
  // When the request was read: Server-Timing "app;dur=" (ms) is the time from
  // there to the response ready to write (parsing, routing, the handler, JSON),
  // so a client can tell the server's time from the network and its own scheduling.
  std::optional<std::chrono::steady_clock::time_point> read_at;

  template <class... A>
  Session(ApiService& s, const ServerOptions& o, const StreamHooks& h, std::string p, A&&... a)
      : stream(std::forward<A>(a)...), svc(s), opt(o), hooks(h), peer(std::move(p)) {}

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream); }

  size_t limit = 0;  // this request's body limit

  // The header first: the body limit depends on the path (POST /api/v1/detect
  // takes a capture); a Content-Length over it is answered before any body.
  void read() {
    limit = 0;
    parser.emplace();
    parser->body_limit(std::numeric_limits<std::uint64_t>::max());  // on_header sets it by path (none compares as 0 in 1.74)
    parser->header_limit(uint32_t(opt.max_header));
    lowest().expires_after(opt.timeout);
    http::async_read_header(stream, buf, *parser, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->on_header(ec);
    });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);
    auto& m = parser->get();
    std::string_view t(m.target().data(), m.target().size());
    bool detect = m.method() == http::verb::post && t.substr(0, t.find('?')) == "/api/v1/detect";
    limit = detect && opt.detect_max_body ? opt.detect_max_body : opt.max_body;
    auto len = parser->content_length();
    if (len && *len > limit) return on_read(http::error::body_limit);
    parser->body_limit(limit);
    // The deadline covers the whole body: 64 MiB in 10 x 30 s needs ~1.8 Mbit/s.
    if (detect) lowest().expires_after(opt.timeout * 10);
    http::async_read(stream, buf, *parser, [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    read_at = std::chrono::steady_clock::now();
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::connection_reset || ec == net::ssl::error::stream_truncated)
      return close();
    if (ec == http::error::body_limit)
      return send(error(413, "request body over " + std::to_string(limit ? limit : opt.max_body) + " bytes"), false);
    if (ec == http::error::header_limit) return send(error(413, "request header over the size limit"), false);
    if (ec) return send(error(400, "malformed HTTP request: " + ec.message()), false);
    bool ok = true;
    std::string why;
    Request req = to_request(parser->get(), peer, ok, why);
    if (!ok) return send(error(400, why), false);
    bool ws = req.path == "/api/v1/stream" && beast::websocket::is_upgrade(parser->get());
    bool sse = req.path == "/api/v1/stream/sse" && req.method == "GET";
    if (ws || sse) {
      auto& hook = pick(ws);
      if (hook) {
        Response fail;
        if (!svc.authorize(req, Role::kViewer, fail)) return send(fail, false);
        lowest().expires_never();
        hook(std::move(stream), parser->release());
        return;  // the hub owns the connection now
      }
    }
    send(svc.handle(req), parser->get().keep_alive());
  }

  template <class S = Stream>
  auto& pick(bool ws) {
    if constexpr (std::is_same_v<S, beast::tcp_stream>) return ws ? hooks.websocket : hooks.sse;
    else return ws ? hooks.websocket_tls : hooks.sse_tls;
  }

  void send(Response r, bool keep) {
    res = std::make_shared<http::response<http::string_body>>(http::status(r.status), 11);
    res->set(http::field::server, "spectre-cp");
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep);
    res->prepare_payload();
    if (read_at) {
      char st[48];
      std::snprintf(st, sizeof st, "app;dur=%.3f",
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - *read_at).count());
      res->set("Server-Timing", st);
      read_at.reset();
    }
    lowest().expires_after(opt.timeout);
    http::async_write(stream, *res, [self = this->shared_from_this(), keep](beast::error_code ec, size_t) {
      if (ec || !keep) return self->close();
      self->buf.consume(self->buf.size());
      self->read();
    });
  }

  void close() {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    } else {
      lowest().expires_after(std::chrono::seconds(2));
      stream.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    }
  }
};

}  // namespace

struct ApiServer::Impl {
  tcp::acceptor acc;
  explicit Impl(net::io_context& io) : acc(io) {}
};

ApiServer::ApiServer(ApiService& svc, ServerOptions o, net::io_context& io) : svc_(svc), opt_(std::move(o)), io_(io) {}

ApiServer::~ApiServer() { stop(); }

bool ApiServer::start(std::string& err) {
  beast::error_code ec;
  auto addr = net::ip::make_address(opt_.address, ec);
  if (ec) { err = "bad address '" + opt_.address + "'"; return false; }
  if (!opt_.cert.empty() || !opt_.key.empty()) {
    if (opt_.cert.empty() || opt_.key.empty()) { err = "TLS needs both --api-cert and --api-key"; return false; }
    ssl_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    ssl_->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                      net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
    ssl_->use_certificate_chain_file(opt_.cert, ec);
    if (ec) { err = opt_.cert + ": " + ec.message(); return false; }
    ssl_->use_private_key_file(opt_.key, net::ssl::context::pem, ec);
    if (ec) { err = opt_.key + ": " + ec.message(); return false; }
  }
  impl_ = std::make_unique<Impl>(io_);
  tcp::endpoint ep(addr, opt_.port);
  impl_->acc.open(ep.protocol(), ec);
  if (!ec) impl_->acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acc.bind(ep, ec);
  if (!ec) impl_->acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) { err = opt_.address + ":" + std::to_string(opt_.port) + ": " + ec.message(); return false; }
  port_ = impl_->acc.local_endpoint().port();
  do_accept();
  thr_ = std::thread([this] { io_.run(); });
  return true;
}

// No self-referencing handler (a shared std::function capturing itself leaked at exit).
void ApiServer::do_accept() {
  impl_->acc.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket s) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      beast::error_code e2;
      auto rep = s.remote_endpoint(e2);
      std::string peer = e2 ? "?" : rep.address().to_string() + ":" + std::to_string(rep.port());
      if (ssl_) {
        auto sess = std::make_shared<Session<TlsStream>>(svc_, opt_, hooks_, peer, std::move(s), *ssl_);
        beast::get_lowest_layer(sess->stream).expires_after(opt_.timeout);
        sess->stream.async_handshake(net::ssl::stream_base::server, [sess](beast::error_code ec) {
          if (!ec) sess->read();
        });
      } else {
        std::make_shared<Session<beast::tcp_stream>>(svc_, opt_, hooks_, peer, std::move(s))->read();
      }
    }
    do_accept();
  });
}

void ApiServer::stop() {
  if (!thr_.joinable()) return;
  net::post(io_, [this] {
    beast::error_code ec;
    if (impl_) impl_->acc.close(ec);
  });
  io_.stop();
  thr_.join();
}

}  // namespace spectre::api
