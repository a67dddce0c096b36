#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <caf/io/handle.hpp>

#include "tao/protocol/codec.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/frame_batch.hpp"
#include "tao/protocol/message.hpp"
#include "tao/test/fixture.hpp"

namespace tao::test {

/// A script step that did not hold: what was expected and what came. Thrown
/// by `scripted_peer`; Boost.Test reports it as a failed test case with
/// its text.
struct script_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// One frame as the peer saw it.
struct received_frame {
  /// The message type number.
  int32_t type = 0;
  /// The payload bytes.
  std::string payload;
};

/// The other end of a simulated connection to a tao server or client: sends
/// Tao frames (encoded with the connection's codec) and expects the frames
/// tao writes back, in order. Each step runs the fixture, so what tao does
/// in response has happened when the step returns. A step that does not
/// hold throws `script_error`. Not thread-safe (the test thread drives it).
class scripted_peer {
public:
  /// The peer of connection `hdl` in `fix` (see `fixture::connect` and
  /// `fixture::provide_peer`), framing with `codec`.
  scripted_peer(fixture& fix, caf::io::connection_handle hdl,
                protocol::codec_ptr codec = protocol::default_codec())
    : fix_(&fix), hdl_(hdl), codec_(std::move(codec)), decoder_(codec_->make_decoder()) {
  }

  /// A new peer connecting to the server last started with
  /// `fix.start_server`.
  static scripted_peer connect(fixture& fix,
                               protocol::codec_ptr codec = protocol::default_codec()) {
    return scripted_peer{fix, fix.connect(fix.acceptor()), std::move(codec)};
  }

  /// The connection's handle in the test multiplexer.
  caf::io::connection_handle handle() const noexcept {
    return hdl_;
  }

  // -- sending ----------------------------------------------------------------

  /// Sends `msg` as one frame; runs.
  template <class T>
  scripted_peer& send(const T& msg) {
    protocol::byte_buffer buf;
    if (auto err = protocol::encode_message(*codec_, msg, buf))
      throw script_error("cannot encode: " + protocol::render(err));
    return send_bytes({buf.data(), buf.size()});
  }

  /// Sends one frame with a raw payload; runs.
  scripted_peer& send_frame(int32_t type, std::string_view payload) {
    protocol::byte_buffer buf;
    if (auto err = codec_->encode(type, payload, buf))
      throw script_error("cannot encode: " + protocol::render(err));
    return send_bytes({buf.data(), buf.size()});
  }

  /// Sends raw bytes (part of a frame, several frames, garbage); runs.
  scripted_peer& send_bytes(std::string_view bytes) {
    fix_->send(hdl_, bytes);
    return *this;
  }

  /// Shuts down the peer's write side (tao reads end of input); runs.
  scripted_peer& close() {
    fix_->peer_close(hdl_);
    return *this;
  }

  // -- expecting --------------------------------------------------------------

  /// The next frame tao wrote, which must be a `T`, decoded.
  template <class T>
  T receive() {
    auto frame = next_frame("a frame of type " + std::to_string(protocol::type_number_v<T>));
    if (frame.type != protocol::type_number_v<T>)
      throw script_error("expected a frame of type " + std::to_string(protocol::type_number_v<T>)
                         + ", got type " + std::to_string(frame.type) + " (" + frame.payload + ")");
    auto x = protocol::decode_payload<T>(frame.payload);
    if (!x)
      throw script_error("cannot decode a frame of type " + std::to_string(frame.type) + ": "
                         + protocol::render(x.error()));
    return std::move(*x);
  }

  /// The next frame tao wrote must be `msg` (compared with `==`).
  template <class T>
  scripted_peer& expect(const T& msg) {
    if (!(receive<T>() == msg))
      throw script_error("a frame of type " + std::to_string(protocol::type_number_v<T>)
                         + " differs from the one expected");
    return *this;
  }

  /// The next frame tao wrote must have `type` and `payload`.
  scripted_peer& expect_frame(int32_t type, std::string_view payload) {
    auto frame = next_frame("frame " + std::to_string(type) + " (" + std::string{payload} + ")");
    if (frame.type != type || frame.payload != payload)
      throw script_error("expected frame " + std::to_string(type) + " (" + std::string{payload}
                         + "), got frame " + std::to_string(frame.type) + " (" + frame.payload
                         + ")");
    return *this;
  }

  /// The next frame tao wrote, whatever its type.
  received_frame next_frame() {
    return next_frame("a frame");
  }

  /// Tao wrote no frame that was not expected yet (and no partial frame).
  scripted_peer& expect_nothing() {
    collect();
    if (!frames_.empty())
      throw script_error("expected nothing, got frame " + std::to_string(frames_.front().type)
                         + " (" + frames_.front().payload + ")");
    if (decoder_->buffered() > 0)
      throw script_error("expected nothing, got part of a frame");
    return *this;
  }

  /// How many whole frames tao wrote that were not expected yet.
  size_t pending() {
    collect();
    return frames_.size();
  }

  /// True once tao closed its side of the connection (FIN or reset).
  bool closed_by_tao() {
    return fix_->closed_by_tao(hdl_);
  }

private:
  received_frame next_frame(const std::string& what) {
    collect();
    if (frames_.empty())
      throw script_error("expected " + what + ", got nothing"
                         + (closed_by_tao() ? " (tao closed the connection)" : ""));
    auto frame = std::move(frames_.front());
    frames_.pop_front();
    return frame;
  }

  void collect() {
    auto out = fix_->take_output(hdl_);
    if (out.empty())
      return;
    protocol::frame_batch batch;
    if (auto err = decoder_->feed(out.data(), out.size(), batch))
      throw script_error("tao wrote bytes that do not decode: " + protocol::render(err));
    for (size_t i = 0; i < batch.size(); ++i)
      frames_.push_back({batch[i].type, std::string{batch[i].payload}});
  }

  fixture* fix_;
  caf::io::connection_handle hdl_;
  protocol::codec_ptr codec_;
  std::unique_ptr<protocol::decoder> decoder_;
  std::deque<received_frame> frames_;
};

} // namespace tao::test
