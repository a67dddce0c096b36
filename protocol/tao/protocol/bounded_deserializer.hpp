#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/binary_deserializer.hpp>
#include <caf/deserializer.hpp>
#include <caf/error.hpp>

namespace tao::protocol {

/// CAF's binary deserializer with one more check, for bytes from the
/// network: a sequence may announce at most 8 elements per remaining input
/// byte (the densest encoding, a `std::vector<bool>`, packs 8 per byte).
///
/// CAF 0.17 resizes byte and bit sequences (`std::vector<char>`,
/// `std::vector<uint8_t>`, `std::vector<bool>`) to the announced size before
/// it checks that the input holds that many bytes, so a 10-byte payload
/// could make the receiver allocate and zero gigabytes; sequences of
/// elements without bytes (empty structs) would loop for as long as
/// announced. With the check, what a payload can make the receiver allocate
/// is bounded by 8 times its size. Elements that take no bytes at all are
/// therefore not supported in sequences longer than that. Floating-point
/// values must be finite (see `finite_serializer`).
///
/// Not thread-safe; a value used by one decode.
class bounded_deserializer final : public caf::deserializer {
public:
  /// Reads the `size` bytes at `data`, which must outlive the deserializer.
  bounded_deserializer(const char* data, size_t size);

  ~bounded_deserializer() override;

  /// Bytes not yet read.
  size_t remaining() const noexcept {
    return inner_.remaining();
  }

  /// Forwards to `caf::binary_deserializer`.
  caf::error begin_object(uint16_t& typenr, std::string& name) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error end_object() override;
  /// Reads a sequence size; fails with `caf::sec::end_of_stream` if it
  /// exceeds 8 per remaining byte.
  caf::error begin_sequence(size_t& num) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error end_sequence() override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_raw(size_t num_bytes, void* data) override;

protected:
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_impl(int8_t& x) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_impl(uint8_t& x) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_impl(int16_t& x) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_impl(uint16_t& x) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_impl(int32_t& x) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_impl(uint32_t& x) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_impl(int64_t& x) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_impl(uint64_t& x) override;
  /// Forwards to `caf::binary_deserializer`; a non-finite value fails with
  /// `caf::sec::invalid_argument`.
  caf::error apply_impl(float& x) override;
  /// Forwards to `caf::binary_deserializer`; a non-finite value fails with
  /// `caf::sec::invalid_argument`.
  caf::error apply_impl(double& x) override;
  /// Forwards to `caf::binary_deserializer`; a non-finite value fails with
  /// `caf::sec::invalid_argument`.
  caf::error apply_impl(long double& x) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_impl(std::string& x) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_impl(std::u16string& x) override;
  /// Forwards to `caf::binary_deserializer`.
  caf::error apply_impl(std::u32string& x) override;

private:
  caf::binary_deserializer inner_;
};

} // namespace tao::protocol
