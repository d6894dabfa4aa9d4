#pragma once
// The C++ client library: every verb of the client protocol over a ZeroMQ REQ socket.
//
// Reliability is the zguide's Lazy Pirate: a request that gets no reply within the timeout closes
// the socket (a REQ socket that missed a reply is stuck), opens a new one to the next endpoint and
// sends again. Only requests that are safe to repeat are resent (reads, WAIT, REV, NOP, SELF), and
// when every attempt goes unanswered the result is UNAVAILABLE. A SET or DEL that timed out
// returns TIMEOUT, since it may or may not have been applied, and the next call goes to the next
// endpoint. A node that answers IO has halted (its disk failed) and applied nothing of the request:
// every request, writes included, then goes to the next endpoint.
//
// Thread: a Client is used by one thread at a time (it owns one REQ socket).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "wire/message.h"
#include "wire/status.h"

namespace cairn::client {

using wire::Result;
using wire::Status;

struct Options {
  std::vector<std::string> endpoints;       // client endpoints of the nodes, tried in turn
  std::chrono::milliseconds timeout{5000};  // per attempt
  int attempts = 3;                         // per repeatable request
  bool localReads = false;  // read the node's own state, which may trail (consistency "local")
};

// Splits "tcp://a:1,tcp://b:2" into endpoints.
std::vector<std::string> splitEndpoints(const std::string& list);

struct File {
  std::string value;
  std::int64_t rev = 0;   // 0: the file does not exist
  std::int64_t head = 0;  // the revision the read saw
};

struct Info {
  std::int64_t rev = 0;
  std::int64_t len = 0;
  bool dir = false;
  std::int64_t head = 0;
};

struct Change {
  std::int64_t rev = 0;
  std::string path;
  std::string op;  // "set" or "del"
  std::string value;
};

class Client {
 public:
  explicit Client(Options opts);
  Client(Options opts, zmq::context_t& ctx);
  ~Client();
  Client(const Client&) = delete;
  Client(Client&&) = default;  // the context it uses lives on the heap (or outside): a move is safe
  Client& operator=(const Client&) = delete;

  // Sends one request and returns its reply; an error reply comes back as its Status.
  Result<wire::Reply> call(const wire::Request& req);

  Result<File> get(const std::string& path, std::optional<std::int64_t> rev = std::nullopt);
  // Compare-and-set: rev -1 clobbers, 0 creates only, otherwise rev >= the file's rev. Returns the
  // new revision.
  Result<std::int64_t> set(const std::string& path, const std::string& value, std::int64_t rev);
  Result<std::int64_t> del(const std::string& path, std::int64_t rev);
  Result<std::int64_t> rev();
  Result<std::int64_t> nop();
  Result<Info> stat(const std::string& path, std::optional<std::int64_t> rev = std::nullopt);
  // Every entry of a directory (all pages, read at one revision).
  Result<std::vector<wire::Entry>> getdir(const std::string& path,
                                          std::optional<std::int64_t> rev = std::nullopt,
                                          std::int64_t* head = nullptr);
  // Every file matching a glob, with values (all pages, read at one revision).
  Result<std::vector<wire::Entry>> walk(const std::string& glob,
                                        std::optional<std::int64_t> rev = std::nullopt,
                                        std::int64_t* head = nullptr);
  // The first change with rev >= `rev` matching the glob; TIMEOUT if none within `wait`.
  Result<Change> wait(const std::string& glob, std::int64_t rev,
                      std::chrono::milliseconds wait = std::chrono::milliseconds(30000));
  Result<wire::Reply> self();
  // One page of the changes matching a glob with rev >= `rev`, in rev order; *complete is the
  // rev up to which the page holds every matching change (ask again from *complete + 1).
  Result<std::vector<Change>> changes(const std::string& glob, std::int64_t rev,
                                      std::int64_t* complete, std::int64_t limit = 1000);

  const std::string& endpoint() const { return opts_.endpoints[current_]; }

 private:
  void reopen();
  void failover();
  Result<std::vector<wire::Entry>> pages(wire::Request req, std::int64_t* head);

  Options opts_;
  std::unique_ptr<zmq::context_t> ownCtx_;
  zmq::context_t& ctx_;
  std::unique_ptr<zmq::socket_t> sock_;
  std::size_t current_ = 0;
};

}  // namespace cairn::client
