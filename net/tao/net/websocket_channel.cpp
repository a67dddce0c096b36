#include "tao/net/websocket_channel.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include <openssl/rand.h>
#include <wslay/wslay.h>

#include "tao/net/websocket_handshake.hpp"
#include "tao/protocol/append_bytes.hpp"
#include "tao/protocol/byte_order.hpp"
#include "tao/protocol/error.hpp"

namespace tao::net {

using protocol::errc;

namespace {

/// Payloads up to this size are copied into the batch's shared storage;
/// larger ones are handed over as their own buffer.
constexpr size_t small_payload = 4096;

/// Bytes reserved for a message before its payload arrives.
constexpr size_t max_reserve = 64 * 1024;

const char* code_name(uint16_t code) {
  switch (code) {
  case 1000:
    return "normal closure";
  case 1001:
    return "going away";
  case 1002:
    return "protocol error";
  case 1003:
    return "unsupported data";
  case 1007:
    return "invalid payload data";
  case 1008:
    return "policy violation";
  case 1009:
    return "message too big";
  case 1011:
    return "internal error";
  default:
    return "close";
  }
}

/// What wslay's event layer found when it failed a connection by itself.
std::string wslay_violation(uint16_t code, bool server, size_t limit) {
  switch (code) {
  case 1002:
    return server ? "an unmasked client frame, reserved bits or opcode, a misplaced continuation "
                    "or an invalid close code"
                  : "a masked server frame, reserved bits or opcode, a misplaced continuation or "
                    "an invalid close code";
  case 1007:
    return "invalid UTF-8 in a text message or close reason";
  case 1009:
    return "a frame of more than " + std::to_string(limit) + " bytes";
  default:
    return "the frame parser failed";
  }
}

/// Points the channel's output at `wire` for the duration of a call.
class output_scope {
public:
  output_scope(protocol::byte_buffer*& slot, protocol::byte_buffer& wire) noexcept : slot_(slot) {
    slot_ = &wire;
  }
  ~output_scope() {
    slot_ = nullptr;
  }
  output_scope(const output_scope&) = delete;
  output_scope& operator=(const output_scope&) = delete;

private:
  protocol::byte_buffer*& slot_;
};

} // namespace

/// wslay's callbacks, with access to the channel.
struct websocket_events {
  static websocket_channel& self(void* user) noexcept {
    return *static_cast<websocket_channel*>(user);
  }

  static ssize_t recv(wslay_event_context_ptr ctx, uint8_t* buf, size_t len, int, void* user) {
    auto& ch = self(user);
    if (ch.in_size_ == 0) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    auto n = std::min(len, ch.in_size_);
    std::memcpy(buf, ch.in_, n);
    ch.in_ += n;
    ch.in_size_ -= n;
    return static_cast<ssize_t>(n);
  }

  static ssize_t send(wslay_event_context_ptr, const uint8_t* data, size_t len, int, void* user) {
    return append(user, data, len);
  }

  static ssize_t frame_send(const uint8_t* data, size_t len, int, void* user) {
    return append(user, data, len);
  }

  static ssize_t append(void* user, const uint8_t* data, size_t len) {
    auto& wire = *self(user).wire_;
    protocol::append_bytes(wire, data, len);
    return static_cast<ssize_t>(len);
  }

  static ssize_t frame_recv(uint8_t*, size_t, int, void*) {
    return -1; // the frame context only writes
  }

  static int genmask(wslay_event_context_ptr, uint8_t* buf, size_t len, void*) {
    return frame_genmask(buf, len, nullptr);
  }

  static int frame_genmask(uint8_t* buf, size_t len, void*) {
    return RAND_bytes(buf, static_cast<int>(len)) == 1 ? 0 : -1;
  }

