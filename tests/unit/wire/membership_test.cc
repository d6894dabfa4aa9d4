#include <catch2/catch.hpp>

#include "wire/command.h"
#include "wire/membership.h"

using cairn::wire::checkChange;
using cairn::wire::decodeMembership;
using cairn::wire::encodeMembership;
using cairn::wire::Err;
using cairn::wire::isMembershipValue;
using cairn::wire::Member;
using cairn::wire::Membership;

namespace {

Membership three() {
  Membership m = cairn::wire::votersOnly(9, {1, 2, 3});
  m.members[0].peer = "tcp://a:1";
  return m;
}

}  // namespace

TEST_CASE("membership: a log value that round-trips and is told from a batch",
          "[unit][wire][membership]") {
  Membership m = three();
  m.version = 4;
  m.members.push_back(Member{7, false, "tcp://p", "tcp://c", "tcp://e", true});
  m.nextId = 8;
  const std::string v = encodeMembership(m);
  REQUIRE(isMembershipValue(v));
  auto d = decodeMembership(v);
  REQUIRE(d.isOk());
  CHECK(*d == m);
  CHECK(d->quorum() == 2);
  CHECK(d->voters() == std::vector<std::uint32_t>{1, 2, 3});
  CHECK(!d->isVoter(7));
  CHECK(d->has(7));
  // A batch of commands, a no-op and damage are not configurations.
  cairn::wire::Batch b;
  b.items.push_back({1, cairn::wire::Command{cairn::wire::Command::Op::kSet, "/a", -1, "x"}});
  CHECK(!isMembershipValue(cairn::wire::encodeBatch(b)));
  CHECK(!isMembershipValue(""));
  CHECK(decodeMembership(v.substr(0, v.size() - 1)).status().code() == Err::kCorrupt);
  Membership noVoter = m;
  for (auto& e : noVoter.members)
    e.voter = false;
  CHECK(decodeMembership(encodeMembership(noVoter)).status().code() == Err::kCorrupt);
  Membership dup = m;
  dup.members.push_back(dup.members.front());
  CHECK(decodeMembership(encodeMembership(dup)).status().code() == Err::kCorrupt);
  Membership low = m;
  low.nextId = 3;  // below id 7
  CHECK(decodeMembership(encodeMembership(low)).status().code() == Err::kCorrupt);
}

TEST_CASE("membership: one change at a time", "[unit][wire][membership]") {
  const Membership cur = three();
  auto next = [&] {
    Membership n = cur;
    n.version = cur.version + 1;
    return n;
  };
  Membership add = next();
  add.members.push_back(Member{4, false, "tcp://p4", "", "", false});
  add.nextId = 5;
  CHECK(checkChange(cur, add).isOk());
  CHECK(cairn::wire::follows(cur, add));

  Membership voter = add;
  voter.members.back().voter = true;
  CHECK(checkChange(cur, voter).code() == Err::kBadRequest);  // joins as a learner

  Membership promote = add;
  promote.version += 1;
  promote.members.back().voter = true;
  CHECK(checkChange(add, promote).isOk());

  Membership remove = next();
  remove.members.erase(remove.members.begin());
  CHECK(checkChange(cur, remove).isOk());

  Membership two = remove;
  two.members.erase(two.members.begin());
  CHECK(checkChange(cur, two).code() == Err::kBadRequest);

  Membership same = next();
  CHECK(checkChange(cur, same).code() == Err::kBadRequest);  // nothing changes

  Membership stale = add;
  stale.version = cur.version;
  CHECK(checkChange(cur, stale).code() == Err::kBadRequest);
  CHECK(!cairn::wire::follows(cur, stale));

  Membership reused = next();
  reused.nextId = 5;
  Membership back = reused;
  back.version += 1;
  back.members.push_back(Member{4, false, "", "", "", false});  // id 4 was handed out already
  CHECK(checkChange(reused, back).code() == Err::kBadRequest);

  Membership moved = next();
  moved.members[1].peer = "tcp://elsewhere:1";
  CHECK(checkChange(cur, moved).code() == Err::kBadRequest);

  Membership last = cairn::wire::votersOnly(9, {1});
  Membership none = last;
  none.version = 1;
  none.members.clear();
  CHECK(checkChange(last, none).code() == Err::kBadRequest);
}
