#include "tao/detail/client_outlet.hpp"

#include <utility>

#include "tao/client.hpp"
#include "tao/protocol/append_bytes.hpp"
#include "tao/protocol/error.hpp"

namespace tao::detail {

using protocol::errc;

client_outlet::client_outlet(offline_writes policy, size_t offline_limit, bool reconnects)
  : queue_offline_(policy == offline_writes::queue), reconnects_(reconnects),
    offline_limit_(offline_limit) {
}

caf::error client_outlet::refuse(caf::error err) {
  ++refused_;
  return err;
}

caf::error client_outlet::write(protocol::byte_buffer&& bytes) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (shut_)
    return refuse(protocol::make_error(errc::closed, "the client is closed"));
  if (conn_) {
    auto err = conn_.write_encoded(std::move(bytes));
    if (!err || !protocol::is(err, errc::closed))
      return err ? refuse(std::move(err)) : caf::error{};
    // The connection is closing and the client actor has not seen it yet:
    // this write waits for the next connection like any offline write.
    conn_ = connection_ref{};
  }
  if (!queue_offline_)
    return refuse(protocol::make_error(errc::closed, "not connected"));
  if (attached_once_ && !reconnects_)
    return refuse(protocol::make_error(errc::closed, "the connection is closed"));
  if (offline_bytes_ + bytes.size() > offline_limit_)
    return refuse(protocol::make_error(
      errc::would_block, "offline queue full (" + std::to_string(offline_bytes_) + " bytes)"));
  offline_bytes_ += bytes.size();
  offline_.push_back(std::move(bytes));
  return {};
}

void client_outlet::attach(const connection_ref& conn) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!offline_.empty()) {
    // One write, one reservation: the connection counts every offline byte
    // before its broker sends the first, so a reset in between reports them
    // as lost (frame by frame, a reset after the first frame found nothing
    // queued and the rest stayed behind). The writers were told these bytes
    // were accepted, within offline_limit: the connection takes them even
    // above its high-water mark (on_connect may have filled it), so the
    // bound is the mark plus the offline limit, and nothing is dropped.
    protocol::byte_buffer all;
    all.reserve(offline_bytes_);
    for (const auto& bytes : offline_)
      protocol::append_bytes(all, bytes.data(), bytes.size());
    if (conn.write_admitted(std::move(all)))
      return; // closed already: keep them for the next connection
    offline_.clear();
    offline_bytes_ = 0;
  }
  attached_once_ = true;
  if (!shut_)
    conn_ = conn;
}

void client_outlet::detach() {
  std::lock_guard<std::mutex> guard{mtx_};
  conn_ = connection_ref{};
}

size_t client_outlet::shut() {
  std::lock_guard<std::mutex> guard{mtx_};
  shut_ = true;
  conn_ = connection_ref{};
  auto dropped = offline_bytes_;
  offline_.clear();
  offline_bytes_ = 0;
  return dropped;
}

uint64_t client_outlet::refused() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return refused_;
}

size_t client_outlet::offline_bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return offline_bytes_;
}

} // namespace tao::detail
