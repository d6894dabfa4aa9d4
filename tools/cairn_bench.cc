// cairn-bench: load a running node and report throughput and latency percentiles.
//
// Each client has its own REQ socket and issues one request at a time; --threads threads drive
// them, each from one poll loop. With
// --baseline the same shape first runs against an in-process ZeroMQ ROUTER echo server (the
// physical ceiling of one round trip on this machine), and the results are also given as ratios
// against it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "bindings/cpp/client.h"
#include "bindings/cpp/watcher.h"
#include "tools/bench_leases.h"
#include "tools/bench_result.h"
#include "wire/cli/flags.h"
#include "wire/codec.h"
#include "wire/keys.h"

namespace {

using cairn::bench::print;
using cairn::bench::Result;
using cairn::bench::toResult;
using Clock = std::chrono::steady_clock;

const char* kAbout =
    "cairn-bench: load running nodes and report throughput and latency percentiles.\n"
    "Prints a progress line, a table and one machine-readable line per run:\n"
    "  RESULT <label> n=N ops_s=X p50_ms=Y p99_ms=Z p999_ms=W max_ms=M errors=E";

struct Options {
  std::vector<std::string> addrs;
  std::string workload = "put";
  int clients = 1;
  int threads = 1;
  long keys = 0;
  double writeRatio = 0.5;
  long count = 10000;
  double duration = 0;
  std::size_t valueSize = 256;
  std::string label;
  bool baseline = false;
  bool local = false;
  bool exactlyOnce = false;
  int subscribers = 1;
  double rate = 200;
  std::vector<std::string> watchAddrs;
};

// CURVE (--key, --server-key): every socket and client of the run uses it.
cairn::client::ClientKeys gKeys;

cairn::client::Options clientOptions(const std::string& endpoint) {
  cairn::client::Options co;
  co.endpoints = {endpoint};
  co.key = gKeys.pair;
  co.serverKey = gKeys.server;
  return co;
}

// Connects `s` to `endpoint`, with CURVE when the run has keys; exits on a key mistake.
void connectSecured(zmq::socket_t& s, const std::string& endpoint) {
  auto target = cairn::client::secureSocket(s, endpoint, gKeys.pair, gKeys.server);
  if (!target) {
    std::fprintf(stderr, "cairn-bench: %s\n", target.status().detail().c_str());
    std::exit(2);
  }
  s.connect(*target);
}

// A ROUTER that echoes every message back: one thread, like a node's event loop.
class EchoServer {
 public:
  explicit EchoServer(zmq::context_t& ctx) : sock_(ctx, zmq::socket_type::router) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.bind("tcp://127.0.0.1:*");
    endpoint_ = sock_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { loop(); });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }

 private:
  void loop() {
    while (!stop_) {
      zmq::pollitem_t it{sock_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&it, 1, std::chrono::milliseconds(50));
      if (!(it.revents & ZMQ_POLLIN)) continue;
      while (true) {
        std::vector<zmq::message_t> parts;
        zmq::message_t m;
        if (!sock_.recv(m, zmq::recv_flags::dontwait)) break;
        bool more = m.more();
        parts.push_back(std::move(m));
        while (more) {
          zmq::message_t p;
          (void)sock_.recv(p);
          more = p.more();
          parts.push_back(std::move(p));
        }
        for (std::size_t i = 0; i < parts.size(); ++i) {
          sock_.send(parts[i],
                     i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
      }
    }
  }
  zmq::socket_t sock_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Result runShape(const Options& o, const std::string& workload,
                const std::vector<std::string>& addrs, const std::string& label) {
  zmq::context_t ctx(1);
  const std::string value(o.valueSize, 'v');
  // Reads find their keys: one key ("/bench/get"), or with --keys N every key of the space.
  if (workload == "get" || workload == "mixed") {
    cairn::client::Client c(clientOptions(addrs[0]), ctx);
    for (long k = 0; k < std::max(1L, o.keys); ++k) {
      auto r = c.set(o.keys > 0 ? "/bench/k" + std::to_string(k) : "/bench/get", value, -1);
      if (!r) {
        std::fprintf(stderr, "cairn-bench: setup failed: %s\n", r.status().toString().c_str());
        std::exit(2);
      }
    }
  }
  std::atomic<long> issued{0};
  std::atomic<long> done{0};
  std::atomic<long> errors{0};
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(o.clients));
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(o.duration));
  std::mutex stopMu;
  Clock::time_point stop = start;  // when the last worker's last reply came
  const long runId =
      static_cast<long>(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  // A client: its own REQ socket and at most one request outstanding. Each thread drives its
  // share of the clients from one poll loop (as etcd's benchmark multiplexes its clients on a few
  // OS threads), so the load generator spends little of the machine on context switches.
  struct Conn {
    std::unique_ptr<zmq::socket_t> sock;
    std::vector<double>* lat;
    Clock::time_point sentAt;
    std::int64_t session = 0;  // --exactly-once: this client's session (a lease), and its seq
    std::int64_t seq = 0;
  };
  const bool echo = workload == "echo";
  const bool txn = workload == "txn";
  const bool mixed = workload == "mixed";
  // Which key an operation touches: with --keys N one of N shared keys at random (writers
  // collide), otherwise a fresh key per write and the one read key.
  auto pick = [&](std::mt19937_64& rng, long i, bool write) {
    if (o.keys > 0) {
      return "/bench/k" + std::to_string(std::uniform_int_distribution<long>(0, o.keys - 1)(rng));
    }
    return write ? "/bench/r" + std::to_string(runId) + "/k" + std::to_string(i)
                 : std::string("/bench/get");
  };
  auto issue = [&](Conn& c, cairn::wire::Request& q, std::mt19937_64& rng) {
    long i = issued.fetch_add(1);
    if (o.duration > 0 ? Clock::now() >= end : i >= o.count) return false;
    bool write = workload == "put" || txn;
    if (mixed) write = std::uniform_real_distribution<>(0, 1)(rng) < o.writeRatio;
    if (txn) {
      // Four writes at one rev, if the first key is new (it always is): a compare and 4 SETs.
      const std::string base = "/bench/r" + std::to_string(runId) + "/t" + std::to_string(i);
      cairn::wire::Txn t;
      t.compares.push_back(cairn::wire::Compare::existsIs(base + "/0", false));
      for (int k = 0; k < 4; ++k)
        t.then.push_back(cairn::wire::TxnOp::set(base + "/" + std::to_string(k), value));
      q.verb = cairn::wire::Verb::kTxn;
      q.txn = std::move(t);
    } else if (!echo) {
      q.verb = write ? cairn::wire::Verb::kSet : cairn::wire::Verb::kGet;
      q.rev = write ? std::optional<std::int64_t>(-1) : std::nullopt;
      q.value = write ? std::optional<std::string>(value) : std::nullopt;
      q.consistency = !write && o.local ? std::optional<std::string>("local") : std::nullopt;
      q.path = pick(rng, i, write);
    }
    if (c.session != 0 && write) {
      q.session = c.session;
      q.seq = ++c.seq;
    } else {
      q.session.reset();
      q.seq.reset();
    }
    std::string body = echo ? value : cairn::wire::encodeRequest(q);
    c.sentAt = Clock::now();
    c.sock->send(zmq::buffer(body), zmq::send_flags::none);
    return true;
  };
  auto worker = [&](int first, int step) {
    std::vector<Conn> conns;
    for (int id = first; id < o.clients; id += step) {
      Conn c;
      c.sock = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::req);
      c.sock->set(zmq::sockopt::linger, 0);
      connectSecured(*c.sock, addrs[static_cast<std::size_t>(id) % addrs.size()]);
      c.lat = &lat[static_cast<std::size_t>(id)];
      if (o.exactlyOnce) {  // a session per client, granted before the clock starts
        cairn::wire::Request g;
        g.verb = cairn::wire::Verb::kGrant;
        g.ttl = 600000;
        const std::string body = cairn::wire::encodeRequest(g);
        c.sock->send(zmq::buffer(body), zmq::send_flags::none);
        zmq::message_t m;
        auto r = c.sock->recv(m);
        auto rep = r ? cairn::wire::decodeReply(m.to_string_view())
                     : cairn::wire::Result<cairn::wire::Reply>(cairn::wire::Err::kTimeout, "");
        if (!rep || rep->err != cairn::wire::Err::kOk || !rep->lease) {
          std::fprintf(stderr, "cairn-bench: no session: %s\n",
                       rep ? rep->detail.c_str() : rep.status().toString().c_str());
          std::exit(2);
        }
        c.session = *rep->lease;
      }
      conns.push_back(std::move(c));
    }
    cairn::wire::Request q;
    std::mt19937_64 rng(static_cast<std::uint64_t>(runId) * 1000 +
                        static_cast<std::uint64_t>(first));
    std::size_t busy = 0;
    for (auto& c : conns)
      busy += issue(c, q, rng) ? 1 : 0;
    std::vector<zmq::pollitem_t> items;
    for (auto& c : conns)
      items.push_back(zmq::pollitem_t{c.sock->handle(), 0, ZMQ_POLLIN, 0});
    zmq::message_t rep;
    while (busy > 0) {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(-1));
      for (std::size_t k = 0; k < conns.size(); ++k) {
        Conn& c = conns[k];
        if (!(items[k].revents & ZMQ_POLLIN)) continue;  // a finished client polls for nothing
        if (!c.sock->recv(rep, zmq::recv_flags::dontwait)) continue;
        c.lat->push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - c.sentAt).count());
        if (!echo) {
          auto r = cairn::wire::decodeReply(rep.to_string_view());
          if (!r || r->err != cairn::wire::Err::kOk) errors.fetch_add(1);
        }
        done.fetch_add(1);
        if (!issue(c, q, rng)) {
          --busy;
          items[k].events = 0;
        }
      }
    }
    {
      const std::lock_guard<std::mutex> g(stopMu);
      stop = std::max(stop, Clock::now());  // the measured time ends before the clean-up
    }
    for (auto& c : conns) {  // each session is revoked, as a client ends it (untimed)
      if (c.session == 0) continue;
      cairn::wire::Request rv;
      rv.verb = cairn::wire::Verb::kRevoke;
      rv.lease = c.session;
      const std::string body = cairn::wire::encodeRequest(rv);
      c.sock->set(zmq::sockopt::rcvtimeo, 2000);  // a dead node: its lease ends by its ttl
      c.sock->send(zmq::buffer(body), zmq::send_flags::none);
      (void)c.sock->recv(rep);
    }
  };
  const int threads = std::min(o.threads, o.clients);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&worker, t, threads] {
      try {
        worker(t, threads);
      } catch (const zmq::error_t& e) {  // say what failed, rather than terminate() saying nothing
        std::fprintf(stderr, "\ncairn-bench: client thread %d: %s (errno %d)\n", t, e.what(),
                     e.num());
        std::_Exit(2);
      }
    });
  }
  std::atomic<bool> finished{false};
  std::thread progress([&] {
    long last = 0;
    while (!finished) {
      for (int k = 0; k < 10 && !finished; ++k)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      long d = done.load();
      std::fprintf(stderr, "\r%s: %ld ops, %ld ops/s     ", label.c_str(), d, d - last);
      last = d;
    }
    std::fprintf(stderr, "\n");
  });
  for (auto& t : ts)
    t.join();
  finished = true;
  progress.join();
  Result r;
  r.label = label;
  r.seconds = std::chrono::duration<double>(stop - start).count();
  for (auto& v : lat)
    r.latMs.insert(r.latMs.end(), v.begin(), v.end());
  std::sort(r.latMs.begin(), r.latMs.end());
  r.n = static_cast<long>(r.latMs.size());
  r.errors = errors.load();
  return r;
}

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// A value that carries its write's sequence number and issue time, padded to the value size.
std::string stamp(long seq, std::int64_t issuedNs, std::size_t size) {
  std::string v = std::to_string(seq) + " " + std::to_string(issuedNs) + " ";
  if (v.size() < size) v.resize(size, 'v');
  return v;
}

