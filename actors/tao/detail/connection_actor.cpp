#include "tao/detail/connection_actor.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "tao/atoms.hpp"
#include "tao/detail/connection_messages.hpp"
#include "tao/detail/connection_runtime.hpp"
#include "tao/net/atoms.hpp"
#include "tao/protocol/spare_buffer.hpp"

namespace tao::detail {

namespace {

// -- inline dispatch ----------------------------------------------------------

/// The broker, reached by calls on the I/O thread.
class inline_port final : public broker_port {
public:
  inline_port(net::broker_io& io, std::shared_ptr<net::inbound_window> window) noexcept
    : io_(io), window_(std::move(window)) {
  }

  caf::local_actor* self() noexcept override {
    return io_.self();
  }

  caf::actor broker() const override {
    return caf::actor_cast<caf::actor>(io_.self());
  }

  void deliver(protocol::byte_buffer&& bytes) override {
    io_.write(std::move(bytes));
  }

  void close(caf::error reason) override {
    io_.close(std::move(reason));
  }

  void abort(caf::error reason) override {
    io_.abort(std::move(reason));
  }

  void deferred(size_t n) override {
    // Frames handled in place cost the window nothing; held ones do.
    if (window_->add(n))
      io_.pause_reading();
  }

  void dispatched(size_t n, bool held) override {
    if (held && window_->consume(n))
      io_.resume_reading();
  }

private:
  net::broker_io& io_;
  std::shared_ptr<net::inbound_window> window_;
};

/// Runs the connection inside its broker.
class inline_sink final : public net::connection_sink {
public:
  inline_sink(net::broker_io& io, std::shared_ptr<const connection_options> options,
              const net::connection_info& info, tao::server server, caf::actor owner)
    : rt_(std::move(options), info, std::move(server), std::move(owner),
          std::make_unique<inline_port>(io, info.window)) {
  }

  void on_open() override {
    rt_.start();
  }

  bool on_frames(protocol::frame_batch&& batch) override {
    rt_.handle_frames(std::move(batch));
    return false;
  }

  void on_error(const caf::error& err) override {
    rt_.handle_error(err);
  }

  void on_writable() override {
    rt_.handle_writable();
  }

  void on_tls_established(const net::tls_session& session) override {
    rt_.handle_tls(session);
  }

  void on_close_request(const caf::error& reason) override {
    rt_.handle_close_request(reason);
  }

  bool on_input_closed(const caf::error& reason) override {
    rt_.handle_input_closed(reason);
    return true;
  }

  void on_closed(const caf::error& reason) override {
    rt_.handle_closed(reason);
  }

  caf::result<caf::message> on_message(caf::message& msg) override {
    if (handle_runtime_message(msg))
      return caf::message{};
    return rt_.handle_user_message(msg);
  }

  void on_down(const caf::down_msg& msg) override {
    rt_.handle_down(msg);
  }

private:
  /// The runtime's own messages (timers, shutdown, idle checks, released
  /// holds, `sched`), matched by hand instead of as extra behavior cases:
  /// a behavior costs every idle connection about 250 bytes, and these are
  /// rare. Returns false for other messages.
  bool handle_runtime_message(caf::message& msg) {
    if (msg.match_elements<caf::atom_value, timer_id>()
        && msg.get_as<caf::atom_value>(0) == net::timer_atom::value) {
      rt_.handle_timer(msg.get_as<timer_id>(1));
    } else if (msg.match_elements<caf::atom_value, caf::error>()
               && msg.get_as<caf::atom_value>(0) == shutdown_atom::value) {
      rt_.handle_close_request(std::move(msg.get_mutable_as<caf::error>(1)));
    } else if (msg.match_elements<caf::atom_value, idle_kind>()
               && msg.get_as<caf::atom_value>(0) == idle_atom::value) {
      rt_.handle_idle(msg.get_as<idle_kind>(1));
    } else if (msg.match_elements<caf::atom_value>()
               && msg.get_as<caf::atom_value>(0) == hold_released_atom::value) {
      rt_.handle_hold_released();
    } else if (msg.match_elements<caf::atom_value, caf::timespan, connection::timer_callback>()
               && msg.get_as<caf::atom_value>(0) == sched_atom::value) {
      rt_.add_sched(msg.get_as<caf::timespan>(1), msg.get_as<connection::timer_callback>(2));
      rt_.flush();
    } else {
      return false;
    }
    return true;
  }

  connection_runtime rt_;
};

// -- scheduled dispatch -------------------------------------------------------

/// The broker, reached by messages from the connection actor; the socket,
/// where the broker shares it, written directly.
class actor_port final : public broker_port {
public:
  actor_port(caf::local_actor* self, caf::actor broker, std::shared_ptr<net::inbound_window> window,
             net::direct_writer_ptr direct) noexcept
    : self_(self), broker_(std::move(broker)), window_(std::move(window)),
      direct_(std::move(direct)) {
  }

  caf::local_actor* self() noexcept override {
    return self_;
  }

  caf::actor broker() const override {
    return broker_;
  }

  void deliver(protocol::byte_buffer&& bytes) override {
    if (!direct_) {
      caf::anon_send(broker_, net::write_atom::value, std::move(bytes));
      return;
    }
    // Straight to the kernel when nothing is queued ahead: no mailbox
    // crossing and no wake-up of the I/O thread per reply.
    auto result = direct_->write(bytes, self_->clock().now());
    if (result.writable)
      caf::anon_send(caf::actor_cast<caf::actor>(self_), net::writable_atom::value);
    if (result.hand_over)
      caf::anon_send(broker_, net::handover_atom::value, std::move(bytes), result.counted);
    else
      protocol::give_back_buffer(std::move(bytes));
  }

