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
#include "tao/protocol/append_bytes.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/heartbeat.hpp"
#include "tao/protocol/message.hpp"
#include "tao/protocol/spare_buffer.hpp"

namespace tao::net {

broker_io::~broker_io() = default;

connection_sink::~connection_sink() = default;

void connection_sink::on_open() {
  // nop
}

void connection_sink::on_tls_established(const tls_session&) {
  // nop
}

bool connection_sink::on_input_closed(const caf::error&) {
  return false;
}

caf::message_handler connection_sink::extra_handlers() {
  return {};
}

caf::result<caf::message> connection_sink::on_message(caf::message&) {
  return caf::sec::unexpected_message;
}

void connection_sink::on_down(const caf::down_msg&) {
  // nop
}

namespace {

using drain_atom = caf::atom_constant<caf::atom("tao_drain")>;

using tls_timeout_atom = caf::atom_constant<caf::atom("tao_tlsto")>;

using ws_timeout_atom = caf::atom_constant<caf::atom("tao_wsto")>;

using finish_atom = caf::atom_constant<caf::atom("tao_finish")>;

/// The end of a receipt whose bytes wait for the TLS handshake.
constexpr uint64_t held_receipt = ~uint64_t{0};

using written_directly_atom = caf::atom_constant<caf::atom("tao_wdirct")>;

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

bool accepting_reads(const connection_broker_state& st) {
  return st.phase == broker_phase::open && !st.failure;
}

/// Ends direct writes from the sink's actor (`broker_io::share_socket`):
/// from now on its bytes come through the mailbox. Safe on a state whose
/// setup never ran.
void stop_direct_writes(connection_broker_state& st) {
  if (st.info.clock && st.info.clock->direct)
    st.info.clock->direct->close();
}

/// Answers the receipts of writes the kernel took in full.
void settle_receipts(connection_broker_state& st) {
  while (!st.receipts.empty() && st.receipts.front().end <= st.bytes_handed_over) {
    st.receipts.front().token->written();
    st.receipts.pop_front();
  }
}

/// Tells the sink the connection is gone and quits.
void notify_closed(connection_broker_actor* self, const caf::error& reason) {
  auto& st = self->state;
  // Writes that never reached the kernel: their writers hear why.
  auto why = reason ? reason : protocol::make_error(errc::closed, "the connection closed first");
  for (auto& r : st.receipts)
    r.token->failed(why);
  st.receipts.clear();
  // The sink stays alive until the state is destroyed: we may be inside one
  // of its callbacks right now.
  if (st.sink)
    st.sink->on_closed(reason);
  else if (st.setup->on_unserved)
    st.setup->on_unserved(st.info.id, reason);
  // CAF 0.17 keeps a monitor's record (and, through it, this broker's
  // memory) in the monitored actor until that one exits: a long-lived
  // server or client would hold about 1.5 KiB per connection it ever had.
  if (st.setup->owner)
    self->demonitor(st.setup->owner);
  // Without a sink (a WebSocket that never upgraded) the owner learns the
  // reason from its monitor.
  self->quit(st.sink ? caf::error{} : reason);
}

/// Ends the connection: tells the sink (once) and quits. When the sink
/// itself caused the end (a close or write from inside one of its
/// callbacks), it hears of it right after that callback, never from within.
void finish(connection_broker_actor* self, const caf::error& reason) {
  auto& st = self->state;
  if (st.phase == broker_phase::finished)
    return;
  st.phase = broker_phase::finished;
  stop_direct_writes(st);
  st.info.budget->close();
  st.info.budget->retire();
  st.info.clock->broker = nullptr;
  st.info.clock->connection_actor = nullptr;
  if (st.sink_calls > 0) {
    caf::anon_send(caf::actor_cast<caf::actor>(self), finish_atom::value, reason);
    return;
  }
  notify_closed(self, reason);
}

void abort_connection(connection_broker_actor* self, const caf::error& reason) {
  auto& st = self->state;
  stop_direct_writes(st);
  st.info.budget->close();
  socket_ops::abort(fd_of(st));
  if (self->valid(st.hdl)) {
    self->wr_buf(st.hdl).clear();
    self->close(st.hdl);
  }
  finish(self, reason);
}

void end_tls(connection_broker_actor* self);

void end_websocket(connection_broker_actor* self);

/// Completes a graceful close once every byte reserved before it reached the
/// kernel: with WebSocket, sends the close frame and waits for it and for
/// the peer's close frame (unless the peer closed first or ended its input);
/// with TLS, sends close_notify and waits for it too; then FIN.
void maybe_complete_close(connection_broker_actor* self) {
  auto& st = self->state;
  if (st.phase != broker_phase::closing || st.info.budget->queued() > 0)
    return;
  if (st.ws && !st.ws_closed) {
    st.ws_closed = true;
    end_websocket(self);
    if (st.phase != broker_phase::closing || st.info.budget->queued() > 0)
      return;
  }
  if (st.ws_awaiting_close)
    return;
  if (st.tls && !st.tls_closed) {
    st.tls_closed = true;
    end_tls(self);
    if (st.info.budget->queued() > 0)
      return;
  }
  if (self->valid(st.hdl))
    self->close(st.hdl); // sends FIN after CAF's buffer drained
  finish(self, st.close_reason);
}

void begin_close(connection_broker_actor* self, caf::error reason) {
  auto& st = self->state;
  if (st.phase == broker_phase::closing || st.phase == broker_phase::finished)
    return;
  st.phase = broker_phase::closing;
  st.close_reason = std::move(reason);
  // What the sink's actor writes from now on passes through here, so that
  // the close sees every byte.
  stop_direct_writes(st);
  // Writers learn from now on that the connection is closing; what they
  // reserved before still goes out, before the FIN.
  st.info.budget->close();
  if (!self->valid(st.hdl)) {
    finish(self, st.close_reason);
    return;
  }
  if (st.ws && st.ws->established() && !st.ws->finished() && !st.input_ended && !st.failure) {
    // The initiator of a WebSocket close waits for the peer's close frame
    // before it closes the stream (RFC 6455 7.1.1), so that the peer
    // (usually the server) closes TCP first and no reset discards the last
    // bytes: reads go on, messages are dropped.
    st.ws_awaiting_close = true;
    self->trigger(st.hdl);
  } else {
    self->halt(st.hdl);
  }
  // Bytes held for a WebSocket upgrade that never completed can never go
  // out.
  if (st.ws && !st.ws->established())
    st.info.budget->release(st.ws->discard_held());
  self->flush(st.hdl);
  maybe_complete_close(self);
  if (st.phase == broker_phase::closing)
    caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), st.setup->drain_timeout,
                           drain_atom::value);
}

