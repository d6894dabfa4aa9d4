#include "tests/fault/recorder.h"

#include <limits>
#include <sstream>

namespace cairn::fault {

using wire::Err;

HistoryRecorder::HistoryRecorder(std::vector<std::string> endpoints, std::string glob,
                                 client::Options base)
    : endpoints_(std::move(endpoints)),
      glob_(std::move(glob)),
      lastAnswer_(endpoints_.size(), "not asked"),
      revsFrom_(endpoints_.size(), 0) {
  for (const auto& ep : endpoints_) {
    client::Options o = base;
    o.endpoints = {ep};
    // A stopped node must not hold up the round: one short attempt, then the next node.
    o.timeout = std::chrono::milliseconds(500);
    // A node not started yet (an id set aside for a node that joins later) must not either.
    o.connectTimeout = std::chrono::milliseconds(200);
    o.attempts = 1;
    clients_.push_back(std::make_unique<client::Client>(o));
  }
}

HistoryRecorder::~HistoryRecorder() {
  stop();
}

void HistoryRecorder::start(std::chrono::milliseconds every) {
  thread_ = std::thread([this, every] {
    while (!stop_ && failure_.empty()) {
      round(std::numeric_limits<std::int64_t>::max());
      const auto until = std::chrono::steady_clock::now() + every;
      while (!stop_ && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the recording period
    }
  });
}

void HistoryRecorder::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  stop_ = false;  // finish() reads on
}

void HistoryRecorder::round(std::int64_t upTo) {
  ++rounds_;
  const std::size_t n = endpoints_.size();
  const std::size_t begin = first_;
  for (std::size_t k = 0; k < n && !stop_; ++k) {
    if (!readNode((begin + k) % n, upTo)) return;
  }
}

bool HistoryRecorder::readNode(std::size_t i, std::int64_t upTo) {
  const std::string node = "node " + std::to_string(i + 1);
  while (!stop_ && next_ <= upTo) {
    std::int64_t complete = 0;
    auto page = clients_[i]->changes(glob_, next_, &complete, 1000);
    if (!page) {
      lastAnswer_[i] = page.status().toString() + " for rev " + std::to_string(next_);
      if (page.status().code() != Err::kTooLate) return true;  // down or stopped: the next node
      ++tooLate_;
      late_.insert(i);
      if (late_.size() < endpoints_.size()) return true;
      std::ostringstream o;
      o << "the history of " << glob_ << " from rev " << next_
        << " can be read from no node: every node answered TOO_LATE (";
      for (std::size_t j = 0; j < endpoints_.size(); ++j)
        o << (j ? "; " : "") << "node " << j + 1 << ": " << lastAnswer_[j];
      o << "); it was recorded through rev " << next_ - 1;
      failure_ = o.str();
      return false;
    }
    ++pages_;
    // The page must continue the history exactly: revs from next_ on, in order, none past what
    // the page claims to be complete through. Several changes may share a rev (a lease's end, a
    // TXN), each of another path; a page holds all of a rev's changes or none, so a rev never
    // continues from one page to the next (next_ is past every rev recorded).
    std::set<std::string> atLast;  // the paths changed at the page's last rev so far
    for (const auto& ch : *page) {
      const std::int64_t last = history_.empty() ? 0 : history_.back().rev;
      if (ch.rev != last) atLast.clear();
      if (ch.rev < next_ || ch.rev > complete || ch.rev < last || !atLast.insert(ch.path).second) {
        failure_ = node + " answered CHANGES from rev " + std::to_string(next_) +
                   " with a page complete through rev " + std::to_string(complete) +
                   " that holds rev " + std::to_string(ch.rev) + " (" + ch.op + " " + ch.path +
                   ") after rev " + std::to_string(last) + ": it does not continue the history";
        return false;
      }
      history_.push_back(Change{ch.rev, ch.path, ch.op, ch.value});
    }
    if (complete < next_) {  // the node has not reached next_ (it is behind, or a minority's)
      lastAnswer_[i] = "behind: at rev " + std::to_string(complete);
      return true;
    }
    lastAnswer_[i] = "served revs " + std::to_string(next_) + ".." + std::to_string(complete);
    revsFrom_[i] += complete - next_ + 1;
    if (lastServer_ != i) {
      if (lastServer_ != SIZE_MAX) ++switches_;
      lastServer_ = i;
    }
    next_ = complete + 1;
    late_.clear();
    first_ = i;
  }
  return true;
}

bool HistoryRecorder::finish(std::int64_t upTo, std::chrono::steady_clock::time_point deadline) {
  while (failure_.empty() && next_ <= upTo) {
    round(upTo);
    if (!failure_.empty() || next_ > upTo) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      std::ostringstream o;
      o << "the history of " << glob_ << " was recorded through rev " << next_ - 1
        << " and no node served more before the deadline (wanted through rev " << upTo << "; ";
      for (std::size_t j = 0; j < endpoints_.size(); ++j)
        o << (j ? "; " : "") << "node " << j + 1 << ": " << lastAnswer_[j];
      o << ")";
      failure_ = o.str();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // nodes catching up: poll
  }
  return failure_.empty();
}

std::string HistoryRecorder::summary() const {
  std::ostringstream o;
  o << rounds_ << " rounds, " << pages_ << " pages, " << history_.size() << " changes through rev "
    << next_ - 1 << "; revs served by";
  for (std::size_t j = 0; j < revsFrom_.size(); ++j)
    o << (j ? "," : "") << " node " << j + 1 << " " << revsFrom_[j];
  o << "; " << switches_ << " switches between nodes; " << tooLate_ << " TOO_LATE answers";
  return o.str();
}

}  // namespace cairn::fault
