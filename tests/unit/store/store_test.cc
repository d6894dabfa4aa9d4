#include <catch2/catch.hpp>

#include "store/store.h"

using cairn::store::Change;
using cairn::store::Store;
using cairn::wire::Command;
using cairn::wire::Err;
using cairn::wire::Glob;

namespace {

// Applies commands with consecutive log indices; the tests read like a transcript.
struct StoreTestFixture {
  Store s;
  std::uint64_t index = 0;
  explicit StoreTestFixture(Store::Options o = {}) : s(o) {}
  cairn::store::ApplyResult set(const std::string& p, const std::string& v, std::int64_t rev) {
    return s.apply(++index, Command{Command::Op::kSet, p, rev, v});
  }
  cairn::store::ApplyResult del(const std::string& p, std::int64_t rev) {
    return s.apply(++index, Command{Command::Op::kDel, p, rev, ""});
  }
  Err setErr(const std::string& p, const std::string& v, std::int64_t rev) {
    return set(p, v, rev).status.code();
  }
  Err delErr(const std::string& p, std::int64_t rev) { return del(p, rev).status.code(); }
};

}  // namespace

TEST_CASE("store: writes follow Doozer's rules", "[unit][store]") {
  StoreTestFixture f;
  struct Step {
    char op;  // 's' set, 'd' del
    const char* path;
    std::int64_t rev;
    Err want;
    const char* dump;  // the whole tree after the step
  };
  const Step steps[] = {
      {'s', "/a", 0, Err::kOk, "/a@1=v"},                    // rev 0 creates
      {'s', "/a", 0, Err::kRevMismatch, "/a@1=v"},           // ... only
      {'s', "/a", 1, Err::kOk, "/a@2=v"},                    // rev >= file.rev succeeds
      {'s', "/a", 1, Err::kRevMismatch, "/a@2=v"},           // rev < file.rev fails
      {'s', "/a", 7, Err::kOk, "/a@3=v"},                    // a later rev also succeeds
      {'s', "/a", -1, Err::kOk, "/a@4=v"},                   // -1 clobbers
      {'s', "/a/b", -1, Err::kNotDir, "/a@4=v"},             // a file under a file
      {'d', "/a/b", -1, Err::kNotDir, "/a@4=v"},             // ... and never deletes /a
      {'s', "/d/e/f", 0, Err::kOk, "/a@4=v /d/e/f@5=v"},     // directories are implicit
      {'s', "/d/e", -1, Err::kIsDir, "/a@4=v /d/e/f@5=v"},   // writing a directory
      {'d', "/d", -1, Err::kIsDir, "/a@4=v /d/e/f@5=v"},     // deleting a directory
      {'s', "/", -1, Err::kIsDir, "/a@4=v /d/e/f@5=v"},      // the root
      {'d', "/nope", -1, Err::kNoEnt, "/a@4=v /d/e/f@5=v"},  // deleting nothing
      {'d', "/a", 3, Err::kRevMismatch, "/a@4=v /d/e/f@5=v"},
      {'d', "/a", 4, Err::kOk, "/d/e/f@5=v"},
      {'d', "/d/e/f", 0, Err::kRevMismatch, "/d/e/f@5=v"},
      {'d', "/d/e/f", -1, Err::kOk, ""},  // empty directories disappear
      {'s', "bad", -1, Err::kBadPath, ""},
      {'s', "/x", -2, Err::kRevMismatch, ""},
  };
  std::int64_t expectRev = 0;
  for (const auto& st : steps) {
    INFO(st.op << " " << st.path << " " << st.rev);
    auto r = st.op == 's' ? f.set(st.path, "v", st.rev) : f.del(st.path, st.rev);
    CHECK(r.status.code() == st.want);
    if (st.want == Err::kOk) ++expectRev;  // a failed write consumes no revision
    CHECK(f.s.rev() == expectRev);
    CHECK(r.rev == expectRev);
    CHECK(r.changes.size() == (st.want == Err::kOk ? 1u : 0u));
    CHECK(f.s.dump() == st.dump);
  }
  CHECK(f.s.appliedIndex() == std::size(steps));
}

