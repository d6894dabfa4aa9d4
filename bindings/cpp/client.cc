#include "bindings/cpp/client.h"

#include "wire/codec.h"

namespace cairn::client {

using wire::Err;
using wire::Request;
using wire::Verb;

std::vector<std::string> splitEndpoints(const std::string& list) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= list.size()) {
    std::size_t j = list.find(',', i);
    if (j == std::string::npos) j = list.size();
    std::string e = list.substr(i, j - i);
    if (!e.empty()) out.push_back(e);
    i = j + 1;
  }
  return out;
}

Client::Client(Options opts)
    : opts_(std::move(opts)), ownCtx_(std::make_unique<zmq::context_t>(1)), ctx_(*ownCtx_) {
  if (opts_.endpoints.empty()) opts_.endpoints.push_back("tcp://127.0.0.1:7101");
  if (opts_.attempts < 1) opts_.attempts = 1;
  reopen();
}

Client::Client(Options opts, zmq::context_t& ctx) : opts_(std::move(opts)), ctx_(ctx) {
  if (opts_.endpoints.empty()) opts_.endpoints.push_back("tcp://127.0.0.1:7101");
  if (opts_.attempts < 1) opts_.attempts = 1;
  reopen();
}

Client::~Client() {
  sock_.reset();
}

void Client::reopen() {
  sock_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::req);
  sock_->set(zmq::sockopt::linger, 0);
  sock_->set(zmq::sockopt::maxmsgsize, std::int64_t{256} << 20);
  sock_->connect(opts_.endpoints[current_]);
}

void Client::failover() {
  current_ = (current_ + 1) % opts_.endpoints.size();
  reopen();
}

Result<wire::Reply> Client::call(const Request& reqIn) {
  Request req = reqIn;
  const bool isRead = req.verb == Verb::kGet || req.verb == Verb::kStat ||
                      req.verb == Verb::kGetdir || req.verb == Verb::kWalk;
  if (isRead && opts_.localReads && !req.consistency) req.consistency = "local";
  const bool repeatable = req.verb != Verb::kSet && req.verb != Verb::kDel;
  const int attempts = repeatable ? opts_.attempts : 1;
  auto timeout = opts_.timeout;
  if (req.timeoutMs) timeout += std::chrono::milliseconds(*req.timeoutMs);
  const std::string body = wire::encodeRequest(req);
  // A node whose disk failed answers IO to everything, and only to requests that never reached
  // consensus (a write it had already handed on gets TIMEOUT): any request may go to the next
  // node, once per other endpoint.
  std::size_t haltedNodes = 0;
  for (int a = 0; a < attempts; ++a) {
    try {
      sock_->send(zmq::buffer(body), zmq::send_flags::none);
      zmq::pollitem_t item{sock_->handle(), 0, ZMQ_POLLIN, 0};
      auto deadline = std::chrono::steady_clock::now() + timeout;
      while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() < 0) left = std::chrono::milliseconds(0);
        try {
          zmq::poll(&item, 1, left);
        } catch (const zmq::error_t& e) {
          if (e.num() == EINTR) continue;
          throw;
        }
        break;
      }
      if (item.revents & ZMQ_POLLIN) {
        zmq::message_t m;
        (void)sock_->recv(m, zmq::recv_flags::none);
        auto r = wire::decodeReply(m.to_string_view());
        if (!r) return Status(Err::kBadRequest, "undecodable reply: " + r.status().detail());
        if (r->err == Err::kIo && ++haltedNodes < opts_.endpoints.size()) {
          failover();
          --a;  // not an attempt of this request: that node serves nobody
          continue;
        }
        if (r->err != Err::kOk) return r->status();
        return r;
      }
    } catch (const zmq::error_t& e) {
      failover();
      return Status(Err::kUnavailable, std::string("socket error: ") + e.what());
    }
    failover();  // Lazy Pirate: a REQ socket that missed its reply cannot be reused
  }
  // A write's outcome is unknown (TIMEOUT); a repeatable request simply found no node
  // (UNAVAILABLE).
  if (!repeatable) {
    return Status(Err::kTimeout, "no reply within " + std::to_string(timeout.count()) +
                                     " ms; the write may or may not have been applied");
  }
  return Status(Err::kUnavailable, "no reply from " + std::to_string(opts_.endpoints.size()) +
                                       " endpoint(s) within " + std::to_string(timeout.count()) +
                                       " ms, " + std::to_string(attempts) + " attempts");
}

