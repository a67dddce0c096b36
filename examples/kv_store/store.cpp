#include "store.hpp"

namespace kv {

store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self) {
  return {
    [self](put_atom, const std::string& key, const std::string& value) {
      self->state.data[key] = value;
      return "stored " + key;
    },
    [self](get_atom, const std::string& key) {
      auto& data = self->state.data;
      auto i = data.find(key);
      return key + "=" + (i != data.end() ? i->second : std::string{});
    },
  };
}

} // namespace kv
