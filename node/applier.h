#pragma once
// Applier: chosen commands in, store changes out. The only writer of the Store.
//
// Owns: the Store. Called by: the node's event loop, with each drain's chosen commands in log
// order, and when a snapshot from the leader replaces the store. Deterministic: the outcome
// depends only on the store and the commands, never on a clock or on which node runs it, so every
// replica that applies the same log holds the same tree at the same revs, and the same leases: a
// lease ends when a REVOKE is applied, which the leader proposes when one expires by its clock
// (node/leases.h) — an Applier never looks at a clock.
// Everyone else reads the store through store(), between applies: the Store object lives as long as
// the Applier (a snapshot replaces its contents in place), so a reference to it stays valid.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "node/chosen.h"
#include "store/store.h"
#include "wire/status.h"

namespace cairn::node {

class Applier {
 public:
  explicit Applier(std::unique_ptr<store::Store> store) : store_(std::move(store)) {}

  // What became of one command this node proposed.
  struct Outcome {
    std::uint64_t proposal = 0;
    wire::Status status;      // OK, or why the command changed nothing (REV_MISMATCH, ISDIR, ...)
    std::int64_t rev = 0;     // the new rev on success; the head otherwise
    std::uint64_t lease = 0;  // a GRANT: the new lease
    std::optional<bool> succeeded;     // a TXN: which branch ran
    std::vector<wire::Entry> results;  // a TXN: each operation's result
    bool replayed = false;             // answered from the exactly-once reply table
  };
  struct Applied {
    // In rev order: one per successful SET or DEL, one per file a REVOKE deleted (at one rev).
    std::vector<store::Change> changes;
    std::vector<Outcome> outcomes;  // for the chosen commands with a proposal id
    // The sessions (exactly-once) of the commands their owners wrote in them (ApplyResult::
    // sessionUsed): the leases the leader renews.
    std::vector<std::uint64_t> sessions;
  };
  // Applies `chosen` in order.
  Applied apply(const std::vector<Chosen>& chosen) {
    return apply(chosen.data(), chosen.data() + chosen.size());
  }
  Applied apply(const Chosen* begin, const Chosen* end);
  // A snapshot received from the leader, already durable, becomes the store. Returns the store it
  // replaces, for the caller to free where freeing a large tree costs the event loop nothing.
  store::Store install(store::Store store) {
    std::swap(*store_, store);
    return store;
  }

  const store::Store& store() const { return *store_; }

 private:
  std::unique_ptr<store::Store> store_;
};

}  // namespace cairn::node