/// What follows bytes reaching the kernel: the budget frees them, a sink
/// paused by the high-water mark hears it may write again, and a graceful
/// close waiting for them completes. `from_caf` is true for CAF's report
/// (`data_transferred_msg`, a message of its own); bytes the broker wrote
/// itself may be written from inside a sink callback, so the sink hears of
/// them through the mailbox instead.
void bytes_written(connection_broker_actor* self, size_t n, bool from_caf) {
  auto& st = self->state;
  st.bytes_handed_over += n;
  settle_receipts(st);
  if (st.info.budget->release(n))
    st.writable_due = true;
  if (!from_caf && (st.writable_due || st.phase == broker_phase::closing)) {
    if (!st.written_notice_posted) {
      st.written_notice_posted = true;
      caf::anon_send(caf::actor_cast<caf::actor>(self), written_directly_atom::value);
    }
    return;
  }
  if (st.writable_due) {
    st.writable_due = false;
    if ((st.phase == broker_phase::open || st.phase == broker_phase::half_open) && st.sink)
      st.sink->on_writable();
  }
  maybe_complete_close(self);
}

/// Hands bytes ready for the wire (plaintext or TLS records) to the kernel.
/// The bytes must be reserved in the budget. While CAF holds none of this
/// connection's bytes, the broker sends them itself, at once: CAF 0.17
/// would register the socket for writability, wait for the next loop turn
/// and unregister it again, three system calls per batch that the epoll
/// reference does not pay. What the kernel does not take, or a send error,
/// goes to CAF's write buffer behind it, in order; CAF then finds errors
/// and reports completion as always.
void send_raw(connection_broker_actor* self, protocol::byte_buffer&& bytes) {
  // However the bytes leave, their buffer (or the empty one CAF swapped in)
  // becomes this thread's spare for the next write.
  struct recycle {
    protocol::byte_buffer& buf;
    ~recycle() {
      protocol::give_back_buffer(std::move(buf));
    }
  } guard{bytes};
  auto& st = self->state;
  if (bytes.empty() || !self->valid(st.hdl))
    return;
  if (st.setup->simulated) {
    // CAF's test multiplexer never acknowledges writes: its output buffer
    // stands for the kernel, so the bytes count as written once there.
    auto n = bytes.size();
    st.bytes_queued += n;
    st.info.clock->last_output = self->clock().now();
    protocol::append_bytes(self->wr_buf(st.hdl), bytes.data(), bytes.size());
    self->flush(st.hdl);
    st.info.budget->release(n);
    st.bytes_handed_over += n;
    settle_receipts(st);
    return;
  }
  // The sink's actor may send on the same socket (`direct_writer`): one
  // send at a time, none of its own while CAF holds bytes, and the rest of
  // a buffer it sent in part goes first.
  auto* direct = st.info.clock->direct.get();
  std::unique_lock<std::mutex> shared;
  if (direct)
    shared = direct->lock_for_send(bytes);
  st.bytes_queued += bytes.size();
  st.info.clock->last_output = self->clock().now();
  if (st.caf_pending == 0) {
    auto sent = socket_ops::send_some(fd_of(st), bytes.data(), bytes.size());
    if (sent > 0) {
      auto n = static_cast<size_t>(sent);
      if (n == bytes.size()) {
        bytes_written(self, n, false);
        return;
      }
      bytes.erase(bytes.begin(), bytes.begin() + sent);
      bytes_written(self, n, false);
    }
  }
  st.caf_pending += bytes.size();
  if (direct)
    direct->set_broker_pending(true);
  auto& buf = self->wr_buf(st.hdl);
  if (buf.empty())
    buf.swap(bytes);
  else
    protocol::append_bytes(buf, bytes.data(), bytes.size());
  self->flush(st.hdl);
}

