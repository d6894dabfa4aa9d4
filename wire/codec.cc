#include "wire/codec.h"

#include "wire/msgpack_util.h"

#include <msgpack.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>

namespace cairn::wire {
namespace {

using mp::packBin;
using mp::Packer;
using mp::packStr;

// Limits for what a node accepts from clients: small containers (only "tag" may nest), shallow.
// Strings may be as long as the message that holds them (the socket caps that): a SET's value
// over the value limit is refused by the node after decoding (ClientService), with the request's
// tag.
msgpack::unpack_limit requestLimit(const DecodeLimits& l, std::size_t messageSize) {
  const std::size_t str = std::max(l.maxValue, messageSize);
  return msgpack::unpack_limit(/*array=*/256, /*map=*/64, /*str=*/str, /*bin=*/str,
                               /*ext=*/1024, /*depth=*/16);
}

// Limits for what a client accepts from a node: pages of entries, large values, and maps as long
// as a node makes them (SELF's counters, the feed's per-prefix claims: one per subscribed prefix).
msgpack::unpack_limit replyLimit() {
  return msgpack::unpack_limit(/*array=*/1 << 20, /*map=*/1 << 20, /*str=*/64 << 20,
                               /*bin=*/64 << 20,
                               /*ext=*/1 << 20, /*depth=*/16);
}

// Unpacks exactly one object filling all of `bytes`.
Status unpackOne(std::string_view bytes, const msgpack::unpack_limit& limit,
                 msgpack::object_handle* oh) {
  try {
    std::size_t off = 0;
    *oh = msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
    if (off != bytes.size())
      return Status(Err::kBadRequest, "trailing bytes after the msgpack map");
    return Status::ok();
  } catch (const msgpack::str_size_overflow&) {
    return Status(Err::kTooLarge, "a string is longer than the value limit");
  } catch (const msgpack::bin_size_overflow&) {
    return Status(Err::kTooLarge, "a binary value is longer than the value limit");
  } catch (const msgpack::size_overflow& e) {
    return Status(Err::kBadRequest, std::string("msgpack container too large: ") + e.what());
  } catch (const msgpack::insufficient_bytes&) {
    return Status(Err::kBadRequest, "truncated msgpack");
  } catch (const msgpack::unpack_error& e) {
    return Status(Err::kBadRequest, std::string("malformed msgpack: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status(Err::kTooLarge, "message too large to decode");
  }
}

std::string_view strOf(const msgpack::object& o) {
  return {o.via.str.ptr, o.via.str.size};
}

bool getInt(const msgpack::object& o, std::int64_t* out) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return false;
    }
    *out = static_cast<std::int64_t>(o.via.u64);
    return true;
  }
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    *out = o.via.i64;
    return true;
  }
  return false;
}

bool getStr(const msgpack::object& o, std::string* out) {
  if (o.type != msgpack::type::STR) return false;
  out->assign(o.via.str.ptr, o.via.str.size);
  return true;
}

// Accepts bin (the protocol's type for values) and str (what many libraries send for text).
bool getBytes(const msgpack::object& o, std::string* out) {
  if (o.type == msgpack::type::BIN) {
    out->assign(o.via.bin.ptr, o.via.bin.size);
    return true;
  }
  return getStr(o, out);
}

bool getBool(const msgpack::object& o, bool* out) {
  if (o.type != msgpack::type::BOOLEAN) return false;
  *out = o.via.boolean;
  return true;
}

std::string packObject(const msgpack::object& o) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, o);
  return std::string(buf.data(), buf.size());
}

Status wrongType(std::string_view key, const char* want) {
  return Status(Err::kBadRequest,
                "field \"" + std::string(key) + "\" must be " + std::string(want));
}

// Writes a map whose size is known only after the fields are chosen: callers count first.
void packKey(Packer& p, std::string_view k) {
  packStr(p, k);
}

// "then[2]: " and the like, in front of an error about one element of a TXN.
Status at(const std::string& where, Status s) {
  return Status(s.code(), where + ": " + s.detail());
}

std::optional<Compare::Cmp> cmpFromName(std::string_view n) {
  for (Compare::Cmp c :
       {Compare::Cmp::kEq, Compare::Cmp::kNe, Compare::Cmp::kLt, Compare::Cmp::kGt})
    if (n == compareCmpName(c)) return c;
  if (n == "==") return Compare::Cmp::kEq;
  return std::nullopt;
}

std::optional<TxnOp::Kind> opFromName(std::string_view n) {
  for (TxnOp::Kind k :
       {TxnOp::Kind::kGet, TxnOp::Kind::kSet, TxnOp::Kind::kDel, TxnOp::Kind::kDelTree}) {
    std::string_view want = txnOpName(k);
    bool same = want.size() == n.size();
    for (std::size_t i = 0; i < n.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(n[i])) == want[i];
    if (same) return k;
  }
  return std::nullopt;
}

