#include "store/snapshot.h"

#include <unistd.h>
#include <msgpack.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "store/crc32c.h"
#include "store/file.h"
#include "wire/path.h"

namespace cairn::store {

using wire::Err;
using wire::Status;

namespace {

constexpr char kMagic[8] = {'C', 'A', 'I', 'R', 'N', 'S', 'N', 'P'};
constexpr int kVersion = 1;
constexpr int kVersionMembers = 2;
constexpr int kVersionLeases = 3;
constexpr int kVersionSessions = 4;
constexpr int kVersionOwners = 5;  // version 4's layout; a lease may be [id, ttl, owner]
// The longest string the header may hold: a lease's owner, a user name (wire::kMaxUser).
constexpr std::size_t kMaxOwner = wire::kMaxUser;
constexpr std::size_t kProgressEvery = 32 << 20;

// What the packer writes into: bytes go out to `append` in pieces of about kPiece, with the
// running checksum, so a snapshot is never whole in memory while it is written.
class Sink {
 public:
  static constexpr std::size_t kPiece = 1 << 20;
  explicit Sink(const Append& append) : append_(append) {}
  void write(const char* p, std::size_t n) {
    buf_.append(p, n);
    if (buf_.size() >= kPiece) flush();
  }
  void flush() {
    if (!status_.isOk() || buf_.empty()) return;
    crc_ = crc32c(buf_, crc_);
    status_ = append_(buf_);
    buf_.clear();
  }
  // Flushes, then appends the checksum of everything before it.
  Status finish() {
    flush();
    if (!status_.isOk()) return status_;
    return append_(std::string_view(reinterpret_cast<const char*>(&crc_), 4));
  }

 private:
  const Append& append_;
  std::string buf_;
  std::uint32_t crc_ = 0;
  Status status_;
};

using Packer = msgpack::packer<Sink>;

void packNode(Packer& p, const std::string& name, const Node& n) {
  p.pack_array(!n.dir && n.lease != 0 ? 4 : 3);
  p.pack(name);
  p.pack_int64(n.rev);
  if (n.dir) {
    p.pack_uint64(n.children.size());
    n.children.forEach([&](const std::string& k, const NodeP& c) {
      packNode(p, k, *c);
      return true;
    });
  } else {
    p.pack_bin(static_cast<std::uint32_t>(n.value->size()));
    p.pack_bin_body(n.value->data(), static_cast<std::uint32_t>(n.value->size()));
    if (n.lease != 0) p.pack_uint64(n.lease);
  }
}

struct Reader {
  std::string_view data;
  std::size_t off = 0;
  const Progress* progress = nullptr;
  std::size_t reported = 0;
  bool leases = false;  // a version 3 snapshot: a file's record may name its lease

  // A path component, as the store's paths are made of ([A-Za-z0-9._-]+, wire/path.h).
  static bool isName(const std::string& n) {
    if (n.empty()) return false;
    for (char c : n) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-')) {
        return false;
      }
    }
    return true;
  }

  // One node record and, for a directory, its children. `parentLen`: the length of the path of
  // the directory that holds it (0 for the root and its children: "/" + name).
  NodeP node(std::string* name, int depth, std::size_t parentLen = 0) {
    if (depth > static_cast<int>(wire::kMaxPathLen)) throw std::runtime_error("tree too deep");
    msgpack::object_handle oh =
        msgpack::unpack(data.data(), data.size(), off, nullptr, nullptr,
                        msgpack::unpack_limit(4, 0, wire::kMaxPathLen, 1u << 30, 0, 2));
    const msgpack::object& o = oh.get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size < 3 || o.via.array.size > 4) {
      throw std::runtime_error("bad node record");
    }
    if (progress && *progress && off - reported >= kProgressEvery) {
      (*progress)(off);
      reported = off;
    }
    const msgpack::object* a = o.via.array.ptr;
    *name = a[0].as<std::string>();
    // The store makes paths of the names and splits them again: each must be a valid component,
    // and each path no longer than a path may be.
    const std::size_t pathLen = depth == 0 ? 0 : parentLen + 1 + name->size();
    if (depth > 0 && (!isName(*name) || pathLen > wire::kMaxPathLen)) {
      throw std::runtime_error("a name that is not a path component, or a path too long");
    }
    auto n = std::make_shared<Node>();
    n->rev = a[1].as<std::int64_t>();
    if (a[2].type == msgpack::type::BIN) {
      n->value = std::make_shared<const std::string>(a[2].via.bin.ptr, a[2].via.bin.size);
      if (o.via.array.size == 4) {
        if (!leases) throw std::runtime_error("a file names a lease in a snapshot without leases");
        n->lease = a[3].as<std::uint64_t>();
      }
      return n;
    }
    if (o.via.array.size != 3) throw std::runtime_error("bad directory record");
    n->dir = true;
    std::uint64_t count = a[2].as<std::uint64_t>();
    for (std::uint64_t i = 0; i < count; ++i) {
      std::string child;
      NodeP c = node(&child, depth + 1, pathLen);
      n->children = n->children.assign(child, std::move(c));
    }
    return n;
  }
};

}  // namespace