  static void frame_start(wslay_event_context_ptr, const wslay_event_on_frame_recv_start_arg* arg,
                          void* user) {
    auto& ch = self(user);
    if (ch.failure_ || ch.pending_code_ != 0)
      return;
    ch.frame_control_ = wslay_is_ctrl_frame(arg->opcode);
    if (ch.frame_control_)
      return;
    if (arg->opcode != WSLAY_CONTINUATION_FRAME) {
      ch.msg_text_ = arg->opcode == WSLAY_TEXT_FRAME;
      ch.msg_size_ = 0;
      ch.type_have_ = 0;
      ch.payload_.clear();
      if (ch.msg_text_ && !ch.ctx_->options().text_type) {
        ch.fail_in_callback(1003, "text messages are not accepted here");
        return;
      }
    }
    ch.msg_size_ += arg->payload_length;
    auto limit = ch.ctx_->max_message_size() + (ch.msg_text_ ? 0 : 4);
    if (ch.msg_size_ > limit) {
      ch.fail_in_callback(1009, "a message of more than " + std::to_string(limit) + " bytes");
      return;
    }
    auto want = std::min<uint64_t>(ch.msg_size_, max_reserve);
    if (ch.payload_.capacity() < want)
      ch.payload_.reserve(want);
  }

  static void frame_chunk(wslay_event_context_ptr, const wslay_event_on_frame_recv_chunk_arg* arg,
                          void* user) {
    auto& ch = self(user);
    if (ch.failure_ || ch.pending_code_ != 0 || ch.frame_control_)
      return;
    auto* p = reinterpret_cast<const char*>(arg->data);
    auto n = arg->data_length;
    if (!ch.msg_text_) {
      while (ch.type_have_ < 4 && n > 0) {
        ch.type_bytes_[ch.type_have_++] = *p++;
        --n;
      }
    }
    protocol::append_bytes(ch.payload_, p, n);
  }

  static void message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
    auto& ch = self(user);
    ch.activity_ = true;
    switch (arg->opcode) {
    case WSLAY_CONNECTION_CLOSE:
      ch.code_received_ = arg->status_code != 0 ? arg->status_code : 1005;
      if (arg->msg_length > 2)
        ch.reason_received_.assign(reinterpret_cast<const char*>(arg->msg) + 2,
                                   arg->msg_length - 2);
      return;
    case WSLAY_TEXT_FRAME:
    case WSLAY_BINARY_FRAME:
      break;
    default:
      return; // ping (wslay queued the pong) or pong
    }
    if (ch.failure_ || ch.pending_code_ != 0)
      return;
    if (!ch.msg_text_ && ch.type_have_ < 4) {
      ch.fail_in_callback(1007, "a binary message shorter than its 4-byte type");
      return;
    }
    auto type = ch.msg_text_ ? *ch.ctx_->options().text_type
                             : static_cast<int32_t>(protocol::load_le32(ch.type_bytes_.data()));
    auto& frames = *ch.frames_in_;
    if (ch.payload_.size() <= small_payload) {
      frames.append_copy(type, ch.payload_.data(), ch.payload_.size());
      ch.payload_.clear();
    } else {
      frames.append_owned(type, std::move(ch.payload_));
      ch.payload_ = protocol::byte_buffer{};
    }
  }
};

websocket_channel::websocket_channel(std::shared_ptr<const websocket_context> ctx)
  : ctx_(std::move(ctx)) {
}

websocket_channel::~websocket_channel() {
  if (events_ != nullptr)
    wslay_event_context_free(events_);
  if (frames_out_ != nullptr)
    wslay_frame_context_free(frames_out_);
}

bool websocket_channel::client() const noexcept {
  return ctx_->role() == websocket_role::client;
}

void websocket_channel::start(protocol::byte_buffer& wire_out) {
  if (!client() || !key_.empty())
    return;
  key_ = make_websocket_key();
  auto request = upgrade_request(ctx_->options(), key_);
  wire_out.insert(wire_out.end(), request.begin(), request.end());
}

caf::error websocket_channel::read(const char* data, size_t n, protocol::frame_batch& frames,
                                   protocol::byte_buffer& wire_out) {
  output_scope scope{wire_, wire_out};
  if (failure_)
    return failure_;
  if (finished_ || n == 0)
    return {};
  frames.reserve_shared(n);
  if (!established_)
    read_head(data, n, frames);
  else
    receive(data, n, frames);
  return failure_;
}

