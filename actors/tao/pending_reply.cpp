#include "tao/pending_reply.hpp"

#include <utility>

#include <caf/send.hpp>

#include "tao/detail/connection_messages.hpp"
#include "tao/protocol/error.hpp"

namespace tao {

pending_reply::pending_reply(connection_ref conn, std::shared_ptr<std::atomic<uint32_t>> holds,
                             caf::actor connection_actor)
  : conn_(std::move(conn)),
    hold_(std::make_shared<hold>(std::move(holds), std::move(connection_actor))) {
}

pending_reply::hold::~hold() {
  // Whatever the reply wrote is in the broker's mailbox already; the
  // connection actor's close request to the broker comes after it.
  if (holds_->fetch_sub(1) == 1 && connection_actor_)
    caf::anon_send(connection_actor_, detail::hold_released_atom::value);
}

caf::error pending_reply::released_error() {
  return protocol::make_error(protocol::errc::closed, "the pending reply was released");
}

caf::error pending_reply::write_frame(int32_t type, std::string_view payload) const {
  if (!hold_)
    return released_error();
  return conn_.write_frame(type, payload);
}

} // namespace tao
