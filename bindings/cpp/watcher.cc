#include "bindings/cpp/watcher.h"

#include <algorithm>
#include <thread>

#include "wire/codec.h"

namespace cairn::client {

using wire::Err;

namespace {

const wire::PrefixRev* claimFor(const std::vector<wire::PrefixRev>& claims,
                                const std::string& prefix) {
  for (const auto& c : claims) {
    if (c.prefix == prefix) return &c;
  }
  return nullptr;
}

// Errors that no other node would answer differently (PERMISSION: every node holds the same
// grants for the same user, as far as the watcher can tell).
bool isFinal(Err e) {
  return e == Err::kBadPath || e == Err::kRange || e == Err::kMissingArg ||
         e == Err::kUnknownVerb || e == Err::kBadRequest || e == Err::kPermission;
}

}  // namespace

std::string globPrefix(const std::string& glob) {
  std::size_t n = glob.find_first_of("*?");
  return n == std::string::npos ? glob : glob.substr(0, n);
}

Watcher::Watcher(WatchOptions opts) : opts_(std::move(opts)) {
  if (opts_.endpoints.empty()) opts_.endpoints.push_back("tcp://127.0.0.1:7101");
  if (opts_.pageSize < 1) opts_.pageSize = 1;
  auto g = wire::Glob::compile(opts_.glob);
  if (!g) {
    bad_ = g.status();
  } else {
    glob_ = std::move(g.value());
  }
  if (opts_.fromRev && *opts_.fromRev < 0) bad_ = Status(Err::kRange, "the first rev is >= 0");
  prefix_ = globPrefix(opts_.glob);
  retryAt_ = Clock::now();
}

Watcher::~Watcher() {
  sub_.reset();
  client_.reset();
}

std::string Watcher::node() const {
  return sub_ ? opts_.endpoints[current_] : std::string();
}

bool Watcher::attach() {
  Options o;
  o.endpoints = {opts_.endpoints[current_]};
  o.timeout = opts_.timeout;
  o.attempts = 1;
  o.key = opts_.key;
  o.serverKey = opts_.serverKey;
  client_ = std::make_unique<Client>(o, ctx_);
  auto self = client_->self();
  if (!self) {
    const Err e = self.status().code();
    if (e == Err::kPermission || e == Err::kBadRequest) {
      // The keys, not the node: once every node has said so, the watch ends with why.
      if (++refusals_ >= opts_.endpoints.size()) ended_ = self.status();
    }
  } else {
    refusals_ = 0;
  }
  if (!self || !self->events || self->events->empty()) {
    client_.reset();
    return false;
  }
  sub_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::sub);
  auto feed = secureSocket(*sub_, *self->events, opts_.key, opts_.serverKey);
  if (!feed) {
    ended_ = feed.status();
    sub_.reset();
    client_.reset();
    return false;
  }
  sub_->set(zmq::sockopt::linger, 0);
  // No reconnection behind our back: the subscriptions a reconnection sends again take effect in
  // any order (the heartbeats' may come before the prefix's), and a heartbeat might then seem to
  // continue the chain while a change went unclaimed. A lost connection falls silent instead, and
  // ends in a new subscription (step 4 of PROTOCOL.md §9.4).
  sub_->set(zmq::sockopt::reconnect_ivl, -1);
  sub_->set(zmq::sockopt::rcvhwm, 100000);
  sub_->set(zmq::sockopt::maxmsgsize, std::int64_t{256} << 20);
  sub_->set(zmq::sockopt::subscribe, prefix_);
  sub_->set(zmq::sockopt::subscribe, std::string(wire::kHeartbeatTopic));
  try {
    sub_->connect(*feed);
  } catch (const zmq::error_t&) {
    sub_.reset();
    client_.reset();
    return false;
  }
  if (complete_ < 0) {
    complete_ =
        opts_.fromRev ? std::max<std::int64_t>(0, *opts_.fromRev - 1) : self->rev.value_or(0);
    reported_ = complete_;
    delivered_ = complete_;
  }
  // Whatever the subscription missed before it took effect comes from history.
  needFill_ = true;
  haveBeat_ = false;
  lastBeat_ = lastPoll_ = Clock::now();
  leaderlessSince_.reset();
  return true;
}

