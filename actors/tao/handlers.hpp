#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include <caf/error.hpp>

#include "tao/protocol/error.hpp"
#include "tao/protocol/frame.hpp"
#include "tao/protocol/message.hpp"
#include "tao/protocol/registry.hpp"

namespace tao {

class connection;

/// The message types a server or client understands and what to do with each:
/// tao's counterpart of Tao's `Register(type, unmarshaler, handler)`, as a
/// value owned by one server or client instead of a process-global map.
///
/// A handler is any callable `void(tao::connection&, const T&)`. It runs in
/// the connection's actor (on CAF's scheduler, or on the I/O thread in inline
/// dispatch), one message at a time per connection, in arrival order; handlers
/// of different connections run concurrently.
///
/// Thread-safety: build the table before starting a server or client; it is
/// copied into the server and only read afterwards.
class handlers {
public:
  /// Type-erased handler: decodes the payload and runs the user's callable.
  /// Returns a decode error (`errc::malformed_payload`) without running it.
  using invoker = std::function<caf::error(connection&, std::string_view)>;

  /// Registers message type `T` with handler `f`, a callable
  /// `void(connection&, const T&)`. Fails with `errc::duplicate_registration`
  /// if the type number is taken.
  template <class T, class F>
  caf::error on(F f) {
    static_assert(std::is_invocable_v<F&, connection&, const T&>,
                  "a handler must be callable as f(tao::connection&, const T&)");
    if (auto err = registry_.add<T>())
      return err;
    invokers_.emplace(protocol::type_number_v<T>,
                      [f{std::move(f)}](connection& c, std::string_view bytes) mutable {
                        auto x = protocol::decode_payload<T>(bytes);
                        if (!x)
                          return std::move(x.error());
                        f(c, *x);
                        return caf::error{};
                      });
    return {};
  }

  /// Registers message type `T` without a handler: its frames are decoded and
  /// passed to the `on_message` callback (Tao's registered-type-with-nil-handler
  /// path). Fails with `errc::duplicate_registration` if the type is taken.
  template <class T>
  caf::error add() {
    return registry_.add<T>();
  }

  /// Registers a raw handler for type number `type`: `f` receives the frame
  /// undecoded. Fails with `errc::duplicate_registration` if the type is taken.
  caf::error on_frame(int32_t type,
                      std::function<void(connection&, const protocol::frame_view&)> f);

  /// The handler for `type`, or nullptr if there is none.
  const invoker* find(int32_t type) const noexcept {
    auto i = invokers_.find(type);
    return i != invokers_.end() ? &i->second : nullptr;
  }

  /// The decoders of all registered types.
  const protocol::registry& registry() const noexcept {
    return registry_;
  }

private:
  protocol::registry registry_;
  std::unordered_map<int32_t, invoker> invokers_;
};

} // namespace tao
