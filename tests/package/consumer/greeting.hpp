#pragma once

// The messages the greeter server and client exchange.

#include <cstdint>
#include <string>

#include "tao/all.hpp"

/// Type 1: a name, as raw text (the shape of every message in Tao's examples).
using hello = tao::protocol::text_message<1>;

/// Type 2: the answer, a struct serialized through its `inspect` overload.
struct greeting {
  std::string text;
  uint32_t number = 0; // how many hellos this connection sent so far

  static constexpr int32_t tao_type = 2;
  using tao_payload = tao::protocol::inspect_payload;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, greeting& x) {
  return f(caf::meta::type_name("greeting"), x.text, x.number);
}
