#include "linker.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "tao/protocol/error.hpp"

#include "probe.hpp"
#include "room.hpp"

namespace chat_node {

namespace {

using retry_atom = caf::atom_constant<caf::atom("cn_retry")>;
using probed_atom = caf::atom_constant<caf::atom("cn_probed")>;

struct link_entry {
  std::string host;
  uint16_t port = 0;
  /// The node reached at this address by the last successful connect.
  caf::node_id node;
  /// A connect request is under way.
  bool connecting = false;
  /// Connected and watching the remote room.
  bool linked = false;
  /// The address turned out to be this node.
  bool self = false;
  /// Given by `link_atom` (the command line): retried for ever. Addresses
  /// learned from gossip or from nodes that linked to us are forgotten after
  /// `forget_after` failures in a row.
  bool configured = false;
  /// Failures since the last success (drives the backoff).
  unsigned failures = 0;
  /// Token of the connect request under way; replies to older ones are stale.
  uint64_t attempt = 0;
  /// Token of the pending retry timer; older timers are stale.
  uint64_t timer = 0;
};

struct linker_state {
  linker_config cfg;
  std::map<std::string, link_entry> links;
  uint64_t next_token = 1;
  static inline const char* name = "chat_node.linker";
};

using linker_actor = caf::stateful_actor<linker_state>;

/// "[2026-11-30 18:48:38.363] " in local time, as tao's own log lines.
std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[48];
  auto n = std::strftime(buf, sizeof(buf), "[%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03d] ", static_cast<int>(ms));
  return buf;
}

void log(linker_actor* self, const std::string& line) {
  if (self->state.cfg.log)
    self->state.cfg.log(timestamp() + line);
}

long long millis(caf::timespan d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

void schedule_retry(linker_actor* self, const std::string& address, link_entry& e,
                    const caf::error& reason) {
  auto& cfg = self->state.cfg;
  auto delay = cfg.min_backoff;
  for (unsigned i = 0; i < e.failures && delay < cfg.max_backoff; ++i)
    delay *= 2;
  delay = std::min(delay, cfg.max_backoff);
  ++e.failures;
  if (!e.configured && cfg.forget_after > 0 && e.failures >= cfg.forget_after) {
    std::ostringstream os;
    os << "link " << address << ": forgotten after " << e.failures << " failed attempts ("
       << tao::protocol::render(reason) << ")";
    log(self, os.str());
    self->state.links.erase(address);
    return;
  }
  // One line per doubling of the attempt count keeps a long outage quiet.
  if ((e.failures & (e.failures - 1)) == 0) {
    std::ostringstream os;
    os << "link " << address << ": attempt " << e.failures << " failed ("
       << tao::protocol::render(reason) << "), next in " << millis(delay) << " ms";
    log(self, os.str());
  }
  e.timer = self->state.next_token++;
  self->delayed_send(self, delay, retry_atom::value, address, e.timer);
}

/// First step of an attempt: probe the address on a detached actor (the
/// probe blocks its thread for at most `probe_timeout`); `probed_atom`
/// comes back with the result.
void probe(linker_actor* self, const std::string& address) {
  auto& e = self->state.links[address];
  e.connecting = true;
  auto attempt = e.attempt = self->state.next_token++;
  self->spawn<caf::detached>(
    [](caf::event_based_actor* prober, caf::actor linker, std::string where, std::string host,
       uint16_t port, std::chrono::milliseconds timeout, uint64_t token) -> caf::behavior {
      auto err = tcp_probe(host, port, timeout);
      prober->send(linker, probed_atom::value, std::move(where), token, std::move(err));
      prober->quit();
      return {};
    },
    caf::actor_cast<caf::actor>(self), address, e.host, e.port, self->state.cfg.probe_timeout,
    attempt);
}

/// Second step: the middleman connects (TCP and BASP handshake).
void connect(linker_actor* self, const std::string& address) {
  auto& e = self->state.links[address];
  e.connecting = true;
  auto attempt = e.attempt = self->state.next_token++;
  auto matches = [self, address, attempt]() -> link_entry* {
    auto i = self->state.links.find(address);
    if (i == self->state.links.end() || i->second.attempt != attempt)
      return nullptr;
    i->second.connecting = false;
    return &i->second;
  };
  auto started = std::chrono::steady_clock::now();
  self
    ->request(self->state.cfg.middleman, self->state.cfg.connect_timeout, caf::connect_atom::value,
              e.host, e.port)
    .then(
      [self, address, matches, started](const caf::node_id& nid, caf::strong_actor_ptr& ptr,
                                        std::set<std::string>&) {
        auto* entry = matches();
        if (entry == nullptr)
          return;
        if (nid == self->node()) {
          entry->self = true;
          return;
        }
        if (!ptr) {
          schedule_retry(self, address, *entry, caf::sec::no_actor_published_at_port);
          return;
        }
        auto took =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
        std::ostringstream os;
        os.precision(3);
        os << "link " << address << ": connected in " << took.count() << " ms";
        log(self, os.str());
        auto room = caf::actor_cast<caf::actor>(std::move(ptr));
        entry->node = nid;
        entry->linked = true;
        self->monitor(room);
        caf::anon_send(self->state.cfg.room, peer_atom::value, room);
      },
      [self, address, matches](caf::error& err) {
        if (auto* entry = matches())
          schedule_retry(self, address, *entry, err);
      });
}

void add_link(linker_actor* self, const std::string& address, bool configured) {
  auto& st = self->state;
  if (address == st.cfg.self_address)
    return;
  if (auto i = st.links.find(address); i != st.links.end()) {
    i->second.configured |= configured;
    return;
  }
  link_entry e;
  e.configured = configured;
  if (!split_address(address, e.host, e.port)) {
    log(self, "ignoring malformed node address " + address);
    return;
  }
  st.links.emplace(address, std::move(e));
  probe(self, address);
}

caf::behavior linker(linker_actor* self, linker_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& msg) {
    // A remote room is gone: its node died, froze past the BASP connection
    // timeout, or the link closed. Keep trying to get it back.
    for (auto& kvp : self->state.links) {
      auto& e = kvp.second;
      if (e.linked && e.node == msg.source.node()) {
        e.linked = false;
        e.failures = 0;
        e.timer = self->state.next_token++;
        self->delayed_send(self, self->state.cfg.min_backoff, retry_atom::value, kvp.first,
                           e.timer);
      }
    }
  });
  return {
    [self](link_atom, const std::string& address) { add_link(self, address, true); },
    [self](gossip_atom, const std::vector<std::string>& addresses) {
      for (auto& address : addresses)
        add_link(self, address, false);
    },
    [self](retry_atom, const std::string& address, uint64_t token) {
      auto i = self->state.links.find(address);
      if (i == self->state.links.end())
        return;
      auto& e = i->second;
      if (e.timer != token || e.linked || e.connecting || e.self)
        return;
      probe(self, address);
    },
    [self](probed_atom, const std::string& address, uint64_t attempt, const caf::error& err) {
      auto i = self->state.links.find(address);
      if (i == self->state.links.end() || i->second.attempt != attempt)
        return;
      auto& e = i->second;
      e.connecting = false;
      if (err) {
        schedule_retry(self, address, e, err);
        return;
      }
      connect(self, address);
    },
    [self](log_atom, const std::string& line) { log(self, line); },
    [self](up_atom, const caf::actor& room, const std::string& address, uint64_t incarnation,
           size_t peers) {
      std::ostringstream os;
      os << "peer up " << address << " (incarnation " << std::hex << incarnation << std::dec
         << ", peers: " << peers << ")";
      log(self, os.str());
      auto& links = self->state.links;
      auto i = std::find_if(links.begin(), links.end(),
                            [&](auto& kvp) { return kvp.second.node == room.node(); });
      if (i == links.end())
        i = links.find(address);
      if (i == links.end()) {
        // A node that linked to us: get it back too if it goes away.
        link_entry e;
        if (!split_address(address, e.host, e.port) || address == self->state.cfg.self_address)
          return;
        i = links.emplace(address, std::move(e)).first;
      }
      auto& e = i->second;
      e.failures = 0;
      e.node = room.node();
      if (!e.linked) {
        e.linked = true;
        self->monitor(room);
      }
    },
    [self](down_atom, const caf::actor_addr&, const std::string& address, const caf::error& reason,
           size_t peers) {
      std::ostringstream os;
      os << "peer down " << address << " (" << tao::protocol::render(reason) << ", peers: " << peers
         << ")";
      log(self, os.str());
    },
  };
}

} // namespace

bool split_address(const std::string& address, std::string& host, uint16_t& port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    return false;
  unsigned long value = 0;
  for (auto i = colon + 1; i < address.size(); ++i) {
    if (address[i] < '0' || address[i] > '9')
      return false;
    value = value * 10 + static_cast<unsigned long>(address[i] - '0');
    if (value > 65535)
      return false;
  }
  if (value == 0)
    return false;
  host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  port = static_cast<uint16_t>(value);
  return true;
}

caf::actor spawn_linker(caf::actor_system& sys, linker_config cfg) {
  return sys.spawn(linker, std::move(cfg));
}

} // namespace chat_node
