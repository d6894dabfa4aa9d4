#include "node/wal_records.h"

#include <algorithm>
#include <exception>

#include <msgpack.hpp>

namespace cairn::node {

using wire::Err;
using wire::Status;

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

}  // namespace

std::string packBallot(const wire::Ballot& b) {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_array(2);
  p.pack_uint64(b.round);
  p.pack_uint32(b.node);
  return std::string(buf.data(), buf.size());
}

std::string packU64(std::uint64_t v) {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_uint64(v);
  return std::string(buf.data(), buf.size());
}

std::string packCheckpoint(std::uint64_t slot, std::uint64_t first) {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_array(2);
  p.pack_uint64(slot);
  p.pack_uint64(first);
  return std::string(buf.data(), buf.size());
}

Status readWalRecord(const store::WalRecord& rec, WalScan* scan) {
  if (rec.payload.empty()) return Status(Err::kCorrupt, "empty WAL record");
  const char type = rec.payload[0];
  if (type == 'A') {  // the bulk of the log: decoded by the peer protocol's codec
    auto slot = wire::decodeSlot(std::string_view(rec.payload).substr(1));
    if (!slot) {
      return Status(Err::kCorrupt,
                    "WAL record " + std::to_string(rec.index) + ": " + slot.status().detail());
    }
    scan->values.push_back(std::move(slot.value()));
    return Status::ok();
  }
  try {
    std::size_t off = 0;
    msgpack::object_handle oh =
        msgpack::unpack(rec.payload.data() + 1, rec.payload.size() - 1, off, nullptr, nullptr,
                        msgpack::unpack_limit(2, 0, 0, 0, 0, 2));
    const msgpack::object& o = oh.get();
    switch (type) {
      case 'P': {
        if (o.type != msgpack::type::ARRAY || o.via.array.size != 2) break;
        wire::Ballot b{o.via.array.ptr[0].as<std::uint64_t>(),
                       o.via.array.ptr[1].as<std::uint32_t>()};
        if (scan->promised < b) scan->promised = b;
        return Status::ok();
      }
      case 'L':
        scan->maxLearned = std::max(scan->maxLearned, o.as<std::uint64_t>());
        return Status::ok();
      case 'C': {
        std::uint64_t slot = 0;
        if (o.type == msgpack::type::ARRAY && o.via.array.size == 2) {
          slot = o.via.array.ptr[0].as<std::uint64_t>();
          scan->kept.emplace_back(slot, o.via.array.ptr[1].as<std::uint64_t>());
        } else {
          slot = o.as<std::uint64_t>();
        }
        scan->checkpoint = std::max(scan->checkpoint, slot);
        return Status::ok();
      }
      case 'I': {  // what this node accepted at the slots it skipped may have lost, and no
                   // checkpoint before it is kept any more
        const std::uint64_t slot = o.as<std::uint64_t>();
        auto& v = scan->values;
        v.erase(
            std::remove_if(v.begin(), v.end(), [&](const wire::Slot& s) { return s.slot <= slot; }),
            v.end());
        scan->kept.clear();
        return Status::ok();
      }
    }
  } catch (const std::exception& e) {
    return Status(Err::kCorrupt, "WAL record " + std::to_string(rec.index) + ": " + e.what());
  }
  return Status(Err::kCorrupt, "WAL record " + std::to_string(rec.index) + " of unknown shape");
}

}  // namespace cairn::node