std::string snapshotName(std::uint64_t index) {
  char b[64];
  std::snprintf(b, sizeof b, "snap-%020" PRIu64 ".snap", index);
  return b;
}

Status streamSnapshot(const Image& img, const Append& append) {
  Sink sink(append);
  sink.write(kMagic, sizeof kMagic);
  Packer p(sink);
  // Version 1 until a membership change was applied; version 2 adds the configuration; version 3,
  // once a lease was ever granted or a leader wrote its term, the leases and the term; version 4,
  // once a session kept a reply, the exactly-once table too; version 5, once a live lease has an
  // owner (a user's GRANT made it), the same with the owners.
  const bool owners = std::any_of(img.leases.begin(), img.leases.end(),
                                  [](const auto& l) { return !l.second.owner.empty(); });
  const bool sessions = owners || img.sessions.nextAge() > 1;
  const bool leases = sessions || img.nextLease > 1 || img.term != 0;
  const int version = owners                ? kVersionOwners
                      : sessions            ? kVersionSessions
                      : leases              ? kVersionLeases
                      : img.members.empty() ? kVersion
                                            : kVersionMembers;
  p.pack_array(version == kVersion          ? 3
               : version == kVersionMembers ? 4
               : version == kVersionLeases  ? 7
                                            : 9);
  p.pack_int(version);
  p.pack_uint64(img.index);
  p.pack_int64(img.rev);
  if (version != kVersion) {
    p.pack_bin(static_cast<std::uint32_t>(img.members.size()));
    p.pack_bin_body(img.members.data(), static_cast<std::uint32_t>(img.members.size()));
  }
  if (leases) {
    p.pack_uint64(img.nextLease);
    p.pack_array(static_cast<std::uint32_t>(img.leases.size()));
    for (const auto& [id, l] : img.leases) {
      p.pack_array(l.owner.empty() ? 2 : 3);
      p.pack_uint64(id);
      p.pack_int64(l.ttl);
      if (!l.owner.empty()) {
        p.pack_str(static_cast<std::uint32_t>(l.owner.size()));
        p.pack_str_body(l.owner.data(), static_cast<std::uint32_t>(l.owner.size()));
      }
    }
    p.pack_uint64(img.term);
  }
  if (sessions) {
    p.pack_uint64(img.sessions.nextAge());
    p.pack_array(static_cast<std::uint32_t>(img.sessions.all().size()));
    for (std::uint64_t id : img.sessions.ids()) {  // in order: one state, one snapshot
      const Sessions::Session& s = img.sessions.all().at(id);
      // [id, floor, bin: [[seq, age, bin: reply], ...]]: one level of nesting in the header.
      msgpack::sbuffer rb;
      msgpack::packer<msgpack::sbuffer> rp(rb);
      rp.pack_array(static_cast<std::uint32_t>(s.replies.size()));
      for (const auto& [seq, kept] : s.replies) {
        rp.pack_array(3);
        rp.pack_uint64(seq);
        rp.pack_uint64(kept.age);
        rp.pack_bin(static_cast<std::uint32_t>(kept.reply.size()));
        rp.pack_bin_body(kept.reply.data(), static_cast<std::uint32_t>(kept.reply.size()));
      }
      p.pack_array(3);
      p.pack_uint64(id);
      p.pack_uint64(s.floor);
      p.pack_bin(static_cast<std::uint32_t>(rb.size()));
      p.pack_bin_body(rb.data(), static_cast<std::uint32_t>(rb.size()));
    }
  }
  packNode(p, "", *img.root);
  return sink.finish();
}

std::string encodeSnapshot(const Image& img) {
  std::string out;
  (void)streamSnapshot(img, [&](std::string_view piece) {
    out.append(piece);
    return Status::ok();
  });
  return out;
}