// One compare of "if": {"path", and one of "rev", "value", "exists", and "cmp"}.
Status decodeCompare(const msgpack::object& o, Compare* c) {
  if (o.type != msgpack::type::MAP) return Status(Err::kBadRequest, "a compare must be a map");
  std::optional<std::string> path, cmp;
  int targets = 0;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) return Status(Err::kBadRequest, "keys must be strings");
    std::string_view k = strOf(kv.key);
    const msgpack::object& v = kv.val;
    if (k == "path") {
      if (!getStr(v, &path.emplace())) return wrongType(k, "a string");
    } else if (k == "cmp") {
      if (!getStr(v, &cmp.emplace())) return wrongType(k, "a string");
    } else if (k == "rev") {
      if (!getInt(v, &c->rev)) return wrongType(k, "an integer that fits int64");
      c->target = Compare::Target::kRev;
      ++targets;
    } else if (k == "value") {
      if (!getBytes(v, &c->value)) return wrongType(k, "bin (or str)");
      c->target = Compare::Target::kValue;
      ++targets;
    } else if (k == "exists") {
      if (!getBool(v, &c->exists)) return wrongType(k, "a boolean");
      c->target = Compare::Target::kExists;
      ++targets;
    }
  }
  if (!path) return Status(Err::kMissingArg, "missing \"path\"");
  c->path = std::move(*path);
  if (targets != 1) {
    return Status(targets == 0 ? Err::kMissingArg : Err::kBadRequest,
                  "a compare names exactly one of \"rev\", \"value\" and \"exists\"");
  }
  if (cmp) {
    auto k = cmpFromName(*cmp);
    if (!k) {
      return Status(Err::kBadRequest,
                    "\"cmp\" is \"" + *cmp + "\"; it must be \"=\", \"!=\", \"<\" or \">\"");
    }
    c->cmp = *k;
  }
  if (c->target == Compare::Target::kExists && c->cmp != Compare::Cmp::kEq) {
    return Status(Err::kBadRequest, "\"exists\" compares only with \"=\"");
  }
  return Status::ok();
}

// One operation of "then" or "else": {"op", "path", "rev", "value", "lease"}.
Status decodeOp(const msgpack::object& o, TxnOp* op) {
  if (o.type != msgpack::type::MAP) return Status(Err::kBadRequest, "an operation must be a map");
  std::optional<std::string> name, path;
  std::optional<std::int64_t> rev, lease;
  std::optional<std::string> value;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) return Status(Err::kBadRequest, "keys must be strings");
    std::string_view k = strOf(kv.key);
    const msgpack::object& v = kv.val;
    if (k == "op") {
      if (!getStr(v, &name.emplace())) return wrongType(k, "a string");
    } else if (k == "path") {
      if (!getStr(v, &path.emplace())) return wrongType(k, "a string");
    } else if (k == "rev" || k == "lease") {
      std::int64_t x = 0;
      if (!getInt(v, &x)) return wrongType(k, "an integer that fits int64");
      (k == "rev" ? rev : lease) = x;
    } else if (k == "value") {
      if (!getBytes(v, &value.emplace())) return wrongType(k, "bin (or str)");
    }
  }
  if (!name) return Status(Err::kMissingArg, "missing \"op\" (get, set, del or deltree)");
  auto kind = opFromName(*name);
  if (!kind) {
    return Status(Err::kBadRequest,
                  "\"op\" is \"" + *name + "\"; it must be get, set, del or deltree");
  }
  op->kind = *kind;
  if (!path) return Status(Err::kMissingArg, "missing \"path\"");
  op->path = std::move(*path);
  if (*kind == TxnOp::Kind::kSet || *kind == TxnOp::Kind::kDel) {
    if (!rev) return Status(Err::kMissingArg, "missing \"rev\" (-1 to clobber, 0 to create)");
  }
  if (*kind == TxnOp::Kind::kSet) {
    if (!value) return Status(Err::kMissingArg, "missing \"value\"");
    op->value = std::move(*value);
    if (lease) {
      if (*lease < 1) return Status(Err::kRange, "lease must be >= 1 (a GRANT's id)");
      op->lease = static_cast<std::uint64_t>(*lease);
    }
  }
  if (rev) {
    if (*rev < -1) return Status(Err::kRange, "rev must be -1, 0 or a positive revision");
    op->rev = *rev;
  }
  return Status::ok();
}