TEST_CASE("store: a nop changes nothing and consumes no revision", "[unit][store]") {
  StoreTestFixture f;
  f.set("/a", "1", -1);
  auto r = f.s.apply(++f.index, Command{});
  CHECK(r.status.isOk());
  CHECK(r.rev == 1);
  CHECK(r.changes.empty());
  CHECK(f.s.rev() == 1);
}

TEST_CASE("store: reads at past revisions and the history window", "[unit][store]") {
  Store::Options o;
  o.historyRevs = 3;
  StoreTestFixture f(o);
  f.set("/a", "1", -1);  // rev 1
  f.set("/a", "2", -1);  // rev 2
  f.set("/b", "3", -1);  // rev 3
  f.del("/a", -1);       // rev 4
  CHECK(f.s.dump(4) == "/b@3=3");
  CHECK(f.s.dump(3) == "/a@2=2 /b@3=3");
  CHECK(f.s.dump(2) == "/a@2=2");
  CHECK(f.s.checkReadable(1).code() == Err::kTooLate);
  CHECK(f.s.checkReadable(5).code() == Err::kRange);
  CHECK(f.s.oldestRev() == 2);
  auto fi = f.s.stat("/a", 2);
  CHECK(fi.exists);
  CHECK(*fi.value == "2");
  CHECK(!f.s.stat("/a", 4).exists);
  CHECK(f.s.stat("/a", 4).rev == 0);
}

TEST_CASE("store: stat of files and directories", "[unit][store]") {
  StoreTestFixture f;
  f.set("/d/x", "hello", -1);
  f.set("/d/y/z", "", -1);
  auto d = f.s.stat("/d", f.s.rev());
  CHECK(d.dir);
  CHECK(d.len == 2);
  CHECK(d.rev == 2);
  auto x = f.s.stat("/d/x", f.s.rev());
  CHECK(!x.dir);
  CHECK(x.len == 5);
  CHECK(x.rev == 1);
  CHECK(!f.s.stat("/d/x/q", f.s.rev()).exists);
  CHECK(f.s.stat("/", f.s.rev()).dir);
}

TEST_CASE("store: getdir pages in name order", "[unit][store]") {
  StoreTestFixture f;
  for (const char* n : {"c", "a", "b", "e", "d"})
    f.set(std::string("/dir/") + n, n, -1);
  f.set("/dir/sub/x", "x", -1);
  auto p1 = f.s.getdir("/dir", f.s.rev(), std::nullopt, 4);
  REQUIRE(p1.isOk());
  CHECK(p1->names == std::vector<std::string>{"a", "b", "c", "d"});
  REQUIRE(p1->next);
  auto p2 = f.s.getdir("/dir", f.s.rev(), p1->next, 4);
  REQUIRE(p2.isOk());
  CHECK(p2->names == std::vector<std::string>{"e", "sub"});
  CHECK(!p2->next);
  CHECK(p2->nodes[1]->dir);
  CHECK(f.s.getdir("/dir/a", f.s.rev(), std::nullopt, 10).status().code() == Err::kNotDir);
  CHECK(f.s.getdir("/none", f.s.rev(), std::nullopt, 10).status().code() == Err::kNoEnt);
}

TEST_CASE("store: walk pages in path order and resumes exactly", "[unit][store]") {
  StoreTestFixture f;
  const char* paths[] = {"/a/x", "/a/b/c", "/a/b/d", "/a-b", "/a/z/q/r", "/b/x", "/a.c/x"};
  for (const char* p : paths)
    f.set(p, "v", -1);
  auto g = Glob::compile("/**");
  REQUIRE(g.isOk());
  std::vector<std::string> all;
  std::optional<std::string> after;
  int pages = 0;
  do {
    auto p = f.s.walk(*g, f.s.rev(), after, 2, 1 << 20);
    REQUIRE(p.isOk());
    for (auto& n : p->names)
      all.push_back(n);
    after = p->next;
    ++pages;
  } while (after);
  // Component order: "a" < "a-b" < "a.c" < "b", and everything below /a before /a-b.
  CHECK(all ==
        std::vector<std::string>{"/a/b/c", "/a/b/d", "/a/x", "/a/z/q/r", "/a-b", "/a.c/x", "/b/x"});
  CHECK(pages == 4);
  auto g2 = Glob::compile("/a/*/*");
  auto p = f.s.walk(*g2, f.s.rev(), std::nullopt, 100, 1 << 20);
  CHECK(p->names == std::vector<std::string>{"/a/b/c", "/a/b/d"});
  auto g3 = Glob::compile("/a/b/d");
  CHECK(f.s.walk(*g3, f.s.rev(), std::nullopt, 100, 1 << 20)->names.size() == 1);
}

