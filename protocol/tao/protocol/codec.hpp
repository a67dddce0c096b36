#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "tao/protocol/decoder.hpp"
#include "tao/protocol/frame.hpp"

namespace tao::protocol {

/// A framing: how (type, payload) frames are laid out on the wire. This is
/// tao's counterpart of Tao's `Codec` / `CustomCodecOption`.
///
/// A codec is immutable once built and shared by every connection of a server
/// or client (`std::shared_ptr<const codec>`), so all member functions are
/// const and thread-safe. Per-connection parsing state lives in the `decoder`
/// objects it creates.
///
/// Encoding writes straight into the connection's output buffer:
/// `begin_frame` reserves room for a header, the caller appends the payload,
/// and `end_frame` fills the header in. Payloads are therefore never copied
/// on the way out.
class codec {
public:
  virtual ~codec();

  /// A short name for logs and metrics, e.g. "tlv".
  virtual std::string name() const = 0;

  /// Creates a fresh decoder for one connection.
  virtual std::unique_ptr<decoder> make_decoder() const = 0;

  /// Largest payload this codec accepts, in either direction.
  virtual uint32_t max_payload() const noexcept = 0;

  /// Starts a frame at the end of `out` and returns its start offset, to be
  /// passed to `end_frame` once the payload has been appended.
  virtual size_t begin_frame(byte_buffer& out) const = 0;

  /// Completes the frame of type `type` that started at `start`: everything
  /// after the reserved header is its payload. On error (payload too large,
  /// type not representable) `out` is truncated back to `start`, so a failed
  /// encode leaves no partial frame behind.
  virtual caf::error end_frame(int32_t type, byte_buffer& out, size_t start) const = 0;

  /// Appends one complete frame with a copy of `payload` to `out`; on error
  /// `out` is left as it was. The default runs `begin_frame`, appends the
  /// payload and runs `end_frame`; a codec may override it with an
  /// equivalent that writes the header first (the payload size is known).
  virtual caf::error encode(int32_t type, std::string_view payload, byte_buffer& out) const;

  /// `encode` for the hot path: returns true on success and leaves `err`
  /// untouched; on error stores it in `err`, returns false and leaves `out`
  /// as it was. No `caf::error` is made or destroyed per frame on success.
  /// The default calls `encode`.
  virtual bool encode_into(int32_t type, std::string_view payload, byte_buffer& out,
                           caf::error& err) const;
};

/// Shared, immutable codec handle as stored in server and client options.
using codec_ptr = std::shared_ptr<const codec>;

/// A codec whose frames start with a fixed-size header holding (at least) the
/// payload length. Implementations only describe the header; the shared
/// `basic_header_decoder` does the incremental parsing.
class header_codec : public codec {
public:
  /// Size of the header in bytes (1..16).
  virtual size_t header_size() const noexcept = 0;

  /// Writes the header of a frame with `type` and `length` to `out`
  /// (`header_size()` bytes). Returns an error if the type cannot be encoded.
  virtual caf::error write_header(char* out, int32_t type, uint32_t length) const = 0;

  /// Reads the header at `in` (`header_size()` bytes).
  virtual frame_header read_header(const char* in) const noexcept = 0;

  /// A decoder calling `read_header` through this codec, which must then
  /// outlive the decoder (as the codec in server and client options does).
  /// The built-in codecs override this with decoders that own a copy of
  /// their header format and have no such requirement.
  std::unique_ptr<decoder> make_decoder() const override;

  size_t begin_frame(byte_buffer& out) const override;

  caf::error end_frame(int32_t type, byte_buffer& out, size_t start) const override;
};

/// Tao's `TypeLengthValueCodec`, byte for byte:
/// `int32 LE type | uint32 LE length | payload`, length excludes the header.
/// Type 1 with payload "hi" is `01 00 00 00 02 00 00 00 68 69`.
class tlv_codec final : public header_codec {
public:
  /// A TLV codec rejecting payloads above `max_payload` bytes (default 8 MiB).
  explicit tlv_codec(uint32_t max_payload = default_max_payload) noexcept;

  std::string name() const override;
  std::unique_ptr<decoder> make_decoder() const override;
  uint32_t max_payload() const noexcept override;
  size_t header_size() const noexcept override;
  caf::error write_header(char* out, int32_t type, uint32_t length) const override;
  frame_header read_header(const char* in) const noexcept override;

  /// Writes header and payload in one pass: no virtual calls, no zero-filled
  /// header to patch (the hot path of every raw-payload write).
  caf::error encode(int32_t type, std::string_view payload, byte_buffer& out) const override;

  /// The same pass as `encode`, reporting an error through `err`.
  bool encode_into(int32_t type, std::string_view payload, byte_buffer& out,
                   caf::error& err) const override;

private:
  uint32_t max_payload_;
};

/// A length-prefixed framing without a type field, as Netty's
/// `LengthFieldBasedFrameDecoder` or CAF 1.x's `lp` framing:
/// `uintN BE length | payload` with N = 2 or 4 bytes. Every received frame is
/// reported as `message_type`; encoding any other type fails with
/// `errc::unsupported_type`.
class length_prefixed_codec final : public header_codec {
public:
  /// Builds the codec; `size_field_bytes` must be 2 or 4 (anything else is
  /// treated as 4). With 2 bytes the effective maximum is at most 65535.
  length_prefixed_codec(int32_t message_type, unsigned size_field_bytes = 4,
                        uint32_t max_payload = default_max_payload) noexcept;

  std::string name() const override;
  std::unique_ptr<decoder> make_decoder() const override;
  uint32_t max_payload() const noexcept override;
  size_t header_size() const noexcept override;
  caf::error write_header(char* out, int32_t type, uint32_t length) const override;
  frame_header read_header(const char* in) const noexcept override;

private:
  int32_t message_type_;
  unsigned width_;
  uint32_t max_payload_;
};

/// The default codec: a shared `tlv_codec` with the 8 MiB limit.
codec_ptr default_codec();

} // namespace tao::protocol
