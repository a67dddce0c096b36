#include "tao/detail/handler_actor.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/send.hpp>

#include "tao/atoms.hpp"
#include "tao/net/atoms.hpp"

namespace tao::detail {

namespace {

// -- scheduled dispatch -------------------------------------------------------

/// Host of a connection whose handlers run in their own scheduled actor.
class scheduled_host final : public connection_host {
public:
  scheduled_host(caf::event_based_actor* self, caf::actor broker,
                 std::shared_ptr<const connection_options> options,
                 const net::connection_info& info, tao::server server, caf::actor owner)
    : connection_host(std::move(options), info, std::move(server), std::move(owner)), self_(self),
      broker_(std::move(broker)) {
  }

  caf::local_actor* self() noexcept override {
    return self_;
  }

  caf::actor broker() const override {
    return broker_;
  }

  void request_close(caf::error reason, bool abort) override {
    caf::anon_send(broker_, net::close_atom::value, std::move(reason), abort);
  }

protected:
  void deliver(protocol::byte_buffer&& bytes) override {
    caf::anon_send(broker_, net::write_atom::value, std::move(bytes));
  }

private:
  caf::event_based_actor* self_;
  caf::actor broker_;
};

struct handler_state {
  std::unique_ptr<scheduled_host> host;
  std::shared_ptr<net::inbound_window> window;
  static inline const char* name = "tao.handler";
};

using handler_actor = caf::stateful_actor<handler_state>;

caf::behavior handler_behavior(handler_actor* self, caf::actor broker,
                               std::shared_ptr<const connection_options> options,
                               net::connection_info info, tao::server server, caf::actor owner) {
  auto& st = self->state;
  st.window = info.window;
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // The broker died without saying goodbye (it crashed or was killed).
    if (self->state.host)
      self->state.host->handle_closed(msg.reason);
    self->quit(msg.reason);
  });
  st.host = std::make_unique<scheduled_host>(self, broker, std::move(options), info,
                                             std::move(server), std::move(owner));
  st.host->start();
  return {
    [self](net::frames_atom, const protocol::frame_batch& batch) {
      auto& s = self->state;
      s.host->handle_frames(batch);
      if (s.window->consume(batch.payload_bytes()))
        caf::anon_send(s.host->broker(), net::resume_atom::value);
    },
    [self](net::timer_atom, timer_id id) { self->state.host->handle_timer(id); },
    [self](net::writable_atom) { self->state.host->handle_writable(); },
    [self](net::error_atom, const caf::error& err) { self->state.host->handle_error(err); },
    [self](sched_atom, caf::timespan period, const connection::timer_callback& f) {
      self->state.host->add_sched(period, f);
      self->state.host->flush();
    },
    [self](net::close_atom, caf::error& reason, bool abort) {
      // A close requested by the broker, the server or a connection_ref:
      // frames received before it were handled already (mailbox order).
      self->state.host->close_from_outside(std::move(reason), abort);
    },
    [self](net::closed_atom, const caf::error& reason) {
      self->state.host->handle_closed(reason);
      self->quit();
    },
  };
}

/// Forwards what the broker reads to the handler actor.
class scheduled_sink final : public net::connection_sink {
public:
  scheduled_sink(caf::actor handler, std::shared_ptr<net::inbound_window> window)
    : handler_(std::move(handler)), window_(std::move(window)) {
  }

  bool on_frames(protocol::frame_batch&& batch) override {
    auto stop = window_->add(batch.payload_bytes());
    caf::anon_send(handler_, net::frames_atom::value, std::move(batch));
    return stop;
  }

  void on_error(const caf::error& err) override {
    caf::anon_send(handler_, net::error_atom::value, err);
  }

  void on_writable() override {
    caf::anon_send(handler_, net::writable_atom::value);
  }

  void on_close_request(const caf::error& reason) override {
    caf::anon_send(handler_, net::close_atom::value, reason, false);
  }

  bool on_input_closed(const caf::error& reason) override {
    // Queued behind the frames already sent: the handler actor handles them,
    // their replies go out, then the connection closes with `reason`.
    caf::anon_send(handler_, net::close_atom::value, reason, false);
    return true;
  }

  void on_closed(const caf::error& reason) override {
    caf::anon_send(handler_, net::closed_atom::value, reason);
  }

private:
  caf::actor handler_;
  std::shared_ptr<net::inbound_window> window_;
};

// -- inline dispatch ----------------------------------------------------------

/// Host and sink in one: handlers run inside the broker.
class inline_sink final : public net::connection_sink, public connection_host {
public:
  inline_sink(net::broker_io& io, std::shared_ptr<const connection_options> options,
              const net::connection_info& info, tao::server server, caf::actor owner)
    : connection_host(std::move(options), info, std::move(server), std::move(owner)), io_(io) {
  }

  caf::local_actor* self() noexcept override {
    return io_.self();
  }

  caf::actor broker() const override {
    return caf::actor_cast<caf::actor>(io_.self());
  }

  void request_close(caf::error reason, bool abort) override {
    io_.close(std::move(reason), abort);
  }

  void on_open() override {
    start();
  }

  bool on_frames(protocol::frame_batch&& batch) override {
    handle_frames(batch);
    return false;
  }

  void on_error(const caf::error& err) override {
    handle_error(err);
  }

  void on_writable() override {
    handle_writable();
  }

  void on_close_request(const caf::error& reason) override {
    close_from_outside(reason, false);
  }

  void on_closed(const caf::error& reason) override {
    handle_closed(reason);
  }

  caf::message_handler extra_handlers() override {
    return {
      [this](net::timer_atom, timer_id id) { handle_timer(id); },
      [this](net::close_atom, caf::error& reason, bool abort) {
        close_from_outside(std::move(reason), abort);
      },
      [this](sched_atom, caf::timespan period, const connection::timer_callback& f) {
        add_sched(period, f);
        flush();
      },
    };
  }

protected:
  void deliver(protocol::byte_buffer&& bytes) override {
    io_.write(std::move(bytes));
  }

private:
  net::broker_io& io_;
};

} // namespace

std::unique_ptr<net::connection_sink>
make_scheduled_sink(net::broker_io& io, const net::connection_info& info,
                    std::shared_ptr<const connection_options> options, tao::server server,
                    caf::actor owner) {
  auto* broker = io.self();
  auto handler =
    broker->spawn<caf::linked>(handler_behavior, caf::actor_cast<caf::actor>(broker),
                               std::move(options), info, std::move(server), std::move(owner));
  return std::make_unique<scheduled_sink>(std::move(handler), info.window);
}

std::unique_ptr<net::connection_sink>
make_inline_sink(net::broker_io& io, const net::connection_info& info,
                 std::shared_ptr<const connection_options> options, tao::server server,
                 caf::actor owner) {
  return std::make_unique<inline_sink>(io, std::move(options), info, std::move(server),
                                       std::move(owner));
}

} // namespace tao::detail
