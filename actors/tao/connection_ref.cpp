#include "tao/connection_ref.hpp"

#include <atomic>

#include <caf/send.hpp>

#include "tao/detail/connection_messages.hpp"
#include "tao/net/atoms.hpp"
#include "tao/net/write_receipt.hpp"

namespace tao {

using protocol::errc;

caf::error connection_ref::check_writable() const {
  if (!broker_)
    return protocol::make_error(errc::closed, "invalid connection handle");
  if (budget_->closed())
    return closed_error();
  if (overflow_ == overflow_policy::would_block && !budget_->writable())
    return protocol::make_error(errc::would_block, "connection " + std::to_string(id_) + " has "
                                                     + std::to_string(budget_->queued())
                                                     + " bytes queued");
  return {};
}

caf::error connection_ref::closed_error() const {
  return protocol::make_error(errc::closed, "connection " + std::to_string(id_) + " is closed");
}

caf::error connection_ref::send_bytes(protocol::byte_buffer&& bytes) const {
  // The reservation, not the check before it, decides: a connection that
  // started closing in between refuses it, and the writer learns so.
  if (budget_->force_reserve(bytes.size()) == net::reserve_status::closed)
    return closed_error();
  caf::anon_send(broker_, net::write_atom::value, std::move(bytes));
  return {};
}

caf::expected<uint64_t> connection_ref::send_with_receipt(protocol::byte_buffer&& bytes,
                                                          const caf::actor& notify) const {
  static std::atomic<uint64_t> next_receipt{1};
  if (budget_->force_reserve(bytes.size()) == net::reserve_status::closed)
    return closed_error();
  auto id = next_receipt.fetch_add(1);
  caf::anon_send(broker_, net::write_atom::value, std::move(bytes),
                 std::make_shared<net::write_receipt>(id, notify));
  return id;
}

caf::error connection_ref::write_frame(int32_t type, std::string_view payload) const {
  if (auto err = check_writable())
    return err;
  protocol::byte_buffer buf;
  if (auto err = codec_->encode(type, payload, buf))
    return err;
  return send_bytes(std::move(buf));
}

caf::error connection_ref::write_admitted(protocol::byte_buffer&& bytes) const {
  if (!broker_)
    return protocol::make_error(errc::closed, "invalid connection handle");
  return send_bytes(std::move(bytes));
}

caf::error connection_ref::write_encoded(protocol::byte_buffer bytes) const {
  if (auto err = check_writable())
    return err;
  return send_bytes(std::move(bytes));
}

// Closing goes through the connection's actor (the broker itself in inline
// dispatch), so that frames received before the request are handled and
// their replies delivered first; a reset goes straight to the broker. A
// finished connection is not messaged: its broker may belong to an I/O shard
// whose actor system is gone, and CAF 0.17 would dereference that system.
void connection_ref::close() const {
  if (handler_actor_ && !budget_->retired())
    caf::anon_send(handler_actor_, detail::shutdown_atom::value, caf::error{});
}

void connection_ref::abort() const {
  if (broker_ && !budget_->retired())
    caf::anon_send(broker_, net::abort_atom::value, caf::error{});
}

} // namespace tao