Status decodeList(const msgpack::object& v, std::string_view key, Txn* t) {
  if (v.type != msgpack::type::ARRAY) return wrongType(key, "an array of maps");
  const msgpack::object_array& a = v.via.array;
  for (std::uint32_t i = 0; i < a.size; ++i) {
    const std::string where = std::string(key) + "[" + std::to_string(i) + "]";
    Status s;
    if (key == "if") {
      s = decodeCompare(a.ptr[i], &t->compares.emplace_back());
    } else {
      s = decodeOp(a.ptr[i], &(key == "then" ? t->then : t->otherwise).emplace_back());
    }
    if (!s.isOk()) return at(where, s);
  }
  return Status::ok();
}

void packOpList(Packer& p, std::string_view key, const std::vector<TxnOp>& ops) {
  packKey(p, key);
  p.pack_array(static_cast<std::uint32_t>(ops.size()));
  for (const TxnOp& op : ops) {
    const bool withRev = op.kind != TxnOp::Kind::kGet;
    const bool withValue = op.kind == TxnOp::Kind::kSet;
    p.pack_map(2 + (withRev ? 1 : 0) + (withValue ? 1 : 0) + (op.lease != 0 ? 1 : 0));
    packKey(p, "op");
    packStr(p, txnOpName(op.kind));
    packKey(p, "path");
    packStr(p, op.path);
    if (withRev) {
      packKey(p, "rev");
      p.pack_int64(op.rev);
    }
    if (withValue) {
      packKey(p, "value");
      packBin(p, op.value);
    }
    if (op.lease != 0) {
      packKey(p, "lease");
      p.pack_uint64(op.lease);
    }
  }
}

void packTxn(Packer& p, const Txn& t) {
  packKey(p, "if");
  p.pack_array(static_cast<std::uint32_t>(t.compares.size()));
  for (const Compare& c : t.compares) {
    p.pack_map(3);
    packKey(p, "path");
    packStr(p, c.path);
    packKey(p, compareTargetName(c.target));
    if (c.target == Compare::Target::kRev) {
      p.pack_int64(c.rev);
    } else if (c.target == Compare::Target::kValue) {
      packBin(p, c.value);
    } else {
      p.pack(c.exists);
    }
    packKey(p, "cmp");
    packStr(p, compareCmpName(c.cmp));
  }
  packOpList(p, "then", t.then);
  packOpList(p, "else", t.otherwise);
}

}  // namespace

Status tooLarge(std::size_t size, std::size_t limit) {
  return Status(Err::kTooLarge, "the value is " + std::to_string(size) +
                                    " bytes; this cluster takes at most " + std::to_string(limit) +
                                    " (cairnd --max-value)");
}

const char* verbName(Verb v) {
  switch (v) {
    case Verb::kGet:
      return "GET";
    case Verb::kSet:
      return "SET";
    case Verb::kDel:
      return "DEL";
    case Verb::kRev:
      return "REV";
    case Verb::kWait:
      return "WAIT";
    case Verb::kWalk:
      return "WALK";
    case Verb::kGetdir:
      return "GETDIR";
    case Verb::kStat:
      return "STAT";
    case Verb::kNop:
      return "NOP";
    case Verb::kSelf:
      return "SELF";
    case Verb::kChanges:
      return "CHANGES";
    case Verb::kSnapshot:
      return "SNAPSHOT";
    case Verb::kMembers:
      return "MEMBERS";
    case Verb::kJoin:
      return "JOIN";
    case Verb::kPromote:
      return "PROMOTE";
    case Verb::kRemove:
      return "REMOVE";
    case Verb::kGrant:
      return "GRANT";
    case Verb::kRevoke:
      return "REVOKE";
    case Verb::kKeepalive:
      return "KEEPALIVE";
    case Verb::kLease:
      return "LEASE";
    case Verb::kTxn:
      return "TXN";
  }
  return "?";
}

std::optional<Verb> verbFromName(std::string_view name) {
  static constexpr Verb kAll[] = {Verb::kGet,     Verb::kSet,    Verb::kDel,       Verb::kRev,
                                  Verb::kWait,    Verb::kWalk,   Verb::kGetdir,    Verb::kStat,
                                  Verb::kNop,     Verb::kSelf,   Verb::kChanges,   Verb::kSnapshot,
                                  Verb::kMembers, Verb::kJoin,   Verb::kPromote,   Verb::kRemove,
                                  Verb::kGrant,   Verb::kRevoke, Verb::kKeepalive, Verb::kLease,
                                  Verb::kTxn};
  for (Verb v : kAll) {
    std::string_view n = verbName(v);
    if (n.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < n.size() && same; ++i) {
      same = std::toupper(static_cast<unsigned char>(name[i])) == n[i];
    }
    if (same) return v;
  }
  return std::nullopt;
}

