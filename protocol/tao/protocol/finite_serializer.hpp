#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/binary_serializer.hpp>
#include <caf/error.hpp>
#include <caf/serializer.hpp>

#include "tao/protocol/frame.hpp"

namespace tao::protocol {

/// CAF's binary serializer, refusing infinite floating-point values.
///
/// CAF 0.17 packs floats with a loop that halves the value until it is
/// below 2, which never ends for infinity: serializing one would hang the
/// calling thread for good. This serializer fails with
/// `caf::sec::invalid_argument` instead; everything else is written exactly
/// as `caf::binary_serializer` writes it. (NaN does not hang CAF; it is
/// refused as well, as CAF cannot represent it either.)
///
/// Not thread-safe; a value used by one encode.
class finite_serializer final : public caf::serializer {
public:
  /// Appends to `out`, which must outlive the serializer.
  explicit finite_serializer(byte_buffer& out);

  ~finite_serializer() override;

  /// Forwards to `caf::binary_serializer`.
  caf::error begin_object(uint16_t& typenr, std::string& name) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error end_object() override;
  /// Forwards to `caf::binary_serializer`.
  caf::error begin_sequence(size_t& num) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error end_sequence() override;
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_raw(size_t num_bytes, void* data) override;

protected:
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_impl(int8_t& x) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_impl(uint8_t& x) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_impl(int16_t& x) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_impl(uint16_t& x) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_impl(int32_t& x) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_impl(uint32_t& x) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_impl(int64_t& x) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_impl(uint64_t& x) override;
  /// Forwards to `caf::binary_serializer`; a non-finite value fails with
  /// `caf::sec::invalid_argument`.
  caf::error apply_impl(float& x) override;
  /// Forwards to `caf::binary_serializer`; a non-finite value fails with
  /// `caf::sec::invalid_argument`.
  caf::error apply_impl(double& x) override;
  /// Forwards to `caf::binary_serializer`; a non-finite value fails with
  /// `caf::sec::invalid_argument`.
  caf::error apply_impl(long double& x) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_impl(std::string& x) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_impl(std::u16string& x) override;
  /// Forwards to `caf::binary_serializer`.
  caf::error apply_impl(std::u32string& x) override;

private:
  caf::binary_serializer inner_;
};

} // namespace tao::protocol
