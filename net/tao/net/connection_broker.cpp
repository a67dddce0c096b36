#include "tao/net/connection_broker.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/send.hpp>

#include "tao/net/atoms.hpp"
#include "tao/net/socket_ops.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/heartbeat.hpp"
#include "tao/protocol/message.hpp"

namespace tao::net {

broker_io::~broker_io() = default;

connection_sink::~connection_sink() = default;

void connection_sink::on_open() {
  // nop
}

bool connection_sink::on_input_closed(const caf::error&) {
  return false;
}

caf::message_handler connection_sink::extra_handlers() {
  return {};
}

namespace {

using drain_atom = caf::atom_constant<caf::atom("tao_drain")>;

using tls_timeout_atom = caf::atom_constant<caf::atom("tao_tlsto")>;

using ws_timeout_atom = caf::atom_constant<caf::atom("tao_wsto")>;

using protocol::errc;

/// Reads the scribe of a connection out of a broker. CAF 0.17 keeps it
/// behind a protected accessor; the pointer-to-member names it through this
/// derived class, which is never instantiated.
struct scribe_lookup : caf::io::abstract_broker {
  static caf::io::scribe_ptr find(caf::io::abstract_broker& broker,
                                  caf::io::connection_handle hdl) {
    scribe_map& (caf::io::abstract_broker::*map_of)(caf::io::connection_handle) =
      &scribe_lookup::get_map;
    auto& scribes = (broker.*map_of)(hdl);
    auto i = scribes.find(hdl);
    return i != scribes.end() ? i->second : nullptr;
  }
};

int64_t fd_of(const connection_broker_state& st) {
  return st.setup->simulated ? -1 : static_cast<int64_t>(st.hdl.id());
}

/// Ends the connection: tells the sink (once) and quits.
void finish(connection_broker_actor* self, const caf::error& reason) {
  auto& st = self->state;
  if (st.finished)
    return;
  // The sink stays alive until the state is destroyed: we may be inside one
  // of its callbacks right now.
  st.finished = true;
  if (st.sink)
    st.sink->on_closed(reason);
  // CAF 0.17 keeps a monitor's record (and, through it, this broker's
  // memory) in the monitored actor until that one exits: a long-lived
  // server or client would hold about 1.5 KiB per connection it ever had.
  if (st.setup->owner)
    self->demonitor(st.setup->owner);
  // Without a sink (a WebSocket that never upgraded) the owner learns the
  // reason from its monitor.
  self->quit(st.sink ? caf::error{} : reason);
}

void abort_connection(connection_broker_actor* self, const caf::error& reason) {
  auto& st = self->state;
  st.closing = true;
  socket_ops::abort(fd_of(st));
  if (self->valid(st.hdl)) {
    self->wr_buf(st.hdl).clear();
    self->close(st.hdl);
  }
  finish(self, reason);
}

/// Completes a graceful close once every queued byte reached the kernel.
void complete_close(connection_broker_actor* self) {
  auto& st = self->state;
  if (self->valid(st.hdl))
    self->close(st.hdl); // sends FIN after CAF's buffer drained
  finish(self, st.close_reason);
}

void end_tls(connection_broker_actor* self);

void end_websocket(connection_broker_actor* self);

void begin_close(connection_broker_actor* self, caf::error reason, bool abort) {
  auto& st = self->state;
  if (abort) {
    abort_connection(self, st.closing ? st.close_reason : reason);
    return;
  }
  if (st.closing)
    return;
  st.closing = true;
  st.close_reason = std::move(reason);
  if (!self->valid(st.hdl)) {
    finish(self, st.close_reason);
    return;
  }
  self->halt(st.hdl);
  if (st.ws)
    end_websocket(self);
  if (st.tls)
    end_tls(self);
  self->flush(st.hdl);
  if (st.info.budget->queued() == 0) {
    complete_close(self);
    return;
  }
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), st.setup->drain_timeout,
                         drain_atom::value);
}

/// Appends bytes ready for the wire (plaintext or TLS records) to CAF's
/// write buffer and flushes. The bytes must be reserved in the budget.
void send_raw(connection_broker_actor* self, protocol::byte_buffer&& bytes) {
  auto& st = self->state;
  if (bytes.empty() || !self->valid(st.hdl))
    return;
  auto n = bytes.size();
  auto& buf = self->wr_buf(st.hdl);
  if (buf.empty())
    buf.swap(bytes);
  else
    buf.insert(buf.end(), bytes.begin(), bytes.end());
  self->flush(st.hdl);
  if (st.setup->simulated) {
    // CAF's test multiplexer never acknowledges writes: its output buffer
    // stands for the kernel, so the bytes count as written once there.
    st.info.budget->release(n);
  }
}