Status decodeRequest(std::string_view bytes, const DecodeLimits& limits, Request* out) {
  *out = Request();
  msgpack::object_handle oh;
  if (Status s = unpackOne(bytes, requestLimit(limits, bytes.size()), &oh); !s.isOk()) return s;
  const msgpack::object& root = oh.get();
  if (root.type != msgpack::type::MAP) {
    return Status(Err::kBadRequest, "a request must be a msgpack map with string keys");
  }
  const msgpack::object_map& m = root.via.map;
  // The tag first, so every later error can echo it.
  for (std::uint32_t i = 0; i < m.size; ++i) {
    const auto& kv = m.ptr[i];
    if (kv.key.type == msgpack::type::STR && strOf(kv.key) == "tag") out->tag = packObject(kv.val);
  }
  std::optional<std::string> verb;
  for (std::uint32_t i = 0; i < m.size; ++i) {
    const auto& kv = m.ptr[i];
    if (kv.key.type != msgpack::type::STR) {
      return Status(Err::kBadRequest, "request keys must be strings");
    }
    std::string_view k = strOf(kv.key);
    const msgpack::object& v = kv.val;
    if (k == "verb") {
      std::string s;
      if (!getStr(v, &s)) return wrongType(k, "a string");
      verb = std::move(s);
    } else if (k == "path") {
      std::string s;
      if (!getStr(v, &s)) return wrongType(k, "a string");
      out->path = std::move(s);
    } else if (k == "rev") {
      std::int64_t x = 0;
      if (!getInt(v, &x)) return wrongType(k, "an integer that fits int64");
      out->rev = x;
    } else if (k == "value") {
      std::string s;
      if (!getBytes(v, &s)) return wrongType(k, "bin (or str)");
      out->value = std::move(s);
    } else if (k == "after") {
      std::string s;
      if (!getStr(v, &s)) return wrongType(k, "a string");
      out->after = std::move(s);
    } else if (k == "limit") {
      std::int64_t x = 0;
      if (!getInt(v, &x)) return wrongType(k, "an integer");
      out->limit = x;
    } else if (k == "consistency") {
      std::string s;
      if (!getStr(v, &s)) return wrongType(k, "a string");
      out->consistency = std::move(s);
    } else if (k == "timeout") {
      std::int64_t x = 0;
      if (!getInt(v, &x)) return wrongType(k, "an integer (milliseconds)");
      out->timeoutMs = x;
    } else if (k == "slot") {
      std::int64_t x = 0;
      if (!getInt(v, &x)) return wrongType(k, "an integer");
      out->slot = x;
    } else if (k == "offset") {
      std::int64_t x = 0;
      if (!getInt(v, &x)) return wrongType(k, "an integer");
      out->offset = x;
    } else if (k == "id") {
      std::int64_t x = 0;
      if (!getInt(v, &x)) return wrongType(k, "an integer");
      out->id = x;
    } else if (k == "peer" || k == "client" || k == "events") {
      std::string s;
      if (!getStr(v, &s)) return wrongType(k, "a string");
      (k == "peer" ? out->peer : k == "client" ? out->client : out->events) = std::move(s);
    } else if (k == "observer") {
      bool b = false;
      if (!getBool(v, &b)) return wrongType(k, "a boolean");
      out->observer = b;
    } else if (k == "lease" || k == "ttl") {
      std::int64_t x = 0;
      if (!getInt(v, &x))
        return wrongType(k, k == "ttl" ? "an integer (milliseconds)" : "an integer");
      (k == "lease" ? out->lease : out->ttl) = x;
    } else if (k == "session" || k == "seq") {
      std::int64_t x = 0;
      if (!getInt(v, &x)) return wrongType(k, "an integer");
      (k == "session" ? out->session : out->seq) = x;
    } else if (k == "if" || k == "then" || k == "else") {
      if (!out->txn) out->txn.emplace();
      if (Status s = decodeList(v, k, &*out->txn); !s.isOk()) return s;
    }
    // Other keys are ignored, so newer clients can talk to older nodes (PROTOCOL.md, Versioning).
  }
  if (!verb) return Status(Err::kMissingArg, "missing \"verb\"");
  auto vb = verbFromName(*verb);
  if (!vb) return Status(Err::kUnknownVerb, "unknown verb \"" + *verb + "\"");
  out->verb = *vb;
  return Status::ok();
}