bool unstamp(const std::string& v, long* seq, std::int64_t* issuedNs) {
  char* end = nullptr;
  *seq = std::strtol(v.c_str(), &end, 10);
  if (!end || *end != ' ') return false;
  *issuedNs = std::strtoll(end + 1, &end, 10);
  return end && *end == ' ';
}

struct Sample {
  long seq;
  std::int64_t recvNs;
  std::int64_t issuedNs;
};

// Plain SUB sockets on one endpoint, read by one thread; returns their samples.
void readSubs(zmq::context_t& ctx, const std::string& endpoint, const std::string& prefix, int n,
              std::atomic<int>& live, const std::atomic<bool>& stop, std::vector<Sample>* out) {
  std::vector<zmq::socket_t> subs;
  std::vector<zmq::pollitem_t> items;
  std::vector<bool> seenBeat(static_cast<std::size_t>(n), false);
  for (int i = 0; i < n; ++i) {
    subs.emplace_back(ctx, zmq::socket_type::sub);
    subs.back().set(zmq::sockopt::subscribe, prefix);
    subs.back().set(zmq::sockopt::subscribe, std::string(cairn::wire::kHeartbeatTopic));
    connectSecured(subs.back(), endpoint);
  }
  for (auto& s : subs)
    items.push_back(zmq::pollitem_t{s.handle(), 0, ZMQ_POLLIN, 0});
  while (!stop) {
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(50));
    for (std::size_t i = 0; i < subs.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      zmq::message_t t, b;
      while (subs[i].recv(t, zmq::recv_flags::dontwait)) {
        (void)subs[i].recv(b);
        const std::int64_t at = nowNs();
        if (cairn::wire::isHeartbeatTopic(t.to_string_view())) {
          if (!seenBeat[i]) {
            seenBeat[i] = true;
            ++live;
          }
          continue;
        }
        auto e = cairn::wire::decodeEvent(b.to_string_view());
        long seq;
        std::int64_t issued;
        if (e && unstamp(e->value, &seq, &issued)) out->push_back(Sample{seq, at, issued});
      }
    }
  }
}

