#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "tao/protocol/error.hpp"
#include "tao/protocol/frame.hpp"
#include "tao/protocol/message.hpp"

namespace tao {

class connection;

/// The message types a server or client understands and what to do with each:
/// tao's counterpart of Tao's `Register(type, unmarshaler, handler)`, as a
/// value owned by one server or client instead of a process-global map.
///
/// A handler is any callable `void(tao::connection&, const T&)`. It runs in
/// the connection's actor (on the I/O thread by default, or on CAF's scheduler
/// in scheduled dispatch), one message at a time per connection, in arrival
/// order; handlers of different connections never share state through tao.
///
/// One table: each type number has one entry, found with one lookup per
/// frame; a typed handler decodes its payload itself (no second registry).
///
/// Thread-safety: build the table before starting a server or client; it is
/// copied into the server and only read afterwards.
class handlers {
public:
  /// Runs a handler: decodes the payload and calls the user's callable, then
  /// returns true. On a decode error (`errc::malformed_payload`) it stores
  /// the error in its last argument and returns false without calling it.
  /// (No `caf::error` is made or destroyed per frame on success: the
  /// caller's error object is reused.)
  using invoker = std::function<bool(connection&, std::string_view, caf::error&)>;

  /// Decodes a payload into a `caf::message` holding one typed value (for
  /// `on_message`). Must not throw.
  using decoder = std::function<caf::expected<caf::message>(std::string_view)>;

  /// What one registered type number does.
  struct entry {
    /// Wire type number.
    int32_t type = 0;
    /// Name for logs and errors ("type 7" unless given).
    std::string name;
    /// The handler; empty for types registered with `add` (their frames go
    /// to `on_message`).
    invoker invoke;
    /// The decoder for `on_message`; set only when `invoke` is empty.
    decoder decode;
  };

  /// Registers message type `T` with handler `f`, a callable
  /// `void(connection&, const T&)`. Fails with `errc::duplicate_registration`
  /// if the type number is taken (the table is then unchanged). The table
  /// remembers the failure: servers and clients refuse to start with it, so
  /// a registration error is never lost even if the result is ignored.
  template <class T, class F>
  caf::error on(F f) {
    static_assert(std::is_invocable_v<F&, connection&, const T&>,
                  "a handler must be callable as f(tao::connection&, const T&)");
    return insert(
      {protocol::type_number_v<T>,
       name_of(protocol::type_number_v<T>),
       [f{std::move(f)}](connection& c, std::string_view bytes, caf::error& err) mutable {
         if constexpr (protocol::decodes_in_place_v<T>) {
           return invoke_in_place<T>(f, c, bytes, err);
         } else {
           auto x = protocol::decode_payload<T>(bytes);
           if (!x) {
             err = std::move(x.error());
             return false;
           }
           f(c, *x);
           return true;
         }
       },
       {}});
  }

  /// Registers message type `T` without a handler: its frames are decoded and
  /// passed to the `on_message` callback (Tao's registered-type-with-nil-handler
  /// path). Fails with `errc::duplicate_registration` if the type is taken.
  template <class T>
  caf::error add() {
    static_assert(!protocol::views_frame_v<T>,
                  "a type whose payload views the frame (raw_view_payload) needs a handler "
                  "(on<T>): its values must not outlive the frame in a caf::message");
    return insert({protocol::type_number_v<T>,
                   name_of(protocol::type_number_v<T>),
                   {},
                   [](std::string_view bytes) {
                     auto x = protocol::decode_payload<T>(bytes);
                     if (!x)
                       return caf::expected<caf::message>{std::move(x.error())};
                     return caf::expected<caf::message>{caf::make_message(std::move(*x))};
                   }});
  }

  /// Registers a raw handler for type number `type`: `f` receives the frame
  /// undecoded. Fails with `errc::duplicate_registration` if the type is taken.
  caf::error on_frame(int32_t type,
                      std::function<void(connection&, const protocol::frame_view&)> f);

  /// The entry for `type`, or nullptr: one array index for type numbers
  /// below `dense_types`, a search among the others.
  const entry* find(int32_t type) const noexcept {
    if (type >= 0 && type < dense_types) {
      auto i = static_cast<size_t>(type);
      return i < dense_.size() && dense_[i] >= 0 ? &entries_[static_cast<size_t>(dense_[i])]
                                                 : nullptr;
    }
    return find_sparse(type);
  }

  /// True if `type` is registered.
  bool contains(int32_t type) const noexcept {
    return find(type) != nullptr;
  }

  /// Number of registered types.
  size_t size() const noexcept {
    return entries_.size();
  }

  /// All registered type numbers, ascending.
  std::vector<int32_t> types() const;

  /// The first registration that failed, or none. A server or client given a
  /// table with a failed registration refuses to start with this error.
  const caf::error& error() const noexcept {
    return first_error_;
  }

  /// Type numbers below this are found by index.
  static constexpr int32_t dense_types = 256;

private:
  /// Runs `f` on a value decoded into this thread's scratch `T`, so that
  /// steady traffic of a raw-payload type allocates nothing per frame (the
  /// value's buffer is reused). The value lives only for the call, as a
  /// fresh one would. A nested call on the same thread (a handler that runs
  /// a test scheduler, say) decodes into a fresh value instead; a value whose
  /// buffer grew past the codec's limit is dropped after the call.
  template <class T, class F>
  static bool invoke_in_place(F& f, connection& c, std::string_view bytes, caf::error& err) {
    using payload = typename protocol::message_traits<T>::payload;
    thread_local T scratch{};
    thread_local bool busy = false;
    if (busy) {
      T x{};
      if (!protocol::decode_payload_into(x, bytes, err))
        return false;
      f(c, static_cast<const T&>(x));
      return true;
    }
    struct release {
      ~release() {
        busy = false;
        if (!payload::reusable(scratch))
          scratch = T{};
      }
    };
    busy = true;
    release guard;
    if (!protocol::decode_payload_into(scratch, bytes, err))
      return false;
    f(c, static_cast<const T&>(scratch));
    return true;
  }

  static std::string name_of(int32_t type) {
    return "type " + std::to_string(type);
  }

  caf::error insert(entry e);

  const entry* find_sparse(int32_t type) const noexcept;

  std::vector<entry> entries_;
  /// Index into `entries_` by type number for small types; -1 if none.
  std::vector<int32_t> dense_;
  caf::error first_error_;
};

} // namespace tao