void websocket_channel::read_head(const char* data, size_t n, protocol::frame_batch& frames) {
  auto old = head_.size();
  head_.append(data, n);
  auto end = find_head_end(head_, old);
  auto limit = ctx_->options().max_header_size;
  if ((end == 0 && head_.size() > limit) || end > limit) {
    if (!client()) {
      auto refusal = head_too_large(limit);
      wire_->insert(wire_->end(), refusal.begin(), refusal.end());
    }
    fail_handshake("the HTTP head exceeds " + std::to_string(limit) + " bytes");
    return;
  }
  if (end == 0)
    return;
  std::string head = std::move(head_);
  head_ = std::string{};
  if (client()) {
    auto selected =
      check_upgrade_response(std::string_view{head}.substr(0, end), key_, ctx_->options());
    if (!selected) {
      failure_ = selected.error();
      fail_handshake({});
      return;
    }
    subprotocol_ = std::move(*selected);
  } else {
    auto answer = answer_request(std::string_view{head}.substr(0, end), *ctx_);
    wire_->insert(wire_->end(), answer.response.begin(), answer.response.end());
    switch (answer.what) {
    case upgrade_answer::kind::upgrade:
      subprotocol_ = std::move(answer.subprotocol);
      break;
    case upgrade_answer::kind::plain:
      ++ctx_->counters().http_requests;
      finished_ = true;
      return;
    case upgrade_answer::kind::refusal:
      fail_handshake("upgrade refused: " + answer.reason);
      return;
    }
  }
  ++ctx_->counters().upgrades;
  open(head.data() + end, head.size() - end, frames);
}

void websocket_channel::open(const char* rest, size_t n, protocol::frame_batch& frames) {
  established_ = true;
  wslay_event_callbacks callbacks{&websocket_events::recv,        &websocket_events::send,
                                  &websocket_events::genmask,     &websocket_events::frame_start,
                                  &websocket_events::frame_chunk, nullptr,
                                  &websocket_events::message};
  wslay_frame_callbacks frame_callbacks{
    &websocket_events::frame_send, &websocket_events::frame_recv, &websocket_events::frame_genmask};
  auto ok = (client() ? wslay_event_context_client_init(&events_, &callbacks, this)
                      : wslay_event_context_server_init(&events_, &callbacks, this))
              == 0
            && wslay_frame_context_init(&frames_out_, &frame_callbacks, this) == 0;
  if (!ok) {
    failure_ = protocol::make_error(errc::websocket_failure, "1011 internal error: out of memory");
    end_reason_ = failure_;
    finished_ = true;
    return;
  }
  // Messages are assembled here, straight into the buffer the batch adopts;
  // wslay then checks sizes per frame, and `frame_start` per message.
  wslay_event_config_set_no_buffering(events_, 1);
  wslay_event_config_set_max_recv_msg_length(events_, ctx_->max_message_size() + 4);
  out_decoder_ = ctx_->codec().make_decoder();
  if (!held_.empty()) {
    protocol::byte_buffer held;
    held.swap(held_);
    consumed_ += held.size();
    send_frames(held.data(), held.size());
  }
  if (n > 0 && !finished_)
    receive(rest, n, frames);
}

void websocket_channel::receive(const char* data, size_t n, protocol::frame_batch& frames) {
  in_ = data;
  in_size_ = n;
  frames_in_ = &frames;
  auto r = wslay_event_recv(events_);
  in_ = nullptr;
  in_size_ = 0;
  frames_in_ = nullptr;
  if (r != 0 && pending_code_ == 0) {
    // wslay's frame parser refused a header (a control frame above 125
    // bytes or fragmented, a non-minimal or 64-bit-overflowing length). It
    // queued a close without a status; ours says 1002 instead.
    fail(1002,
         r == WSLAY_ERR_NOMEM ? "out of memory"
                              : "a malformed frame header (an oversized or fragmented control "
                                "frame, or a bad length encoding)",
         r != WSLAY_ERR_NOMEM);
    return;
  }
  flush_events();
  if (pending_code_ != 0) {
    fail(pending_code_, pending_why_, true);
  } else if (!failure_ && !wslay_event_get_read_enabled(events_)
             && !wslay_event_get_close_received(events_)) {
    // wslay failed the connection itself and sent the close saying why.
    auto code = code_sent_ != 0 ? code_sent_ : uint16_t{1002};
    fail(code, wslay_violation(code, !client(), ctx_->max_message_size() + 4), true);
  }
  check_end();
}

