#include "tao/pending_reply.hpp"

#include <utility>

#include <caf/send.hpp>

#include "tao/detail/connection_messages.hpp"
#include "tao/protocol/error.hpp"

namespace tao {

pending_reply::pending_reply(connection_ref conn, std::shared_ptr<std::atomic<uint32_t>> holds,
                             caf::actor connection_actor) noexcept
  : conn_(std::move(conn)), holds_(std::move(holds)),
    connection_actor_(std::move(connection_actor)) {
}

pending_reply::pending_reply(pending_reply&& other) noexcept
  : conn_(std::move(other.conn_)), holds_(std::move(other.holds_)),
    connection_actor_(std::move(other.connection_actor_)) {
}

pending_reply& pending_reply::operator=(pending_reply&& other) noexcept {
  if (this != &other) {
    release();
    conn_ = std::move(other.conn_);
    holds_ = std::move(other.holds_);
    connection_actor_ = std::move(other.connection_actor_);
  }
  return *this;
}

pending_reply::~pending_reply() {
  release();
}

caf::error pending_reply::released_error() {
  return protocol::make_error(protocol::errc::closed, "the pending reply was released");
}

caf::error pending_reply::write_frame(int32_t type, std::string_view payload) const {
  if (!holds_)
    return released_error();
  return conn_.write_frame(type, payload);
}

void pending_reply::release() noexcept {
  if (!holds_)
    return;
  // Whatever this reply wrote is in the broker's mailbox already; the
  // connection actor's close request to the broker comes after it.
  if (holds_->fetch_sub(1) == 1 && connection_actor_)
    caf::anon_send(connection_actor_, detail::hold_released_atom::value);
  holds_.reset();
  connection_actor_ = nullptr;
}

} // namespace tao
