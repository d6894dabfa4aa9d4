// The history recorder stitches CHANGES pages read from several nodes, each of which holds only a
// stretch of the history; it must produce the exact history, or fail loudly — never leave a gap.
// The nodes here are fake: ROUTER sockets that answer CHANGES from a scripted history.

#include "tests/fault/recorder.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include <zmq.hpp>

#include "wire/codec.h"

using namespace cairn;
using fault::Change;
using fault::HistoryRecorder;

namespace {

// The history every fake node shares: a matching change at every even rev, and at every tenth rev
// two more (a TXN's writes, or a lease's end: several changes at one rev).
std::vector<Change> history(std::int64_t upTo) {
  std::vector<Change> h;
  for (std::int64_t r = 2; r <= upTo; r += 2) {
    h.push_back(Change{r, "/fault/k" + std::to_string(r % 3), r % 4 ? "set" : "del",
                       r % 4 ? "v" + std::to_string(r) : ""});
    if (r % 10 == 0) {
      h.push_back(Change{r, "/fault/t/a", "set", "a" + std::to_string(r)});
      h.push_back(Change{r, "/fault/t/b", "set", "b" + std::to_string(r)});
    }
  }
  return h;
}

// A node that has applied revs through `head` and holds the changes from rev `from` on, answering
// CHANGES as a node's store does (Store::changes): TOO_LATE below `from`, pages of at most
// `limit` changes (more when the last rev has several: a page never splits a rev), each complete
// through its last change when cut short and through the head otherwise. `corrupt` slips a change
// past the page's complete rev into every page; `repeat` repeats each page's last change.
class FakeNode {
 public:
  FakeNode(std::int64_t from, std::int64_t head) { hold(from, head); }
  // The stretch it holds from now on (a node that restarted from a snapshot holds a later one).
  void hold(std::int64_t from, std::int64_t head) {
    from_ = from;
    head_ = head;
    if (!thread_.joinable()) start();
  }
  const std::string& endpoint() const { return endpoint_; }
  std::atomic<bool> corrupt{false}, repeat{false};
  std::atomic<std::int64_t> limit{1000};  // at most this many changes a page (a rev whole)
  ~FakeNode() {
    stop_ = true;
    thread_.join();
  }

 private:
  void start() {
    sock_.bind("tcp://127.0.0.1:*");
    endpoint_ = sock_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { serve(); });
  }
  void serve() {
    const auto all = history(1000);
    wire::DecodeLimits limits;
    while (!stop_) {
      zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(20));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t id, empty, body;
      (void)sock_.recv(id);
      (void)sock_.recv(empty);
      (void)sock_.recv(body);
      wire::Request q;
      wire::Reply r;
      // (Catch2 cannot assert on this thread: a request it cannot serve gets an error reply.)
      const bool ok = wire::decodeRequest(body.to_string_view(), limits, &q).isOk() &&
                      q.verb == wire::Verb::kChanges && q.rev;
      const std::int64_t rev = ok ? std::max<std::int64_t>(*q.rev, 1) : 0;
      if (!ok) {
        r = wire::Reply::error(wire::Err::kBadRequest, "the fake node serves only CHANGES");
      } else if (rev < from_) {
        r = wire::Reply::error(wire::Err::kTooLate, "changes before rev " + std::to_string(from_) +
                                                        " are no longer retained");
      } else {
        const std::int64_t head = head_;
        r.entries.emplace();
        r.head = head;
        for (const auto& c : all) {
          if (c.rev < rev || c.rev > head) continue;
          if (static_cast<std::int64_t>(r.entries->size()) >=
                  std::min<std::int64_t>(limit, q.limit.value_or(1000)) &&
              c.rev != r.entries->back().rev) {
            r.head = r.entries->back().rev;
            break;
          }
          wire::Entry e;
          e.path = c.path;
          e.rev = c.rev;
          e.op = c.op;
          e.value = c.value;
          r.entries->push_back(e);
        }
        if (corrupt && !r.entries->empty()) {
          wire::Entry e = r.entries->back();
          e.rev = *r.head + 1;
          r.entries->push_back(e);
        }
        if (repeat && !r.entries->empty()) r.entries->push_back(r.entries->back());
      }
      sock_.send(id, zmq::send_flags::sndmore);
      sock_.send(zmq::message_t(), zmq::send_flags::sndmore);
      sock_.send(zmq::buffer(wire::encodeReply(r)), zmq::send_flags::none);
    }
  }

  std::atomic<std::int64_t> from_{0}, head_{0};
  zmq::context_t ctx_{1};
  zmq::socket_t sock_{ctx_, zmq::socket_type::router};
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::chrono::steady_clock::time_point in(int ms) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
}

}  // namespace

