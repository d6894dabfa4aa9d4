#pragma once
// A command: what the log orders and the store applies. The single-node log and (later) Paxos
// carry commands as opaque bytes encoded here; the store applies them in log order, and only the
// store decides whether one succeeds (a failed compare-and-set consumes no revision).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"

namespace cairn::wire {

struct Command {
  enum class Op : std::uint8_t { kNop = 0, kSet = 1, kDel = 2 };
  Op op = Op::kNop;
  std::string path;
  std::int64_t rev = -1;  // compare-and-set: -1 clobbers, otherwise rev >= file.rev
  std::string value;

  bool operator==(const Command& o) const {
    return op == o.op && path == o.path && rev == o.rev && value == o.value;
  }
};

// msgpack array [op, path, rev, value].
std::string encodeCommand(const Command& c);
Result<Command> decodeCommand(std::string_view bytes);

// What one consensus slot carries: the commands a node batched together, each with the id its
// origin gave it so that the origin can answer its client when the slot is applied.
struct Batch {
  std::uint32_t origin = 0;       // the node that batched these commands
  std::uint64_t incarnation = 0;  // distinguishes the origin's restarts (ids restart with it)
  struct Item {
    std::uint64_t id = 0;
    Command cmd;
  };
  std::vector<Item> items;
};

// msgpack array [origin, incarnation, [[id, op, path, rev, value], ...]].
std::string encodeBatch(const Batch& b);
Result<Batch> decodeBatch(std::string_view bytes);

}  // namespace cairn::wire
