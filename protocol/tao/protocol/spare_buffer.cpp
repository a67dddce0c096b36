#include "tao/protocol/spare_buffer.hpp"

#include <utility>

namespace tao::protocol {

namespace {

byte_buffer& spare() noexcept {
  thread_local byte_buffer instance;
  return instance;
}

} // namespace

byte_buffer take_spare_buffer() noexcept {
  byte_buffer result;
  result.swap(spare());
  result.clear();
  return result;
}

void give_back_buffer(byte_buffer&& buf) noexcept {
  auto& s = spare();
  if (buf.capacity() <= s.capacity() || buf.capacity() > spare_buffer_limit)
    return;
  buf.clear();
  s.swap(buf);
}

} // namespace tao::protocol