TEST_CASE("recorder: stretches held by different nodes are stitched into the whole history",
          "[fault]") {
  // No node holds it all: node 1 has revs 1..400, node 2 300..700, node 3 650..900, and pages
  // hold at most 1000 changes, so node 1's stretch takes one page and the others follow on.
  FakeNode n1(1, 400), n2(300, 700), n3(650, 900);
  HistoryRecorder rec({n3.endpoint(), n2.endpoint(), n1.endpoint()}, "/fault/**");
  REQUIRE(rec.finish(900, in(5000)));
  CHECK(rec.failure().empty());
  CHECK(rec.history() == history(900));
  CHECK(rec.reached() == 900);
  // (node i of the summary is endpoint i: n3 is node 1)
  CHECK(rec.summary().find("node 1 200, node 2 300, node 3 400") != std::string::npos);
}

TEST_CASE("recorder: a range that every node answers TOO_LATE for fails the recording", "[fault]") {
  FakeNode n1(1, 100), n2(201, 400), n3(301, 400);
  {
    // Node 1 is only behind: it may still reach rev 101, so revs 101..200 are not lost yet.
    HistoryRecorder rec({n1.endpoint(), n2.endpoint(), n3.endpoint()}, "/fault/**");
    CHECK(!rec.finish(400, in(300)));
    CHECK(rec.reached() == 100);
    CHECK(rec.failure().find("no node served more before the deadline") != std::string::npos);
  }
  HistoryRecorder rec({n1.endpoint(), n2.endpoint(), n3.endpoint()}, "/fault/**");
  REQUIRE(rec.finish(100, in(5000)));
  // Then it restarts from a snapshot at rev 300: no node can ever serve rev 101 again.
  n1.hold(301, 400);
  CHECK(!rec.finish(400, in(5000)));
  CHECK(rec.reached() == 100);
  CHECK(rec.history() == history(100));
  CHECK(rec.failure().find("from rev 101 can be read from no node") != std::string::npos);
  CHECK(rec.failure().find("node 3: TOO_LATE: changes before rev 301") != std::string::npos);
}

TEST_CASE("recorder: a node that does not answer is not taken for one that lacks the revs",
          "[fault]") {
  FakeNode n1(1, 100), n2(201, 400);
  // Nothing listens on the third endpoint: that node may hold revs 101..200, so the stretch is
  // not lost, only not read in time.
  HistoryRecorder rec({n1.endpoint(), n2.endpoint(), "tcp://127.0.0.1:1"}, "/fault/**");
  CHECK(!rec.finish(400, in(1500)));
  CHECK(rec.failure().find("no node served more before the deadline") != std::string::npos);
  CHECK(rec.failure().find("can be read from no node") == std::string::npos);
}

TEST_CASE("recorder: a page that does not continue the history fails the recording", "[fault]") {
  FakeNode n1(1, 100);
  n1.corrupt = true;
  HistoryRecorder rec({n1.endpoint()}, "/fault/**");
  CHECK(!rec.finish(100, in(2000)));
  CHECK(rec.failure().find("does not continue the history") != std::string::npos);
}

TEST_CASE("recorder: revs of several changes are recorded whole, across short pages", "[fault]") {
  // Pages of at most 7 changes end inside no rev: those ending at a tenth rev pass the limit.
  FakeNode n1(1, 200);
  n1.limit = 7;
  HistoryRecorder rec({n1.endpoint()}, "/fault/**");
  REQUIRE(rec.finish(200, in(5000)));
  CHECK(rec.history() == history(200));
  CHECK(rec.history().size() == 140);
  // The same change twice at its rev is not a second change of that rev.
  FakeNode n2(1, 100);
  n2.repeat = true;
  HistoryRecorder dup({n2.endpoint()}, "/fault/**");
  CHECK(!dup.finish(100, in(2000)));
  CHECK(dup.failure().find("does not continue the history") != std::string::npos);
}

TEST_CASE("recorder: the thread records as the nodes advance, and stop() ends it", "[fault]") {
  FakeNode n1(1, 300);
  HistoryRecorder rec({n1.endpoint()}, "/fault/**");
  rec.start(std::chrono::milliseconds(10));
  const auto deadline = in(5000);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    rec.stop();
    if (rec.reached() == 300) break;
    rec.start(std::chrono::milliseconds(10));
  }
  CHECK(rec.reached() == 300);
  CHECK(rec.history() == history(300));
  CHECK(rec.failure().empty());
}
