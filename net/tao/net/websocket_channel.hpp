#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "tao/net/websocket_context.hpp"
#include "tao/protocol/decoder.hpp"
#include "tao/protocol/frame.hpp"
#include "tao/protocol/frame_batch.hpp"

struct wslay_event_context;
struct wslay_frame_context;

namespace tao::net {

/// One WebSocket connection (RFC 6455) as a byte transformer, server or
/// client role: no sockets, no actors, so a connection broker drives it from
/// its reads and writes (under the framing, over TLS for `wss://`) and tests
/// drive it with byte strings.
///
/// The caller moves bytes: what it reads from the peer goes to `read`, which
/// appends complete Tao frames to a `frame_batch` and bytes for the peer
/// (the handshake response, pongs, close frames) to `wire_out`; the
/// codec-framed bytes handlers write go to `write`, which appends WebSocket
/// messages to `wire_out`. Every call may append to `wire_out`; the caller
/// sends it in order.
///
/// Mapping: a binary message is one Tao frame, `int32 LE type | payload`; a
/// text message is a frame of the options' `text_type`, and frames of that
/// type go out as text when their payload is valid UTF-8. Outbound
/// heartbeats (type 0) become pings; every received message, ping or pong
/// counts as activity (`take_activity`) for liveness.
///
/// The upgrade uses Boost.Beast's HTTP parser (`websocket_handshake`); frames
/// use wslay: its event layer parses, unmasks, reassembles fragments,
/// validates UTF-8 and opcodes and answers pings and closes; its frame layer
/// writes our data frames (with masks from OpenSSL's RNG in the client
/// role).
///
/// A violation closes the connection with the RFC's code: 1002 (protocol:
/// unmasked client frame, bad opcode, reserved bits, misplaced continuation,
/// oversized or fragmented control frame), 1003 (text without `text_type`),
/// 1007 (invalid UTF-8; a binary message shorter than its type), 1009
/// (message above the limit). It is counted in the context's counters and
/// reported as `errc::websocket_failure` naming the code.
///
/// Not thread-safe: one owner (the connection broker) at a time.
class websocket_channel {
public:
  /// A channel in the context's role, waiting for the upgrade.
  explicit websocket_channel(std::shared_ptr<const websocket_context> ctx);

  ~websocket_channel();

  websocket_channel(const websocket_channel&) = delete;
  websocket_channel& operator=(const websocket_channel&) = delete;

  /// Clients: appends the upgrade request to `wire_out`. Servers: nothing;
  /// they wait for the request.
  void start(protocol::byte_buffer& wire_out);

  /// Consumes `n` bytes from the peer. Frames completed by them are appended
  /// to `frames`, bytes to send to `wire_out`. Returns `websocket_failure`
  /// when we fail the connection (a refused or malformed upgrade, a protocol
  /// violation); `wire_out` then holds the HTTP refusal or close frame that
  /// says why, and `finished()` is true. A failure is sticky.
  caf::error read(const char* data, size_t n, protocol::frame_batch& frames,
                  protocol::byte_buffer& wire_out);

  /// Wraps `n` bytes of whole codec frames into messages (held until the
  /// upgrade completes; dropped once a close was sent). Fails on bytes that
  /// are not whole frames, or after a failure. Every byte is either held or
  /// counted by `take_consumed`, failures included.
  caf::error write(const char* data, size_t n, protocol::byte_buffer& wire_out);

  /// Sends a ping with `payload` (at most 125 bytes; longer is cut) if the
  /// connection is open: the liveness hook for supervisors.
  void ping(std::string_view payload, protocol::byte_buffer& wire_out);

  /// Starts the closing handshake with `code` and `reason` (at most 123
  /// bytes; longer is cut), once. Before the upgrade it only marks the
  /// channel finished (the caller closes the socket). After the peer's
  /// close (`peer_closing`) it sends the answer to it instead, echoing the
  /// peer's code, and the channel finishes.
  void close(uint16_t code, std::string_view reason, protocol::byte_buffer& wire_out);

  /// Fails a channel still in its upgrade (the caller's handshake timer
  /// fired): counted; returns the error. Returns none if the upgrade is done
  /// or the channel already finished.
  caf::error expire_handshake();

  /// True once the upgrade completed.
  bool established() const noexcept {
    return established_;
  }

  /// True once nothing more will be exchanged: a plain HTTP request was
  /// answered, a refusal or failure was sent, or close frames went both
  /// ways. The caller sends `wire_out` and closes the socket.
  bool finished() const noexcept {
    return finished_;
  }