std::string encodeRequest(const Request& r) {
  msgpack::sbuffer buf;
  Packer p(buf);
  std::uint32_t n = 1 + (r.path ? 1 : 0) + (r.rev ? 1 : 0) + (r.value ? 1 : 0) +
                    (r.tag.empty() ? 0 : 1) + (r.after ? 1 : 0) + (r.limit ? 1 : 0) +
                    (r.timeoutMs ? 1 : 0) + (r.consistency ? 1 : 0) + (r.slot ? 1 : 0) +
                    (r.offset ? 1 : 0) + (r.id ? 1 : 0) + (r.peer ? 1 : 0) + (r.client ? 1 : 0) +
                    (r.events ? 1 : 0) + (r.observer ? 1 : 0) + (r.lease ? 1 : 0) +
                    (r.ttl ? 1 : 0) + (r.txn ? 3 : 0) + (r.session ? 1 : 0) + (r.seq ? 1 : 0);
  p.pack_map(n);
  packKey(p, "verb");
  packStr(p, verbName(r.verb));
  if (r.path) {
    packKey(p, "path");
    packStr(p, *r.path);
  }
  if (r.rev) {
    packKey(p, "rev");
    p.pack_int64(*r.rev);
  }
  if (r.value) {
    packKey(p, "value");
    packBin(p, *r.value);
  }
  if (!r.tag.empty()) {
    packKey(p, "tag");
    buf.write(r.tag.data(), r.tag.size());
  }
  if (r.after) {
    packKey(p, "after");
    packStr(p, *r.after);
  }
  if (r.limit) {
    packKey(p, "limit");
    p.pack_int64(*r.limit);
  }
  if (r.timeoutMs) {
    packKey(p, "timeout");
    p.pack_int64(*r.timeoutMs);
  }
  if (r.consistency) {
    packKey(p, "consistency");
    packStr(p, *r.consistency);
  }
  if (r.slot) {
    packKey(p, "slot");
    p.pack_int64(*r.slot);
  }
  if (r.offset) {
    packKey(p, "offset");
    p.pack_int64(*r.offset);
  }
  if (r.id) {
    packKey(p, "id");
    p.pack_int64(*r.id);
  }
  for (const auto& [key, val] : {std::pair{"peer", &r.peer}, std::pair{"client", &r.client},
                                 std::pair{"events", &r.events}}) {
    if (*val) {
      packKey(p, key);
      packStr(p, **val);
    }
  }
  if (r.observer) {
    packKey(p, "observer");
    p.pack(*r.observer);
  }
  if (r.lease) {
    packKey(p, "lease");
    p.pack_int64(*r.lease);
  }
  if (r.ttl) {
    packKey(p, "ttl");
    p.pack_int64(*r.ttl);
  }
  if (r.session) {
    packKey(p, "session");
    p.pack_int64(*r.session);
  }
  if (r.seq) {
    packKey(p, "seq");
    p.pack_int64(*r.seq);
  }
  if (r.txn) packTxn(p, *r.txn);
  return std::string(buf.data(), buf.size());
}

// A msgpack map of string -> int, held as a vector of T with a name and a value member (the
// prefixes of the feed's claims, SELF's counters).
template <class T, std::string T::*Name, std::int64_t T::*Value>
void packNamedInts(Packer& p, const std::vector<T>& v) {
  p.pack_map(static_cast<std::uint32_t>(v.size()));
  for (const T& x : v) {
    packStr(p, x.*Name);
    p.pack_int64(x.*Value);
  }
}

template <class T, std::string T::*Name, std::int64_t T::*Value>
bool getNamedInts(const msgpack::object& o, std::vector<T>* out) {
  if (o.type != msgpack::type::MAP) return false;
  out->resize(o.via.map.size);
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (!getStr(kv.key, &((*out)[i].*Name)) || !getInt(kv.val, &((*out)[i].*Value))) return false;
  }
  return true;
}

constexpr auto packPrefixRevs = packNamedInts<PrefixRev, &PrefixRev::prefix, &PrefixRev::rev>;
constexpr auto getPrefixRevs = getNamedInts<PrefixRev, &PrefixRev::prefix, &PrefixRev::rev>;
constexpr auto packCounters = packNamedInts<Counter, &Counter::name, &Counter::value>;
constexpr auto getCounters = getNamedInts<Counter, &Counter::name, &Counter::value>;

