#include "wire/membership.h"

#include <algorithm>
#include <msgpack.hpp>

namespace cairn::wire {

namespace {
constexpr std::string_view kTag = "cairn-members";
}  // namespace

const Member* Membership::find(std::uint32_t id) const {
  auto it = std::lower_bound(members.begin(), members.end(), id,
                             [](const Member& m, std::uint32_t v) { return m.id < v; });
  return it != members.end() && it->id == id ? &*it : nullptr;
}

bool Membership::isVoter(std::uint32_t id) const {
  const Member* m = find(id);
  return m != nullptr && m->voter;
}

std::vector<std::uint32_t> Membership::voters() const {
  std::vector<std::uint32_t> out;
  for (const Member& m : members) {
    if (m.voter) out.push_back(m.id);
  }
  return out;
}

Membership votersOnly(std::uint64_t cluster, const std::vector<std::uint32_t>& ids) {
  Membership m;
  m.cluster = cluster;
  std::vector<std::uint32_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (std::uint32_t id : sorted) {
    m.members.push_back(Member{id, true, {}, {}, {}, false});
    m.nextId = std::max(m.nextId, id + 1);
  }
  return m;
}

std::string encodeMembership(const Membership& m) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> p(buf);
  p.pack_array(5);
  p.pack_str(static_cast<std::uint32_t>(kTag.size()));
  p.pack_str_body(kTag.data(), static_cast<std::uint32_t>(kTag.size()));
  p.pack_uint64(m.cluster);
  p.pack_uint64(m.version);
  p.pack_uint32(m.nextId);
  p.pack_array(static_cast<std::uint32_t>(m.members.size()));
  for (const Member& e : m.members) {
    p.pack_array(6);
    p.pack_uint32(e.id);
    if (e.voter) {
      p.pack_true();
    } else {
      p.pack_false();
    }
    for (const std::string* s : {&e.peer, &e.client, &e.events}) {
      p.pack_str(static_cast<std::uint32_t>(s->size()));
      p.pack_str_body(s->data(), static_cast<std::uint32_t>(s->size()));
    }
    if (e.observer) {
      p.pack_true();
    } else {
      p.pack_false();
    }
  }
  return std::string(buf.data(), buf.size());
}

bool isMembershipValue(std::string_view v) {
  // fixarray(5), fixstr(13) "cairn-members"
  return v.size() > 2 + kTag.size() && static_cast<unsigned char>(v[0]) == 0x95 &&
         static_cast<unsigned char>(v[1]) == (0xa0 | kTag.size()) &&
         v.substr(2, kTag.size()) == kTag;
}

Result<Membership> decodeMembership(std::string_view v) {
  if (!isMembershipValue(v)) return Status(Err::kCorrupt, "not a membership value");
  try {
    std::size_t off = 0;
    msgpack::object_handle oh = msgpack::unpack(v.data(), v.size(), off, nullptr, nullptr,
                                                msgpack::unpack_limit(4096, 0, 1 << 20, 0, 0, 3));
    const msgpack::object& o = oh.get();
    if (off != v.size() || o.type != msgpack::type::ARRAY || o.via.array.size != 5 ||
        o.via.array.ptr[4].type != msgpack::type::ARRAY) {
      return Status(Err::kCorrupt, "membership: wrong shape");
    }
    Membership m;
    m.cluster = o.via.array.ptr[1].as<std::uint64_t>();
    m.version = o.via.array.ptr[2].as<std::uint64_t>();
    m.nextId = o.via.array.ptr[3].as<std::uint32_t>();
    const msgpack::object& list = o.via.array.ptr[4];
    for (std::uint32_t i = 0; i < list.via.array.size; ++i) {
      const msgpack::object& e = list.via.array.ptr[i];
      if (e.type != msgpack::type::ARRAY || e.via.array.size != 6) {
        return Status(Err::kCorrupt, "membership: a member is not a 6-element array");
      }
      Member mb;
      mb.id = e.via.array.ptr[0].as<std::uint32_t>();
      mb.voter = e.via.array.ptr[1].as<bool>();
      mb.peer = e.via.array.ptr[2].as<std::string>();
      mb.client = e.via.array.ptr[3].as<std::string>();
      mb.events = e.via.array.ptr[4].as<std::string>();
      mb.observer = e.via.array.ptr[5].as<bool>();
      if (mb.id == 0 || (!m.members.empty() && m.members.back().id >= mb.id) || mb.id >= m.nextId) {
        return Status(Err::kCorrupt, "membership: ids not unique, ascending and below nextId");
      }
      m.members.push_back(std::move(mb));
    }
    if (m.voters().empty()) return Status(Err::kCorrupt, "membership: no voter");
    return m;
  } catch (const std::exception& e) {
    return Status(Err::kCorrupt, std::string("membership: ") + e.what());
  }
}

std::optional<Membership> takesEffect(const Membership& cur, std::string_view value) {
  if (!isMembershipValue(value)) return std::nullopt;
  auto m = decodeMembership(value);
  if (!m || !follows(cur, *m)) return std::nullopt;
  return std::move(m.value());
}

Status checkChange(const Membership& cur, const Membership& next) {
  if (next.voters().empty()) return Status(Err::kBadRequest, "the last voter cannot be removed");
  if (next.cluster != cur.cluster) return Status(Err::kBadRequest, "another cluster's members");
  if (next.version != cur.version + 1) {
    return Status(Err::kBadRequest, "configuration version " + std::to_string(next.version) +
                                        " does not follow " + std::to_string(cur.version));
  }
  if (next.nextId < cur.nextId) return Status(Err::kBadRequest, "member ids are never reused");
  for (std::size_t i = 0; i < next.members.size(); ++i) {
    if (next.members[i].id == 0 || next.members[i].id >= next.nextId ||
        (i > 0 && next.members[i - 1].id >= next.members[i].id)) {
      return Status(Err::kBadRequest, "member ids must be unique, ascending, and below nextId");
    }
  }
  int differ = 0;
  std::uint32_t changed = 0;
  for (const Member& m : next.members) {
    const Member* was = cur.find(m.id);
    if (was == nullptr) {
      if (m.id < cur.nextId) {
        return Status(Err::kBadRequest, "id " + std::to_string(m.id) + " was used before");
      }
      if (m.voter) return Status(Err::kBadRequest, "a new member joins as a learner");
      ++differ;
      changed = m.id;
    } else if (!(*was == m)) {
      if (was->voter || !m.voter || was->peer != m.peer || was->client != m.client ||
          was->events != m.events || was->observer != m.observer) {
        return Status(Err::kBadRequest,
                      "member " + std::to_string(m.id) + " may only be promoted to voter");
      }
      ++differ;
      changed = m.id;
    }
  }
  for (const Member& m : cur.members) {
    if (!next.has(m.id)) {
      ++differ;
      changed = m.id;
    }
  }
  if (differ == 0) return Status(Err::kBadRequest, "nothing changes");
  if (differ > 1) return Status(Err::kBadRequest, "one member changes at a time");
  (void)changed;
  return Status::ok();
}

}  // namespace cairn::wire
