#include "peer_messages.hpp"

namespace chat_node {

void register_peer_messages(caf::actor_system_config& cfg) {
  cfg.add_message_type<peer_lines>("chat_node.peer_lines");
  cfg.add_message_type<peer_ack>("chat_node.peer_ack");
  cfg.add_message_type<peer_nack>("chat_node.peer_nack");
  cfg.add_message_type<peer_gap>("chat_node.peer_gap");
  cfg.add_message_type<peer_start>("chat_node.peer_start");
}

} // namespace chat_node