/// Trades `consumed` reserved bytes that a layer (TLS, WebSocket) turned
/// into `produced` bytes in the budget, so the queue stays exact: the
/// layer's own bytes (handshakes, alerts, pongs, close frames) are added,
/// bytes that left smaller are released.
void trade(connection_broker_actor* self, size_t consumed, size_t produced) {
  auto& st = self->state;
  if (produced >= consumed)
    st.info.budget->add(produced - consumed);
  else if (st.info.budget->release(consumed - produced) && st.phase == broker_phase::open
           && st.sink)
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

/// Sends reserved bytes that are ready for the stream (framed bytes, or
/// WebSocket messages): encrypted with TLS, or as they are. On a TLS error
/// the bytes are released and the error returned.
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
  if (st.phase == broker_phase::finished)
    return;
  if (!st.failure)
    st.failure = err;
  if (self->valid(st.hdl))
    self->halt(st.hdl);
  if (!st.sink) {
    begin_close(self, err);
    return;
  }
  st.sink->on_error(err);
  st.sink->on_close_request(err);
}

/// Sends what the WebSocket channel produced: the budget trades the framed
/// bytes that left as messages (or were dropped) for the message bytes (the
/// 101, pongs, pings and close frames count as well); then they go down to
/// TLS or the socket.
void send_ws_output(connection_broker_actor* self, protocol::byte_buffer&& wire) {
  auto& st = self->state;
  trade(self, st.ws->take_consumed(), wire.size());
  // Once a close frame went out (ours or the answer to the peer's) or the
  // channel failed, no message can follow: writers learn it from the
  // budget rather than having their bytes dropped.
  if (st.ws->finished() || st.ws->close_code_sent() != 0)
    st.info.budget->close();
  if (wire.empty())
    return;
  if (auto err = send_stream(self, std::move(wire)))
    fail_connection(self, err);
}

/// The WebSocket side of a graceful close, after every reserved byte went
/// out: a close frame with the code for the reason (nothing if the channel
/// already finished or never upgraded).
void end_websocket(connection_broker_actor* self) {
  auto& st = self->state;
  st.info.budget->release(st.ws->discard_held());
  const auto& r = st.close_reason;
  std::string text = r && r.category() == protocol::error_category()
                       ? protocol::to_string(static_cast<errc>(r.code()))
                       : "";
  protocol::byte_buffer wire;
  st.ws->close(websocket_close_code(r), text, wire);
  send_ws_output(self, std::move(wire));
}

/// The channel finished: the peer's close was answered or a page served.
/// Like the peer's end of input, but nothing can go out any more: the sink
/// closes after the frames it got.
void websocket_finished(connection_broker_actor* self) {
  auto& st = self->state;
  if (st.phase != broker_phase::open && st.phase != broker_phase::half_open)
    return;
  if (self->valid(st.hdl))
    self->halt(st.hdl);
  if (!st.sink) {
    begin_close(self, st.ws->end_reason());
    return;
  }
  st.sink->on_close_request(st.ws->end_reason());
}

