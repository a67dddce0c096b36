#include "tao/protocol/finite_serializer.hpp"

#include <cmath>

#include <caf/sec.hpp>

namespace tao::protocol {

finite_serializer::finite_serializer(byte_buffer& out)
  : caf::serializer(nullptr), inner_(nullptr, out) {
}

finite_serializer::~finite_serializer() = default;

caf::error finite_serializer::begin_object(uint16_t& typenr, std::string& name) {
  return inner_.begin_object(typenr, name);
}

caf::error finite_serializer::end_object() {
  return inner_.end_object();
}

caf::error finite_serializer::begin_sequence(size_t& num) {
  return inner_.begin_sequence(num);
}

caf::error finite_serializer::end_sequence() {
  return inner_.end_sequence();
}

caf::error finite_serializer::apply_raw(size_t num_bytes, void* data) {
  return inner_.apply_raw(num_bytes, data);
}

caf::error finite_serializer::apply_impl(int8_t& x) {
  return inner_(x);
}
caf::error finite_serializer::apply_impl(uint8_t& x) {
  return inner_(x);
}
caf::error finite_serializer::apply_impl(int16_t& x) {
  return inner_(x);
}
caf::error finite_serializer::apply_impl(uint16_t& x) {
  return inner_(x);
}
caf::error finite_serializer::apply_impl(int32_t& x) {
  return inner_(x);
}
caf::error finite_serializer::apply_impl(uint32_t& x) {
  return inner_(x);
}
caf::error finite_serializer::apply_impl(int64_t& x) {
  return inner_(x);
}
caf::error finite_serializer::apply_impl(uint64_t& x) {
  return inner_(x);
}
caf::error finite_serializer::apply_impl(float& x) {
  if (!std::isfinite(x))
    return caf::sec::invalid_argument;
  return inner_(x);
}
caf::error finite_serializer::apply_impl(double& x) {
  if (!std::isfinite(x))
    return caf::sec::invalid_argument;
  return inner_(x);
}
caf::error finite_serializer::apply_impl(long double& x) {
  if (!std::isfinite(x))
    return caf::sec::invalid_argument;
  return inner_(x);
}
caf::error finite_serializer::apply_impl(std::string& x) {
  return inner_(x);
}
caf::error finite_serializer::apply_impl(std::u16string& x) {
  return inner_(x);
}
caf::error finite_serializer::apply_impl(std::u32string& x) {
  return inner_(x);
}

} // namespace tao::protocol
