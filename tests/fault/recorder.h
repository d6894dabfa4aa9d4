#pragma once
// The store's history of a glob, recorded while the cluster runs.
//
// A node keeps its history (CHANGES) only from the snapshot it started from or installed, so with
// snapshots on, no node may still hold the whole run at its end. The recorder reads CHANGES pages
// every `every` from the rev it has reached on, from each node in turn, and stitches the pages:
// every node applies the same chosen log, so its history is a prefix of the same sequence and a
// page from any node continues what another node's pages began. A node that no longer holds the
// next rev answers TOO_LATE, one that has not reached it yet answers with a page complete below
// it, one that is down or stopped does not answer: the recorder goes on to the next node.
//
// A range of revs that every node has answered TOO_LATE for is lost for good (a node's history
// only ever starts later: it restarts from its newest snapshot, or installs a newer one), and
// that is a failure of the harness, never a gap the checkers are left to skip. So is a page that
// does not continue the history: a rev below the one reached, or past what the page says it is
// complete to, revs out of order, or one path twice at one rev (a rev may hold several changes: a
// lease's end, a TXN's writes; a page brings them all).
//
// Thread: start() runs the rounds on a thread of its own; stop() joins it, and everything else is
// called after stop() (or before start()).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bindings/cpp/client.h"
#include "tests/fault/checker.h"

namespace cairn::fault {

class HistoryRecorder {
 public:
  // `endpoints`: each node's client endpoint (node id i at i - 1), the same across restarts.
  // `base`: the options each node's client starts from (its key pair with CURVE on); the recorder
  // sets the endpoint, the timeouts and the attempts.
  HistoryRecorder(std::vector<std::string> endpoints, std::string glob, client::Options base = {});
  ~HistoryRecorder();
  HistoryRecorder(const HistoryRecorder&) = delete;
  HistoryRecorder& operator=(const HistoryRecorder&) = delete;

  // Reads every `every` until stop().
  void start(std::chrono::milliseconds every);
  void stop();

  // Reads on until the history is complete through `upTo`, polling the nodes until `deadline`.
  // False when it could not: failure() says why (a lost range, a page that does not continue the
  // history, or nodes that did not reach `upTo` in time).
  bool finish(std::int64_t upTo, std::chrono::steady_clock::time_point deadline);

  // Every change recorded, in rev order, complete through reached() (it may hold changes past an
  // upTo that finish() was given: the last pages read reach the nodes' heads).
  const std::vector<Change>& history() const { return history_; }
  std::int64_t reached() const { return next_ - 1; }
  const std::string& failure() const { return failure_; }
  // One line: the rounds, the pages, which nodes served how many revs, the TOO_LATE answers.
  std::string summary() const;

 private:
  // One pass over the nodes, each read as far as it goes (at most through upTo).
  void round(std::int64_t upTo);
  // Reads node i from next_ on while it has more; false once the recording has failed.
  bool readNode(std::size_t i, std::int64_t upTo);

  std::vector<std::string> endpoints_;
  std::string glob_;
  std::vector<std::unique_ptr<client::Client>> clients_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  std::vector<Change> history_;
  std::int64_t next_ = 1;                // every change below this rev is in history_
  std::size_t first_ = 0;                // the node a round starts with: the one that served last
  std::set<std::size_t> late_;           // nodes that answered TOO_LATE at next_
  std::vector<std::string> lastAnswer_;  // per node, for the failure messages
  std::string failure_;
  // For summary().
  std::int64_t rounds_ = 0, pages_ = 0, tooLate_ = 0, switches_ = 0;
  std::vector<std::int64_t> revsFrom_;  // per node: revs of history it served
  std::size_t lastServer_ = SIZE_MAX;
};

}  // namespace cairn::fault