/// The peer's close frame came, unanswered: like the peer's end of input.
/// Reads stop; the sink handles the frames it got and their replies go out;
/// then its close answers the peer's close frame (end_websocket) and FIN
/// follows. A sink that cannot stay half-open closes at once.
void websocket_peer_closed(connection_broker_actor* self) {
  auto& st = self->state;
  if (st.phase != broker_phase::open)
    return;
  auto reason = st.ws->peer_close_reason();
  st.input_ended = true;
  st.phase = broker_phase::half_open;
  if (self->valid(st.hdl))
    self->halt(st.hdl);
  if (!st.sink || !st.sink->on_input_closed(reason))
    begin_close(self, reason);
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

void write_bytes(connection_broker_actor* self, protocol::byte_buffer&& bytes,
                 bool counted = false) {
  auto& st = self->state;
  auto n = bytes.size();
  // A graceful close delivers what writers reserved before it began, also
  // when their bytes arrive after it (the closed budget refuses later
  // writers, so nobody keeps it open). A reset connection drops them.
  if (st.phase == broker_phase::finished || st.ws_closed || st.tls_closed || !self->valid(st.hdl)) {
    st.info.budget->release(n);
    return;
  }
  if (st.setup->on_write && !counted)
    st.setup->on_write(bytes);
  if (st.ws) {
    // Messages (or pings for heartbeats); the channel drops what comes
    // after its close frame, and counts every byte as consumed.
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
  if (st.phase == broker_phase::closing) {
    maybe_complete_close(self);
    return;
  }
  if (st.setup->disconnect_slow_consumers && st.info.budget->queued() > st.setup->high_water_mark)
    abort_connection(self, protocol::make_error(errc::slow_consumer,
                                                std::to_string(st.info.budget->queued())
                                                  + " bytes queued, the high-water mark is "
                                                  + std::to_string(st.setup->high_water_mark)));
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

/// Sends one Tao heartbeat, unless the connection is past writing or its
/// queue is above the high-water mark (the peer is alive but slow: skip the
/// beat rather than queue more). Codecs that cannot carry type 0 send none.
/// A WebSocket connection sends a ping instead (its pong, like any bytes,
/// counts as input).
void send_heartbeat(connection_broker_actor* self) {
  auto& st = self->state;
  const auto& setup = *st.setup;
  if (st.phase != broker_phase::open && st.phase != broker_phase::half_open)
    return;
  if (st.ws) {
    if (!st.ws->established() || !st.info.budget->writable())
      return;
    protocol::byte_buffer ping;
    st.ws->ping({}, ping);
    if (ping.empty())
      return;
    send_ws_output(self, std::move(ping));
    if (setup.on_heartbeat_sent)
      setup.on_heartbeat_sent();
    return;
  }
  protocol::byte_buffer beat;
  if (st.info.budget->writable()
      && !protocol::encode_message(*setup.codec, protocol::heartbeat::now(), beat)
      && st.info.budget->try_reserve(beat.size())) {
    write_bytes(self, std::move(beat));
    if (setup.on_heartbeat_sent)
      setup.on_heartbeat_sent();
  }
}

/// The peer ended its input (FIN, or TLS close_notify). The sink may keep
/// the write side for the replies it still owes; otherwise the connection
/// ends with `reason`.
void input_ended(connection_broker_actor* self, const caf::error& reason) {
  auto& st = self->state;
  st.input_ended = true;
  // Half-open before the sink hears of it: the sink may close (or reset)
  // the connection from inside the call.
  st.phase = broker_phase::half_open;
  if (st.scribe && st.scribe->detached()) {
    // CAF 0.17 detaches the scribe at read EOF: re-adopt it (reads stay
    // off) so that the replies go out through the normal write path.
    self->add_scribe(st.scribe);
  } else if (self->valid(st.hdl)) {
    self->halt(st.hdl);
  }
  if (!st.sink || !st.sink->on_input_closed(reason))
    finish(self, reason);
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

/// Tells the sink of the completed TLS handshake, once (a WebSocket
/// connection's sink is made after the handshake).
void announce_tls(connection_broker_actor* self) {
  auto& st = self->state;
  if (!st.tls->established())
    return;
  // What waited for the handshake is queued now: its receipts' ends are
  // known.
  for (auto& r : st.receipts)
    if (r.end == held_receipt)
      r.end = st.bytes_queued;
  if (st.tls_announced || !st.sink)
    return;
  st.tls_announced = true;
  st.sink->on_tls_established(st.tls->session());
}

/// Sends a client's upgrade request (held by TLS until its handshake is
/// done) and arms the upgrade timeout.
void start_websocket(connection_broker_actor* self) {
  auto& st = self->state;
  protocol::byte_buffer wire;
  st.ws->start(wire);
  send_ws_output(self, std::move(wire));
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self),
                         st.setup->websocket->options().handshake_timeout, ws_timeout_atom::value);
}

/// Makes the sink once the WebSocket upgrade completed: the connection
/// starts now (its clock too, so that the supervisor the sink registers
/// with counts first-message and idle times from here), and the sink's
/// handlers join the broker's. Returns false if the connection did not
/// survive it (refused by the factory, or closed by the sink at once).
bool open_sink(connection_broker_actor* self) {
  auto& st = self->state;
  auto& clock = *st.info.clock;
  clock.opened = self->clock().now();
  clock.last_input = clock.opened;
  clock.last_frame = clock.opened;
  clock.last_output = clock.opened;
  st.sink = st.setup->make_sink(*st.io, st.info);
  if (!st.sink) {
    abort_connection(self, protocol::make_error(errc::refused, "refused by the sink factory"));
    return false;
  }
  if (auto extra = st.sink->extra_handlers())
    self->become(st.handlers.or_else(extra));
  st.sink->on_open();
  if (st.tls && accepting_reads(st))
    announce_tls(self);
  return accepting_reads(st);
}

/// Runs received bytes through TLS. Returns false if the connection failed;
/// otherwise points `data`/`size` at the plaintext.
bool decrypt(connection_broker_actor* self, const char*& data, size_t& size) {
  auto& st = self->state;
  st.tls_plain.clear();
  protocol::byte_buffer cipher;
  auto err = st.tls->read(data, size, st.tls_plain, cipher);
  send_tls_output(self, std::move(cipher));
  if (err) {
    fail_connection(self, err);
    return false;
  }
  announce_tls(self);
  data = st.tls_plain.data();
  size = st.tls_plain.size();
  return true;
}

/// What writers handed over and the peer will never get, after a reset:
/// bytes still queued here (the closed budget counts every reservation made
/// so far) plus bytes the kernel took that the peer never acknowledged.
caf::error reset_loss(connection_broker_actor* self, const socket_ops::tcp_end& end) {
  auto& st = self->state;
  auto lost = uint64_t{st.info.budget->close()};
  if (end.bytes_acked) {
    auto acked = *end.bytes_acked - std::min(*end.bytes_acked, st.acked_at_start);
    auto handed_over = st.bytes_handed_over;
    if (st.info.clock->direct)
      handed_over += st.info.clock->direct->bytes_sent();
    if (handed_over > acked)
      lost += handed_over - acked;
  }
  if (lost == 0)
    return {};
  return protocol::make_error(errc::network_failure, "connection reset by the peer with "
                                                       + std::to_string(lost)
                                                       + " bytes not delivered");
}

/// CAF reports the end of the connection (FIN, reset, or a failed write).
void connection_ended(connection_broker_actor* self) {
  auto& st = self->state;
  // CAF reports a reset like a FIN; the socket (still open, the scribe is
  // held) tells them apart.
  auto end = socket_ops::end_of(fd_of(st));
  caf::error loss = end.reset ? reset_loss(self, end) : caf::error{};
  switch (st.phase) {
  case broker_phase::finished:
    return;
  case broker_phase::closing:
    finish(self, loss && !st.close_reason ? loss : st.close_reason);
    return;
  case broker_phase::half_open:
    if (!end.reset) {
      // The peer's FIN after its TLS close_notify (CAF may read it before
      // the halt takes effect): still half-open, keep the write side.
      if (st.scribe && st.scribe->detached())
        self->add_scribe(st.scribe);
      return;
    }
    // The write side failed too (the half-open peer reset).
    finish(self, loss ? loss
                      : protocol::make_error(errc::network_failure,
                                             "the connection failed after the peer's "
                                             "end of input"));
    return;
  case broker_phase::open:
    break;
  }
  caf::error reason;
  bool handshaking = st.tls && !st.tls->established();
  bool upgrading = st.ws && !st.ws->established();
  if (st.failure)
    reason = st.failure;
  else if (handshaking)
    reason = protocol::make_error(errc::tls_failure, "peer closed during the TLS handshake");
  else if (upgrading)
    reason =
      protocol::make_error(errc::websocket_failure, "peer closed during the WebSocket upgrade");
  else if (st.ws && !st.ws->finished() && st.ws->close_code_received() == 0)
    reason = protocol::make_error(errc::websocket_failure,
                                  "1006 abnormal closure: the peer closed without a close frame");
  else if (auto n = st.decoder->buffered(); n > 0)
    reason = protocol::make_error(errc::truncated_frame, "peer closed with " + std::to_string(n)
                                                           + " bytes of an incomplete frame");
  else
    reason = loss;
  // A reset peer is never kept half-open, nor a connection that failed or
  // never reached its sink.
  if (handshaking || end.reset || st.failure || !st.sink) {
    finish(self, reason);
    return;
  }
  input_ended(self, reason);
}

/// A graceful close stops waiting for the peer's WebSocket close frame (it
/// came, the peer failed or ended its stream, or the drain timeout passed)
/// and goes on to close_notify and FIN.
void stop_awaiting_close(connection_broker_actor* self) {
  auto& st = self->state;
  if (!st.ws_awaiting_close)
    return;
  st.ws_awaiting_close = false;
  if (self->valid(st.hdl))
    self->halt(st.hdl);
  maybe_complete_close(self);
}

/// Reads during a graceful close, waiting for the peer's close frame.
/// Messages after our close frame are dropped (RFC 6455 5.5.1); errors only
/// end the wait.
void await_close_frame(connection_broker_actor* self, const caf::io::new_data_msg& msg) {
  auto& st = self->state;
  st.info.clock->last_input = self->clock().now();
  const char* data = msg.buf.data();
  auto size = msg.buf.size();
  if (st.tls) {
    st.tls_plain.clear();
    protocol::byte_buffer cipher;
    auto err = st.tls->read(data, size, st.tls_plain, cipher);
    send_tls_output(self, std::move(cipher));
    if (err || st.tls->peer_closed()) {
      stop_awaiting_close(self);
      return;
    }
    data = st.tls_plain.data();
    size = st.tls_plain.size();
  }
  protocol::frame_batch dropped;
  protocol::byte_buffer wire;
  auto err = st.ws->read(data, size, dropped, wire);
  send_ws_output(self, std::move(wire));
  if (err || st.ws->finished())
    stop_awaiting_close(self);
}

/// The frame batch of one read. Every broker of an I/O thread reads on that
/// thread, one read at a time, so the thread keeps one spare batch and each
/// read borrows it: in steady traffic the batch's storage and index are
/// reused instead of allocated per read. A sink that keeps the batch (the
/// scheduled dispatch sends it on; a waiting handler holds it) takes it
/// along, and the next read starts a new one. At most `retain_limit` bytes
/// are kept per thread.
class read_batch {
public:
  read_batch() : batch(std::move(spare())) {
    batch.clear();
  }

  ~read_batch() {
    if (batch.retained_bytes() <= retain_limit) {
      batch.clear();
      spare() = std::move(batch);
    }
  }

  read_batch(const read_batch&) = delete;
  read_batch& operator=(const read_batch&) = delete;

  protocol::frame_batch batch;

private:
  static constexpr size_t retain_limit = 256 * 1024;

  static protocol::frame_batch& spare() {
    thread_local protocol::frame_batch instance;
    return instance;
  }
};

void read_bytes(connection_broker_actor* self, const caf::io::new_data_msg& msg) {
  auto& st = self->state;
  if (st.ws_awaiting_close) {
    await_close_frame(self, msg);
    return;
  }
  // After a fatal error, data CAF read before the halt took effect is
  // dropped: feeding it would report the error again.
  if (!accepting_reads(st))
    return;
  adapt_read_size(self, msg.buf.size());
  const char* data = msg.buf.data();
  auto size = msg.buf.size();
  if (st.tls && !decrypt(self, data, size))
    return;
  auto& clock = *st.info.clock;
  clock.last_input = self->clock().now();
  read_batch borrowed;
  auto& batch = borrowed.batch;
  caf::error err;
  if (st.ws) {
    protocol::byte_buffer wire;
    err = st.ws->read(data, size, batch, wire);
    send_ws_output(self, std::move(wire));
    if (!accepting_reads(st))
      return;
    if (!st.sink) {
      // Before the upgrade (or with it): a failure or a finished exchange
      // (a page served) closes; a completed upgrade makes the sink, and
      // frames that came with it go there.
      if (err) {
        fail_connection(self, err);
        return;
      }
      if (!st.ws->established()) {
        if (st.ws->finished())
          websocket_finished(self);
        return;
      }
      if (!open_sink(self))
        return;
    }
  } else {
    // Plain TCP: the frames may stay views of CAF's read buffer, which
    // lives until this call returns; a sink that keeps them owns them first.
    batch.set_borrowing(!st.tls);
    err = st.decoder->feed(data, size, batch);
  }
  if (!batch.empty()) {
    clock.frames_in += batch.size();
    clock.last_frame = clock.last_input;
  }
  if (!batch.empty() && st.sink->on_frames(std::move(batch)) && accepting_reads(st))
    self->halt(st.hdl);
  // Read no more, but let the handlers finish what they already got (and
  // their replies go out) before the close.
  if (err) {
    fail_connection(self, err);
    return;
  }
  if (st.ws && st.ws->finished()) {
    websocket_finished(self);
    return;
  }
  if (st.ws && st.ws->peer_closing()) {
    websocket_peer_closed(self);
    return;
  }
  if (st.tls && st.tls->peer_closed() && accepting_reads(st))
    input_ended(self, caf::error{});
}

class broker_io_impl final : public broker_io {
public:
  explicit broker_io_impl(connection_broker_actor* self) noexcept : self_(self) {
  }

  caf::io::abstract_broker* self() noexcept override {
    return self_;
  }

  void write(protocol::byte_buffer&& bytes) override {
    call_guard guard{self_->state};
    write_bytes(self_, std::move(bytes));
  }

  void close(caf::error reason) override {
    call_guard guard{self_->state};
    begin_close(self_, std::move(reason));
  }

  void abort(caf::error reason) override {
    call_guard guard{self_->state};
    auto& st = self_->state;
    abort_connection(self_, st.phase == broker_phase::closing ? st.close_reason : reason);
  }

  void pause_reading() override {
    auto& st = self_->state;
    if (accepting_reads(st) && self_->valid(st.hdl))
      self_->halt(st.hdl);
  }

  void resume_reading() override {
    auto& st = self_->state;
    if (accepting_reads(st) && self_->valid(st.hdl))
      self_->trigger(st.hdl);
  }

  direct_writer_ptr share_socket() override {
    auto& st = self_->state;
    if (st.info.clock->direct)
      return st.info.clock->direct;
    if (st.setup->simulated || st.setup->tls || st.setup->websocket || !self_->valid(st.hdl)
        || (st.phase != broker_phase::open && st.phase != broker_phase::half_open))
      return nullptr;
    auto writer = std::make_shared<direct_writer>(fd_of(st), st.info.budget, st.setup->on_write);
    writer->set_broker_pending(st.caf_pending > 0);
    st.info.clock->direct = writer;
    return writer;
  }

private:
  /// Marks a call from the sink, so that `finish` defers `on_closed`.
  struct call_guard {
    explicit call_guard(connection_broker_state& st) noexcept : st_(st) {
      ++st_.sink_calls;
    }
    ~call_guard() {
      --st_.sink_calls;
    }
    connection_broker_state& st_;
  };

  connection_broker_actor* self_;
};

} // namespace

/// The TLS handshake did not complete in time.
void tls_handshake_expired(connection_broker_actor* self) {
  auto& st = self->state;
  if (!st.tls || st.phase != broker_phase::open || st.tls->established())
    return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              st.setup->tls->options().handshake_timeout)
              .count();
  auto err = protocol::make_error(errc::tls_failure, "TLS handshake not completed within "
                                                       + std::to_string(ms) + " ms");
  if (st.sink)
    st.sink->on_error(err);
  abort_connection(self, err);
}

