#include "tao/protocol/registry.hpp"

#include <algorithm>

#include "tao/protocol/error.hpp"

namespace tao::protocol {

caf::error registry::add(message_info info) {
  if (!info.decode)
    return make_error(errc::invalid_argument,
                      "no decoder given for type " + std::to_string(info.type));
  if (auto i = entries_.find(info.type); i != entries_.end())
    return make_error(errc::duplicate_registration, "type " + std::to_string(info.type)
                                                      + " is already registered as '"
                                                      + i->second.name + "'");
  auto type = info.type;
  entries_.emplace(type, std::move(info));
  return {};
}

const message_info* registry::find(int32_t type) const noexcept {
  auto i = entries_.find(type);
  return i != entries_.end() ? &i->second : nullptr;
}

caf::expected<caf::message> registry::decode(const frame_view& frame) const {
  auto* info = find(frame.type);
  if (info == nullptr)
    return make_error(errc::unknown_type, "no decoder for type " + std::to_string(frame.type));
  auto result = info->decode(frame.payload);
  if (!result && !is(result.error(), errc::malformed_payload))
    return make_error(errc::malformed_payload, info->name + ": " + render(result.error()));
  return result;
}

std::vector<int32_t> registry::types() const {
  std::vector<int32_t> result;
  result.reserve(entries_.size());
  for (const auto& kvp : entries_)
    result.push_back(kvp.first);
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace tao::protocol
