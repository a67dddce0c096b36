#pragma once

#include <map>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "kv_protocol.hpp"

namespace kv {

/// The store's state: one map, touched only by the store actor.
struct store_state {
  std::map<std::string, std::string> data;
  static inline const char* name = "kv.store";
};

/// The store's behaviour: spawn with `sys.spawn(kv::store)`.
store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self);

} // namespace kv
