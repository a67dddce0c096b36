// chat-check: the checker of the distributed chat tests. Connects --clients
// Tao chat clients to every node (optionally inside the node's network
// namespace, over its 127.0.0.1), lets each say a numbered line every
// --interval-ms for --duration seconds, then waits (at most --settle seconds)
// for the lines to arrive and checks, per receiving client and sender:
//
// - exactly once and in order: a sender's lines arrive in increasing order,
//   never twice;
// - nothing lost: a client connected throughout gets every line its senders
//   said after it joined; a line may be missing only where the client got a
//   notice "*** missed N lines from node X" for the sender's node, between
//   the sender's lines around the hole (announced, never silent);
// - agreement: the lines of a sender whose node died reach every client
//   connected throughout up to the same line.
//
// A client whose connection drops (its node was killed) reconnects every
// 200 ms under a new name until the sending ends; it is checked only for
// order and duplicates. History lines (type 2) are counted, not checked.
//
//   chat-check --node=NAME,PORT,ADDRESS[,NETNS] ... [--clients=2]
//     [--interval-ms=50] [--duration=10] [--settle=20] [--tag=run]
//     [--control=FIFO] [--allow-gaps]
//
// ADDRESS is the node's advertised address (as in its notices). NETNS is a
// name under /var/run/netns. --control names a FIFO from which lines
// "mark NAME" record a time: the summary says how long after each mark the
// last line said before it arrived (time to replay after a heal).
// Prints "joined" once every client joined, then a summary; exit code 0 when
// nothing was lost, duplicated or reordered (and no gap was announced unless
// --allow-gaps), 1 otherwise, 2 on usage errors.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tao/protocol/byte_order.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now().time_since_epoch())
    .count();
}

struct node_spec {
  std::string name;
  uint16_t port = 0;
  std::string address;
  std::string netns;
};

struct options {
  std::vector<node_spec> nodes;
  int clients = 2;
  int interval_ms = 50;
  int duration_s = 10;
  int settle_s = 20;
  std::string tag = "run";
  std::string control;
  bool allow_gaps = false;
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> result;
  std::stringstream ss{text};
  std::string item;
  while (std::getline(ss, item, sep))
    result.push_back(item);
  return result;
}

bool parse(int argc, char** argv, options& opts) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--allow-gaps") {
      opts.allow_gaps = true;
      continue;
    }
    auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos)
      return false;
    auto key = arg.substr(2, eq - 2);
    auto val = arg.substr(eq + 1);
    if (key == "node") {
      auto parts = split(val, ',');
      if (parts.size() < 3 || parts.size() > 4)
        return false;
      node_spec n{parts[0], static_cast<uint16_t>(std::stoi(parts[1])), parts[2],
                  parts.size() == 4 ? parts[3] : std::string{}};
      opts.nodes.push_back(n);
    } else if (key == "clients") {
      opts.clients = std::stoi(val);
    } else if (key == "interval-ms") {
      opts.interval_ms = std::stoi(val);
    } else if (key == "duration") {
      opts.duration_s = std::stoi(val);
    } else if (key == "settle") {
      opts.settle_s = std::stoi(val);
    } else if (key == "tag") {
      opts.tag = val;
    } else if (key == "control") {
      opts.control = val;
    } else {
      return false;
    }
  }
  return !opts.nodes.empty() && opts.clients > 0 && opts.interval_ms > 0;
}

/// The checker's own network namespace, to come back to after opening a
/// socket in a node's.
int home_netns = -1;
std::mutex netns_mtx;

