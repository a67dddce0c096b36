#include "tao/protocol/codec.hpp"

#include <algorithm>

#include "tao/protocol/append_bytes.hpp"
#include "tao/protocol/byte_order.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/header_decoder.hpp"

namespace tao::protocol {

decoder::~decoder() = default;

codec::~codec() = default;

caf::error codec::encode(int32_t type, std::string_view payload, byte_buffer& out) const {
  auto start = begin_frame(out);
  append_bytes(out, payload.data(), payload.size());
  return end_frame(type, out, start);
}

bool codec::encode_into(int32_t type, std::string_view payload, byte_buffer& out,
                        caf::error& err) const {
  if (auto e = encode(type, payload, out)) {
    err = std::move(e);
    return false;
  }
  return true;
}

// -- header_codec -------------------------------------------------------------

namespace {

/// The error of a payload above the codec's limit.
caf::error oversized(size_t payload, uint32_t limit) {
  return make_error(errc::oversized_frame, "payload of " + std::to_string(payload)
                                             + " bytes exceeds the limit of "
                                             + std::to_string(limit));
}

/// Reads headers through a codec's virtual `read_header`.
struct virtual_header_reader {
  const header_codec* codec;
  frame_header operator()(const char* in) const noexcept {
    return codec->read_header(in);
  }
};

/// Tao's TLV header: int32 LE type, uint32 LE length.
struct tlv_header_reader {
  frame_header operator()(const char* in) const noexcept {
    return {static_cast<int32_t>(load_le32(in)), load_le32(in + 4)};
  }
};

/// A big-endian length of `width` bytes; every frame has type `type`.
struct lp_header_reader {
  int32_t type;
  unsigned width;
  frame_header operator()(const char* in) const noexcept {
    return {type, load_be(in, width)};
  }
};

} // namespace

std::unique_ptr<decoder> header_codec::make_decoder() const {
  return std::make_unique<basic_header_decoder<virtual_header_reader>>(
    virtual_header_reader{this}, header_size(), max_payload());
}

size_t header_codec::begin_frame(byte_buffer& out) const {
  auto start = out.size();
  out.resize(start + header_size());
  return start;
}

caf::error header_codec::end_frame(int32_t type, byte_buffer& out, size_t start) const {
  auto payload = out.size() - start - header_size();
  if (payload > max_payload()) {
    out.resize(start);
    return oversized(payload, max_payload());
  }
  if (auto err = write_header(out.data() + start, type, static_cast<uint32_t>(payload))) {
    out.resize(start);
    return err;
  }
  return {};
}

// -- tlv_codec ----------------------------------------------------------------

tlv_codec::tlv_codec(uint32_t max_payload) noexcept : max_payload_(max_payload) {
}

std::string tlv_codec::name() const {
  return "tlv";
}

std::unique_ptr<decoder> tlv_codec::make_decoder() const {
  return std::make_unique<basic_header_decoder<tlv_header_reader>>(tlv_header_reader{},
                                                                   tlv_header_size, max_payload_);
}

uint32_t tlv_codec::max_payload() const noexcept {
  return max_payload_;
}

size_t tlv_codec::header_size() const noexcept {
  return tlv_header_size;
}

caf::error tlv_codec::write_header(char* out, int32_t type, uint32_t length) const {
  store_le32(out, static_cast<uint32_t>(type));
  store_le32(out + 4, length);
  return {};
}

frame_header tlv_codec::read_header(const char* in) const noexcept {
  return tlv_header_reader{}(in);
}

caf::error tlv_codec::encode(int32_t type, std::string_view payload, byte_buffer& out) const {
  caf::error err;
  encode_into(type, payload, out, err);
  return err;
}

bool tlv_codec::encode_into(int32_t type, std::string_view payload, byte_buffer& out,
                            caf::error& err) const {
  if (payload.size() > max_payload_) {
    err = oversized(payload.size(), max_payload_);
    return false;
  }
  auto need = tlv_header_size + payload.size();
  if (out.capacity() - out.size() < need)
    out.reserve(std::max(out.size() + need, 2 * out.capacity()));
  char header[tlv_header_size];
  store_le32(header, static_cast<uint32_t>(type));
  store_le32(header + 4, static_cast<uint32_t>(payload.size()));
  // Two appends: measured cheaper than resize + copies (resize zero-fills
  // through an out-of-line call and a memset) and than staging header and
  // payload on the stack for one insert. The payload lands 8 bytes after
  // the header; when its source has the same page offset as `out`, one
  // large memcpy would take glibc's slow `rep movsb` case, which
  // append_bytes avoids.
  out.insert(out.end(), header, header + tlv_header_size);
  append_bytes(out, payload.data(), payload.size());
  return true;
}

// -- length_prefixed_codec ----------------------------------------------------

length_prefixed_codec::length_prefixed_codec(int32_t message_type, unsigned size_field_bytes,
                                             uint32_t max_payload) noexcept
  : message_type_(message_type), width_(size_field_bytes == 2 ? 2u : 4u),
    max_payload_(width_ == 2 ? std::min<uint32_t>(max_payload, 0xFFFFu) : max_payload) {
}

std::string length_prefixed_codec::name() const {
  return width_ == 2 ? "lp16" : "lp32";
}

std::unique_ptr<decoder> length_prefixed_codec::make_decoder() const {
  return std::make_unique<basic_header_decoder<lp_header_reader>>(
    lp_header_reader{message_type_, width_}, width_, max_payload_);
}

uint32_t length_prefixed_codec::max_payload() const noexcept {
  return max_payload_;
}

size_t length_prefixed_codec::header_size() const noexcept {
  return width_;
}

caf::error length_prefixed_codec::write_header(char* out, int32_t type, uint32_t length) const {
  if (type != message_type_)
    return make_error(errc::unsupported_type, "the length-prefixed codec carries only type "
                                                + std::to_string(message_type_) + ", not "
                                                + std::to_string(type));
  store_be(out, length, width_);
  return {};
}

frame_header length_prefixed_codec::read_header(const char* in) const noexcept {
  return lp_header_reader{message_type_, width_}(in);
}

codec_ptr default_codec() {
  static const codec_ptr instance = std::make_shared<tlv_codec>();
  return instance;
}

} // namespace tao::protocol