  /// True once the peer's close frame came and we have not answered it: the
  /// peer sends nothing more, but we may still send the replies to what it
  /// sent before (RFC 6455 5.5.1 lets an endpoint finish sending first);
  /// `close` answers. The answer is held until then.
  bool peer_closing() const noexcept {
    return established_ && !finished_ && code_received_ != 0 && code_sent_ == 0;
  }

  /// What the peer's close means for the connection: none for 1000, 1001
  /// or no status, else `websocket_failure` naming the code and reason.
  caf::error peer_close_reason() const;

  /// Why the channel finished: none for a plain HTTP exchange or a close
  /// with 1000, 1001 or no status; the failure; or the peer's close code
  /// and reason (`websocket_failure`, not counted as our failure).
  const caf::error& end_reason() const noexcept {
    return end_reason_;
  }

  /// True if a message, ping, pong or close arrived since the last call.
  bool take_activity() noexcept {
    auto x = activity_;
    activity_ = false;
    return x;
  }

  /// Bytes given to `write` that left as messages (or were dropped) since
  /// the last call, for byte accounting: writers reserve framed sizes, the
  /// socket acknowledges message sizes.
  size_t take_consumed() noexcept {
    auto n = consumed_;
    consumed_ = 0;
    return n;
  }

  /// Framed bytes held until the upgrade completes.
  size_t held_bytes() const noexcept {
    return held_.size();
  }

  /// Drops the bytes held for the upgrade (a close before it); returns
  /// their size.
  size_t discard_held() noexcept {
    auto n = held_.size();
    held_.clear();
    return n;
  }

  /// The negotiated subprotocol (empty if none).
  const std::string& subprotocol() const noexcept {
    return subprotocol_;
  }

  /// The status code the peer closed with (1005 if its close had none, 0
  /// if it sent no close).
  uint16_t close_code_received() const noexcept {
    return code_received_;
  }

  /// The status code of the close frame we sent (0 if none).
  uint16_t close_code_sent() const noexcept {
    return code_sent_;
  }

private:
  // wslay's callbacks (in the .cpp) reach the members below.
  friend struct websocket_events;

  bool client() const noexcept;
  void read_head(const char* data, size_t n, protocol::frame_batch& frames);
  void open(const char* rest, size_t n, protocol::frame_batch& frames);
  void receive(const char* data, size_t n, protocol::frame_batch& frames);
  void flush_events();
  void send_frames(const char* data, size_t n);
  void send_data(uint8_t opcode, const char* prefix, size_t prefix_len, const char* data, size_t n);
  void send_control(uint8_t opcode, const char* data, size_t n);
  void fail_in_callback(uint16_t code, std::string why);
  void fail(uint16_t code, std::string why, bool count);
  void fail_handshake(std::string why);
  void check_end();

  std::shared_ptr<const websocket_context> ctx_;
  wslay_event_context* events_ = nullptr;
  wslay_frame_context* frames_out_ = nullptr;
  std::unique_ptr<protocol::decoder> out_decoder_;
  protocol::frame_batch out_batch_;
  // I/O of the current call.
  const char* in_ = nullptr;
  size_t in_size_ = 0;
  protocol::byte_buffer* wire_ = nullptr;
  protocol::frame_batch* frames_in_ = nullptr;
  // Upgrade.
  std::string head_;
  std::string key_;
  protocol::byte_buffer held_;
  std::string subprotocol_;
  bool established_ = false;
  bool finished_ = false;
  // The message being received.
  bool frame_control_ = false;
  bool msg_text_ = false;
  uint64_t msg_size_ = 0;
  std::array<char, 4> type_bytes_{};
  size_t type_have_ = 0;
  protocol::byte_buffer payload_;
  // Outcome.
  bool activity_ = false;
  size_t consumed_ = 0;
  uint16_t code_received_ = 0;
  uint16_t code_sent_ = 0;
  /// Set by `close`: the answer to the peer's close may go out.
  bool answer_close_ = false;
  std::string reason_received_;
  uint16_t pending_code_ = 0;
  std::string pending_why_;
  caf::error failure_;
  caf::error end_reason_;
};

/// The close status for ending a connection with `reason`: 1000 for none,
/// 1001 for a stop or timeout (`closed`, `heartbeat_timeout`,
/// `idle_timeout`), 1008 for `refused`, 1009 for `oversized_frame`, 1007 for
/// `malformed_payload`, 1011 otherwise.
uint16_t websocket_close_code(const caf::error& reason) noexcept;

/// True if `data` is well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF).
bool is_utf8(std::string_view data) noexcept;

} // namespace tao::net
