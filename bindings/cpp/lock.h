#pragma once
// Mutex and Election: the lock and leader-election recipes on leases (PROTOCOL.md §7, "Locks and
// elections"). Both are a queue of files under a directory, one per contender, each named after
// its lease and kept by it: the oldest file (lowest rev) holds the lock, or leads. A contender
// waits on the file just before its own only (WAIT on that path), so a release wakes one waiter:
// first come, first served, with no thundering herd. A contender that dies stops its keep-alives,
// its lease ends, its file goes, and the next one moves up.
//
// The holder's fencing token is the rev of its file: strictly larger than every earlier holder's
// (files are created in queue order and never rewritten). A resource that remembers the largest
// token it has seen and refuses smaller ones cannot be written by a holder that lost the lock
// without knowing (a long pause, a partition): the lease ended, a later holder wrote with a larger
// token, and the stale holder's write is refused.
//
// Not thread-safe: one Mutex or Election per thread, each with its own Client.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "bindings/cpp/client.h"
#include "bindings/cpp/lease.h"

namespace cairn::client {

class Mutex {
 public:
  // `dir`: the lock's directory (e.g. "/locks/deploy"); `lease` keeps this contender's file.
  Mutex(Client& client, const Lease& lease, std::string dir);

  // Queues (once) and waits its turn; the fencing token. TIMEOUT when `timeout` passed first, or
  // `stop` (asked a few times a second) returned true: its place is given up. NOENT when its lease
  // ended meanwhile (its file went with it).
  Result<std::int64_t> lock(std::chrono::milliseconds timeout = std::chrono::hours(24 * 365),
                            const std::function<bool()>& stop = {});
  // Leaves the queue (releases the lock if held).
  Status unlock();

  const std::string& key() const { return key_; }  // this contender's file
  std::int64_t token() const { return rev_; }      // 0 until queued

 private:
  friend class Election;
  Client& c_;
  const Lease& lease_;
  std::string dir_;
  std::string key_;
  std::string value_;  // the file's contents (an Election's candidate value)
  std::int64_t rev_ = 0;
};

// A leader as an Election sees it: the oldest candidate's file.
struct Leader {
  std::string key;
  std::string value;
  std::int64_t rev = 0;  // its file's rev: the leader's term, larger for every later leader
};

class Election {
 public:
  Election(Client& client, const Lease& lease, std::string dir);
  // Stands with `value` and returns once this candidate leads (TIMEOUT, NOENT as for lock()).
  Result<std::int64_t> campaign(const std::string& value,
                                std::chrono::milliseconds timeout = std::chrono::hours(24 * 365),
                                const std::function<bool()>& stop = {});
  Status resign();
  // The leader now; NOENT when nobody stands.
  Result<Leader> leader();

 private:
  Mutex queue_;
  std::string value_;
};

// The leader of the election in `dir`, as anyone may read it.
Result<Leader> leaderOf(Client& client, const std::string& dir);

}  // namespace cairn::client
