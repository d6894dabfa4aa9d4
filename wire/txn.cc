#include "wire/txn.h"

#include "wire/msgpack_util.h"

#include <msgpack.hpp>

namespace cairn::wire {
namespace {

using mp::isArray;
using mp::packBin;
using mp::Packer;
using mp::packStr;

// Throws msgpack::type_error on a wrong type, which decodeTxn turns into CORRUPT.
std::string strField(const msgpack::object& o) {
  if (o.type != msgpack::type::STR) throw msgpack::type_error();
  return std::string(o.via.str.ptr, o.via.str.size);
}
std::string binField(const msgpack::object& o) {
  if (o.type != msgpack::type::BIN) throw msgpack::type_error();
  return std::string(o.via.bin.ptr, o.via.bin.size);
}

void packOps(Packer& p, const std::vector<TxnOp>& ops) {
  p.pack_array(static_cast<std::uint32_t>(ops.size()));
  for (const TxnOp& op : ops) {
    p.pack_array(5);
    p.pack_uint8(static_cast<std::uint8_t>(op.kind));
    packStr(p, op.path);
    p.pack_int64(op.rev);
    packBin(p, op.value);
    p.pack_uint64(op.lease);
  }
}

Status readOps(const msgpack::object& o, std::vector<TxnOp>* out) {
  if (o.type != msgpack::type::ARRAY) return Status(Err::kCorrupt, "txn branch is not an array");
  out->resize(o.via.array.size);
  for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
    const msgpack::object& e = o.via.array.ptr[i];
    if (!isArray(e, 5)) return Status(Err::kCorrupt, "txn operation is not a 5-element array");
    const msgpack::object* a = e.via.array.ptr;
    const auto kind = a[0].as<std::uint8_t>();
    if (kind > 3) return Status(Err::kCorrupt, "unknown txn operation");
    TxnOp& op = (*out)[i];
    op.kind = static_cast<TxnOp::Kind>(kind);
    op.path = strField(a[1]);
    op.rev = a[2].as<std::int64_t>();
    op.value = binField(a[3]);
    op.lease = a[4].as<std::uint64_t>();
  }
  return Status::ok();
}

}  // namespace

const char* compareCmpName(Compare::Cmp c) {
  switch (c) {
    case Compare::Cmp::kEq:
      return "=";
    case Compare::Cmp::kNe:
      return "!=";
    case Compare::Cmp::kLt:
      return "<";
    case Compare::Cmp::kGt:
      return ">";
  }
  return "?";
}

const char* compareTargetName(Compare::Target t) {
  switch (t) {
    case Compare::Target::kRev:
      return "rev";
    case Compare::Target::kValue:
      return "value";
    case Compare::Target::kExists:
      return "exists";
  }
  return "?";
}

const char* txnOpName(TxnOp::Kind k) {
  switch (k) {
    case TxnOp::Kind::kGet:
      return "get";
    case TxnOp::Kind::kSet:
      return "set";
    case TxnOp::Kind::kDel:
      return "del";
    case TxnOp::Kind::kDelTree:
      return "deltree";
  }
  return "?";
}

std::string encodeTxn(const Txn& t) {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_array(3);
  p.pack_array(static_cast<std::uint32_t>(t.compares.size()));
  for (const Compare& c : t.compares) {
    p.pack_array(6);
    packStr(p, c.path);
    p.pack_uint8(static_cast<std::uint8_t>(c.target));
    p.pack_uint8(static_cast<std::uint8_t>(c.cmp));
    p.pack_int64(c.rev);
    packBin(p, c.value);
    p.pack(c.exists);
  }
  packOps(p, t.then);
  packOps(p, t.otherwise);
  return std::string(buf.data(), buf.size());
}

Result<Txn> decodeTxn(std::string_view bytes) {
  try {
    std::size_t off = 0;
    msgpack::object_handle oh =
        msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr,
                        msgpack::unpack_limit(1 << 16, 0, 1 << 26, 1 << 26, 0, 4));
    const msgpack::object& o = oh.get();
    if (off != bytes.size() || !isArray(o, 3) || o.via.array.ptr[0].type != msgpack::type::ARRAY) {
      return Status(Err::kCorrupt, "txn is not [compares, then, else]");
    }
    Txn t;
    const msgpack::object_array& cs = o.via.array.ptr[0].via.array;
    t.compares.resize(cs.size);
    for (std::uint32_t i = 0; i < cs.size; ++i) {
      if (!isArray(cs.ptr[i], 6)) return Status(Err::kCorrupt, "txn compare is not 6 elements");
      const msgpack::object* a = cs.ptr[i].via.array.ptr;
      Compare& c = t.compares[i];
      c.path = strField(a[0]);
      const auto target = a[1].as<std::uint8_t>();
      const auto cmp = a[2].as<std::uint8_t>();
      if (target > 2 || cmp > 3) return Status(Err::kCorrupt, "unknown txn compare");
      c.target = static_cast<Compare::Target>(target);
      c.cmp = static_cast<Compare::Cmp>(cmp);
      c.rev = a[3].as<std::int64_t>();
      c.value = binField(a[4]);
      c.exists = a[5].as<bool>();
    }
    if (Status s = readOps(o.via.array.ptr[1], &t.then); !s.isOk()) return s;
    if (Status s = readOps(o.via.array.ptr[2], &t.otherwise); !s.isOk()) return s;
    return t;
  } catch (const std::exception& e) {
    return Status(Err::kCorrupt, std::string("undecodable txn: ") + e.what());
  }
}

}  // namespace cairn::wire