/// Connects to 127.0.0.1:port inside `netns` (or here if empty) with a 1 s
/// bound; returns the socket or -1.
int open_client(const std::string& netns, uint16_t port) {
  std::lock_guard<std::mutex> guard{netns_mtx};
  int ns = -1;
  if (!netns.empty()) {
    ns = ::open(("/var/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
      if (ns >= 0)
        ::close(ns);
      return -1;
    }
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ns >= 0) {
    ::setns(home_netns, CLONE_NEWNET);
    ::close(ns);
  }
  if (fd < 0)
    return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof(err);
    if (errno != EINPROGRESS || ::poll(&p, 1, 1000) != 1
        || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

/// What one client received from one sender.
struct from_sender {
  /// (seq, index of the frame in the client's stream, arrival ms).
  std::vector<std::tuple<int, size_t, int64_t>> lines;
};

/// One chat client: sends numbered lines, records what it receives.
struct client {
  std::string id;
  const node_spec* node = nullptr;
  int fd = -1;
  int64_t joined_at = 0;
  /// Set when its connection dropped.
  std::atomic<bool> dropped{false};
  // Sender side (under the checker's lock).
  std::vector<int64_t> sent_at;
  int echoed = 0;
  // Receiver side (under the checker's lock).
  size_t frames = 0;
  size_t history = 0;
  std::map<std::string, from_sender> got;
  /// Notices by node address: indices in the stream, and lines announced.
  std::map<std::string, std::vector<size_t>> notices;
  uint64_t announced = 0;
  std::thread reader;
  std::thread sender;
};

std::mutex mtx; // guards every client's records

bool send_line(int fd, const std::string& line) {
  std::string frame(8, '\0');
  tao::protocol::store_le32(frame.data(), 1);
  tao::protocol::store_le32(frame.data() + 4, static_cast<uint32_t>(line.size()));
  frame += line;
  size_t pos = 0;
  while (pos < frame.size()) {
    auto n = ::send(fd, frame.data() + pos, frame.size() - pos, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    pos += static_cast<size_t>(n);
  }
  return true;
}

/// Splits "<tag> <client> <seq>\n"; false for other lines.
bool split_line(const std::string& line, std::string& tag, std::string& who, int& seq) {
  std::istringstream in{line};
  std::string seq_text;
  if (line.empty() || line.back() != '\n' || !(in >> tag >> who >> seq_text))
    return false;
  char* end = nullptr;
  seq = static_cast<int>(std::strtol(seq_text.c_str(), &end, 10));
  return end != nullptr && *end == '\0';
}

/// "*** missed [up to ]N line[s] from node ADDRESS\n": the address and N.
bool split_notice(const std::string& line, std::string& address, uint64_t& lines) {
  static const std::string prefix = "*** missed ";
  if (line.rfind(prefix, 0) != 0)
    return false;
  auto rest = line.substr(prefix.size());
  if (rest.rfind("up to ", 0) == 0)
    rest = rest.substr(6);
  lines = std::strtoull(rest.c_str(), nullptr, 10);
  auto at = rest.find(" from node ");
  if (at == std::string::npos)
    return false;
  address = rest.substr(at + 11);
  if (!address.empty() && address.back() == '\n')
    address.pop_back();
  return true;
}

/// Reads frames until EOF/error or `stop`; records them.
void read_loop(client* c, const options& opts, const std::atomic<bool>& stop) {
  std::string buf;
  char tmp[65536];
  while (!stop) {
    pollfd p{c->fd, POLLIN, 0};
    auto rc = ::poll(&p, 1, 100);
    if (rc <= 0)
      continue;
    auto n = ::recv(c->fd, tmp, sizeof(tmp), 0);
    if (n <= 0) {
      c->dropped = true;
      return;
    }
    buf.append(tmp, static_cast<size_t>(n));
    auto at = now_ms();
    size_t pos = 0;
    std::lock_guard<std::mutex> guard{mtx};
    while (buf.size() - pos >= 8) {
      auto type = tao::protocol::load_le32(buf.data() + pos);
      auto len = tao::protocol::load_le32(buf.data() + pos + 4);
      if (buf.size() - pos < 8 + len)
        break;
      std::string line = buf.substr(pos + 8, len);
      pos += 8 + len;
      auto index = c->frames++;
      if (type == 2) {
        ++c->history;
        continue;
      }
      std::string tag, who, address;
      int seq = 0;
      uint64_t count = 0;
      if (split_notice(line, address, count)) {
        c->notices[address].push_back(index);
        c->announced += count;
      } else if (line == "join " + c->id + "\n") {
        c->joined_at = at;
      } else if (split_line(line, tag, who, seq) && tag == opts.tag) {
        c->got[who].lines.emplace_back(seq, index, at);
        if (who == c->id)
          c->echoed = std::max(c->echoed, seq);
      }
    }
    buf.erase(0, pos);
  }
}

} // namespace

int main(int argc, char** argv) {
  options opts;
  if (!parse(argc, argv, opts)) {
    std::cerr << "usage: chat-check --node=NAME,PORT,ADDRESS[,NETNS]... [--clients=N]"
                 " [--interval-ms=N] [--duration=S] [--settle=S] [--tag=T] [--control=FIFO]"
                 " [--allow-gaps]\n";
    return 2;
  }
  home_netns = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  std::vector<std::unique_ptr<client>> clients;
  std::atomic<bool> stop_reading{false};
  std::atomic<bool> stop_sending{false};

  // Connects and joins a client (waits for its join line, 10 s bound).
  auto join = [&](const std::string& id, const node_spec* node) -> client* {
    auto fd = open_client(node->netns, node->port);
    if (fd < 0)
      return nullptr;
    auto c = std::make_unique<client>();
    c->id = id;
    c->node = node;
    c->fd = fd;
    auto* raw = c.get();
    raw->reader = std::thread{[raw, &opts, &stop_reading] {
      read_loop(raw, opts, stop_reading);
    }};
    if (!send_line(fd, "join " + id + "\n")) {
      raw->dropped = true;
    }
    auto deadline = now_ms() + 10000;
    for (;;) {
      {
        std::lock_guard<std::mutex> guard{mtx};
        if (raw->joined_at != 0)
          break;
      }
      if (raw->dropped || now_ms() > deadline) {
        raw->dropped = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::lock_guard<std::mutex> guard{mtx};
    clients.push_back(std::move(c));
    return raw->joined_at != 0 ? raw : nullptr;
  };

  // One sending loop per client slot: says a line every interval; when the
  // connection drops, reconnects under a new name every 200 ms.
  auto sending = [&](std::string slot, const node_spec* node, client* c) {
    int seq = 0;
    int reconnects = 0;
    auto next = now_ms();
    while (!stop_sending) {
      if (c == nullptr || c->dropped) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (stop_sending)
          break;
        c = join(slot + "r" + std::to_string(++reconnects), node);
        seq = 0;
        next = now_ms();
        continue;
      }
      auto line = opts.tag + " " + c->id + " " + std::to_string(++seq) + "\n";
      {
        std::lock_guard<std::mutex> guard{mtx};
        c->sent_at.push_back(now_ms());
      }
      if (!send_line(c->fd, line)) {
        c->dropped = true;
        continue;
      }
      next += opts.interval_ms;
      auto wait = next - now_ms();
      if (wait > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    }
  };

  std::vector<std::pair<std::string, client*>> slots;
  for (auto& node : opts.nodes)
    for (int k = 1; k <= opts.clients; ++k) {
      auto id = opts.tag + "-" + node.name + "c" + std::to_string(k);
      auto* c = join(id, &node);
      if (c == nullptr) {
        std::cerr << "chat-check: " << id << " cannot join node " << node.name << " (port "
                  << node.port << (node.netns.empty() ? "" : " in " + node.netns) << ")\n";
        stop_reading = true;
        for (auto& x : clients)
          if (x->reader.joinable())
            x->reader.join();
        return 1;
      }
      slots.emplace_back(id, c);
    }
  std::cout << "joined: " << slots.size() << " clients" << std::endl;

  // Marks from the control FIFO.
  std::vector<std::pair<std::string, int64_t>> marks;
  std::thread control;
  if (!opts.control.empty())
    control = std::thread{[&] {
      int fd = ::open(opts.control.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0)
        return;
      std::string buf;
      char tmp[256];
      while (!stop_reading) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0)
          continue;
        auto n = ::read(fd, tmp, sizeof(tmp));
        if (n <= 0) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        buf.append(tmp, static_cast<size_t>(n));
        size_t eol;
        while ((eol = buf.find('\n')) != std::string::npos) {
          auto line = buf.substr(0, eol);
          buf.erase(0, eol + 1);
          if (line.rfind("mark ", 0) == 0) {
            std::lock_guard<std::mutex> guard{mtx};
            marks.emplace_back(line.substr(5), now_ms());
          }
        }
      }
      ::close(fd);
    }};

  auto started = now_ms();
  std::vector<std::thread> senders;
  for (auto& [slot, c] : slots)
    senders.emplace_back(sending, slot, c->node, c);
  std::this_thread::sleep_for(std::chrono::seconds(opts.duration_s));
  stop_sending = true;
  for (auto& t : senders)
    t.join();
  auto sent_until = now_ms();

  // Settle: until every live client has every live sender's last line.
  auto complete = [&] {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto& r : clients) {
      if (r->dropped || r->joined_at == 0)
        continue;
      for (auto& s : clients) {
        if (s->dropped || s->sent_at.empty())
          continue;
        auto i = r->got.find(s->id);
        if (i == r->got.end()
            || std::get<0>(i->second.lines.back()) < static_cast<int>(s->sent_at.size()))
          return false;
      }
    }
    return true;
  };
  auto settle_deadline = sent_until + opts.settle_s * 1000;
  while (!complete() && now_ms() < settle_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto settled = now_ms();
  // A last quiet second for relayed lines of dead senders and duplicates.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  stop_reading = true;
  for (auto& c : clients)
    if (c->reader.joinable())
      c->reader.join();
  if (control.joinable())
    control.join();

  // Checks.
  std::lock_guard<std::mutex> guard{mtx};
  uint64_t sent = 0, owed = 0, delivered = 0, lost = 0, dups = 0, reordered = 0, excused = 0,
           disagree = 0, notices = 0, announced = 0, history = 0;
  int64_t max_latency = 0;
  std::vector<std::string> errors;
  auto report = [&](const std::string& what) {
    if (errors.size() < 30)
      errors.push_back(what);
  };
  for (auto& s : clients)
    sent += s->sent_at.size();
  // Per dead sender: the last line reached by survivors (must agree).
  std::map<std::string, std::pair<int, std::string>> dead_last;
  for (auto& r : clients) {
    history += r->history;
    for (auto& kvp : r->notices)
      notices += kvp.second.size();
    announced += r->announced;
    for (auto& s : clients) {
      auto i = r->got.find(s->id);
      static const from_sender none;
      auto& got = i == r->got.end() ? none : i->second;
      // Order and duplicates, for everybody.
      for (size_t k = 1; k < got.lines.size(); ++k) {
        auto prev = std::get<0>(got.lines[k - 1]), cur = std::get<0>(got.lines[k]);
        if (cur == prev) {
          ++dups;
          report(r->id + " got line " + std::to_string(cur) + " of " + s->id + " twice");
        } else if (cur < prev) {
          ++reordered;
          report(r->id + " got line " + std::to_string(cur) + " of " + s->id + " after "
                 + std::to_string(prev));
        }
      }
      delivered += got.lines.size();
      for (auto& l : got.lines) {
        auto seq = std::get<0>(l);
        if (seq >= 1 && static_cast<size_t>(seq) <= s->sent_at.size())
          max_latency = std::max(max_latency, std::get<2>(l) - s->sent_at[seq - 1]);
      }
      if (r->dropped || r->joined_at == 0)
        continue; // not connected throughout
      // Owed: every line said after r joined (all of them if s is alive;
      // for a dead sender, up to where the survivors agree).
      auto first =
        static_cast<int>(std::upper_bound(s->sent_at.begin(), s->sent_at.end(), r->joined_at)
                         - s->sent_at.begin() + 1);
      int last = static_cast<int>(s->sent_at.size());
      if (s->dropped) {
        int reached = got.lines.empty() ? 0 : std::get<0>(got.lines.back());
        if (first <= last) {
          auto& agreed = dead_last[s->id];
          if (agreed.second.empty()) {
            agreed = {reached, r->id};
          } else if (agreed.first != reached && reached >= first) {
            ++disagree;
            report(r->id + " got " + s->id + "'s lines up to " + std::to_string(reached) + ", "
                   + agreed.second + " up to " + std::to_string(agreed.first));
          }
        }
        last = std::min(last, reached);
      }
      std::map<int, size_t> at;
      for (auto& l : got.lines)
        at.emplace(std::get<0>(l), std::get<1>(l));
      auto& addr_notices = r->notices[s->node->address];
      for (int seq = first; seq <= last; ++seq) {
        ++owed;
        if (at.count(seq) != 0)
          continue;
        // Excused if a notice for the sender's node sits where it is missing.
        auto before = at.lower_bound(seq);
        size_t lo = before == at.begin() ? 0 : std::prev(before)->second;
        size_t hi = before == at.end() ? SIZE_MAX : before->second;
        bool announced_here = std::any_of(addr_notices.begin(), addr_notices.end(),
                                          [&](size_t idx) { return idx > lo && idx < hi; });
        if (announced_here) {
          ++excused;
        } else {
          ++lost;
          if (lost <= 5)
            report(r->id + " never got line " + std::to_string(seq) + " of " + s->id);
        }
      }
    }
  }
  for (auto& e : errors)
    std::cerr << "chat-check: " << e << '\n';
  auto ok =
    lost == 0 && dups == 0 && reordered == 0 && disagree == 0 && (opts.allow_gaps || notices == 0);
  std::printf("%s: %zu clients, %llu lines sent, %llu deliveries owed, %llu delivered, "
              "%llu lost, %llu duplicated, %llu out of order, %llu disagreements, "
              "%llu gap notices (%llu lines announced, %llu owed lines excused), "
              "%llu history lines; max latency %lld ms; settled %lld ms after sending\n",
              opts.tag.c_str(), clients.size(), static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(owed), static_cast<unsigned long long>(delivered),
              static_cast<unsigned long long>(lost), static_cast<unsigned long long>(dups),
              static_cast<unsigned long long>(reordered), static_cast<unsigned long long>(disagree),
              static_cast<unsigned long long>(notices), static_cast<unsigned long long>(announced),
              static_cast<unsigned long long>(excused), static_cast<unsigned long long>(history),
              static_cast<long long>(max_latency), static_cast<long long>(settled - sent_until));
  // Time to replay after each mark: the last arrival of a line said before it.
  for (auto& [name, t] : marks) {
    int64_t last_arrival = t;
    uint64_t late = 0;
    for (auto& r : clients)
      for (auto& s : clients) {
        auto i = r->got.find(s->id);
        if (i == r->got.end())
          continue;
        for (auto& l : i->second.lines) {
          auto seq = std::get<0>(l);
          if (seq < 1 || static_cast<size_t>(seq) > s->sent_at.size())
            continue;
          if (s->sent_at[seq - 1] < t && std::get<2>(l) > t) {
            ++late;
            last_arrival = std::max(last_arrival, std::get<2>(l));
          }
        }
      }
    std::printf("%s: after mark %s (%.1f s in): lines said before it arrived within %lld ms "
                "(%llu deliveries after the mark)\n",
                opts.tag.c_str(), name.c_str(), static_cast<double>(t - started) / 1000.0,
                static_cast<long long>(last_arrival - t), static_cast<unsigned long long>(late));
  }
  std::printf("%s: %s\n", opts.tag.c_str(),
              ok ? "every line once, in order, nothing lost" : "FAILED");
  return ok ? 0 : 1;
}
