#include "room.hpp"

#include <algorithm>

namespace chat {

namespace {

std::string clean(const std::string& wanted) {
  std::string out;
  for (char c : wanted) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f && out.size() < 24)
      out += c;
  }
  // Never cut a UTF-8 sequence in two.
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80)
    out.pop_back();
  if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0)
    out.pop_back();
  return out.empty() ? "guest" : out;
}

} // namespace

void room::add_server(tao::server srv, bool web) {
  std::lock_guard<std::mutex> guard{mtx_};
  servers_.emplace_back(std::move(srv), web);
}

void room::joined_tcp(uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  members_[id] = "tcp-" + std::to_string(id);
}

std::string room::claim(uint64_t id, const std::string& wanted, bool& first) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto base = clean(wanted);
  auto taken = [&](const std::string& x) {
    return std::any_of(members_.begin(), members_.end(),
                       [&](const auto& kvp) { return kvp.first != id && kvp.second == x; });
  };
  auto nick = base;
  for (int n = 2; taken(nick); ++n)
    nick = base + "-" + std::to_string(n);
  first = browsers_.count(id) == 0;
  browsers_[id] = true;
  members_[id] = nick;
  return nick;
}

std::string room::nick(uint64_t id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = members_.find(id);
  return i != members_.end() && browsers_.count(id) > 0 ? i->second : std::string{};
}

std::string room::left(uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = members_.find(id);
  if (i == members_.end())
    return {};
  auto nick = browsers_.erase(id) > 0 ? i->second : std::string{};
  members_.erase(i);
  return nick;
}

void room::say(const std::string& text) const {
  std::lock_guard<std::mutex> guard{mtx_};
  for (const auto& [srv, web] : servers_)
    srv.broadcast(line{text});
}

void room::publish_roster() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> nicks;
  for (const auto& kvp : members_)
    nicks.push_back(kvp.second);
  std::sort(nicks.begin(), nicks.end());
  std::string text;
  for (const auto& n : nicks)
    text += n + "\n";
  for (const auto& [srv, web] : servers_)
    if (web)
      srv.broadcast(roster_message{text});
}

} // namespace chat
