// Coalescer<Inner>: a write-combining layer under a session. Frames are
// appended to a pending buffer and go out in one socket write per batch
// (one syscall per client per hub batch instead of one per message: the
// fan-out cost that matters at 1,000 clients). Beast's own writes (the
// handshake response, pongs, close) pass through the same buffer, so frames
// never interleave. Reads go straight to the inner stream.
// On plain TCP a flush first tries one non-blocking send() on the socket: a
// client that keeps up takes the whole buffer and the write completes in
// place, with no async operation, handler allocation or strand post; only
// what the socket does not take (or TLS) goes through async_write.
// All calls run on the hub's strand.
#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace spectre::stream {

namespace net = boost::asio;
using Strand = net::strand<net::io_context::executor_type>;

// A move-only callback (Beast's handlers are move-only, std::function is not).
class Thunk {
 public:
  Thunk() = default;
  template <class F>
  explicit Thunk(F&& f) : p_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(f))) {}
  explicit operator bool() const { return static_cast<bool>(p_); }
  void operator()() {
    auto p = std::move(p_);
    p->run();
  }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void run() = 0;
  };
  template <class F>
  struct Impl : Base {
    explicit Impl(F&& f) : f(std::move(f)) {}
    void run() override { f(); }
    F f;
  };
  std::unique_ptr<Base> p_;
};

template <class Inner>
class Coalescer {
 public:
  using next_layer_type = Inner;
  using executor_type = typename Inner::executor_type;

  // Plain TCP: the inner stream is its own lowest layer (TLS must go through its stream).
  static constexpr bool kDirect =
      std::is_same_v<std::decay_t<decltype(boost::beast::get_lowest_layer(std::declval<Inner&>()))>, Inner>;

  Coalescer(Strand strand, Inner&& inner, bool direct = true)
      : inner_(std::move(inner)), strand_(strand), direct_(kDirect && direct) {
    if (direct_) {
      boost::system::error_code ec;
      boost::beast::get_lowest_layer(inner_).socket().non_blocking(true, ec);
      if (ec) direct_ = false;
    }
  }

  Inner& next_layer() { return inner_; }
  const Inner& next_layer() const { return inner_; }
  executor_type get_executor() { return inner_.get_executor(); }

  // Owner keep-alive for the write completion, and the callback when a write finished.
  void set_owner(std::function<std::shared_ptr<void>()> owner) { owner_ = std::move(owner); }
  void on_drained(std::function<void()> f) { drained_ = std::move(f); }

  size_t pending() const { return pending_.size(); }
  bool failed() const { return failed_; }
  // A write is in flight: the socket did not take everything (the client is behind).
  bool busy() const { return flushing_; }
  void append(std::string_view bytes) { pending_.append(bytes.data(), bytes.size()); }
  // Socket writes so far: in place (send() took it all) and asynchronous.
  uint64_t direct_writes() const { return direct_writes_; }
  uint64_t async_writes() const { return async_writes_; }

  void flush() {
    if (flushing_ || failed_ || pending_.empty()) return;
    flushing_ = true;
    if (direct_ && try_direct()) return;
    ++async_writes_;
    inflight_.swap(pending_);
    net::async_write(inner_, net::buffer(inflight_),
                     net::bind_executor(strand_, [this, keep = owner_()](boost::system::error_code ec, size_t) {
                       on_written(ec);
                     }));
  }

  // Run f once everything appended so far is written (or the write failed).
  void when_flushed(Thunk f) {
    flush();
    if (!flushing_ && (pending_.empty() || failed_)) {
      net::post(strand_, std::move(f));
      return;
    }
    after_.push_back(std::move(f));
  }

  // Flush what is pending, then close the socket (rejections, hard errors).
  void close_after_flush() {
    when_flushed(Thunk([this, keep = owner_()] { close(); }));
  }
  void close() {
    boost::system::error_code ec;
    auto& sock = boost::beast::get_lowest_layer(inner_);
    sock.socket().shutdown(net::socket_base::shutdown_both, ec);
    sock.close();
  }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& b, Handler&& h) {
    return inner_.async_read_some(b, std::forward<Handler>(h));
  }

  // Copies and completes (posted) at once; the bytes go out with the next flush.
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& b, Handler&& h) {
    return net::async_initiate<Handler, void(boost::system::error_code, size_t)>(
        [this](auto handler, const ConstBuffers& bufs) {
          size_t n = 0;
          boost::system::error_code ec;
          if (failed_) {
            ec = net::error::broken_pipe;
          } else {
            for (auto it = net::buffer_sequence_begin(bufs); it != net::buffer_sequence_end(bufs); ++it) {
              net::const_buffer cb = *it;
              pending_.append(static_cast<const char*>(cb.data()), cb.size());
              n += cb.size();
            }
            flush();
          }
          auto ex = net::get_associated_executor(handler, get_executor());
          net::post(ex, [handler = std::move(handler), ec, n]() mutable { handler(ec, n); });
        },
        h, b);
  }

 private:
  // One non-blocking send of the pending bytes. True when the flush is over
  // (all written, or an error whose completion is posted); false: the rest
  // (pending_ minus what was taken) goes asynchronously.
  bool try_direct() {
    boost::system::error_code ec;
    size_t n = boost::beast::get_lowest_layer(inner_).socket().write_some(net::buffer(pending_), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
      return false;
    } else if (ec) {  // as an async write failing: the owner learns it from on_drained
      pending_.clear();
      net::post(strand_, [this, ec, keep = owner_()] { on_written(ec); });
      return true;
    }
    if (n < pending_.size()) {
      pending_.erase(0, n);
      return false;
    }
    ++direct_writes_;
    pending_.clear();
    flushing_ = false;
    return true;
  }

  void on_written(boost::system::error_code ec) {
    flushing_ = false;
    inflight_.clear();
    if (ec) failed_ = true;
    if (!failed_) flush();  // may complete in place
    if (!flushing_) {
      auto after = std::move(after_);
      after_.clear();
      for (auto& f : after) f();
    }
    if (drained_) drained_();  // the owner refills, or sees failed()
  }

  Inner inner_;
  Strand strand_;
  std::string pending_, inflight_;
  bool flushing_ = false, failed_ = false, direct_ = false;
  uint64_t direct_writes_ = 0, async_writes_ = 0;
  std::function<std::shared_ptr<void>()> owner_ = [] { return std::shared_ptr<void>(); };
  std::function<void()> drained_;
  std::vector<Thunk> after_;
};

// Beast's websocket close: write the close frame, flush, then the inner teardown.
template <class Inner, class Handler>
void async_teardown(boost::beast::role_type role, Coalescer<Inner>& s, Handler&& h) {
  s.when_flushed(Thunk([role, &s, h = std::forward<Handler>(h)]() mutable {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, s.next_layer(), std::move(h));
  }));
}

template <class Inner>
void teardown(boost::beast::role_type role, Coalescer<Inner>& s, boost::system::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

}  // namespace spectre::stream