std::string encodeReply(const Reply& r) {
  // A reply of scalars (most of them: a write's, a GET's) is sized for itself; one with lists
  // starts at msgpack-c's 8 KiB.
  const bool lists = r.entries || r.results || r.stats || r.members;
  msgpack::sbuffer buf(lists ? MSGPACK_SBUFFER_INIT_SIZE
                             : 256 + r.detail.size() + (r.value ? r.value->size() : 0));
  Packer p(buf);
  const bool failed = r.err != Err::kOk;
  std::uint32_t n =
      (failed ? 1 : 0) + (r.detail.empty() ? 0 : 1) + (r.tag.empty() ? 0 : 1) + (r.rev ? 1 : 0) +
      (r.path ? 1 : 0) + (r.value ? 1 : 0) + (r.op ? 1 : 0) + (r.len ? 1 : 0) + (r.dir ? 1 : 0) +
      (r.entries ? 1 : 0) + (r.next ? 1 : 0) + (r.head ? 1 : 0) + (r.id ? 1 : 0) +
      (r.leader ? 1 : 0) + (r.dropped ? 1 : 0) + (r.client ? 1 : 0) + (r.events ? 1 : 0) +
      (r.version ? 1 : 0) + (r.halted ? 1 : 0) + (r.stats ? 1 : 0) + (r.role ? 1 : 0) +
      (r.slot ? 1 : 0) + (r.lag ? 1 : 0) + (r.uptimeMs ? 1 : 0) + (r.fsyncUs ? 1 : 0) +
      (r.maxValue ? 1 : 0) + (r.offset ? 1 : 0) + (r.members ? 1 : 0) + (r.bootstrap ? 1 : 0) +
      (r.cluster ? 1 : 0) + (r.config ? 1 : 0) + (r.lease ? 1 : 0) + (r.ttl ? 1 : 0) +
      (r.remaining ? 1 : 0) + (r.succeeded ? 1 : 0) + (r.results ? 1 : 0);
  p.pack_map(n);
  if (failed) {
    packKey(p, "err");
    packStr(p, errName(r.err));
  }
  if (!r.detail.empty()) {
    packKey(p, "detail");
    packStr(p, r.detail);
  }
  if (!r.tag.empty()) {
    packKey(p, "tag");
    buf.write(r.tag.data(), r.tag.size());
  }
  auto optInt = [&](const char* k, const std::optional<std::int64_t>& v) {
    if (!v) return;
    packKey(p, k);
    p.pack_int64(*v);
  };
  auto optStr = [&](const char* k, const std::optional<std::string>& v) {
    if (!v) return;
    packKey(p, k);
    packStr(p, *v);
  };
  optInt("rev", r.rev);
  optStr("path", r.path);
  if (r.value) {
    packKey(p, "value");
    packBin(p, *r.value);
  }
  optStr("op", r.op);
  optInt("len", r.len);
  if (r.dir) {
    packKey(p, "dir");
    p.pack(*r.dir);
  }
  auto packEntries = [&](const char* key, const std::vector<Entry>& entries) {
    packKey(p, key);
    p.pack_array(static_cast<std::uint32_t>(entries.size()));
    for (const Entry& e : entries) {
      std::uint32_t en = 2 + (e.dir ? 1 : 0) + (e.value ? 1 : 0) + (e.op ? 1 : 0) +
                         (e.len ? 1 : 0) + (e.lease ? 1 : 0);
      p.pack_map(en);
      if (!e.path.empty()) {
        packKey(p, "path");
        packStr(p, e.path);
      } else {
        packKey(p, "name");
        packStr(p, e.name);
      }
      packKey(p, "rev");
      p.pack_int64(e.rev);
      if (e.dir) {
        packKey(p, "dir");
        p.pack(*e.dir);
      }
      if (e.value) {
        packKey(p, "value");
        packBin(p, *e.value);
      }
      if (e.op) {
        packKey(p, "op");
        packStr(p, *e.op);
      }
      optInt("len", e.len);
      optInt("lease", e.lease);
    }
  };
  if (r.entries) packEntries("entries", *r.entries);
  optStr("next", r.next);
  optInt("head", r.head);
  optInt("id", r.id);
  optInt("leader", r.leader);
  optInt("dropped", r.dropped);
  optStr("client", r.client);
  optStr("events", r.events);
  optStr("version", r.version);
  optStr("halted", r.halted);
  optStr("role", r.role);
  optInt("slot", r.slot);
  optInt("lag", r.lag);
  optInt("uptime_ms", r.uptimeMs);
  optInt("fsync_us", r.fsyncUs);
  optInt("max_value", r.maxValue);
  optInt("offset", r.offset);
  if (r.stats) {
    packKey(p, "stats");
    packCounters(p, *r.stats);
  }
  for (const auto& [key, list] :
       {std::pair{"members", &r.members}, std::pair{"bootstrap", &r.bootstrap}}) {
    if (!*list) continue;
    packKey(p, key);
    p.pack_array(static_cast<std::uint32_t>((*list)->size()));
    for (const MemberInfo& m : **list) {
      p.pack_map(m.learned ? 6 : 5);
      packKey(p, "id");
      p.pack_int64(m.id);
      packKey(p, "role");
      packStr(p, m.role);
      packKey(p, "peer");
      packStr(p, m.peer);
      packKey(p, "client");
      packStr(p, m.client);
      packKey(p, "events");
      packStr(p, m.events);
      if (m.learned) {
        packKey(p, "learned");
        p.pack_int64(*m.learned);
      }
    }
  }
  optStr("cluster", r.cluster);
  optInt("config", r.config);
  optInt("lease", r.lease);
  optInt("ttl", r.ttl);
  optInt("remaining", r.remaining);
  if (r.succeeded) {
    packKey(p, "succeeded");
    p.pack(*r.succeeded);
  }
  if (r.results) packEntries("results", *r.results);
  return std::string(buf.data(), buf.size());
}

