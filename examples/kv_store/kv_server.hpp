#pragma once

#include <chrono>

#include "tao/options.hpp"

#include "kv_protocol.hpp"

namespace kv {

/// How long a handler waits for the store before answering an error.
constexpr auto store_timeout = std::chrono::seconds(5);

/// Server options whose handlers ask `store` for every request and write its
/// answers in the order of the requests (ordered `c.request(...).then`), so
/// a client may pipeline freely. A store that does not answer within
/// `store_timeout` gets the client an "error ..." reply in its place.
tao::server_options server_options(store_actor store);

} // namespace kv