wire::Result<Store> decodeSnapshot(std::string_view bytes, Store::Options opts,
                                   const Progress& progress) {
  if (bytes.size() < sizeof kMagic + 4 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return Status(Err::kCorrupt, "not a Cairn snapshot");
  }
  std::uint32_t crc;
  std::memcpy(&crc, bytes.data() + bytes.size() - 4, 4);
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  std::uint32_t sum = 0;
  for (std::size_t at = 0; at < body.size(); at += kProgressEvery) {
    sum = crc32c(body.substr(at, kProgressEvery), sum);
    if (progress) progress(std::min(body.size(), at + kProgressEvery));
  }
  if (sum != crc) return Status(Err::kCorrupt, "snapshot checksum mismatch");
  if (progress) progress(0);  // the decoding pass begins
  try {
    Reader r{body, sizeof kMagic, &progress};
    msgpack::object_handle oh =
        msgpack::unpack(body.data(), body.size(), r.off, nullptr, nullptr,
                        msgpack::unpack_limit(kMaxLeases + 1, 0, kMaxOwner, 1 << 28, 0, 3));
    const msgpack::object& h = oh.get();
    if (h.type != msgpack::type::ARRAY || h.via.array.size < 3) {
      return Status(Err::kCorrupt, "unsupported snapshot header");
    }
    const msgpack::object* a = h.via.array.ptr;
    const int version = a[0].as<int>();
    const std::uint32_t n = h.via.array.size;
    const bool v1 = version == kVersion && n == 3;
    const bool v2 = version == kVersionMembers && n == 4 && a[3].type == msgpack::type::BIN;
    const bool v5 = version == kVersionOwners;
    const bool v4 = (version == kVersionSessions || v5) && n == 9 &&
                    a[3].type == msgpack::type::BIN && a[5].type == msgpack::type::ARRAY &&
                    a[8].type == msgpack::type::ARRAY;
    const bool v3 = v4 || (version == kVersionLeases && n == 7 && a[3].type == msgpack::type::BIN &&
                           a[5].type == msgpack::type::ARRAY);
    if (!v1 && !v2 && !v3) return Status(Err::kCorrupt, "unsupported snapshot header");
    std::uint64_t index = a[1].as<std::uint64_t>();
    std::int64_t rev = a[2].as<std::int64_t>();
    // A store's rev starts at 0 and only grows, and the next change takes rev + 1.
    if (rev < 0 || rev == INT64_MAX) return Status(Err::kCorrupt, "snapshot rev out of range");
    std::string members;
    if (!v1) members.assign(a[3].via.bin.ptr, a[3].via.bin.size);
    std::map<std::uint64_t, Lease> leases;
    std::uint64_t nextLease = 1, term = 0;
    if (v3) {
      nextLease = a[4].as<std::uint64_t>();
      term = a[6].as<std::uint64_t>();
      if (nextLease < 1 || nextLease == UINT64_MAX || a[5].via.array.size > kMaxLeases) {
        return Status(Err::kCorrupt, "malformed snapshot leases");
      }
      const msgpack::object_array& ls = a[5].via.array;
      for (std::uint32_t i = 0; i < ls.size; ++i) {
        const msgpack::object& e = ls.ptr[i];
        // [id, ttl], or in version 5 [id, ttl, owner] (a non-empty owner: "" is written as none)
        const bool owned = v5 && e.type == msgpack::type::ARRAY && e.via.array.size == 3 &&
                           e.via.array.ptr[2].type == msgpack::type::STR &&
                           e.via.array.ptr[2].via.str.size > 0 &&
                           e.via.array.ptr[2].via.str.size <= wire::kMaxUser;
        if (e.type != msgpack::type::ARRAY || (e.via.array.size != 2 && !owned)) {
          return Status(Err::kCorrupt, "malformed snapshot lease");
        }
        const auto id = e.via.array.ptr[0].as<std::uint64_t>();
        const auto ttl = e.via.array.ptr[1].as<std::int64_t>();
        if (id == 0 || id >= nextLease || ttl < kMinLeaseTtl || ttl > kMaxLeaseTtl ||
            leases.count(id)) {
          return Status(Err::kCorrupt, "malformed snapshot lease");
        }
        Lease& l = leases[id];
        l.ttl = ttl;
        if (owned) l.owner.assign(e.via.array.ptr[2].via.str.ptr, e.via.array.ptr[2].via.str.size);
      }
    }
    Sessions sessions;
    if (v4) {
      sessions.setNextAge(a[7].as<std::uint64_t>());
      const msgpack::object_array& ss = a[8].via.array;
      for (std::uint32_t i = 0; i < ss.size; ++i) {
        const msgpack::object& e = ss.ptr[i];
        if (e.type != msgpack::type::ARRAY || e.via.array.size != 3 ||
            e.via.array.ptr[2].type != msgpack::type::BIN) {
          return Status(Err::kCorrupt, "malformed snapshot session");
        }
        const auto id = e.via.array.ptr[0].as<std::uint64_t>();
        if (!leases.count(id)) return Status(Err::kCorrupt, "a snapshot session without its lease");
        Sessions::Session s;
        s.floor = e.via.array.ptr[1].as<std::uint64_t>();
        const msgpack::object& bin = e.via.array.ptr[2];
        std::size_t off = 0;
        msgpack::object_handle rh =
            msgpack::unpack(bin.via.bin.ptr, bin.via.bin.size, off, nullptr, nullptr,
                            msgpack::unpack_limit(Sessions::kWindow, 0, 0, 1 << 30, 0, 2));
        const msgpack::object& rs = rh.get();
        if (off != bin.via.bin.size || rs.type != msgpack::type::ARRAY) {
          return Status(Err::kCorrupt, "malformed snapshot session replies");
        }
        for (std::uint32_t j = 0; j < rs.via.array.size; ++j) {
          const msgpack::object& k = rs.via.array.ptr[j];
          if (k.type != msgpack::type::ARRAY || k.via.array.size != 3 ||
              k.via.array.ptr[2].type != msgpack::type::BIN) {
            return Status(Err::kCorrupt, "malformed snapshot session reply");
          }
          Sessions::Kept kept;
          kept.age = k.via.array.ptr[1].as<std::uint64_t>();
          kept.reply.assign(k.via.array.ptr[2].via.bin.ptr, k.via.array.ptr[2].via.bin.size);
          s.replies.emplace_back(k.via.array.ptr[0].as<std::uint64_t>(), std::move(kept));
        }
        if (Status st = sessions.restore(id, std::move(s)); !st.isOk()) return st;
      }
      if (Status st = sessions.restored(); !st.isOk()) return st;
    }
    r.leases = v3;
    std::string rootName;
    NodeP root = r.node(&rootName, 0);
    if (!root->dir || r.off != body.size()) return Status(Err::kCorrupt, "malformed snapshot tree");
    return Store(opts, std::move(root), rev, index, std::move(members), std::move(leases),
                 nextLease, term, std::move(sessions));
  } catch (const std::exception& e) {
    return Status(Err::kCorrupt, std::string("malformed snapshot: ") + e.what());
  }
}