void websocket_channel::flush_events() {
  // wslay queued the answer to the peer's close as it read it; it waits
  // until `close`, so that replies to earlier messages go out first.
  if (!answer_close_ && wslay_event_get_close_received(events_)
      && !wslay_event_get_close_sent(events_) && !failure_)
    return;
  wslay_event_send(events_);
  if (code_sent_ == 0 && wslay_event_get_close_sent(events_))
    code_sent_ = wslay_event_get_status_code_sent(events_);
}

void websocket_channel::check_end() {
  if (finished_ || events_ == nullptr || !wslay_event_get_close_received(events_)
      || !wslay_event_get_close_sent(events_))
    return;
  finished_ = true;
  end_reason_ = peer_close_reason();
}

caf::error websocket_channel::peer_close_reason() const {
  if (code_received_ == 0 || code_received_ == 1000 || code_received_ == 1001
      || code_received_ == 1005)
    return {};
  return protocol::make_error(errc::websocket_failure,
                              "the peer closed with " + std::to_string(code_received_) + " "
                                + code_name(code_received_)
                                + (reason_received_.empty() ? "" : ": " + reason_received_));
}

caf::error websocket_channel::write(const char* data, size_t n, protocol::byte_buffer& wire_out) {
  output_scope scope{wire_, wire_out};
  if (failure_) {
    consumed_ += n;
    return failure_;
  }
  if (!established_ && !finished_) {
    held_.insert(held_.end(), data, data + n);
    return {};
  }
  consumed_ += n;
  if (finished_ || code_sent_ != 0)
    return {}; // closing: the peer reads no more messages
  send_frames(data, n);
  return failure_;
}

void websocket_channel::send_frames(const char* data, size_t n) {
  out_batch_.clear();
  auto err = out_decoder_->feed(data, n, out_batch_);
  if (err || out_decoder_->buffered() != 0) {
    failure_ =
      protocol::make_error(errc::invalid_argument, "websocket: written bytes are not whole frames");
    end_reason_ = failure_;
    out_decoder_ = ctx_->codec().make_decoder();
    return;
  }
  const auto& text_type = ctx_->options().text_type;
  for (size_t i = 0; i < out_batch_.size(); ++i) {
    auto frame = out_batch_[i];
    const auto& p = frame.payload;
    if (frame.type == protocol::heartbeat_type) {
      send_control(WSLAY_PING, p.data(), std::min<size_t>(p.size(), 125));
    } else if (text_type && frame.type == *text_type && is_utf8(p)) {
      send_data(WSLAY_TEXT_FRAME, nullptr, 0, p.data(), p.size());
    } else {
      char type[4];
      protocol::store_le32(type, static_cast<uint32_t>(frame.type));
      send_data(WSLAY_BINARY_FRAME, type, sizeof(type), p.data(), p.size());
    }
  }
  out_batch_.clear();
}

void websocket_channel::send_data(uint8_t opcode, const char* prefix, size_t prefix_len,
                                  const char* data, size_t n) {
  wslay_frame_iocb iocb{};
  iocb.fin = 1;
  iocb.opcode = opcode;
  iocb.mask = client() ? 1 : 0;
  iocb.payload_length = prefix_len + n;
  iocb.data = reinterpret_cast<const uint8_t*>(prefix);
  iocb.data_length = prefix_len;
  wslay_frame_send(frames_out_, &iocb); // the header and the prefix
  if (n > 0) {
    iocb.data = reinterpret_cast<const uint8_t*>(data);
    iocb.data_length = n;
    wslay_frame_send(frames_out_, &iocb);
  }
}

