#include "tao/protocol/bounded_deserializer.hpp"

#include <cmath>

#include <caf/sec.hpp>

namespace tao::protocol {

bounded_deserializer::bounded_deserializer(const char* data, size_t size)
  : caf::deserializer(nullptr), inner_(nullptr, data, size) {
}

bounded_deserializer::~bounded_deserializer() = default;

namespace {

/// CAF unpacks the all-ones exponent to infinity, which it cannot pack again
/// (see finite_serializer): such a value is refused on the way in.
template <class T>
caf::error read_finite(caf::binary_deserializer& source, T& x) {
  if (auto err = source(x))
    return err;
  if (!std::isfinite(x))
    return caf::sec::invalid_argument;
  return {};
}

} // namespace

caf::error bounded_deserializer::begin_object(uint16_t& typenr, std::string& name) {
  return inner_.begin_object(typenr, name);
}

caf::error bounded_deserializer::end_object() {
  return inner_.end_object();
}

caf::error bounded_deserializer::begin_sequence(size_t& num) {
  if (auto err = inner_.begin_sequence(num))
    return err;
  if (num / 8 > inner_.remaining()) {
    num = 0;
    return caf::sec::end_of_stream;
  }
  return {};
}

caf::error bounded_deserializer::end_sequence() {
  return inner_.end_sequence();
}

caf::error bounded_deserializer::apply_raw(size_t num_bytes, void* data) {
  return inner_.apply_raw(num_bytes, data);
}

// Strings go through the inner deserializer's own (range-checked) rules.
caf::error bounded_deserializer::apply_impl(int8_t& x) {
  return inner_(x);
}
caf::error bounded_deserializer::apply_impl(uint8_t& x) {
  return inner_(x);
}
caf::error bounded_deserializer::apply_impl(int16_t& x) {
  return inner_(x);
}
caf::error bounded_deserializer::apply_impl(uint16_t& x) {
  return inner_(x);
}
caf::error bounded_deserializer::apply_impl(int32_t& x) {
  return inner_(x);
}
caf::error bounded_deserializer::apply_impl(uint32_t& x) {
  return inner_(x);
}
caf::error bounded_deserializer::apply_impl(int64_t& x) {
  return inner_(x);
}
caf::error bounded_deserializer::apply_impl(uint64_t& x) {
  return inner_(x);
}
caf::error bounded_deserializer::apply_impl(float& x) {
  return read_finite(inner_, x);
}
caf::error bounded_deserializer::apply_impl(double& x) {
  return read_finite(inner_, x);
}
caf::error bounded_deserializer::apply_impl(long double& x) {
  return read_finite(inner_, x);
}
caf::error bounded_deserializer::apply_impl(std::string& x) {
  return inner_(x);
}
caf::error bounded_deserializer::apply_impl(std::u16string& x) {
  return inner_(x);
}
caf::error bounded_deserializer::apply_impl(std::u32string& x) {
  return inner_(x);
}

} // namespace tao::protocol
