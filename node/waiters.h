#pragma once
// Waiters: every client request that waits for something — its write to be applied, a read point
// a quorum confirmed, a future rev, a matching change — and the deadline by which it gives up.
//
// Owns: the waiting requests and one index of their deadlines. Called by: the node's event loop,
// which tells it what moved (a write's outcome, a read point, the applied head) and the time; no
// clock of its own, no socket: replies leave through the Send hook, reads are served by the
// ClientService. The earliest deadline is O(1), for the loop's wake-up.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "node/applier.h"
#include "node/client_service.h"
#include "node/envelope.h"
#include "node/stats.h"

namespace cairn::node {

class Waiters {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hooks {
    std::function<void(const Envelope&, wire::Reply&, const std::string& tag)> send;
    // Asks for a read point for linearizable read `ctx`; false when no leader is known yet (it is
    // asked again on a later turn).
    std::function<bool(std::uint64_t ctx)> askReadIndex;
    // Asks this node's core, and it only, to confirm with a quorum that it still leads (a read
    // point for `ctx` of its own); false when it does not lead.
    std::function<bool(std::uint64_t ctx)> askLeadership;
    // Takes back a write that has not left this node; true if it was still here.
    std::function<bool(std::uint64_t proposal)> withdraw;
    // True while a write has not left this node (a new leader will get it).
    std::function<bool(std::uint64_t proposal)> queued;
  };

  Waiters(const ClientService& service, Stats& stats, Hooks hooks);

  // Turns a waiting Action (kWrite, kLinearRead, kPark) into a waiter. For a write, returns the
  // proposal id to propose its command under; 0 otherwise.
  std::uint64_t add(Envelope env, Action a, Clock::time_point now);

  // A reply that may leave only once a quorum confirmed, after now, that this node leads (a
  // KEEPALIVE: the leader's clock renewed a lease). If it does not lead, or stops leading before
  // the confirmation, the client hears NOT_LEADER or UNAVAILABLE instead, never the reply.
  void confirm(Envelope env, wire::Reply reply, std::string tag, Clock::time_point now);

  // What became of this node's writes.
  void applied(const Applier::Outcome& o, Clock::time_point now);
  void refused(std::uint64_t proposal);  // no leader can order it now: UNAVAILABLE
  // The leader changed: writes that already left may be lost, and their clients hear so now
  // (TIMEOUT, outcome unknown) rather than at their deadline.
  void leaderChanged();

  // A quorum confirmed read point `index` for linearizable read `ctx`, or the core gave it up.
  void readPoint(std::uint64_t ctx, std::uint64_t index);
  void readPointLost(std::uint64_t ctx);

  // Answers what the applied head and the chosen prefix (`learned`) now allow, asks read points
  // not yet asked, and expires what passed its deadline.
  void service(std::uint64_t learned, Clock::time_point now);

  // The grants changed: a parked request, or a read waiting for its read point, that its user may
  // no longer make is answered now, as the same request would be (PERMISSION).
  void regranted();

  // The node halted (`why`): every waiter is answered now. A write that left this node may still
  // be chosen by the others, or survive in what reached the disk, so it is TIMEOUT (outcome
  // unknown); one still queued here was not applied, and it and every read get `why`.
  void abandon(const wire::Status& why);

  std::optional<Clock::time_point> earliest() const;
  std::size_t size() const { return writes_.size() + reads_.size() + parked_.size(); }

 private:
  using Deadlines = std::multimap<Clock::time_point, std::uint64_t>;
  struct Write {
    Envelope env;
    std::string tag;
    Clock::time_point start;
    std::chrono::milliseconds wait;  // how long it may wait, as its timeout error quotes it
    Deadlines::iterator deadline;
  };
  struct LinearRead {
    Envelope env;
    wire::Request req;
    std::chrono::milliseconds wait;
    Deadlines::iterator deadline;
    std::optional<std::uint64_t> index;  // the read point, once confirmed
    bool asked = false;
    std::optional<wire::Reply> prepared;  // confirm(): sent as it is, once this node is confirmed
  };
  struct Parked {
    Envelope env;
    wire::Request req;
    std::optional<wire::Glob> glob;  // WAIT; else a read at rev `from`
    std::int64_t from = 0;
    Deadlines::iterator deadline;
  };

  void answer(const Envelope& env, wire::Reply r, const std::string& tag);
  void expire(Clock::time_point now);
  void serveParked();
  // Answers, and forgets, each waiter in `waiting` that `replyFor(id, waiter)` has a reply for now.
  template <typename Waiting, typename ReplyFor>
  void answerEach(Waiting& waiting, ReplyFor replyFor);

  const ClientService& service_;
  Stats& stats_;
  Hooks hooks_;
  std::uint64_t next_ = 1;  // ids of every kind share one sequence: a deadline names one waiter
  std::unordered_map<std::uint64_t, Write> writes_;
  std::map<std::uint64_t, LinearRead> reads_;
  std::map<std::uint64_t, Parked> parked_;
  Deadlines deadlines_;
  std::int64_t servedHead_ = -1;  // the head at which every parked request was last checked
};

}  // namespace cairn::node