TEST_CASE("store: walk stops at the byte budget but returns at least one entry", "[unit][store]") {
  StoreTestFixture f;
  f.set("/a", std::string(100, 'x'), -1);
  f.set("/b", std::string(100, 'x'), -1);
  auto g = Glob::compile("/*");
  auto p = f.s.walk(*g, f.s.rev(), std::nullopt, 100, 50);
  CHECK(p->names == std::vector<std::string>{"/a"});
  CHECK(p->next == "/a");
}

TEST_CASE("store: first change from history", "[unit][store]") {
  Store::Options o;
  o.historyRevs = 4;
  StoreTestFixture f(o);
  f.set("/a/x", "1", -1);  // 1
  f.set("/b/x", "2", -1);  // 2
  f.del("/a/x", -1);       // 3
  auto g = Glob::compile("/a/**");
  auto c = f.s.firstChanges(*g, 0);
  REQUIRE(c.isOk());
  REQUIRE(c->size() == 1);
  CHECK(c->front().rev == 1);
  c = f.s.firstChanges(*g, 2);
  REQUIRE(c->size() == 1);
  CHECK(c->front().rev == 3);
  CHECK(c->front().op == Change::Op::kDel);
  CHECK(f.s.firstChanges(*g, 4)->empty());  // not yet happened
  for (int i = 0; i < 5; ++i)
    f.set("/c", "x", -1);  // 4..8; window keeps revs 5..8
  CHECK(f.s.firstChanges(*g, 3).status().code() == Err::kTooLate);
  CHECK(f.s.firstChanges(*g, 5).isOk());
}

TEST_CASE("store: changes in a rev range, paged, complete up to a rev", "[unit][store]") {
  Store::Options o;
  o.historyRevs = 100;
  StoreTestFixture f(o);
  for (int i = 1; i <= 20; ++i)
    f.set(i % 2 ? "/a/k" + std::to_string(i) : "/b/x", "v", -1);
  auto g = Glob::compile("/a/**");
  auto p = f.s.changes(*g, 1, 4, 1 << 20);
  REQUIRE(p.isOk());
  REQUIRE(p->changes.size() == 4);
  CHECK(p->changes[0].rev == 1);
  CHECK(p->changes[3].rev == 7);
  CHECK(p->complete == 7);  // cut short by the limit: complete up to the last one returned
  p = f.s.changes(*g, 8, 100, 1 << 20);
  REQUIRE(p.isOk());
  CHECK(p->changes.size() == 6);  // 9, 11, ..., 19
  CHECK(p->complete == 20);       // everything up to the head was looked at
  auto none = f.s.changes(*Glob::compile("/zzz/**"), 1, 100, 1 << 20);
  CHECK(none->changes.empty());
  CHECK(none->complete == 20);  // progress even when nothing matched
  for (int i = 0; i < 200; ++i)
    f.set("/c", "x", -1);
  CHECK(f.s.changes(*g, 1, 100, 1 << 20).status().code() == Err::kTooLate);
}

TEST_CASE("store: a write to a 100k-entry directory copies O(log n) nodes", "[unit][store]") {
  StoreTestFixture f;
  for (int i = 0; i < 100000; ++i)
    f.set("/big/f" + std::to_string(i), "v", -1);
  auto before = cairn::store::pmapNodesCreated().load();
  f.set("/big/f50000", "w", -1);
  auto copied = cairn::store::pmapNodesCreated().load() - before;
  CHECK(copied < 200);  // a treap of 100k entries is ~40 levels deep; a copy would be 100k
  auto p = f.s.getdir("/big", f.s.rev(), std::string("f99997"), 10);
  CHECK(p->names == std::vector<std::string>{"f99998", "f99999"});
  CHECK(f.s.stat("/big", f.s.rev()).len == 100000);
  CHECK(*f.s.stat("/big/f50000", f.s.rev() - 1).value == "v");  // the old version is intact
}