Status writeSnapshot(const Image& img, const std::string& dir) {
  if (Status st = makeDirs(dir); !st.isOk()) return st;
  if (Status st =
          writeFileAtomic(dir, snapshotName(img.index),
                          [&](const Append& append) { return streamSnapshot(img, append); });
      !st.isOk()) {
    return st;
  }
  removeOlderSnapshots(dir, img.index);
  return Status::ok();
}

void removeOlderSnapshots(const std::string& dir, std::uint64_t index) {
  auto names = listDir(dir, "snap-", ".snap");
  if (!names) return;
  const std::string keep = snapshotName(index);
  for (const auto& n : *names) {
    if (n < keep) ::unlink((dir + "/" + n).c_str());  // zero-padded: names sort as their indexes
  }
}

wire::Result<std::optional<SnapshotFile>> newestSnapshot(const std::string& dir) {
  auto names = listDir(dir, "snap-", ".snap");
  if (!names) return names.status();
  if (names->empty()) return std::optional<SnapshotFile>();
  const std::string& n = names->back();
  SnapshotFile f;
  f.index = std::strtoull(n.c_str() + 5, nullptr, 10);
  f.path = dir + "/" + n;
  return std::optional<SnapshotFile>(std::move(f));
}

wire::Result<Store> loadSnapshotFile(const std::string& path, Store::Options opts) {
  auto file = MappedFile::open(path);
  if (!file) return file.status();
  // Each pass lets go of the pages it has read, so the file never sits whole in memory beside
  // the tree decoded from it.
  std::size_t done = 0;
  auto st = decodeSnapshot(file->view(), opts, [&](std::size_t at) {
    if (at > done) file->release(at);
    done = at;
  });
  if (!st) return Status(Err::kCorrupt, path + ": " + st.status().detail());
  return st;
}

wire::Result<std::optional<Store>> loadSnapshot(const std::string& dir, Store::Options opts) {
  auto f = newestSnapshot(dir);
  if (!f) return f.status();
  if (!f->has_value()) return std::optional<Store>();
  auto st = loadSnapshotFile((*f)->path, opts);
  if (!st) return st.status();
  return std::optional<Store>(std::move(st.value()));
}

}  // namespace cairn::store