/// The WebSocket upgrade did not complete in time.
void websocket_handshake_expired(connection_broker_actor* self) {
  auto& st = self->state;
  if (!st.ws || st.phase != broker_phase::open)
    return;
  if (auto err = st.ws->expire_handshake())
    abort_connection(self, err);
}

/// The drain timeout of a graceful close fired.
void drain_expired(connection_broker_actor* self) {
  // The peer did not take what was owed to it in time: reset, and say
  // what was lost unless the close already carries an error. A peer
  // that took everything but never answered our WebSocket close frame
  // gets close_notify and FIN without it.
  auto& st = self->state;
  if (st.phase != broker_phase::closing)
    return;
  if (st.ws_awaiting_close && st.info.budget->queued() == 0) {
    stop_awaiting_close(self);
    if (st.phase == broker_phase::closing)
      caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), st.setup->drain_timeout,
                             drain_atom::value);
    return;
  }
  auto reason = st.close_reason;
  if (!reason)
    reason = protocol::make_error(errc::slow_consumer,
                                  std::to_string(st.info.budget->queued())
                                    + " bytes not delivered within the drain timeout ("
                                    + std::to_string(st.setup->drain_timeout.count()) + " ms)");
  abort_connection(self, reason);
}

/// The handlers drained what held reads back (scheduled dispatch): read on.
void resume_reading_after_pause(connection_broker_actor* self) {
  auto& st = self->state;
  if (accepting_reads(st) && self->valid(st.hdl))
    self->trigger(st.hdl);
}