// The watch workload: see the usage text. Returns the Watcher's issue->event result and prints
// the others.
Result runWatch(const Options& o, bool baseline) {
  zmq::context_t ctx(1);
  const long runId =
      static_cast<long>(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  const std::string prefix = "/bench/w" + std::to_string(runId) + "/";
  const std::string tag = (baseline          ? std::string("pubsub-baseline")
                           : o.label.empty() ? std::string("watch")
                                             : o.label) +
                          "-s" + std::to_string(o.subscribers);
  const long count = o.count;
  std::vector<std::int64_t> ackNs(static_cast<std::size_t>(count), 0);
  std::atomic<bool> stop{false};
  std::atomic<int> live{0};
  std::vector<Sample> watcherSamples, subSamples;
  std::string subEndpoint;
  // The baseline: an in-process PUB with the same subscribers, publishing what the writer would
  // have written (the physical ceiling of the fan-out on this machine).
  zmq::context_t pubCtx(1);  // the baseline's publisher has its own I/O thread, as a node would
  std::unique_ptr<zmq::socket_t> pub;
  std::unique_ptr<cairn::client::Client> writer;
  if (baseline) {
    pub = std::make_unique<zmq::socket_t>(pubCtx, zmq::socket_type::pub);
    pub->set(zmq::sockopt::sndhwm, 0);
    pub->bind("tcp://127.0.0.1:*");
    subEndpoint = pub->get(zmq::sockopt::last_endpoint);
  } else {
    writer = std::make_unique<cairn::client::Client>(clientOptions(o.addrs[0]), ctx);
    const cairn::client::Options so =
        clientOptions(o.watchAddrs.empty() ? o.addrs.back() : o.watchAddrs[0]);
    cairn::client::Client self(so, ctx);
    auto r = self.self();
    if (!r || !r->events) {
      std::fprintf(stderr, "cairn-bench: SELF failed on %s\n", so.endpoints[0].c_str());
      std::exit(2);
    }
    subEndpoint = *r->events;
  }
  const int plain = baseline ? o.subscribers : o.subscribers - 1;
  std::thread subsThread;
  if (plain > 0) {
    subsThread =
        std::thread([&] { readSubs(ctx, subEndpoint, prefix, plain, live, stop, &subSamples); });
  }
  std::thread watchThread;
  std::atomic<bool> watcherLive{baseline};
  if (!baseline) {
    watchThread = std::thread([&] {
      cairn::client::WatchOptions wo;
      wo.endpoints = o.watchAddrs.empty() ? std::vector<std::string>{o.addrs.back()} : o.watchAddrs;
      wo.glob = prefix + "**";
      wo.key = gKeys.pair;
      wo.serverKey = gKeys.server;
      cairn::client::Watcher w(wo);
      while (!stop) {
        auto n = w.next(std::chrono::milliseconds(50));
        const std::int64_t at = nowNs();
        if (!watcherLive && w.stats().heartbeats > 0) watcherLive = true;
        if (!n) {
          std::fprintf(stderr, "cairn-bench: watch ended: %s\n", n.status().toString().c_str());
          return;
        }
        if (!*n || (*n)->kind != cairn::client::Notice::Kind::kChange) continue;
        long seq;
        std::int64_t issued;
        if (unstamp((*n)->change.value, &seq, &issued)) {
          watcherSamples.push_back(Sample{seq, at, issued});
        }
      }
    });
  }
  // Every subscriber live (a heartbeat seen; the baseline PUB sends its own) before writing.
  const auto readyBy = Clock::now() + std::chrono::seconds(30);
  while ((live < plain || !watcherLive) && Clock::now() < readyBy) {
    if (pub) {
      pub->send(zmq::buffer(cairn::wire::kHeartbeatTopic), zmq::send_flags::sndmore);
      pub->send(zmq::str_buffer("x"), zmq::send_flags::none);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // readiness poll interval
  }
  if (live < plain || !watcherLive) {
    std::fprintf(stderr, "cairn-bench: subscribers not live after 30 s\n");
    std::exit(2);
  }
  long errors = 0;
  const auto start = Clock::now();
  for (long i = 0; i < count; ++i) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(i) / o.rate));
    std::this_thread::sleep_until(due);  // pacing: the workload is a steady write rate
    const std::int64_t issued = nowNs();
    const std::string path = prefix + "k" + std::to_string(i);
    const std::string value = stamp(i, issued, o.valueSize);
    if (pub) {
      cairn::wire::Event e{i + 1, path, "set", value, {}};
      pub->send(zmq::buffer(path), zmq::send_flags::sndmore);
      pub->send(zmq::buffer(cairn::wire::encodeEvent(e)), zmq::send_flags::none);
    } else if (!writer->set(path, value, -1)) {
      ++errors;
    }
    ackNs[static_cast<std::size_t>(i)] = nowNs();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // Let the last events arrive: until every subscriber has them all, or 10 s.
  const auto drainBy = Clock::now() + std::chrono::seconds(10);
  auto enough = [&] {
    return (baseline || static_cast<long>(watcherSamples.size()) >= count) &&
           static_cast<long>(subSamples.size()) >= count * plain;
  };
  while (!enough() && Clock::now() < drainBy)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // drain poll interval
  stop = true;
  if (subsThread.joinable()) subsThread.join();
  if (watchThread.joinable()) watchThread.join();

  auto fromIssue = [&](const std::vector<Sample>& v) {
    std::vector<double> ms;
    for (const auto& s : v)
      ms.push_back(static_cast<double>(s.recvNs - s.issuedNs) / 1e6);
    return ms;
  };
  auto fromAck = [&](const std::vector<Sample>& v, long* before) {
    std::vector<double> ms;
    *before = 0;
    for (const auto& s : v) {
      if (s.seq < 0 || s.seq >= count) continue;
      double d = static_cast<double>(s.recvNs - ackNs[static_cast<std::size_t>(s.seq)]) / 1e6;
      if (d < 0) ++*before;  // the event arrived before the writer had its acknowledgement
      ms.push_back(std::max(0.0, d));
    }
    return ms;
  };
  if (plain > 0) {
    const long want = count * plain;
    Result f = toResult(tag + "-plain-sub-e2e", fromIssue(subSamples),
                        static_cast<long>(subSamples.size()), seconds,
                        want - static_cast<long>(subSamples.size()));
    print(f);
    if (baseline) return f;
  }
  // The end-to-end line first: harnesses that read one line per file take the first "e2e".
  Result e2e = toResult(tag + "-watcher-e2e", fromIssue(watcherSamples),
                        static_cast<long>(watcherSamples.size()), seconds,
                        errors + count - static_cast<long>(watcherSamples.size()));
  print(e2e);
  long before = 0;
  Result ack = toResult(tag + "-watcher-ack", fromAck(watcherSamples, &before),
                        static_cast<long>(watcherSamples.size()), seconds, errors);
  print(ack);
  std::printf(
      "  (%ld of %zu events reached the watcher before the writer had its reply; counted as 0 "
      "ms)\n",
      before, watcherSamples.size());
  return e2e;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  cairn::bench::LeaseLoad leases;
  if (const char* env = std::getenv("CAIRN_ADDR")) o.addrs = cairn::client::splitEndpoints(env);
  CLI::App app(kAbout);
  cairn::cli::setUp(&app, "cairn-bench");
  using cairn::cli::integer;
  using cairn::cli::real;
  app.add_option_function<std::string>(
         "--addr", [&](const std::string& v) { o.addrs = cairn::client::splitEndpoints(v); },
         "comma-separated client endpoints; clients are spread over them\n"
         "(default $CAIRN_ADDR, else tcp://127.0.0.1:7101)")
      ->type_name("ENDPOINTS");
  std::string keyFile, serverKey;
  if (const char* env = std::getenv("CAIRN_KEY")) keyFile = env;
  if (const char* env = std::getenv("CAIRN_SERVER_KEY")) serverKey = env;
  app.add_option("--key", keyFile, "this client's key pair: CURVE (default $CAIRN_KEY)")
      ->type_name("FILE");
  app.add_option("--server-key", serverKey,
                 "the nodes' public key (a key file or Z85) for endpoints that\n"
                 "name none (default $CAIRN_SERVER_KEY)")
      ->type_name("KEY");
  app.add_option("--workload", o.workload,
                 "put: SET (clobber) of unique keys; get: GET of one existing key;\n"
                 "txn: a TXN of one compare and 4 SETs of unique keys (one rev);\n"
                 "mixed: GET or SET at random (--write-ratio);\n"
                 "echo: an in-process ZeroMQ echo server (no Cairn at all);\n"
                 "watch: one writer paced at --rate to the first --addr endpoint, and\n"
                 "--subscribers on --watch-addr (default: the last --addr endpoint): one\n"
                 "Watcher (the C++ library) plus plain SUB sockets; latency from issuing a\n"
                 "write, and from its acknowledgement, to the event's arrival;\n"
                 "lock: --clients contenders take and release one lock (the C++ Mutex,\n"
                 "each on its own lease) for --duration s: cycles/s and handoff latency;\n"
                 "keepalive: grants --leases leases of --ttl and keeps each alive every\n"
                 "third of the ttl for --duration s, from --threads threads")
      ->type_name("W")
      ->check(CLI::IsMember({"put", "get", "mixed", "echo", "watch", "lock", "keepalive", "txn"}))
      ->capture_default_str();
  app.add_option("--clients", o.clients,
                 "concurrent clients, each its own REQ socket with one request at a\n"
                 "time")
      ->type_name("N")
      ->transform(integer(1, INT32_MAX))
      ->capture_default_str();
  app.add_option("--threads", o.threads,
                 "threads that drive the clients, each polling its share\n"
                 "(--threads N with N = --clients gives each client its own thread)")
      ->type_name("N")
      ->transform(integer(1, INT32_MAX))
      ->capture_default_str();
  app.add_option("--count", o.count, "total operations (used when --duration is not above 0)")
      ->type_name("N")
      ->transform(integer(LONG_MIN, LONG_MAX))
      ->capture_default_str();
  app.add_option("--duration", o.duration, "run this many seconds instead of --count")
      ->type_name("SECONDS")
      ->transform(real(-HUGE_VAL, HUGE_VAL));
  app.add_option("--value-size", o.valueSize, "bytes per value")
      ->type_name("BYTES")
      ->transform(integer(0, 1 << 30))
      ->capture_default_str();
  app.add_option("--keys", o.keys,
                 "a key space of N shared keys, written first, each operation on one at\n"
                 "random (writers collide); 0: unique keys for writes")
      ->type_name("N")
      ->transform(integer(0, LONG_MAX))
      ->capture_default_str();
  app.add_option("--write-ratio", o.writeRatio, "mixed: the share of writes, 0..1")
      ->type_name("R")
      ->transform(real(0, 1))
      ->capture_default_str();
  app.add_flag("--local", o.local, "reads with consistency \"local\" (the node's own state)");
  app.add_flag("--exactly-once", o.exactlyOnce,
               "put, mixed, txn: each client grants itself a session and its writes carry it\n"
               "and a sequence number (exactly-once writes, PROTOCOL.md section 5)");
  app.add_option("--label", o.label, "the label of the RESULT line (default: workload-cN)")
      ->type_name("L");
  app.add_flag("--baseline", o.baseline,
               "first run the same shape against the echo server and print ratios\n"
               "(watch: against an in-process PUB with the same subscribers)");
  app.add_option("--subscribers", o.subscribers, "watch: subscribers")
      ->type_name("N")
      ->transform(integer(1, INT32_MAX))
      ->capture_default_str();
  app.add_option("--rate", o.rate, "watch: writes per second")
      ->type_name("WRITES_PER_S")
      ->transform(real(0, HUGE_VAL, true))
      ->capture_default_str();
  app.add_option("--leases", leases.leases, "keepalive: leases kept alive")
      ->type_name("N")
      ->transform(integer(1, 100000))
      ->capture_default_str();
  long ttlMs = 10000;
  app.add_option("--ttl", ttlMs, "lock, keepalive: the leases' ttl in milliseconds")
      ->type_name("MS")
      ->transform(integer(2000, 86400000))
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--watch-addr",
         [&](const std::string& v) { o.watchAddrs = cairn::client::splitEndpoints(v); },
         "watch: the subscribers' endpoints (default: the last --addr endpoint)")
      ->type_name("ENDPOINTS");
  std::vector<std::string> args(argv + 1, argv + argc);
  if (int code = cairn::cli::finish(
          cairn::cli::parse(&app, args, 127, "(run cairn-bench --help for the flags)"));
      code >= 0) {
    return code;
  }
  if (o.addrs.empty()) o.addrs = {"tcp://127.0.0.1:7101"};
  if (auto k = cairn::client::loadClientKeys(keyFile, serverKey)) {
    gKeys = std::move(k.value());
  } else {
    std::fprintf(stderr, "cairn-bench: %s\n", k.status().detail().c_str());
    return 127;
  }
  if (o.duration <= 0 && o.count < 1) {  // the flags' own ranges were checked while parsing
    std::fprintf(stderr,
                 "cairn-bench: --count must be at least 1 without a --duration above 0\n"
                 "(run cairn-bench --help for the flags)\n");
    return 127;
  }
  if (o.workload == "lock" || o.workload == "keepalive") {
    leases.addrs = o.addrs;
    leases.clients = o.clients;
    leases.threads = o.threads;
    leases.duration = o.duration > 0 ? o.duration : 10;
    leases.ttl = std::chrono::milliseconds(ttlMs);
    leases.label = o.label;
    leases.key = gKeys.pair;
    leases.serverKey = gKeys.server;
    return o.workload == "lock" ? cairn::bench::runLock(leases)
                                : cairn::bench::runKeepalive(leases);
  }
  if (o.workload == "watch") {
    if (o.duration > 0) o.count = static_cast<long>(o.duration * o.rate);
    std::optional<Result> base;
    if (o.baseline) base = runWatch(o, true);
    Result r = runWatch(o, false);  // printed there
    if (base) {
      std::printf("RATIO %s/pubsub p50=%.2f p99=%.2f\n", r.label.c_str(),
                  r.pct(0.5) / base->pct(0.5), r.pct(0.99) / base->pct(0.99));
    }
    return r.errors == 0 ? 0 : 2;
  }
  const std::string shape = "-c" + std::to_string(o.clients);
  std::string label = o.label.empty() ? o.workload + shape : o.label;
  std::optional<Result> base;
  zmq::context_t ectx(1);
  std::unique_ptr<EchoServer> echo;
  if (o.baseline || o.workload == "echo") {
    echo = std::make_unique<EchoServer>(ectx);
  }
  if (o.baseline && o.workload != "echo") {
    base = runShape(o, "echo", {echo->endpoint()}, "echo-baseline" + shape);
    print(*base);
  }
  Result r = o.workload == "echo" ? runShape(o, "echo", {echo->endpoint()}, label)
                                  : runShape(o, o.workload, o.addrs, label);
  print(r);
  if (base) {
    std::printf("RATIO %s/echo ops_s=%.3f p50=%.2f p99=%.2f\n", label.c_str(),
                r.opsPerSec() / base->opsPerSec(), r.pct(0.5) / base->pct(0.5),
                r.pct(0.99) / base->pct(0.99));
  }
  return r.errors == 0 ? 0 : 2;
}
