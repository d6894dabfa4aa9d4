#pragma once
// Joining: before a node started with --join opens its data directory, it asks the cluster to take
// it in (JOIN, PROTOCOL.md §7) and gets the identity it starts with: the cluster id, its id, the
// cluster's first configuration and the members' peer endpoints now.
//
// The member asked may send it on to the leader (NOT_LEADER names the leader's client endpoint);
// a cluster busy with another change, or between leaders, is asked again until `deadline`.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "node/identity.h"
#include "wire/keys.h"
#include "wire/status.h"

namespace cairn::node {

struct JoinRequest {
  std::string endpoint;  // a member's client endpoint (--join)
  std::optional<std::uint32_t> id;
  std::string peer;  // this node's endpoints, as the others will reach them
  std::string client;
  std::string events;
  bool observer = false;
  std::chrono::milliseconds deadline{30000};
  // Under --key: this node's key pair. It asks as a client, so its key must be one the member
  // asked lets in (--clients) with admin on /; its peer endpoint then names its key.
  std::optional<wire::KeyPair> key;
};

// The cluster id of the node at `endpoint` (MEMBERS); an error when it does not answer.
wire::Result<std::uint64_t> clusterAt(zmq::context_t& ctx, const std::string& endpoint,
                                      const std::optional<wire::KeyPair>& key);

// The identity to start with. *refused is set when the cluster answered no (an id taken, an
// endpoint in use): exit kExitWrongData; otherwise an error means nobody answered in time.
wire::Result<Identity> joinCluster(zmq::context_t& ctx, const JoinRequest& req, bool* refused);

}  // namespace cairn::node
