#pragma once
// A transaction (the TXN verb, PROTOCOL.md §7): compares on files, then one of two lists of
// operations, chosen by whether every compare holds. The node checks its shape, the log carries it
// as one command, and the store applies the chosen list at one revision, all or nothing.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wire/status.h"

namespace cairn::wire {

// One compare: a path's rev, value or existence against a constant.
struct Compare {
  enum class Target : std::uint8_t { kRev = 0, kValue = 1, kExists = 2 };
  enum class Cmp : std::uint8_t { kEq = 0, kNe = 1, kLt = 2, kGt = 3 };
  std::string path;
  Target target = Target::kRev;
  Cmp cmp = Cmp::kEq;
  std::int64_t rev = 0;  // kRev: a file's or directory's rev; 0 for a missing path
  std::string value;     // kValue: a file's bytes (a missing path or a directory has none)
  bool exists = true;    // kExists: a file or a directory is there

  static Compare revIs(std::string path, std::int64_t rev, Cmp cmp = Cmp::kEq) {
    return Compare{std::move(path), Target::kRev, cmp, rev, {}, true};
  }
  static Compare valueIs(std::string path, std::string value, Cmp cmp = Cmp::kEq) {
    return Compare{std::move(path), Target::kValue, cmp, 0, std::move(value), true};
  }
  static Compare existsIs(std::string path, bool exists = true) {
    return Compare{std::move(path), Target::kExists, Cmp::kEq, 0, {}, exists};
  }
  bool operator==(const Compare& o) const {
    return path == o.path && target == o.target && cmp == o.cmp && rev == o.rev &&
           value == o.value && exists == o.exists;
  }
};

// One operation of a branch. Writes compare-and-set like SET and DEL; kDelTree deletes a file, or
// every file below a directory (its `rev`, when not -1, compared with the directory's rev).
struct TxnOp {
  enum class Kind : std::uint8_t { kGet = 0, kSet = 1, kDel = 2, kDelTree = 3 };
  Kind kind = Kind::kGet;
  std::string path;
  std::int64_t rev = -1;
  std::string value;        // kSet
  std::uint64_t lease = 0;  // kSet: the lease that keeps the file (0: none)

  static TxnOp get(std::string path) { return TxnOp{Kind::kGet, std::move(path), -1, {}, 0}; }
  static TxnOp set(std::string path, std::string value, std::int64_t rev = -1,
                   std::uint64_t lease = 0) {
    return TxnOp{Kind::kSet, std::move(path), rev, std::move(value), lease};
  }
  static TxnOp del(std::string path, std::int64_t rev = -1) {
    return TxnOp{Kind::kDel, std::move(path), rev, {}, 0};
  }
  static TxnOp delTree(std::string path, std::int64_t rev = -1) {
    return TxnOp{Kind::kDelTree, std::move(path), rev, {}, 0};
  }
  bool operator==(const TxnOp& o) const {
    return kind == o.kind && path == o.path && rev == o.rev && value == o.value && lease == o.lease;
  }
};

struct Txn {
  std::vector<Compare> compares;
  std::vector<TxnOp> then;       // when every compare holds
  std::vector<TxnOp> otherwise;  // when one does not (key "else")
  bool operator==(const Txn& o) const {
    return compares == o.compares && then == o.then && otherwise == o.otherwise;
  }
};

// Limits of one transaction (PROTOCOL.md §10): compares and operations together; the bytes of
// every value in it (SET values and value compares) against the node's max_value; the changes its
// writes make (a delete of a subtree counts every file), since a rev is delivered whole.
inline constexpr std::size_t kMaxTxnOps = 128;
inline constexpr std::size_t kMaxTxnChanges = 10000;
// The values its gets return, in all (as a WALK page's): the same on every node, so that a reply,
// and the copy the exactly-once table keeps of it, stays small.
inline constexpr std::size_t kMaxTxnReadBytes = 4 << 20;
// A transaction as the log carries it (encodeTxn): below what every node's decoder takes.
inline constexpr std::size_t kMaxTxnBytes = (64 << 20) - (1 << 20);

const char* compareCmpName(Compare::Cmp c);        // "=", "!=", "<", ">"
const char* txnOpName(TxnOp::Kind k);              // "get", "set", "del", "deltree"
const char* compareTargetName(Compare::Target t);  // "rev", "value", "exists"

// The log's form of a transaction: msgpack [compares, then, else], each compare
// [path, target, cmp, rev, value, exists] and each operation [kind, path, rev, value, lease].
std::string encodeTxn(const Txn& t);
Result<Txn> decodeTxn(std::string_view bytes);

}  // namespace cairn::wire
