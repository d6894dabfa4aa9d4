#include "tools/bench_leases.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>

#include "bindings/cpp/client.h"
#include "bindings/cpp/lease.h"
#include "bindings/cpp/lock.h"
#include "tools/bench_result.h"

namespace cairn::bench {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

long runId() {
  return static_cast<long>(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
}

// Client options for client `i`: the endpoints rotated so that clients spread over them.
client::Options optionsFor(const LeaseLoad& o, int i) {
  client::Options co;
  for (std::size_t k = 0; k < o.addrs.size(); ++k)
    co.endpoints.push_back(o.addrs[(static_cast<std::size_t>(i) + k) % o.addrs.size()]);
  co.key = o.key;
  co.serverKey = o.serverKey;
  return co;
}

}  // namespace

int runLock(const LeaseLoad& o) {
  const std::string dir = "/bench/lock" + std::to_string(runId());
  const std::string label = o.label.empty() ? "lock-c" + std::to_string(o.clients) : o.label;
  const auto n = static_cast<std::size_t>(o.clients);
  std::vector<std::vector<double>> cycles(n), handoffs(n);
  std::atomic<Clock::rep> released{0};  // when the last holder began to release; 0: nobody yet
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, stop{false};
  std::atomic<long> errors{0};
  auto contender = [&](int i) {
    const client::Options co = optionsFor(o, i);
    client::Client c(co);
    auto lease = client::Lease::grant(co, o.ttl);
    ++ready;
    if (!lease) {
      std::fprintf(stderr, "cairn-bench: no lease: %s\n", lease.status().toString().c_str());
      ++errors;
      return;
    }
    client::Mutex m(c, **lease, dir);
    while (!go)
      std::this_thread::yield();
    while (!stop) {
      const auto t0 = Clock::now();
      auto token = m.lock(std::chrono::seconds(60), [&] { return stop.load(); });
      if (!token) {
        if (stop) break;
        std::fprintf(stderr, "cairn-bench: lock: %s\n", token.status().toString().c_str());
        ++errors;
        if (!(*lease)->alive()) return;
        continue;
      }
      const Clock::rep got = Clock::now().time_since_epoch().count();
      if (const Clock::rep was = released.load(); was != 0 && !stop) {  // within the time
        handoffs[static_cast<std::size_t>(i)].push_back(
            std::chrono::duration<double, std::milli>(Clock::duration(got - was)).count());
      }
      released = Clock::now().time_since_epoch().count();
      if (wire::Status s = m.unlock(); !s.isOk()) {
        std::fprintf(stderr, "cairn-bench: unlock: %s\n", s.toString().c_str());
        ++errors;
      }
      if (!stop) cycles[static_cast<std::size_t>(i)].push_back(msSince(t0));  // within the time
    }
  };
  std::vector<std::thread> ts;
  for (int i = 0; i < o.clients; ++i)
    ts.emplace_back(contender, i);
  while (ready < o.clients)
    std::this_thread::yield();
  const auto start = Clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));  // the measured load
  stop = true;
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& t : ts)
    t.join();
  std::vector<double> all, hand;
  for (std::size_t i = 0; i < n; ++i) {
    all.insert(all.end(), cycles[i].begin(), cycles[i].end());
    hand.insert(hand.end(), handoffs[i].begin(), handoffs[i].end());
  }
  const long count = static_cast<long>(all.size());
  print(toResult(label + "-cycle", std::move(all), count, seconds, errors.load()));
  const long handed = static_cast<long>(hand.size());
  print(toResult(label + "-handoff", std::move(hand), handed, seconds, errors.load()));
  return errors == 0 && count > 0 ? 0 : 2;
}

int runKeepalive(const LeaseLoad& o) {
  const std::string label = o.label.empty() ? "keepalive-l" + std::to_string(o.leases) : o.label;
  const int threads = std::max(1, o.threads);
  std::vector<std::vector<std::uint64_t>> ids(static_cast<std::size_t>(threads));
  std::atomic<long> errors{0};
  // Grant: each thread its share.
  const auto grantStart = Clock::now();
  {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        client::Client c(optionsFor(o, t));
        for (long k = t; k < o.leases; k += threads) {
          auto id = c.grant(o.ttl);
          if (!id) {
            std::fprintf(stderr, "cairn-bench: grant: %s\n", id.status().toString().c_str());
            ++errors;
            continue;
          }
          ids[static_cast<std::size_t>(t)].push_back(*id);
        }
      });
    }
    for (auto& th : ts)
      th.join();
  }
  const auto granted = Clock::now();
  if (errors > 0 || granted - grantStart > o.ttl / 2) {
    std::fprintf(stderr,
                 "cairn-bench: granting %ld leases took %.1f s (%ld failed): with a ttl of %lld "
                 "ms the first would expire before their keep-alives begin; use a longer --ttl\n",
                 o.leases, std::chrono::duration<double>(granted - grantStart).count(),
                 errors.load(), static_cast<long long>(o.ttl.count()));
    return 2;
  }
  std::fprintf(stderr, "cairn-bench: %ld leases granted; keeping them alive for %.0f s\n", o.leases,
               o.duration);
  std::printf("KEEPALIVE start\n");
  std::fflush(stdout);
  // Keep alive: every lease once per third of the ttl, each thread pacing its share evenly.
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(threads));
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(o.duration));
  {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        client::Client c(optionsFor(o, t));
        const auto& mine = ids[static_cast<std::size_t>(t)];
        if (mine.empty()) return;
        const auto gap =
            std::chrono::duration_cast<Clock::duration>(o.ttl / 3) / static_cast<long>(mine.size());
        auto due = start;
        for (std::size_t k = 0; Clock::now() < end; k = (k + 1) % mine.size()) {
          std::this_thread::sleep_until(due);  // pacing: a steady keep-alive rate
          // Latency from when it was due, not sent: a sender that falls behind shows in it.
          const auto t0 = due;
          due += gap;
          auto r = c.keepAlive(mine[k]);
          lat[static_cast<std::size_t>(t)].push_back(msSince(t0));
          if (!r) {
            std::fprintf(stderr, "cairn-bench: keepalive %llu: %s\n",
                         static_cast<unsigned long long>(mine[k]), r.status().toString().c_str());
            ++errors;
          }
        }
      });
    }
    for (auto& th : ts)
      th.join();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat)
    all.insert(all.end(), v.begin(), v.end());
  const long count = static_cast<long>(all.size());
  print(toResult(label, std::move(all), count, seconds, errors.load()));
  // Revoke what was granted, so that a cluster used again starts clean.
  {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        client::Client c(optionsFor(o, t));
        for (std::uint64_t id : ids[static_cast<std::size_t>(t)])
          (void)c.revoke(id);
      });
    }
    for (auto& th : ts)
      th.join();
  }
  return errors == 0 && count > 0 ? 0 : 2;
}

}  // namespace cairn::bench
