#include "kv_server.hpp"

#include <string>

#include "tao/connection.hpp"
#include "tao/errors.hpp"

namespace kv {

namespace {

void answer(tao::connection& c, const std::string& text) {
  // A refused write (the client stopped reading) closes by the overflow
  // policy; nothing else to do here.
  (void)c.write(reply{text});
}

void fail(tao::connection& c, const caf::error& err) {
  answer(c, "error " + tao::render(err));
}

} // namespace

tao::server_options server_options(store_actor store) {
  tao::server_options opts;
  (void)opts.handlers.on<set_request>([store](tao::connection& c, const set_request& m) {
    auto eq = m.text.find('=');
    if (eq == std::string::npos) {
      answer(c, "error SET wants key=value");
      return;
    }
    c.request(store, store_timeout, put_atom::value, m.text.substr(0, eq), m.text.substr(eq + 1))
      .then(answer, fail);
  });
  (void)opts.handlers.on<get_request>([store](tao::connection& c, const get_request& m) {
    c.request(store, store_timeout, get_atom::value, m.text).then(answer, fail);
  });
  return opts;
}

} // namespace kv
