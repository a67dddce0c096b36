#include "tao/handlers.hpp"

#include <algorithm>

namespace tao {

caf::error handlers::on_frame(int32_t type,
                              std::function<void(connection&, const protocol::frame_view&)> f) {
  if (!f) {
    auto err = protocol::make_error(protocol::errc::invalid_argument,
                                    "no handler for type " + std::to_string(type));
    if (!first_error_)
      first_error_ = err;
    return err;
  }
  return insert({type,
                 name_of(type),
                 [type, f{std::move(f)}](connection& c, std::string_view bytes, caf::error&) {
                   f(c, protocol::frame_view{type, bytes});
                   return true;
                 },
                 {}});
}

caf::error handlers::insert(entry e) {
  if (contains(e.type)) {
    auto err = protocol::make_error(protocol::errc::duplicate_registration,
                                    "type " + std::to_string(e.type) + " is registered twice");
    if (!first_error_)
      first_error_ = err;
    return err;
  }
  auto type = e.type;
  entries_.push_back(std::move(e));
  if (type >= 0 && type < dense_types) {
    auto i = static_cast<size_t>(type);
    if (dense_.size() <= i)
      dense_.resize(i + 1, -1);
    dense_[i] = static_cast<int32_t>(entries_.size() - 1);
  }
  return {};
}

const handlers::entry* handlers::find_sparse(int32_t type) const noexcept {
  auto i = std::find_if(entries_.begin(), entries_.end(),
                        [type](const entry& x) { return x.type == type; });
  return i != entries_.end() ? &*i : nullptr;
}

std::vector<int32_t> handlers::types() const {
  std::vector<int32_t> result;
  result.reserve(entries_.size());
  for (auto& x : entries_)
    result.push_back(x.type);
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace tao