/// The broker's rare control messages (close, abort, fail, the end notice,
/// resuming reads, handshake and drain timeouts, and a direct writer's
/// hand-overs, which come only while the socket is behind), matched by hand
/// from the default handler instead of as behavior cases: every case costs
/// each connection about 40 bytes of behavior, and these arrive a few times
/// per connection at most. Returns false for other messages.
bool handle_control(connection_broker_actor* self, caf::message& msg) {
  if (msg.match_elements<caf::atom_value, protocol::byte_buffer, bool>()
      && msg.get_as<caf::atom_value>(0) == handover_atom::value) {
    // Sent or queued in CAF's buffer before the writer may send again. A
    // rest the writer kept is this hand-over's own (it keeps one only after
    // a partial send, and hands over everything after it until this one is
    // handled), counted like it, unless a send of the broker's took it.
    auto& bytes = msg.get_mutable_as<protocol::byte_buffer>(1);
    auto& writer = self->state.info.clock->direct;
    if (writer)
      writer->take_rest(bytes);
    write_bytes(self, std::move(bytes), msg.get_as<bool>(2));
    if (writer)
      writer->handed_over();
    return true;
  }
  if (msg.match_elements<caf::atom_value, caf::error>()) {
    auto what = msg.get_as<caf::atom_value>(0);
    auto& reason = msg.get_mutable_as<caf::error>(1);
    if (what == close_atom::value)
      begin_close(self, std::move(reason));
    else if (what == abort_atom::value)
      self->state.io->abort(std::move(reason));
    else if (what == fail_atom::value)
      fail_connection(self, reason);
    else if (what == finish_atom::value)
      notify_closed(self, reason);
    else
      return false;
    return true;
  }
  if (msg.match_elements<caf::atom_value>()) {
    auto what = msg.get_as<caf::atom_value>(0);
    if (what == tls_timeout_atom::value)
      tls_handshake_expired(self);
    else if (what == ws_timeout_atom::value)
      websocket_handshake_expired(self);
    else if (what == drain_atom::value)
      drain_expired(self);
    else if (what == resume_atom::value)
      resume_reading_after_pause(self);
    else
      return false;
    return true;
  }
  return false;
}

