// chat-check: scripted Tao chat clients for the multi-process tests. Opens
// --clients connections to each chat port in --ports, lets every client say
// --count lines "<tag> <client> <seq>" and checks that every client received
// every line of this run exactly once, each sender's lines in the order sent.
// Lines of other runs (other tags, e.g. a client on a node being killed) may
// have gaps, but never a duplicate or a reordering.
//
//   chat-check --ports=P1,P2,P3 --clients=2 --count=100 --tag=run1
//              [--interval-us=0] [--timeout=20]
//
// Prints "joined" once every client saw its own join line, and a summary.
// Exit code 0 when every check passed, 1 otherwise.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tao/protocol/byte_order.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::vector<uint16_t> ports;
  int clients = 1;
  int count = 10;
  std::string tag = "run";
  int interval_us = 0;
  int timeout_s = 20;
};

bool parse(int argc, char** argv, options& opts) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos)
      return false;
    auto key = arg.substr(2, eq - 2);
    auto val = arg.substr(eq + 1);
    if (key == "ports") {
      std::stringstream ss{val};
      std::string item;
      while (std::getline(ss, item, ','))
        opts.ports.push_back(static_cast<uint16_t>(std::stoi(item)));
    } else if (key == "clients") {
      opts.clients = std::stoi(val);
    } else if (key == "count") {
      opts.count = std::stoi(val);
    } else if (key == "tag") {
      opts.tag = val;
    } else if (key == "interval-us") {
      opts.interval_us = std::stoi(val);
    } else if (key == "timeout") {
      opts.timeout_s = std::stoi(val);
    } else {
      return false;
    }
  }
  return !opts.ports.empty() && opts.clients > 0 && opts.count > 0;
}