void Watcher::detach(const std::string& why) {
  sub_.reset();
  client_.reset();
  haveBeat_ = false;
  if (!why.empty()) {
    lastSwitch_ = "left " + opts_.endpoints[current_] + ": " + why;
    ++stats_.switches;
  }
  current_ = (current_ + 1) % opts_.endpoints.size();
}

void Watcher::queueProgress() {
  if (complete_ <= reported_) return;
  Notice n;
  n.kind = Notice::Kind::kProgress;
  n.complete = complete_;
  queue_.push_back(std::move(n));
  reported_ = complete_;
}

void Watcher::fillOnce() {
  std::int64_t upTo = 0;
  auto page = client_->changes(opts_.glob, complete_ + 1, &upTo, opts_.pageSize);
  if (!page) {
    const Err e = page.status().code();
    if (isFinal(e)) {
      ended_ = page.status();
    } else if (e == Err::kTooLate && ++tooLate_ >= opts_.endpoints.size()) {
      ended_ = Status(Err::kTooLate, "history before rev " + std::to_string(complete_ + 1) +
                                         " is compacted on every node (" + page.status().detail() +
                                         "); read the state at a rev " +
                                         "and watch again from the rev after it");
    } else {
      detach("its history: " + page.status().toString());  // another node may serve it
    }
    return;
  }
  tooLate_ = 0;
  // The last page reaches past its last change (to the node's head); a page cut short by its
  // size ends at its last change, and so may one that happens to end at the head: ask again.
  const bool last = page->empty() || upTo > page->back().rev;
  const std::int64_t before = complete_;  // a page holds whole revs: all of a rev, or none
  for (std::size_t i = 0; i < page->size(); ++i) {
    auto& c = (*page)[i];
    if (c.rev <= before) continue;
    complete_ = c.rev;
    Notice n;
    // A rev is complete with its last change (several may share it).
    const bool more = i + 1 < page->size() && (*page)[i + 1].rev == c.rev;
    n.complete = more ? c.rev - 1 : c.rev;
    n.change = std::move(c);
    queue_.push_back(std::move(n));
    reported_ = complete_;
    ++stats_.fromHistory;
  }
  complete_ = std::max(complete_, upTo);
  if (last) needFill_ = false;
  queueProgress();
}

void Watcher::onEvent(std::string_view body) {
  if (needFill_) return;  // history will bring it, in order
  auto e = wire::decodeEvent(body);
  if (!e) {
    needFill_ = true;
    return;
  }
  if (e->rev <= complete_) {
    ++stats_.duplicates;
    return;
  }
  if (e->n > 1) {
    // One of several changes at its rev: history has the rev whole (a CHANGES page never splits
    // one), so the rev is delivered at once and all of it, never a part.
    needFill_ = true;
    return;
  }
  // Deliverable only if nothing under the prefix lies between what was delivered and this.
  const wire::PrefixRev* claim = claimFor(e->prev, prefix_);
  if (!claim || claim->rev > complete_) {
    if (claim) ++stats_.gaps;
    needFill_ = true;
    return;
  }
  complete_ = e->rev;
  if (!glob_->matches(e->path)) return;
  Notice n;
  n.complete = e->rev;
  n.change = Change{e->rev, std::move(e->path), std::move(e->op), std::move(e->value)};
  queue_.push_back(std::move(n));
  reported_ = complete_;
  ++stats_.fromFeed;
}

