#pragma once
// The seam between the node and whoever decides the order of commands.
//
// The node proposes commands; the Log hands back, in index order, commands that are chosen and
// durable. The store applies exactly those, in that order, on every replica. Here the Log is
// LocalLog (one node: chosen = written to the local WAL and fsynced). Paxos replaces it without
// touching the store or the client service.

#include <cstdint>
#include <memory>
#include <vector>

#include "store/wal.h"
#include "wire/command.h"
#include "wire/status.h"

namespace cairn::node {

struct Chosen {
  std::uint64_t index = 0;
  wire::Command cmd;
  std::uint64_t proposal = 0;  // the id given to propose(); 0 when another node proposed it
};

class Log {
 public:
  virtual ~Log() = default;
  // Queues a command; `proposal` (non-zero) identifies it when it comes back chosen.
  virtual void propose(wire::Command cmd, std::uint64_t proposal) = 0;
  // Makes progress and returns the commands chosen since the last call, in index order. Every
  // returned command is durable. An error means the log can no longer make progress safely.
  virtual wire::Result<std::vector<Chosen>> drain() = 0;
  // Tells the log that every index <= `index` is captured by a durable snapshot.
  virtual wire::Status compact(std::uint64_t index) = 0;
};

// One node's log: every drain() writes the queued commands to the WAL with one fdatasync (group
// commit) and returns them as chosen.
class LocalLog : public Log {
 public:
  explicit LocalLog(std::unique_ptr<store::Wal> wal) : wal_(std::move(wal)) {}
  void propose(wire::Command cmd, std::uint64_t proposal) override;
  wire::Result<std::vector<Chosen>> drain() override;
  wire::Status compact(std::uint64_t index) override { return wal_->compact(index); }

 private:
  std::unique_ptr<store::Wal> wal_;
  std::vector<Chosen> pending_;
};

}  // namespace cairn::node