/// One chat client: a socket, a reader thread and what it received.
class client {
public:
  client(std::string id, uint16_t port) : id_(std::move(id)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0)
      setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }

  ~client() {
    if (reader_.joinable())
      reader_.join();
    if (fd_ >= 0)
      ::close(fd_);
  }

  bool connected() const {
    return fd_ >= 0;
  }

  const std::string& id() const {
    return id_;
  }

  bool say(const std::string& line) {
    std::string frame(8, '\0');
    tao::protocol::store_le32(frame.data(), 1);
    tao::protocol::store_le32(frame.data() + 4, static_cast<uint32_t>(line.size()));
    frame += line;
    size_t pos = 0;
    while (pos < frame.size()) {
      auto n = ::send(fd_, frame.data() + pos, frame.size() - pos, MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      pos += static_cast<size_t>(n);
    }
    return true;
  }

  /// Reads lines until `done(line)` returns true, EOF, an error or the
  /// deadline. Returns false unless `done` said so.
  template <class F>
  bool read_until(clock_type::time_point deadline, F done) {
    for (;;) {
      while (buf_.size() >= 8) {
        auto len = tao::protocol::load_le32(buf_.data() + 4);
        if (buf_.size() < 8 + len)
          break;
        std::string line = buf_.substr(8, len);
        buf_.erase(0, 8 + len);
        if (done(line))
          return true;
      }
      auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0)
        return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char tmp[65536];
      auto n = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (n <= 0)
        return false;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  std::thread& reader() {
    return reader_;
  }

private:
  std::string id_;
  int fd_ = -1;
  std::string buf_;
  std::thread reader_;
};

/// What one client received, checked as it arrives.
struct record {
  /// Per sender of this run: the sequence numbers in arrival order.
  std::map<std::string, std::vector<int>> own;
  /// Per sender of other runs: the last sequence number seen.
  std::map<std::string, long> foreign_last;
  size_t foreign = 0;
  std::vector<std::string> errors;
};

/// Splits "<tag> <client> <seq>\n"; false for other lines.
bool split_line(const std::string& line, std::string& tag, std::string& who, long& seq) {
  std::istringstream in{line};
  std::string seq_text;
  if (!(in >> tag >> who >> seq_text) || line.empty() || line.back() != '\n')
    return false;
  char* end = nullptr;
  seq = std::strtol(seq_text.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

} // namespace

int main(int argc, char** argv) {
  options opts;
  if (!parse(argc, argv, opts)) {
    std::cerr << "usage: chat-check --ports=P1,P2 [--clients=N] [--count=N] [--tag=T]"
                 " [--interval-us=N] [--timeout=S]\n";
    return 2;
  }
  auto deadline = clock_type::now() + std::chrono::seconds(opts.timeout_s);
  std::vector<std::unique_ptr<client>> clients;
  for (size_t n = 0; n < opts.ports.size(); ++n)
    for (int k = 0; k < opts.clients; ++k) {
      auto id = opts.tag + "-n" + std::to_string(n + 1) + "c" + std::to_string(k + 1);
      clients.push_back(std::make_unique<client>(id, opts.ports[n]));
      if (!clients.back()->connected()) {
        std::cerr << "chat-check: " << id << " cannot connect to port " << opts.ports[n] << '\n';
        return 1;
      }
    }
  // Join: each client waits for its own join line, so its room has it as a
  // member before anybody says anything.
  for (auto& c : clients) {
    auto join = "join " + c->id() + "\n";
    if (!c->say(join)
        || !c->read_until(deadline, [&](const std::string& l) { return l == join; })) {
      std::cerr << "chat-check: " << c->id() << " did not see its join line\n";
      return 1;
    }
  }
  std::cout << "joined: " << clients.size() << " clients" << std::endl;
  auto expected_total = clients.size() * static_cast<size_t>(opts.count);
  std::vector<record> records(clients.size());
  auto start = clock_type::now();
  for (size_t i = 0; i < clients.size(); ++i) {
    auto* c = clients[i].get();
    auto* rec = &records[i];
    c->reader() = std::thread{[c, rec, &opts, deadline, expected_total] {
      size_t got = 0;
      c->read_until(deadline, [&](const std::string& line) {
        std::string tag, who;
        long seq = 0;
        if (!split_line(line, tag, who, seq))
          return false; // join lines and free text
        if (tag == opts.tag) {
          rec->own[who].push_back(static_cast<int>(seq));
          ++got;
        } else {
          auto& last = rec->foreign_last[who];
          if (seq <= last)
            rec->errors.push_back("foreign line out of order or repeated: " + line);
          last = seq;
          ++rec->foreign;
        }
        return got == expected_total;
      });
    }};
  }
  std::vector<std::thread> senders;
  std::atomic<int> send_failures{0};
  for (auto& cp : clients) {
    auto* c = cp.get();
    senders.emplace_back([c, &opts, &send_failures] {
      for (int seq = 1; seq <= opts.count; ++seq) {
        if (!c->say(opts.tag + " " + c->id() + " " + std::to_string(seq) + "\n")) {
          ++send_failures;
          return;
        }
        if (opts.interval_us > 0)
          std::this_thread::sleep_for(std::chrono::microseconds(opts.interval_us));
      }
    });
  }
  for (auto& t : senders)
    t.join();
  for (auto& c : clients)
    c->reader().join();
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  int failures = send_failures.load();
  size_t foreign = 0;
  for (size_t i = 0; i < clients.size(); ++i) {
    auto& rec = records[i];
    foreign += rec.foreign;
    for (auto& err : rec.errors) {
      std::cerr << clients[i]->id() << ": " << err;
      ++failures;
    }
    for (auto& sender : clients) {
      auto& seqs = rec.own[sender->id()];
      bool exact = static_cast<int>(seqs.size()) == opts.count;
      for (size_t j = 0; exact && j < seqs.size(); ++j)
        exact = seqs[j] == static_cast<int>(j + 1);
      if (!exact) {
        ++failures;
        std::cerr << clients[i]->id() << " got " << seqs.size() << " of " << opts.count
                  << " lines from " << sender->id() << (seqs.empty() ? "" : ", not 1..N in order")
                  << '\n';
      }
    }
  }
  std::printf("%s: %zu clients x %d lines: %s (%.3f s, %zu lines of other runs)\n",
              opts.tag.c_str(), clients.size(), opts.count,
              failures == 0 ? "every client got every line once, in order" : "FAILED", elapsed,
              foreign);
  return failures == 0 ? 0 : 1;
}