namespace {

// Calls field(key, value) for each string-keyed entry of a map (other keys are ignored, as the
// protocol says); field returns false when the value has the wrong type.
template <class F>
Status forEachField(const msgpack::object& o, const char* what, F&& field) {
  if (o.type != msgpack::type::MAP)
    return Status(Err::kBadRequest, std::string(what) + " is not a map");
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) continue;
    std::string_view k = strOf(kv.key);
    if (!field(k, kv.val)) return wrongType(k, "of the documented type");
  }
  return Status::ok();
}

// The same over bytes that came from a node (reply-sized limits).
template <class F>
Status decodeFields(std::string_view bytes, const char* what, F&& field) {
  msgpack::object_handle oh;
  if (Status s = unpackOne(bytes, replyLimit(), &oh); !s.isOk()) return s;
  return forEachField(oh.get(), what, std::forward<F>(field));
}

template <class T>
bool getOpt(bool (*get)(const msgpack::object&, T*), const msgpack::object& v,
            std::optional<T>* out) {
  T x{};
  if (!get(v, &x)) return false;
  *out = std::move(x);
  return true;
}

bool decodeMember(const msgpack::object& o, MemberInfo* m) {
  return forEachField(o, "member",
                      [&](std::string_view k, const msgpack::object& v) {
                        if (k == "id") return getInt(v, &m->id);
                        if (k == "role") return getStr(v, &m->role);
                        if (k == "peer") return getStr(v, &m->peer);
                        if (k == "client") return getStr(v, &m->client);
                        if (k == "events") return getStr(v, &m->events);
                        if (k == "learned") return getOpt(getInt, v, &m->learned);
                        return true;
                      })
      .isOk();
}

bool decodeEntry(const msgpack::object& o, Entry* e) {
  return forEachField(o, "entry",
                      [&](std::string_view k, const msgpack::object& v) {
                        if (k == "name") return getStr(v, &e->name);
                        if (k == "path") return getStr(v, &e->path);
                        if (k == "rev") return getInt(v, &e->rev);
                        if (k == "dir") return getOpt(getBool, v, &e->dir);
                        if (k == "value") return getOpt(getBytes, v, &e->value);
                        if (k == "op") return getOpt(getStr, v, &e->op);
                        if (k == "len") return getOpt(getInt, v, &e->len);
                        if (k == "lease") return getOpt(getInt, v, &e->lease);
                        return true;
                      })
      .isOk();
}

}  // namespace