/// Trades `consumed` reserved bytes that a layer (TLS, WebSocket) turned
/// into `produced` bytes in the budget, so the queue stays exact.
void trade(connection_broker_actor* self, size_t consumed, size_t produced) {
  auto& st = self->state;
  if (produced >= consumed)
    st.info.budget->force_reserve(produced - consumed);
  else if (st.info.budget->release(consumed - produced) && !st.closing && !st.finished && st.sink)
    st.sink->on_writable();
}

/// Sends what the TLS session produced. Writers reserved plaintext sizes
/// while the socket acknowledges ciphertext: the budget trades the plaintext
/// that left encrypted for the records that carry it (handshake records and
/// alerts count as well), so the queue stays exact.
void send_tls_output(connection_broker_actor* self, protocol::byte_buffer&& cipher) {
  auto& st = self->state;
  trade(self, st.tls->take_encrypted_plaintext(), cipher.size());
  send_raw(self, std::move(cipher));
}

/// Sends reserved bytes below the WebSocket layer: encrypted with TLS, or
/// as they are. On a TLS error the bytes are released and the error
/// returned.
caf::error send_stream(connection_broker_actor* self, protocol::byte_buffer&& bytes) {
  auto& st = self->state;
  if (!st.tls) {
    send_raw(self, std::move(bytes));
    return {};
  }
  protocol::byte_buffer cipher;
  auto n = bytes.size();
  auto err = st.tls->write(bytes.data(), n, cipher);
  send_tls_output(self, std::move(cipher));
  if (err)
    st.info.budget->release(n);
  return err;
}

/// Stops reading and lets the sink close after the frames it already has
/// (fatal protocol, TLS and liveness errors).
void fail_connection(connection_broker_actor* self, const caf::error& err) {
  auto& st = self->state;
  if (st.finished)
    return;
  if (!st.failure)
    st.failure = err;
  self->halt(st.hdl);
  if (!st.sink) {
    begin_close(self, err, false);
    return;
  }
  st.sink->on_error(err);
  st.sink->on_close_request(err);
}

/// Sends what the WebSocket channel produced: the budget trades the framed
/// bytes that left as messages (or were dropped) for the message bytes
/// (the 101, pongs and close frames count as well), then they go down to
/// TLS or the socket.
void send_ws_output(connection_broker_actor* self, protocol::byte_buffer&& wire) {
  auto& st = self->state;
  trade(self, st.ws->take_consumed(), wire.size());
  if (wire.empty())
    return;
  if (auto err = send_stream(self, std::move(wire)))
    fail_connection(self, err);
}

/// The WebSocket side of a graceful close: a close frame with the code for
/// the reason, or, before the upgrade completed, dropping what waited for it.
void end_websocket(connection_broker_actor* self) {
  auto& st = self->state;
  st.info.budget->release(st.ws->discard_held());
  auto code = websocket_close_code(st.close_reason);
  const auto& r = st.close_reason;
  std::string text = r && r.category() == protocol::error_category()
                       ? protocol::to_string(static_cast<errc>(r.code()))
                       : "";
  protocol::byte_buffer wire;
  st.ws->close(code, text, wire);
  send_ws_output(self, std::move(wire));
}

/// The channel finished (the peer's close answered, a page served): like
/// the peer's end of input, the sink closes after the frames it got.
void websocket_finished(connection_broker_actor* self) {
  auto& st = self->state;
  if (st.closing || st.finished)
    return;
  self->halt(st.hdl);
  if (!st.sink) {
    begin_close(self, st.ws->end_reason(), false);
    return;
  }
  st.sink->on_close_request(st.ws->end_reason());
}

/// The TLS side of a graceful close: close_notify after the queued records,
/// or, before the handshake completed, dropping what waited for it.
void end_tls(connection_broker_actor* self) {
  auto& st = self->state;
  if (!st.tls->established()) {
    st.info.budget->release(st.tls->discard_held());
    return;
  }
  protocol::byte_buffer cipher;
  st.tls->shutdown(cipher);
  send_tls_output(self, std::move(cipher));
}