void Watcher::onHeartbeat(std::string_view body) {
  auto h = wire::decodeHeartbeat(body);
  if (!h) {
    needFill_ = true;
    return;
  }
  const auto now = Clock::now();
  lastBeat_ = now;
  ++stats_.heartbeats;
  if (h->leader != 0) {
    leaderlessSince_.reset();
  } else if (!leaderlessSince_) {
    leaderlessSince_ = now;
  }
  // (in unsigned arithmetic: a seq of 2^63-1 from a node must not overflow here)
  const bool joined = haveBeat_ && h->boot == boot_ && h->id == nodeId_ &&
                      static_cast<std::uint64_t>(h->seq) == static_cast<std::uint64_t>(seq_) + 1;
  if (haveBeat_ && !joined) ++stats_.gaps;
  haveBeat_ = true;
  boot_ = h->boot;
  seq_ = h->seq;
  nodeId_ = h->id;
  // A missed heartbeat, or a node that cannot track every prefix: only history can tell.
  if (!joined || h->partial) {
    needFill_ = true;
    return;
  }
  const wire::PrefixRev* claim = claimFor(h->last, prefix_);
  if (claim && claim->rev > complete_) {
    ++stats_.gaps;  // the latest change under the prefix never arrived
    needFill_ = true;
    return;
  }
  if (needFill_) return;
  // Nothing under the prefix after what was delivered, up to the head this heartbeat carries.
  complete_ = std::max(complete_, h->rev);
  queueProgress();
}

Result<std::optional<Notice>> Watcher::next(std::chrono::milliseconds wait) {
  if (!bad_.isOk()) return bad_;
  const auto deadline = Clock::now() + wait;
  std::size_t unreachable = 0;
  while (true) {
    if (!queue_.empty()) {
      Notice n = std::move(queue_.front());
      queue_.pop_front();
      delivered_ = n.complete;
      return std::optional<Notice>(std::move(n));
    }
    if (ended_) return *ended_;
    auto now = Clock::now();
    if (!sub_) {
      if (now < retryAt_) {
        if (retryAt_ >= deadline) {
          std::this_thread::sleep_until(deadline);
          return std::optional<Notice>();
        }
        std::this_thread::sleep_until(retryAt_);
        continue;
      }
      if (attach()) continue;
      detach("");
      // Every node tried and none answered: pause before the next round.
      if (++unreachable % opts_.endpoints.size() == 0) {
        retryAt_ = Clock::now() + std::chrono::milliseconds(200);
      }
      if (Clock::now() >= deadline) return std::optional<Notice>();
      continue;
    }
    if (needFill_) {
      fillOnce();
      continue;
    }
    // Away from the socket for long (a slow consumer, a stopped process): the heartbeats are
    // queued or were dropped, which the next ones will show; silence counts from now.
    if (now - lastPoll_ > opts_.silence / 2) lastBeat_ = std::max(lastBeat_, now);
    const auto silentAt = lastBeat_ + opts_.silence;
    const bool leaderless =
        leaderlessSince_ && opts_.endpoints.size() > 1 && now - *leaderlessSince_ >= opts_.silence;
    if (leaderless) {
      detach("it has known no leader for " + std::to_string(opts_.silence.count()) + " ms");
      continue;
    }
    auto until = std::min(deadline, silentAt);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    zmq::pollitem_t item{sub_->handle(), 0, ZMQ_POLLIN, 0};
    const auto pollStart = Clock::now();
    try {
      zmq::poll(&item, 1, left);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    lastPoll_ = Clock::now();
    if (lastPoll_ - pollStart > left + opts_.silence / 2) {
      // The poll took far longer than asked: this process was stopped, not the node silent.
      lastBeat_ = lastPoll_;
      continue;
    }
    if (item.revents & ZMQ_POLLIN) {
      // A batch of what is queued; heartbeats are read before silence is judged.
      for (int i = 0; i < 1024 && !needFill_; ++i) {
        zmq::message_t topic, body;
        if (!sub_->recv(topic, zmq::recv_flags::dontwait)) break;
        if (!topic.more()) continue;
        (void)sub_->recv(body, zmq::recv_flags::none);
        while (body.more()) {  // not our framing: skip the rest of the message
          zmq::message_t rest;
          (void)sub_->recv(rest, zmq::recv_flags::none);
          if (!rest.more()) break;
        }
        if (wire::isHeartbeatTopic(topic.to_string_view())) {
          onHeartbeat(body.to_string_view());
        } else {
          onEvent(body.to_string_view());
        }
      }
      continue;
    }
    now = Clock::now();
    if (now >= silentAt) {
      // No heartbeat: the node, or the way to it, is gone.
      detach("no heartbeat for " + std::to_string(opts_.silence.count()) + " ms");
      continue;
    }
    if (now >= deadline) return std::optional<Notice>();
  }
}

}  // namespace cairn::client
