#include "node/join.h"

#include <thread>

#include "bindings/cpp/client.h"

namespace cairn::node {

using wire::Err;
using wire::Status;

wire::Result<std::uint64_t> clusterAt(zmq::context_t& ctx, const std::string& endpoint,
                                      const std::optional<wire::KeyPair>& key) {
  client::Options o;
  o.key = key;
  o.endpoints = {endpoint};
  o.timeout = std::chrono::milliseconds(3000);
  o.connectTimeout = std::chrono::milliseconds(3000);
  o.attempts = 1;
  client::Client c(o, ctx);
  wire::Request q;
  q.verb = wire::Verb::kMembers;
  auto r = c.call(q);
  if (!r) {
    return Status(r.status().code(),
                  "cannot join through " + endpoint + ": " + r.status().detail());
  }
  if (!r->cluster) {
    return Status(Err::kBadRequest, endpoint +
                                        " does not say which cluster it belongs to (is "
                                        "it an older cairnd?)");
  }
  try {
    return std::stoull(*r->cluster, nullptr, 16);
  } catch (const std::exception&) {
    return Status(Err::kBadRequest, endpoint + " answered with a cluster id that is not hex");
  }
}

wire::Result<Identity> joinCluster(zmq::context_t& ctx, const JoinRequest& req, bool* refused) {
  *refused = false;
  const auto deadline = std::chrono::steady_clock::now() + req.deadline;
  const std::string& at = req.endpoint;
  // A cluster that does not answer at all is not waited for.
  if (auto who = clusterAt(ctx, at, req.key); !who) return who.status();
  std::string last;
  while (true) {
    client::Options o;
    o.endpoints = {at};
    o.timeout = std::chrono::milliseconds(15000);  // the leader answers once the change is chosen
    o.connectTimeout = std::chrono::milliseconds(3000);
    o.attempts = 1;
    o.preferLeader = false;
    o.key = req.key;
    client::Client c(o, ctx);
    wire::Request q;
    q.verb = wire::Verb::kJoin;
    if (req.id) q.id = *req.id;
    q.peer = req.peer;
    q.client = req.client;
    q.events = req.events;
    q.observer = req.observer;
    auto r = c.leaderCall(q);
    if (r) {
      if (!r->id || !r->cluster || !r->bootstrap || !r->config || !r->members) {
        return Status(Err::kBadRequest, at + " answered JOIN without the fields a joining node "
                                             "needs (is it an older cairnd?)");
      }
      Identity id;
      id.node = static_cast<std::uint32_t>(*r->id);
      try {
        id.cluster = std::stoull(*r->cluster, nullptr, 16);
      } catch (const std::exception&) {
        return Status(Err::kBadRequest, at + " answered JOIN with a cluster id that is not hex");
      }
      for (const auto& m : *r->bootstrap)
        id.members[static_cast<std::uint32_t>(m.id)] = m.peer;
      for (const auto& m : *r->members) {
        if (!m.peer.empty()) id.peers[static_cast<std::uint32_t>(m.id)] = m.peer;
      }
      id.joined = static_cast<std::uint64_t>(*r->config);
      return id;
    }
    const Status& s = r.status();
    if (s.code() != Err::kNotLeader && s.code() != Err::kUnavailable && s.code() != Err::kTimeout) {
      *refused = true;
      return Status(s.code(),
                    "the cluster at " + at + " refused to take this node in: " + s.detail());
    }
    last = s.toString();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(Err::kUnavailable,
                    "could not join the cluster at " + req.endpoint + ": " + last);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace cairn::node