  void close(caf::error reason) override {
    caf::anon_send(broker_, net::close_atom::value, std::move(reason));
  }

  void abort(caf::error reason) override {
    caf::anon_send(broker_, net::abort_atom::value, std::move(reason));
  }

  void deferred(size_t) override {
    // The sink counted every byte it sent; they stay counted until handled.
  }

  void dispatched(size_t n, bool) override {
    if (window_->consume(n))
      caf::anon_send(broker_, net::resume_atom::value);
  }

private:
  caf::local_actor* self_;
  caf::actor broker_;
  std::shared_ptr<net::inbound_window> window_;
  net::direct_writer_ptr direct_;
};

struct connection_actor_state {
  std::unique_ptr<connection_runtime> rt;
  static inline const char* name = "tao.connection";
};

using connection_actor = caf::stateful_actor<connection_actor_state>;

/// The connection's own actor on CAF's scheduler: fed frame batches by the
/// broker, runs the handlers, callbacks and timers.
caf::behavior connection_actor_behavior(connection_actor* self, caf::actor broker,
                                        std::shared_ptr<const connection_options> options,
                                        net::connection_info info, tao::server server,
                                        caf::actor owner, net::direct_writer_ptr direct) {
  auto& st = self->state;
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // The broker died without saying goodbye (it crashed or was killed).
    if (self->state.rt)
      self->state.rt->handle_closed(msg.reason);
    self->quit(msg.reason);
  });
  self->set_down_handler([self](caf::down_msg& msg) { self->state.rt->handle_down(msg); });
  self->set_default_handler(
    [self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
      auto msg = x.move_content_to_message();
      return self->state.rt->handle_user_message(msg);
    });
  st.rt = std::make_unique<connection_runtime>(
    std::move(options), info, std::move(server), std::move(owner),
    std::make_unique<actor_port>(self, broker, info.window, std::move(direct)));
  st.rt->start();
  return {
    [self](net::frames_atom, protocol::frame_batch& batch) {
      self->state.rt->handle_frames(std::move(batch));
    },
    [self](net::timer_atom, timer_id id) { self->state.rt->handle_timer(id); },
    [self](net::writable_atom) { self->state.rt->handle_writable(); },
    [self](net::error_atom, const caf::error& err) { self->state.rt->handle_error(err); },
    [self](net::tls_atom, const net::tls_session& session) { self->state.rt->handle_tls(session); },
    [self](net::input_closed_atom, const caf::error& reason) {
      self->state.rt->handle_input_closed(reason);
    },
    [self](shutdown_atom, caf::error& reason) {
      // Frames received before the request were handled already (mailbox
      // order).
      self->state.rt->handle_close_request(std::move(reason));
    },
    [self](idle_atom, idle_kind kind) { self->state.rt->handle_idle(kind); },
    [self](hold_released_atom) { self->state.rt->handle_hold_released(); },
    [self](sched_atom, caf::timespan period, const connection::timer_callback& f) {
      self->state.rt->add_sched(period, f);
      self->state.rt->flush();
    },
    [self](net::closed_atom, const caf::error& reason) {
      self->state.rt->handle_closed(reason);
      self->quit();
    },
  };
}

/// Forwards what the broker reads to the connection actor.
class scheduled_sink final : public net::connection_sink {
public:
  scheduled_sink(caf::actor actor, std::shared_ptr<net::inbound_window> window)
    : actor_(std::move(actor)), window_(std::move(window)) {
  }

  bool on_frames(protocol::frame_batch&& batch) override {
    auto stop = window_->add(batch.payload_bytes());
    batch.own();
    caf::anon_send(actor_, net::frames_atom::value, std::move(batch));
    return stop;
  }

  void on_error(const caf::error& err) override {
    caf::anon_send(actor_, net::error_atom::value, err);
  }

  void on_writable() override {
    caf::anon_send(actor_, net::writable_atom::value);
  }

  void on_tls_established(const net::tls_session& session) override {
    caf::anon_send(actor_, net::tls_atom::value, session);
  }

  void on_close_request(const caf::error& reason) override {
    caf::anon_send(actor_, shutdown_atom::value, reason);
  }

  bool on_input_closed(const caf::error& reason) override {
    // Queued behind the frames already sent: the connection actor handles
    // them, their replies go out, then the connection closes.
    caf::anon_send(actor_, net::input_closed_atom::value, reason);
    return true;
  }

  void on_closed(const caf::error& reason) override {
    caf::anon_send(actor_, net::closed_atom::value, reason);
  }

private:
  caf::actor actor_;
  std::shared_ptr<net::inbound_window> window_;
};

} // namespace

std::unique_ptr<net::connection_sink>
make_connection_sink(net::broker_io& io, const net::connection_info& info,
                     std::shared_ptr<const connection_options> options, tao::server server,
                     caf::actor owner, tao::supervisor supervisor) {
  auto liveness = liveness_options::of(*options);
  std::unique_ptr<net::connection_sink> sink;
  if (options->dispatch == dispatch_mode::inline_io) {
    sink = std::make_unique<inline_sink>(io, std::move(options), info, std::move(server),
                                         std::move(owner));
  } else {
    auto* broker = io.self();
    auto actor = broker->spawn<caf::linked>(
      connection_actor_behavior, caf::actor_cast<caf::actor>(broker), std::move(options), info,
      std::move(server), std::move(owner), io.share_socket());
    info.clock->connection_actor = actor;
    sink = std::make_unique<scheduled_sink>(std::move(actor), info.window);
  }
  if (supervisor && liveness.any())
    caf::anon_send(supervisor.actor(), watch_atom::value, info.clock, liveness);
  return sink;
}

} // namespace tao::detail