void write_bytes(connection_broker_actor* self, protocol::byte_buffer&& bytes) {
  auto& st = self->state;
  auto n = bytes.size();
  // Writes that arrive after a close started are dropped: a graceful close
  // delivers what was queued before it, and must not wait for a writer that
  // keeps going.
  if (st.closing || st.finished || !self->valid(st.hdl)) {
    st.info.budget->release(n);
    // A close waiting for the queue to drain counted these bytes, which the
    // writer reserved before the close began: the queue may be empty now.
    if (st.closing && !st.finished && st.info.budget->queued() == 0)
      complete_close(self);
    return;
  }
  if (st.setup->on_write)
    st.setup->on_write(bytes);
  if (st.ws) {
    protocol::byte_buffer wire;
    auto err = st.ws->write(bytes.data(), n, wire);
    send_ws_output(self, std::move(wire));
    if (err) {
      fail_connection(self, err);
      return;
    }
  } else if (auto err = send_stream(self, std::move(bytes))) {
    fail_connection(self, err);
    return;
  }
  if (st.setup->disconnect_slow_consumers && st.info.budget->queued() > st.setup->high_water_mark)
    begin_close(
      self,
      protocol::make_error(errc::slow_consumer, std::to_string(st.info.budget->queued())
                                                  + " bytes queued, the high-water mark is "
                                                  + std::to_string(st.setup->high_water_mark)),
      true);
}

/// Adapts the read size to the traffic: CAF 0.17 keeps (and zero-fills) a
/// read buffer of the receive policy's size per connection, so a fixed large
/// size costs idle connections memory and small reads a memset.
void adapt_read_size(connection_broker_actor* self, size_t bytes_read) {
  auto& st = self->state;
  auto before = st.read_chunk;
  if (bytes_read >= st.read_chunk) {
    st.small_reads = 0;
    st.read_chunk = std::min(st.read_chunk * 2, st.setup->read_chunk_size);
  } else if (bytes_read <= st.read_chunk / 4 && ++st.small_reads >= 16) {
    st.small_reads = 0;
    st.read_chunk = std::max(st.read_chunk / 2, st.setup->min_read_chunk_size);
  }
  if (st.read_chunk != before)
    self->configure_read(st.hdl, caf::io::receive_policy::at_most(st.read_chunk));
}

/// One heartbeat tick: close a silent peer, otherwise send a heartbeat.
void heartbeat_tick(connection_broker_actor* self) {
  auto& st = self->state;
  const auto& setup = *st.setup;
  if (st.closing || st.finished || setup.heartbeat_period <= caf::timespan{0})
    return;
  auto now = self->clock().now();
  auto silent = now - st.last_frame;
  if (silent >= setup.heartbeat_period * std::max(1u, setup.heartbeat_misses)) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(silent).count();
    auto err = protocol::make_error(errc::heartbeat_timeout,
                                    "nothing received for " + std::to_string(ms) + " ms");
    fail_connection(self, err);
    return;
  }
  // Skip the beat (the peer is alive but slow) rather than queue above the
  // high-water mark; codecs that cannot carry type 0 send none.
  protocol::byte_buffer beat;
  if (st.info.budget->writable()
      && !protocol::encode_message(*setup.codec, protocol::heartbeat::now(), beat)
      && st.info.budget->try_reserve(beat.size())) {
    write_bytes(self, std::move(beat));
    if (setup.on_heartbeat_sent)
      setup.on_heartbeat_sent();
  }
  if (setup.self_timed_heartbeats)
    caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), setup.heartbeat_period,
                           heartbeat_atom::value);
}

/// Creates the connection's TLS session, sends a client's hello and arms the
/// handshake timeout. Returns false (connection aborted) on failure.
bool start_tls(connection_broker_actor* self) {
  auto& st = self->state;
  auto channel = tls_channel::make(*st.setup->tls, st.setup->tls_peer_name);
  caf::error err;
  if (channel) {
    st.tls = std::move(*channel);
    protocol::byte_buffer cipher;
    err = st.tls->start(cipher);
    send_tls_output(self, std::move(cipher));
  } else {
    err = channel.error();
  }
  if (err) {
    if (st.sink)
      st.sink->on_error(err);
    abort_connection(self, err);
    return false;
  }
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self),
                         st.setup->tls->options().handshake_timeout, tls_timeout_atom::value);
  return true;
}

/// Creates the connection's WebSocket channel, sends a client's upgrade
/// request (held by TLS until its handshake is done) and arms the upgrade
/// timeout.
void start_websocket(connection_broker_actor* self) {
  auto& st = self->state;
  protocol::byte_buffer wire;
  st.ws->start(wire);
  send_ws_output(self, std::move(wire));
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self),
                         st.setup->websocket->options().handshake_timeout, ws_timeout_atom::value);
}