void websocket_channel::send_control(uint8_t opcode, const char* data, size_t n) {
  wslay_frame_iocb iocb{};
  iocb.fin = 1;
  iocb.opcode = opcode;
  iocb.mask = client() ? 1 : 0;
  iocb.payload_length = n;
  iocb.data = reinterpret_cast<const uint8_t*>(data);
  iocb.data_length = n;
  wslay_frame_send(frames_out_, &iocb);
}

void websocket_channel::ping(std::string_view payload, protocol::byte_buffer& wire_out) {
  output_scope scope{wire_, wire_out};
  if (!established_ || finished_ || code_sent_ != 0)
    return;
  send_control(WSLAY_PING, payload.data(), std::min<size_t>(payload.size(), 125));
}

void websocket_channel::close(uint16_t code, std::string_view reason,
                              protocol::byte_buffer& wire_out) {
  output_scope scope{wire_, wire_out};
  if (finished_ || code_sent_ != 0)
    return;
  if (!established_) {
    finished_ = true;
    return;
  }
  reason = reason.substr(0, 123);
  answer_close_ = true;
  if (code_received_ == 0) // else wslay queued the answer already
    wslay_event_queue_close(events_, code, reinterpret_cast<const uint8_t*>(reason.data()),
                            reason.size());
  flush_events();
  check_end();
}

caf::error websocket_channel::expire_handshake() {
  if (established_ || finished_)
    return {};
  auto ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(ctx_->options().handshake_timeout);
  fail_handshake("the upgrade did not complete within " + std::to_string(ms.count()) + " ms");
  return failure_;
}

void websocket_channel::fail_in_callback(uint16_t code, std::string why) {
  if (pending_code_ != 0)
    return;
  pending_code_ = code;
  pending_why_ = std::move(why);
  wslay_event_queue_close(events_, code, nullptr, 0);
  wslay_event_shutdown_read(events_);
}

void websocket_channel::fail(uint16_t code, std::string why, bool count) {
  if (failure_)
    return;
  failure_ = protocol::make_error(errc::websocket_failure,
                                  std::to_string(code) + " " + code_name(code) + ": " + why);
  end_reason_ = failure_;
  if (count)
    ++ctx_->counters().protocol_failures;
  if (code_sent_ == 0 && frames_out_ != nullptr && wire_ != nullptr) {
    char status[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    send_control(WSLAY_CONNECTION_CLOSE, status, sizeof(status));
    code_sent_ = code;
  }
  if (events_ != nullptr) {
    wslay_event_shutdown_read(events_);
    wslay_event_shutdown_write(events_);
  }
  finished_ = true;
}

void websocket_channel::fail_handshake(std::string why) {
  if (!failure_)
    failure_ = protocol::make_error(errc::websocket_failure, std::move(why));
  end_reason_ = failure_;
  held_.clear();
  ++ctx_->counters().handshake_failures;
  finished_ = true;
}

uint16_t websocket_close_code(const caf::error& reason) noexcept {
  if (!reason)
    return 1000;
  if (protocol::is(reason, errc::closed) || protocol::is(reason, errc::heartbeat_timeout)
      || protocol::is(reason, errc::idle_timeout))
    return 1001;
  if (protocol::is(reason, errc::refused))
    return 1008;
  if (protocol::is(reason, errc::oversized_frame))
    return 1009;
  if (protocol::is(reason, errc::malformed_payload))
    return 1007;
  if (protocol::is(reason, errc::websocket_failure))
    return 1002;
  return 1011;
}

bool is_utf8(std::string_view data) noexcept {
  auto* p = reinterpret_cast<const unsigned char*>(data.data());
  auto* end = p + data.size();
  while (p < end) {
    auto c = *p++;
    if (c < 0x80)
      continue;
    size_t more = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      more = 1;
      cp = c & 0x1f;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      more = 2;
      cp = c & 0x0f;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      more = 3;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) < more)
      return false;
    for (size_t i = 0; i < more; ++i) {
      if ((p[i] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    p += more;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
  }
  return true;
}

} // namespace tao::net
