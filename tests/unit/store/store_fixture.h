#pragma once
// A store and the log indices of the commands applied to it, for tests that read like a
// transcript of writes (txn_test, size_test).
#include <memory>
#include <string>

#include "store/store.h"

namespace cairn::test {

struct StoreFixture {
  store::Store s;
  std::uint64_t index = 0;
  store::ApplyResult apply(wire::Command c) { return s.apply(++index, c); }
  store::ApplyResult set(const std::string& p, const std::string& v, std::uint64_t lease = 0) {
    wire::Command c{wire::Command::Op::kSet, p, -1, v};
    c.lease = lease;
    return apply(c);
  }
  // A compare-and-set: only if the file is at `rev` or older (0: only if it does not exist).
  store::ApplyResult cas(const std::string& p, const std::string& v, std::int64_t rev) {
    return apply(wire::Command{wire::Command::Op::kSet, p, rev, v});
  }
  store::ApplyResult del(const std::string& p) {
    return apply(wire::Command{wire::Command::Op::kDel, p, -1, ""});
  }
  store::ApplyResult txn(wire::Txn t) {
    wire::Command c{wire::Command::Op::kTxn, "", -1, ""};
    c.txn = std::make_shared<const wire::Txn>(std::move(t));
    return apply(c);
  }
  std::uint64_t grant(std::int64_t ttl = 10000) {
    wire::Command c{wire::Command::Op::kGrant, "", -1, ""};
    c.ttl = ttl;
    return apply(c).lease;
  }
  store::ApplyResult revoke(std::uint64_t lease) {
    wire::Command c{wire::Command::Op::kRevoke, "", -1, ""};
    c.lease = lease;
    return apply(c);
  }
};

}  // namespace cairn::test
