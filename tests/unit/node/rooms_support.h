#pragma once
// A store behind an Applier, a ClientService over it and commands to feed them: what the unit
// tests of the node's rooms share. No process, no socket, no clock.

#include <memory>
#include <string>
#include <vector>

#include "node/applier.h"
#include "node/client_service.h"
#include "node/stats.h"

namespace cairn::test {

inline wire::Command setCmd(std::string path, std::string value, std::int64_t rev = -1) {
  wire::Command c;
  c.op = wire::Command::Op::kSet;
  c.path = std::move(path);
  c.rev = rev;
  c.value = std::move(value);
  return c;
}

inline wire::Command delCmd(std::string path, std::int64_t rev = -1) {
  wire::Command c;
  c.op = wire::Command::Op::kDel;
  c.path = std::move(path);
  c.rev = rev;
  return c;
}

inline wire::Request request(wire::Verb verb, std::string path = "") {
  wire::Request r;
  r.verb = verb;
  if (!path.empty()) r.path = std::move(path);
  return r;
}

struct Rooms {
  explicit Rooms(node::ClientService::Options opts = {}, std::int64_t historyRevs = 100)
      : applier(std::make_unique<store::Store>(store::Store::Options{historyRevs})),
        service(opts, applier.store(), stats, [](wire::Reply& r) { r.id = 7; }) {}

  // Applies commands as the log would choose them, one slot each; proposal ids as given.
  node::Applier::Applied apply(std::vector<wire::Command> cmds,
                               std::vector<std::uint64_t> proposals = {}) {
    std::vector<node::Chosen> chosen;
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      chosen.push_back(
          node::Chosen{++slot, std::move(cmds[i]), i < proposals.size() ? proposals[i] : 0, {}});
    }
    return applier.apply(chosen);
  }

  node::Stats stats;
  node::Applier applier;
  node::ClientService service;
  std::uint64_t slot = 0;
};

}  // namespace cairn::test
