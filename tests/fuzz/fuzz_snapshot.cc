// libFuzzer target fuzz_snapshot: a snapshot file as a node reads it when it starts, or when a
// leader's snapshot has arrived (store::decodeSnapshot, which loadSnapshotFile runs over the
// mapped file). Damaged bytes must become CORRUPT, never a crash; a snapshot that decodes must
// re-encode to one that decodes to the same store, and that store must serve reads and apply
// writes.
//
// Input: a mode byte, then (mode bit 0 clear) the whole file, or (bit 0 set) the file's bytes
// after its magic: this target adds the magic and the checksum, so that the fuzzer reaches the
// decoder behind the CRC.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "store/crc32c.h"
#include "store/snapshot.h"
#include "wire/path.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string file;
  if (data[0] & 1) {
    file = "CAIRNSNP";
    file.append(in);
    const std::uint32_t crc = store::crc32c(file);
    file.append(reinterpret_cast<const char*>(&crc), 4);
  } else {
    file.assign(in);
  }
  store::Store::Options opts;
  opts.historyRevs = 16;
  auto st = store::decodeSnapshot(file, opts);
  if (!st) {
    if (st.status().code() != wire::Err::kCorrupt) std::abort();
    return 0;
  }
  const std::string dump = st->dump();
  const std::string once = store::encodeSnapshot(st->image());
  auto again = store::decodeSnapshot(once, opts);
  if (!again) std::abort();
  if (again->dump() != dump || again->rev() != st->rev() ||
      again->appliedIndex() != st->appliedIndex() || again->members() != st->members() ||
      again->nextLease() != st->nextLease() || again->term() != st->term() ||
      again->sessions().dump() != st->sessions().dump() ||
      again->leases().size() != st->leases().size()) {
    std::abort();
  }
  for (const auto& [id, l] : st->leases()) {
    const store::Lease* b = again->lease(id);
    if (!b || b->ttl != l.ttl || b->owner != l.owner || b->files != l.files) std::abort();
  }
  if (store::encodeSnapshot(again->image()) != once) std::abort();
  // The store a snapshot makes goes on serving: reads over the whole tree, then writes (a SET, a
  // DEL of a subtree, a lease's end) must keep it whole.
  auto all = wire::Glob::compile("/**");
  if (!all) std::abort();
  (void)st->walk(*all, st->rev(), std::nullopt, 64, 1 << 20);
  (void)st->getdir("/", st->rev(), std::nullopt, 64);
  (void)st->stat("/a", st->rev());
  const std::uint64_t index = st->appliedIndex() + 1;
  wire::Command set{wire::Command::Op::kSet, "/a/b", -1, "x"};
  wire::Command del{wire::Command::Op::kDel, "/a", -1, ""};
  for (const wire::Command& c : {set, del}) {
    auto r = st->apply(index, c);
    if (r.status.isOk() && r.rev != st->rev()) std::abort();
  }
  if (!st->leases().empty()) {
    wire::Command revoke;
    revoke.op = wire::Command::Op::kRevoke;
    revoke.lease = st->leases().begin()->first;
    revoke.user = st->leases().begin()->second.owner;  // the owner's: it ends the lease
    const std::size_t had = st->leases().size();
    auto r = st->apply(index, revoke);
    if (!r.status.isOk() || st->leases().size() != had - 1) std::abort();
  }
  (void)st->changes(*all, st->oldestRev() + 1, 64, 1 << 20);
  (void)st->dump();
  return 0;
}