Result<File> Client::get(const std::string& path, std::optional<std::int64_t> rev) {
  Request q;
  q.verb = Verb::kGet;
  q.path = path;
  q.rev = rev;
  auto r = call(q);
  if (!r) return r.status();
  return File{r->value.value_or(""), r->rev.value_or(0), r->head.value_or(0)};
}

Result<std::int64_t> Client::set(const std::string& path, const std::string& value,
                                 std::int64_t rev) {
  Request q;
  q.verb = Verb::kSet;
  q.path = path;
  q.value = value;
  q.rev = rev;
  auto r = call(q);
  if (!r) return r.status();
  return r->rev.value_or(0);
}

Result<std::int64_t> Client::del(const std::string& path, std::int64_t rev) {
  Request q;
  q.verb = Verb::kDel;
  q.path = path;
  q.rev = rev;
  auto r = call(q);
  if (!r) return r.status();
  return r->rev.value_or(0);
}

Result<std::int64_t> Client::rev() {
  Request q;
  q.verb = Verb::kRev;
  auto r = call(q);
  if (!r) return r.status();
  return r->rev.value_or(0);
}

Result<std::int64_t> Client::nop() {
  Request q;
  q.verb = Verb::kNop;
  auto r = call(q);
  if (!r) return r.status();
  return r->rev.value_or(0);
}

Result<Info> Client::stat(const std::string& path, std::optional<std::int64_t> rev) {
  Request q;
  q.verb = Verb::kStat;
  q.path = path;
  q.rev = rev;
  auto r = call(q);
  if (!r) return r.status();
  return Info{r->rev.value_or(0), r->len.value_or(0), r->dir.value_or(false), r->head.value_or(0)};
}

Result<std::vector<wire::Entry>> Client::pages(Request q, std::int64_t* head) {
  std::vector<wire::Entry> all;
  while (true) {
    auto r = call(q);
    if (!r) return r.status();
    if (r->entries) {
      for (auto& e : *r->entries)
        all.push_back(std::move(e));
    }
    if (!q.rev) q.rev = r->head;  // later pages read the same revision as the first
    if (!r->next) break;
    q.after = r->next;
  }
  if (head) *head = q.rev.value_or(0);
  return all;
}

Result<std::vector<wire::Entry>> Client::getdir(const std::string& path,
                                                std::optional<std::int64_t> rev,
                                                std::int64_t* head) {
  Request q;
  q.verb = Verb::kGetdir;
  q.path = path;
  q.rev = rev;
  return pages(std::move(q), head);
}

Result<std::vector<wire::Entry>> Client::walk(const std::string& glob,
                                              std::optional<std::int64_t> rev, std::int64_t* head) {
  Request q;
  q.verb = Verb::kWalk;
  q.path = glob;
  q.rev = rev;
  return pages(std::move(q), head);
}

Result<Change> Client::wait(const std::string& glob, std::int64_t rev,
                            std::chrono::milliseconds wait) {
  Request q;
  q.verb = Verb::kWait;
  q.path = glob;
  q.rev = rev;
  q.timeoutMs = wait.count();
  auto r = call(q);
  if (!r) return r.status();
  return Change{r->rev.value_or(0), r->path.value_or(""), r->op.value_or(""),
                r->value.value_or("")};
}

Result<std::vector<Change>> Client::changes(const std::string& glob, std::int64_t rev,
                                            std::int64_t* complete, std::int64_t limit) {
  Request q;
  q.verb = Verb::kChanges;
  q.path = glob;
  q.rev = rev;
  q.limit = limit;
  auto r = call(q);
  if (!r) return r.status();
  std::vector<Change> out;
  if (r->entries) {
    for (auto& e : *r->entries) {
      out.push_back(Change{e.rev, std::move(e.path), e.op.value_or(""), e.value.value_or("")});
    }
  }
  if (complete) *complete = r->head.value_or(0);
  return out;
}

Result<wire::Reply> Client::self() {
  Request q;
  q.verb = Verb::kSelf;
  return call(q);
}

}  // namespace cairn::client