/// Makes the sink once the WebSocket upgrade completed and adds its
/// handlers. Returns false if the factory refused the connection (closed).
bool open_sink(connection_broker_actor* self) {
  auto& st = self->state;
  st.sink = st.setup->make_sink(*st.io, st.info);
  if (!st.sink) {
    self->close(st.hdl);
    st.finished = true;
    self->quit();
    return false;
  }
  if (auto extra = st.sink->extra_handlers())
    self->become(st.handlers.or_else(extra));
  st.sink->on_open();
  return true;
}

class broker_io_impl final : public broker_io {
public:
  explicit broker_io_impl(connection_broker_actor* self) noexcept : self_(self) {
  }

  caf::io::abstract_broker* self() noexcept override {
    return self_;
  }

  void write(protocol::byte_buffer&& bytes) override {
    write_bytes(self_, std::move(bytes));
  }

  void close(caf::error reason, bool abort) override {
    begin_close(self_, std::move(reason), abort);
  }

private:
  connection_broker_actor* self_;
};

} // namespace

caf::behavior connection_broker(connection_broker_actor* self, caf::io::connection_handle hdl,
                                std::shared_ptr<const broker_setup> setup, uint64_t id) {
  auto& init = self->state;
  init.hdl = hdl;
  init.setup = std::move(setup);
  init.decoder = init.setup->codec->make_decoder();
  init.io = std::make_unique<broker_io_impl>(self);
  auto fd = fd_of(init);
  socket_ops::set_nodelay(fd);
  init.info.id = id;
  init.info.remote = fd >= 0 ? socket_ops::remote_endpoint(fd)
                             : endpoint{self->remote_addr(hdl), self->remote_port(hdl)};
  init.info.local = socket_ops::local_endpoint(fd);
  init.info.budget =
    std::make_shared<outbound_budget>(init.setup->high_water_mark, init.setup->low_water_mark);
  init.info.window = std::make_shared<inbound_window>(init.setup->inbound_limit);
  init.last_frame = self->clock().now();
  init.read_chunk = std::min(init.setup->min_read_chunk_size, init.setup->read_chunk_size);
  self->configure_read(hdl, caf::io::receive_policy::at_most(init.read_chunk));
  if (init.setup->self_timed_heartbeats && init.setup->heartbeat_period > caf::timespan{0})
    caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), init.setup->heartbeat_period,
                           heartbeat_atom::value);
  self->ack_writes(hdl, true);
  init.scribe = scribe_lookup::find(*self, hdl);
  if (init.setup->websocket)
    init.ws = std::make_unique<websocket_channel>(init.setup->websocket);
  else
    init.sink = init.setup->make_sink(*init.io, init.info);
  if (!init.sink && !init.ws) {
    // Refused by the sink factory: no sink to notify, just go.
    self->close(hdl);
    self->quit();
    return {};
  }
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // The linked handler actor died.
    if (msg.reason)
      abort_connection(self, msg.reason);
  });
  // The owner (server or client) going away takes the connection with it.
  // A monitor rather than a link: links between the server and its brokers
  // kept both alive after termination (leaks under LeakSanitizer, CAF 0.17).
  if (init.setup->owner) {
    self->monitor(init.setup->owner);
    self->set_down_handler([self](caf::down_msg& msg) {
      if (msg.source == self->state.setup->owner.address())
        abort_connection(self, msg.reason ? msg.reason
                                          : protocol::make_error(errc::closed, "owner terminated"));
    });
  }
  caf::message_handler handlers{
    [self](const caf::io::new_data_msg& msg) {
      auto& st = self->state;
      // After a fatal error, data CAF read before the halt took effect is
      // dropped: feeding it would report the error again.
      if (st.closing || st.finished || st.failure)
        return;
      adapt_read_size(self, msg.buf.size());
      const char* data = msg.buf.data();
      auto size = msg.buf.size();
      if (st.tls) {
        st.tls_plain.clear();
        protocol::byte_buffer cipher;
        auto err = st.tls->read(data, size, st.tls_plain, cipher);
        send_tls_output(self, std::move(cipher));
        if (err) {
          fail_connection(self, err);
          return;
        }
        data = st.tls_plain.data();
        size = st.tls_plain.size();
      }
      protocol::frame_batch batch;
      caf::error err;
      if (st.ws) {
        protocol::byte_buffer wire;
        err = st.ws->read(data, size, batch, wire);
        send_ws_output(self, std::move(wire));
        if (st.ws->take_activity()) // pongs keep a connection alive too
          st.last_frame = self->clock().now();
        if (st.finished || (!st.sink && st.ws->established() && !open_sink(self)))
          return;
      } else {
        err = st.decoder->feed(data, size, batch);
      }
      if (!batch.empty())
        st.last_frame = self->clock().now();
      if (!batch.empty() && st.sink->on_frames(std::move(batch)) && !st.closing)
        self->halt(st.hdl);
      // Read no more, but let the handlers finish what they already got
      // (and their replies go out) before the close.
      if (err)
        fail_connection(self, err);
      else if (st.ws && st.ws->finished())
        websocket_finished(self);
    },
    [self](const caf::io::data_transferred_msg& msg) {
      auto& st = self->state;
      if (st.info.budget->release(msg.written) && !st.finished && !st.closing && st.sink)
        st.sink->on_writable();
      if (st.closing && !st.finished && st.info.budget->queued() == 0)
        complete_close(self);
    },
    [self](const caf::io::connection_closed_msg&) {
      auto& st = self->state;
      if (st.closing) {
        finish(self, st.close_reason);
        return;
      }
      if (st.input_closed) {
        // The write side failed too (the half-open peer reset).
        finish(self, protocol::make_error(errc::network_failure,
                                          "the connection failed after the peer's end of input"));
        return;
      }
      caf::error reason;
      bool handshaking = st.tls && !st.tls->established();
      bool upgrading = st.ws && !st.ws->established();
      // CAF reports a reset like a FIN; the socket (still open, the scribe
      // is held) tells them apart.
      bool reset = socket_ops::was_reset(fd_of(st));
      auto undelivered = st.info.budget->queued();
      if (st.failure)
        reason = st.failure;
      else if (handshaking)
        reason = protocol::make_error(errc::tls_failure, "peer closed during the TLS handshake");
      else if (upgrading)
        reason =
          protocol::make_error(errc::websocket_failure, "peer closed during the WebSocket upgrade");
      else if (st.ws && !st.ws->finished() && st.ws->close_code_received() == 0
               && st.ws->close_code_sent() == 0)
        reason = protocol::make_error(
          errc::websocket_failure, "1006 abnormal closure: the peer closed without a close frame");
      else if (auto n = st.decoder->buffered(); n > 0)
        reason = protocol::make_error(errc::truncated_frame, "peer closed with " + std::to_string(n)
                                                               + " bytes of an incomplete frame");
      else if (reset && undelivered > 0)
        reason = protocol::make_error(errc::network_failure, "connection reset by the peer with "
                                                               + std::to_string(undelivered)
                                                               + " bytes not delivered");
      // CAF 0.17 detaches the scribe at read EOF. If the sink still has
      // frames to handle, re-adopt the scribe (reads stay off) so that their
      // replies go out before the FIN; the sink closes when done.
      if (!handshaking && !reset && st.sink && st.scribe && st.scribe->detached()
          && st.sink->on_input_closed(reason)) {
        st.input_closed = true;
        self->add_scribe(st.scribe);
        return;
      }
      finish(self, reason);
    },
    [self](write_atom, protocol::byte_buffer& bytes) { write_bytes(self, std::move(bytes)); },
    [self](close_atom, caf::error& reason, bool abort) {
      begin_close(self, std::move(reason), abort);
    },
    [self](resume_atom) {
      auto& st = self->state;
      if (!st.closing && !st.input_closed && self->valid(st.hdl))
        self->trigger(st.hdl);
    },
    [self](heartbeat_atom) { heartbeat_tick(self); },
    [self](tls_timeout_atom) {
      auto& st = self->state;
      if (!st.tls || st.closing || st.finished || st.tls->established())
        return;
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  st.setup->tls->options().handshake_timeout)
                  .count();
      auto err = protocol::make_error(errc::tls_failure, "TLS handshake not completed within "
                                                           + std::to_string(ms) + " ms");
      if (st.sink)
        st.sink->on_error(err);
      abort_connection(self, err);
    },
    [self](ws_timeout_atom) {
      auto& st = self->state;
      if (!st.ws || st.closing || st.finished)
        return;
      if (auto err = st.ws->expire_handshake()) {
        if (st.sink)
          st.sink->on_error(err);
        abort_connection(self, err);
      }
    },
    [self](drain_atom) {
      auto& st = self->state;
      if (st.closing && !st.finished)
        abort_connection(self, st.close_reason);
    },
  };
  init.handlers = handlers;
  if (init.sink)
    if (auto extra = init.sink->extra_handlers())
      handlers = handlers.or_else(extra);
  if (init.setup->tls && !start_tls(self))
    return caf::behavior{handlers};
  if (init.ws)
    start_websocket(self);
  else
    init.sink->on_open();
  return caf::behavior{handlers};
}

} // namespace tao::net
