#pragma once

// The one room of tao-chat-server: the connections of its TCP server and of
// its web (WebSocket) server, the browsers' nicks, and the roster.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tao/all.hpp"

namespace chat {

/// A chat line (Tao's chat: type 1, the text with its newline). Browsers
/// send it as a WebSocket text message.
using line = tao::protocol::text_message<1>;

/// A nick: a browser sends the one it wants, the server answers with the
/// one it got. (Type 2 is tao-chat-node's history line; the page knows both.)
using nick_message = tao::protocol::text_message<3>;

/// Who is connected: one nick per line (TCP clients are "tcp-<id>"). Sent
/// to browsers only; Tao's TCP chat clients never see it.
using roster_message = tao::protocol::text_message<4>;

/// Members and servers of the room. Thread-safe: handlers of every
/// connection call it from CAF's scheduler threads.
class room {
public:
  /// Adds a server whose connections hear every line; `web` servers also
  /// get the roster.
  void add_server(tao::server srv, bool web);

  /// A Tao TCP client joined.
  void joined_tcp(uint64_t id);

  /// A browser connection asks for `wanted`; returns the nick it gets: the
  /// wanted one cleaned (printable, at most 24 bytes, "guest" if empty),
  /// with a number appended while another member has it. Sets `first` if
  /// the connection had no nick before.
  std::string claim(uint64_t id, const std::string& wanted, bool& first);

  /// The nick of browser connection `id`, or an empty string.
  std::string nick(uint64_t id) const;

  /// A member left; returns its nick if it was a browser, else "".
  std::string left(uint64_t id);

  /// Sends a line to every connection of every server.
  void say(const std::string& text) const;

  /// Sends the roster to every browser.
  void publish_roster() const;

private:
  mutable std::mutex mtx_;
  std::vector<std::pair<tao::server, bool>> servers_;
  std::map<uint64_t, std::string> members_; // id -> nick or tcp-<id>
  std::map<uint64_t, bool> browsers_;
};

} // namespace chat
