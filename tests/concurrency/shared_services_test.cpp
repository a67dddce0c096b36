#define BOOST_TEST_MODULE concurrency_shared_services
#include <boost/test/unit_test.hpp>

// The objects tao documents as thread-safe, hammered from plain std::threads
// (no CAF scheduling in between, so ThreadSanitizer sees every
// synchronisation): the metrics registry and the sent-frame meter, the
// loggers while they are reconfigured, connection ids, a TLS context being
// reloaded while sessions are made, and a shared codec and registry. Each
// case also checks the counts come out exact. Threads record failures in
// atomics; only the main thread calls Boost.Test.

#include <atomic>
#include <cstdint>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <openssl/ssl.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "tao/detail/connection_ids.hpp"
#include "tao/detail/log.hpp"
#include "tao/detail/sent_meter.hpp"
#include "tao/logging.hpp"
#include "tao/metrics.hpp"
#include "tao/net/tls_context.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/message.hpp"
#include "tao/protocol/registry.hpp"

#include "support/temp_file.hpp"
#include "support/test_certs.hpp"

namespace {

constexpr int threads_n = 4;

template <class F>
void in_parallel(F f) {
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t)
    threads.emplace_back(f, t);
  for (auto& t : threads)
    t.join();
}

size_t count_lines(const std::string& path) {
  std::ifstream in{path};
  size_t n = 0;
  for (std::string line; std::getline(in, line);)
    ++n;
  return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(concurrency_shared_services)

BOOST_AUTO_TEST_CASE(metrics_count_exactly_from_many_threads) {
  auto m = std::make_shared<tao::metrics>();
  auto codec = tao::protocol::default_codec();
  tao::detail::sent_meter meter{m, codec};
  constexpr int writes = 2000;
  std::atomic<bool> text_ok{true};
  in_parallel([&](int t) {
    tao::protocol::byte_buffer two_frames;
    (void)codec->encode(1, "ab", two_frames);
    (void)codec->encode(2 + t, "xyz", two_frames);
    auto& accepted = m->family().accepted.Add({});
    for (int i = 0; i < writes; ++i) {
      meter(two_frames);
      accepted.Increment();
      if (i % 500 == 0 && m->text().find("tao_frames_sent_total") == std::string::npos)
        text_ok = false;
    }
  });
  BOOST_CHECK(text_ok);
  const auto& f = m->family();
  BOOST_CHECK_EQUAL(f.frames_out.Add({{"type", "1"}}).Value(), threads_n * writes);
  BOOST_CHECK_EQUAL(f.bytes_out.Add({{"type", "1"}}).Value(), threads_n * writes * 10.0);
  for (int t = 0; t < threads_n; ++t)
    BOOST_CHECK_EQUAL(f.frames_out.Add({{"type", std::to_string(2 + t)}}).Value(), writes);
  BOOST_CHECK_EQUAL(f.accepted.Add({}).Value(), threads_n * writes);
}

BOOST_AUTO_TEST_CASE(shard_metrics_count_apart_while_scraped) {
  // As on N I/O threads: each thread counts into its own shard's share while
  // another scrapes the merged text.
  auto m = std::make_shared<tao::metrics>();
  constexpr int events = 2000;
  std::atomic<bool> stop{false};
  std::atomic<bool> text_ok{true};
  std::thread scraper{[&] {
    while (!stop)
      if (m->text().find("\ntao_handler_duration_seconds_count ") == std::string::npos)
        text_ok = false;
  }};
  in_parallel([&](int t) {
    auto share = tao::metrics::for_shard(m, static_cast<size_t>(t));
    auto& frames = share->family().frames_in.Add({{"type", "1"}});
    auto& open = share->family().connections.Add({});
    auto& latency = share->family().handler_seconds.Add({}, tao::metrics::handler_buckets());
    for (int i = 0; i < events; ++i) {
      frames.Increment();
      open.Increment();
      latency.Observe(1e-3);
    }
  });
  stop = true;
  scraper.join();
  BOOST_CHECK(text_ok);
  auto text = m->text();
  auto has = [&](const std::string& sample) {
    return text.find("\n" + sample + "\n") != std::string::npos;
  };
  auto total = std::to_string(threads_n * events);
  BOOST_CHECK(has("tao_frames_received_total{type=\"1\"} " + total));
  BOOST_CHECK(has("tao_connections " + total));
  BOOST_CHECK(has("tao_handler_duration_seconds_count " + total));
}

BOOST_AUTO_TEST_CASE(loggers_keep_logging_while_reconfigured) {
  tao::test::temp_file first{"tao-concurrency-log"};
  tao::test::temp_file second{"tao-concurrency-log"};
  BOOST_REQUIRE(!tao::configure_logging({tao::log_level::info, first.path()}));
  constexpr int lines = 500;
  std::atomic<bool> stop{false};
  std::thread reconfigure{[&] {
    // Switch the sink back and forth while the loggers write.
    for (int i = 0; !stop; ++i)
      (void)tao::configure_logging({tao::log_level::info, i % 2 ? first.path() : second.path()});
  }};
  in_parallel([&](int t) {
    auto& log = tao::detail::logger(t % 2 ? "tao.test.a" : "tao.test.b");
    for (int i = 0; i < lines; ++i)
      log.info("line {} of thread {}", i, t);
  });
  stop = true;
  reconfigure.join();
  BOOST_REQUIRE(!tao::configure_logging({tao::log_level::info, ""}));
  BOOST_CHECK_EQUAL(count_lines(first.path()) + count_lines(second.path()),
                    static_cast<size_t>(threads_n * lines));
}

BOOST_AUTO_TEST_CASE(connection_ids_are_unique_across_threads) {
  constexpr int ids = 20000;
  std::vector<std::vector<uint64_t>> got(threads_n);
  in_parallel([&](int t) {
    for (int i = 0; i < ids; ++i)
      got[t].push_back(tao::detail::next_connection_id());
  });
  std::set<uint64_t> all;
  for (auto& v : got)
    all.insert(v.begin(), v.end());
  BOOST_CHECK_EQUAL(all.size(), static_cast<size_t>(threads_n * ids));
  BOOST_CHECK(all.count(0) == 0);
}

BOOST_AUTO_TEST_CASE(tls_sessions_are_made_while_the_context_reloads) {
  const auto& certs = tao::test::test_certs::get();
  auto ctx = tao::net::tls_context::make(tao::net::tls_role::server, certs.server());
  BOOST_REQUIRE(ctx);
  std::atomic<bool> stop{false};
  std::atomic<int> reload_errors{0};
  std::thread reloader{[&] {
    while (!stop)
      if ((*ctx)->reload())
        ++reload_errors;
  }};
  std::atomic<int> session_errors{0};
  in_parallel([&](int) {
    for (int i = 0; i < 200; ++i) {
      auto ssl = (*ctx)->new_session("");
      if (!ssl)
        ++session_errors;
      else
        SSL_free(*ssl);
    }
  });
  stop = true;
  reloader.join();
  BOOST_CHECK_EQUAL(reload_errors.load(), 0);
  BOOST_CHECK_EQUAL(session_errors.load(), 0);
}

BOOST_AUTO_TEST_CASE(a_shared_codec_and_registry_serve_many_threads) {
  using text = tao::protocol::text_message<1>;
  tao::protocol::registry reg;
  BOOST_REQUIRE(!reg.add<text>());
  auto codec = tao::protocol::default_codec();
  std::atomic<int> mismatches{0};
  in_parallel([&](int t) {
    auto dec = codec->make_decoder();
    for (int i = 0; i < 2000; ++i) {
      text msg{std::to_string(t) + ":" + std::to_string(i)};
      tao::protocol::byte_buffer frame;
      if (tao::protocol::encode_message(*codec, msg, frame)) {
        ++mismatches;
        continue;
      }
      tao::protocol::frame_batch batch;
      if (dec->feed(frame.data(), frame.size(), batch) || batch.size() != 1) {
        ++mismatches;
        continue;
      }
      auto decoded = reg.decode(batch[0]);
      if (!decoded || decoded->get_as<text>(0).text != msg.text)
        ++mismatches;
    }
  });
  BOOST_CHECK_EQUAL(mismatches.load(), 0);
}

BOOST_AUTO_TEST_SUITE_END()
