#include "tao/handlers.hpp"

#include <caf/make_message.hpp>

namespace tao {

caf::error handlers::on_frame(int32_t type,
                              std::function<void(connection&, const protocol::frame_view&)> f) {
  protocol::message_info info;
  info.type = type;
  info.name = "type " + std::to_string(type);
  info.decode = [](std::string_view bytes) {
    return caf::expected<caf::message>{caf::make_message(std::string{bytes})};
  };
  if (auto err = registry_.add(std::move(info)))
    return err;
  invokers_.emplace(type, [type, f{std::move(f)}](connection& c, std::string_view bytes) {
    f(c, protocol::frame_view{type, bytes});
    return caf::error{};
  });
  return {};
}

} // namespace tao