connection_broker_state::~connection_broker_state() {
  stop_direct_writes(*this);
}

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
  // The handshake may count in the kernel's acknowledged bytes (a client's
  // SYN does); only data acknowledged from now on is ours.
  init.acked_at_start = socket_ops::end_of(fd).bytes_acked.value_or(0);
  init.info.budget =
    std::make_shared<outbound_budget>(init.setup->high_water_mark, init.setup->low_water_mark);
  init.info.window = std::make_shared<inbound_window>(init.setup->inbound_limit);
  auto clock = std::make_shared<liveness>();
  clock->opened = self->clock().now();
  clock->last_input = clock->opened;
  clock->last_frame = clock->opened;
  clock->last_output = clock->opened;
  clock->broker = caf::actor_cast<caf::actor>(self);
  clock->connection_actor = clock->broker;
  clock->fd = fd;
  clock->window = init.info.window;
  init.info.clock = std::move(clock);
  init.read_chunk = std::min(init.setup->min_read_chunk_size, init.setup->read_chunk_size);
  self->configure_read(hdl, caf::io::receive_policy::at_most(init.read_chunk));
  self->ack_writes(hdl, true);
  init.scribe = scribe_lookup::find(*self, hdl);
  if (init.setup->websocket)
    init.ws = std::make_unique<websocket_channel>(init.setup->websocket);
  else
    init.sink = init.setup->make_sink(*init.io, init.info);
  if (!init.sink && !init.ws) {
    // Refused by the sink factory: no sink to notify, just go.
    init.info.budget->close();
    init.info.budget->retire();
    init.info.clock->broker = nullptr;
    init.info.clock->connection_actor = nullptr;
    self->close(hdl);
    self->quit();
    return {};
  }
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // The linked connection actor died.
    if (msg.reason)
      abort_connection(self, msg.reason);
  });
  // The owner (server or client) going away takes the connection with it.
  // A monitor rather than a link: links between the server and its brokers
  // kept both alive after termination (leaks under LeakSanitizer, CAF 0.17).
  if (init.setup->owner)
    self->monitor(init.setup->owner);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.setup->owner && msg.source == st.setup->owner.address())
      abort_connection(self, msg.reason ? msg.reason
                                        : protocol::make_error(errc::closed, "owner terminated"));
    else if (st.phase != broker_phase::finished)
      st.sink->on_down(msg);
  });
  // Messages of the sink's own protocol (e.g. the user's, in inline
  // dispatch) go to it.
  self->set_default_handler(
    [self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
      auto& st = self->state;
      auto msg = x.move_content_to_message();
      if (handle_control(self, msg))
        return caf::message{};
      if (st.phase == broker_phase::finished)
        return caf::sec::unexpected_message;
      return st.sink->on_message(msg);
    });
  caf::message_handler handlers{
    [self](const caf::io::new_data_msg& msg) { read_bytes(self, msg); },
    [self](const caf::io::data_transferred_msg& msg) {
      auto& st = self->state;
      auto n = static_cast<uint64_t>(msg.written);
      st.caf_pending -= std::min(st.caf_pending, n);
      if (st.caf_pending == 0 && st.info.clock->direct) {
        auto shared = st.info.clock->direct->lock();
        st.info.clock->direct->set_broker_pending(false);
      }
      bytes_written(self, msg.written, true);
    },
    [self](written_directly_atom) {
      auto& st = self->state;
      st.written_notice_posted = false;
      bytes_written(self, 0, true);
    },
    [self](const caf::io::connection_closed_msg&) { connection_ended(self); },
    [self](write_atom, protocol::byte_buffer& bytes) { write_bytes(self, std::move(bytes)); },
    [self](write_atom, protocol::byte_buffer& bytes, const write_receipt_ptr& receipt) {
      auto& st = self->state;
      write_bytes(self, std::move(bytes));
      if (st.phase == broker_phase::finished || st.tls_closed || !self->valid(st.hdl)) {
        receipt->failed(protocol::make_error(errc::closed, "the connection closed first"));
        return;
      }
      // Before the TLS handshake the bytes wait in the TLS channel: their
      // end is known once it completed.
      bool held = st.tls && !st.tls->established();
      st.receipts.push_back({held ? held_receipt : st.bytes_queued, receipt});
      settle_receipts(st);
    },
    [self](heartbeat_atom) { send_heartbeat(self); },
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
