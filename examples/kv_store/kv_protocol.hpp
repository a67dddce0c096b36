#pragma once

// The key-value example's wire messages and its store's typed interface.

#include <string>

#include <caf/atom.hpp>
#include <caf/typed_actor.hpp>

#include "tao/protocol/message.hpp"

namespace kv {

/// `SET key=value`: stores value under key; answered by a `reply`.
using set_request = tao::protocol::text_message<2>;

/// `GET key`: answered by a `reply` "key=value" ("key=" if unknown).
using get_request = tao::protocol::text_message<3>;

/// The answer to every request, in the order of the requests.
using reply = tao::protocol::text_message<4>;

/// `(put_atom, key, value)` to the store: answers "stored key".
using put_atom = caf::atom_constant<caf::atom("kv_put")>;

/// `(get_atom, key)` to the store: answers "key=value" or "key=".
using get_atom = caf::atom_constant<caf::atom("kv_get")>;

/// The store: an ordinary CAF actor that knows nothing of tao.
using store_actor =
  caf::typed_actor<caf::replies_to<put_atom, std::string, std::string>::with<std::string>,
                   caf::replies_to<get_atom, std::string>::with<std::string>>;

} // namespace kv