Result<Reply> decodeReply(std::string_view bytes) {
  Reply r;
  std::string errName;
  Status s = decodeFields(bytes, "reply", [&](std::string_view k, const msgpack::object& v) {
    if (k == "err") return getStr(v, &errName);
    if (k == "detail") return getStr(v, &r.detail);
    if (k == "tag") {
      r.tag = packObject(v);
      return true;
    }
    if (k == "rev") return getOpt(getInt, v, &r.rev);
    if (k == "len") return getOpt(getInt, v, &r.len);
    if (k == "head") return getOpt(getInt, v, &r.head);
    if (k == "id") return getOpt(getInt, v, &r.id);
    if (k == "leader") return getOpt(getInt, v, &r.leader);
    if (k == "dropped") return getOpt(getInt, v, &r.dropped);
    if (k == "value") return getOpt(getBytes, v, &r.value);
    if (k == "path") return getOpt(getStr, v, &r.path);
    if (k == "op") return getOpt(getStr, v, &r.op);
    if (k == "next") return getOpt(getStr, v, &r.next);
    if (k == "client") return getOpt(getStr, v, &r.client);
    if (k == "events") return getOpt(getStr, v, &r.events);
    if (k == "version") return getOpt(getStr, v, &r.version);
    if (k == "halted") return getOpt(getStr, v, &r.halted);
    if (k == "stats") return getCounters(v, &r.stats.emplace());
    if (k == "role") return getOpt(getStr, v, &r.role);
    if (k == "slot") return getOpt(getInt, v, &r.slot);
    if (k == "lag") return getOpt(getInt, v, &r.lag);
    if (k == "uptime_ms") return getOpt(getInt, v, &r.uptimeMs);
    if (k == "fsync_us") return getOpt(getInt, v, &r.fsyncUs);
    if (k == "max_value") return getOpt(getInt, v, &r.maxValue);
    if (k == "offset") return getOpt(getInt, v, &r.offset);
    if (k == "cluster") return getOpt(getStr, v, &r.cluster);
    if (k == "config") return getOpt(getInt, v, &r.config);
    if (k == "lease") return getOpt(getInt, v, &r.lease);
    if (k == "ttl") return getOpt(getInt, v, &r.ttl);
    if (k == "remaining") return getOpt(getInt, v, &r.remaining);
    if (k == "members" || k == "bootstrap") {
      if (v.type != msgpack::type::ARRAY) return false;
      auto& list = (k == "members" ? r.members : r.bootstrap).emplace(v.via.array.size);
      for (std::uint32_t j = 0; j < v.via.array.size; ++j) {
        if (!decodeMember(v.via.array.ptr[j], &list[j])) return false;
      }
      return true;
    }
    if (k == "dir") return getOpt(getBool, v, &r.dir);
    if (k == "succeeded") return getOpt(getBool, v, &r.succeeded);
    if (k == "entries" || k == "results") {
      if (v.type != msgpack::type::ARRAY) return false;
      auto& list = (k == "entries" ? r.entries : r.results).emplace(v.via.array.size);
      for (std::uint32_t j = 0; j < v.via.array.size; ++j) {
        if (!decodeEntry(v.via.array.ptr[j], &list[j])) return false;
      }
    }
    return true;
  });
  if (!s.isOk()) return s;
  if (!errName.empty()) {
    r.err = errFromName(errName).value_or(Err::kOther);
    // A name this build does not know is kept in the detail, so nothing is hidden.
    if (r.err == Err::kOther && errName != "OTHER") r.detail = errName + ": " + r.detail;
  }
  return r;
}

std::string encodeEvent(const Event& e) {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_map(e.n > 1 ? 7 : 5);
  packKey(p, "rev");
  p.pack_int64(e.rev);
  packKey(p, "path");
  packStr(p, e.path);
  packKey(p, "op");
  packStr(p, e.op);
  packKey(p, "value");
  packBin(p, e.value);
  packKey(p, "prev");
  packPrefixRevs(p, e.prev);
  if (e.n > 1) {
    packKey(p, "i");
    p.pack_int64(e.i);
    packKey(p, "n");
    p.pack_int64(e.n);
  }
  return std::string(buf.data(), buf.size());
}

Result<Event> decodeEvent(std::string_view bytes) {
  Event e;
  Status s = decodeFields(bytes, "event", [&](std::string_view k, const msgpack::object& v) {
    if (k == "rev") return getInt(v, &e.rev);
    if (k == "path") return getStr(v, &e.path);
    if (k == "op") return getStr(v, &e.op);
    if (k == "value") return getBytes(v, &e.value);
    if (k == "prev") return getPrefixRevs(v, &e.prev);
    if (k == "i") return getInt(v, &e.i);
    if (k == "n") return getInt(v, &e.n);
    return true;
  });
  if (!s.isOk()) return s;
  return e;
}

std::string encodeHeartbeat(const Heartbeat& h) {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_map(h.partial ? 7 : 6);
  packKey(p, "rev");
  p.pack_int64(h.rev);
  packKey(p, "id");
  p.pack_int64(h.id);
  packKey(p, "boot");
  p.pack_int64(h.boot);
  packKey(p, "seq");
  p.pack_int64(h.seq);
  packKey(p, "leader");
  p.pack_int64(h.leader);
  packKey(p, "last");
  packPrefixRevs(p, h.last);
  if (h.partial) {
    packKey(p, "partial");
    p.pack_true();
  }
  return std::string(buf.data(), buf.size());
}

Result<Heartbeat> decodeHeartbeat(std::string_view bytes) {
  Heartbeat h;
  Status s = decodeFields(bytes, "heartbeat", [&](std::string_view k, const msgpack::object& v) {
    if (k == "rev") return getInt(v, &h.rev);
    if (k == "id") return getInt(v, &h.id);
    if (k == "boot") return getInt(v, &h.boot);
    if (k == "seq") return getInt(v, &h.seq);
    if (k == "leader") return getInt(v, &h.leader);
    if (k == "last") return getPrefixRevs(v, &h.last);
    if (k == "partial") return getBool(v, &h.partial);
    return true;
  });
  if (!s.isOk()) return s;
  return h;
}

}  // namespace cairn::wire
