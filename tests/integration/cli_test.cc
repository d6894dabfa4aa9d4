// The cairn command-line tool against a real cairnd: output, --json and exit codes.

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "tests/support/node_process.h"

using namespace cairn;

namespace {

using test::Cli;

// Runs a program with its stdin and stdout on a pseudo-terminal, as someone at a terminal would
// (stderr goes to a pipe), and types `typed` into it. The terminal neither echoes nor turns "\n"
// into "\r\n", so RunResult::out holds exactly what the program wrote to it.
test::RunResult runOnTerminal(const std::vector<std::string>& argv, const std::string& typed) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0)
    throw std::runtime_error("no pseudo-terminal");
  int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  int err[2];
  if (slave < 0 || ::pipe(err) != 0) throw std::runtime_error("no pseudo-terminal");
  termios t{};
  ::tcgetattr(slave, &t);
  t.c_lflag &= ~static_cast<tcflag_t>(ECHO);  // canonical input stays on: Ctrl-D ends a read
  t.c_oflag &= ~static_cast<tcflag_t>(OPOST);
  ::tcsetattr(slave, TCSANOW, &t);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(slave, 0);
    ::dup2(slave, 1);
    ::dup2(err[1], 2);
    for (int fd : {master, slave, err[0], err[1]})
      ::close(fd);
    std::vector<char*> av;
    for (const auto& a : argv)
      av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    ::execv(av[0], av.data());
    _exit(126);
  }
  ::close(slave);
  ::close(err[1]);
  if (!typed.empty() && ::write(master, typed.data(), typed.size()) < 0)
    throw std::runtime_error("typing failed");
  test::RunResult r;
  bool ttyOpen = true, errOpen = true;  // the master reads EIO once the program has exited
  while (ttyOpen || errOpen) {
    pollfd fds[2] = {{ttyOpen ? master : -1, POLLIN, 0}, {errOpen ? err[0] : -1, POLLIN, 0}};
    ::poll(fds, 2, -1);
    char buf[4096];
    if (fds[0].revents) {
      ssize_t k = ::read(master, buf, sizeof buf);
      if (k <= 0) ttyOpen = false;
      if (k > 0) r.out.append(buf, static_cast<std::size_t>(k));
    }
    if (fds[1].revents) {
      ssize_t k = ::read(err[0], buf, sizeof buf);
      if (k <= 0) errOpen = false;
      if (k > 0) r.err.append(buf, static_cast<std::size_t>(k));
    }
  }
  ::close(master);
  ::close(err[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("cli: every command", "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};

  auto r = cairn({"set", "/config/db/url", "postgres://db1"});
  CHECK(r.code == 0);
  CHECK(r.out == "1\n");
  r = cairn({"add", "/config/name"}, "from stdin\n");  // value from stdin, bytes kept exactly
  CHECK(r.code == 0);
  CHECK(r.out == "2\n");
  CHECK(r.err.empty());  // stdin is a pipe: no word about typing the value
  r = cairn({"add", "/config/name", "again"});
  CHECK(r.code == 1);  // rev mismatch
  CHECK(r.err.find("REV_MISMATCH") != std::string::npos);
  r = cairn({"get", "/config/name"});
  CHECK(r.code == 0);
  CHECK(r.out == "from stdin\n");
  r = cairn({"get", "--json", "/config/db/url"});
  CHECK(r.out ==
        "{\"path\":\"/config/db/url\",\"exists\":true,\"rev\":1,\"value\":\"postgres://db1\","
        "\"head\":2}\n");
  r = cairn({"set", "--rev", "1", "/config/name", "x"});
  CHECK(r.code == 1);
  r = cairn({"set", "--rev", "2", "/config/name", "x"});
  CHECK(r.code == 0);
  CHECK(r.out == "3\n");
  r = cairn({"get", "--rev", "2", "/config/name"});
  CHECK(r.out == "from stdin\n");

  r = cairn({"ls"});
  CHECK(r.out == "config/\n");
  r = cairn({"ls", "/config"});
  CHECK(r.out == "db/\nname\n");
  r = cairn({"ls", "--json", "/config"});
  CHECK(r.out ==
        "{\"name\":\"db\",\"rev\":1,\"dir\":true}\n{\"name\":\"name\",\"rev\":3,\"dir\":false}\n");
  r = cairn({"find", "/config/**"});
  CHECK(r.out == "/config/db/url\n/config/name\n");
  r = cairn({"find", "--json", "/config/d*/*"});
  CHECK(r.out == "{\"path\":\"/config/db/url\",\"rev\":1,\"value\":\"postgres://db1\"}\n");
  r = cairn({"tree"});
  CHECK(r.out == "/\n  config/\n    db/\n      url  @1\n    name  @3\n");
  r = cairn({"stat", "/config/name"});
  CHECK(r.out == "file rev=3 len=1\n");
  r = cairn({"stat", "--json", "/config"});
  CHECK(r.out ==
        "{\"path\":\"/config\",\"exists\":true,\"rev\":3,\"len\":2,\"dir\":true,\"head\":3}\n");
  r = cairn({"stat", "/nope"});
  CHECK(r.code == 3);
  r = cairn({"rev"});
  CHECK(r.out == "3\n");
  r = cairn({"wait", "--rev", "2", "/config/**"});
  CHECK(r.out == "2 set /config/name from stdin\n\n");
  r = cairn({"wait", "--json", "--rev", "1", "/config/name"});
  CHECK(r.out ==
        "{\"rev\":2,\"path\":\"/config/name\",\"op\":\"set\",\"value\":\"from stdin\\n\"}\n");
  r = cairn({"del", "/config/name"});
  CHECK(r.code == 0);
  CHECK(r.out == "4\n");
  r = cairn({"del", "/config/name"});
  CHECK(r.code == 3);  // no such file
  CHECK(r.err.find("NOENT") != std::string::npos);
  r = cairn({"self", "--json"});
  CHECK(r.out.find("\"events\":\"" + n.events() + "\"") != std::string::npos);
  r = cairn({"set", "/bin", std::string("\xff\xfe", 2)});
  r = cairn({"get", "--json", "/bin"});
  CHECK(r.out.find("\"value_b64\":\"//4=\"") != std::string::npos);
}

TEST_CASE("cli: tree below a directory, with or without a trailing slash", "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/a/b/c", "1"}).code == 0);
  REQUIRE(cairn({"set", "/a/b/d", "2"}).code == 0);
  REQUIRE(cairn({"set", "/a/e", "3"}).code == 0);
  REQUIRE(cairn({"set", "/f", "4"}).code == 0);
  const std::string want = "/a\n  b/\n    c  @1\n    d  @2\n  e  @3\n";
  CHECK(cairn({"tree", "/a"}).out == want);
  CHECK(cairn({"tree", "/a/"}).out == want);
  CHECK(cairn({"tree", "/a/b"}).out == "/a/b\n  c  @1\n  d  @2\n");
  auto r = cairn({"tree", "/a//b"});
  CHECK(r.code == 2);
  CHECK(r.err.find("BAD_PATH") != std::string::npos);
}

TEST_CASE("cli: usage errors exit 127, server errors 2", "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  CHECK(cairn({}).code == 127);
  CHECK(cairn({"frobnicate"}).code == 127);
  CHECK(cairn({"get"}).code == 127);
  CHECK(cairn({"get", "/a", "/b"}).code == 127);
  CHECK(cairn({"--rev", "x", "get", "/a"}).code == 127);
  CHECK(cairn({"--bogus", "rev"}).code == 127);
  auto r = cairn({"get", "no-slash"});
  CHECK(r.code == 2);
  CHECK(r.err.find("BAD_PATH") != std::string::npos);
  CHECK(cairn({"set", "/ctl/x", "v"}).code == 2);
  auto h = test::runProgram({CAIRN_BIN, "--help"});
  CHECK(h.code == 0);
  CHECK(h.out.find("watch GLOB") != std::string::npos);
}

TEST_CASE("cli: CAIRN_ADDR names the node, and a dead address is UNAVAILABLE with exit 2",
          "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  std::string env = "CAIRN_ADDR=" + n.client();
  auto r = test::runProgram({CAIRN_BIN, "rev"}, "", {env});
  CHECK(r.code == 0);
  CHECK(r.out == "0\n");
  r = test::runProgram({CAIRN_BIN, "--timeout", "100", "--addr", "tcp://127.0.0.1:1", "rev"});
  CHECK(r.code == 2);
  CHECK(r.err.find("UNAVAILABLE") != std::string::npos);
}

TEST_CASE("cli: watch streams every matching change in order and resumes with --rev",
          "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  for (int i = 0; i < 20; ++i) {
    REQUIRE(cairn({"set", i % 2 ? "/w/k" + std::to_string(i) : "/other", "v"}).code == 0);
  }
  // watch runs forever: bound it with timeout(1) from coreutils and check what it printed.
  auto r = test::runProgram(
      {"/usr/bin/timeout", "2", CAIRN_BIN, "--addr", n.client(), "watch", "--rev", "1", "/w/**"});
  std::string want;
  for (int i = 1; i < 20; i += 2)
    want += std::to_string(i + 1) + " set /w/k" + std::to_string(i) + " v\n";
  CHECK(r.out == want);
}

TEST_CASE("cli: watch resumes after the node is killed and restarted, missing nothing",
          "[integration][cli]") {
  test::TempDir d;
  const std::string data = d.path() + "/n1";
  auto n = std::make_unique<test::NodeProcess>(data);
  const std::string client = n->client(), events = n->events();
  Cli cairn{client};
  REQUIRE(cairn({"set", "/w/a", "1"}).code == 0);  // rev 1
  test::BackgroundProgram watch(
      {CAIRN_BIN, "--addr", client, "--timeout", "500", "watch", "--json", "--rev", "1", "/w/**"},
      d.path() + "/watch.out");
  const std::string line1 = "{\"rev\":1,\"path\":\"/w/a\",\"op\":\"set\",\"value\":\"1\"}\n";
  REQUIRE(test::eventually([&] { return watch.out() == line1; }));
  n->kill9();
  n = std::make_unique<test::NodeProcess>(
      data, std::vector<std::string>{"--client", client, "--events", events});
  REQUIRE(cairn({"set", "/w/b", "2"}).code == 0);  // rev 2
  REQUIRE(cairn({"set", "/x", "3"}).code == 0);    // rev 3: not watched
  REQUIRE(cairn({"del", "/w/a"}).code == 0);       // rev 4
  const std::string want = line1 +
                           "{\"rev\":2,\"path\":\"/w/b\",\"op\":\"set\",\"value\":\"2\"}\n" +
                           "{\"rev\":4,\"path\":\"/w/a\",\"op\":\"del\",\"value\":\"\"}\n";
  bool ok = test::eventually([&] { return watch.out() == want; }, 20000);
  INFO(watch.out() << watch.err());
  CHECK(ok);
}

TEST_CASE("cli: a bad number is a usage error in cairn, cairn-bench and cairnd, never a silent 0",
          "[integration][cli]") {
  // Nothing listens here: every case must fail while parsing, before any request.
  const std::string addr = "tcp://127.0.0.1:1";
  const std::vector<std::vector<std::string>> cairn = {
      {"--rev", "x", "get", "/a"},     {"get", "--rev", "1x", "/a"},
      {"get", "-r", "", "/a"},         {"--timeout", "x", "rev"},
      {"rev", "--timeout", "0"},       {"rev", "--timeout", "010x"},
      {"watch", "--until", "x", "/a"}, {"feed", "--until", "9999999999999999999999", "/a"},
  };
  for (const auto& args : cairn) {
    std::vector<std::string> argv = {CAIRN_BIN, "--addr", addr};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = test::runProgram(argv);
    INFO("cairn " << args[0] << " " << args[1] << " " << args[2] << ": " << r.err);
    CHECK(r.code == 127);
    CHECK(r.err.find("must be an integer") != std::string::npos);
  }
  const std::vector<std::vector<std::string>> bench = {
      {"--clients", "x"},  {"--clients", "0"},     {"--threads", "x"},     {"--count", "x"},
      {"--keys", "-1"},    {"--value-size", "x"},  {"--write-ratio", "x"}, {"--write-ratio", "2"},
      {"--duration", "x"}, {"--subscribers", "x"}, {"--rate", "0"},        {"--rate", "nan"},
  };
  for (const auto& args : bench) {
    std::vector<std::string> argv = {CAIRN_BENCH_BIN, "--workload", "echo", "--addr", addr};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = test::runProgram(argv);
    INFO("cairn-bench " << args[0] << " " << args[1] << ": " << r.err);
    CHECK(r.code == 127);
    CHECK(r.err.find(args[0] + ": must be") != std::string::npos);
    CHECK(r.out.find("RESULT") == std::string::npos);  // it did not run
  }
  // cairnd's usage errors exit 2, as they always have (tests/unit/node/node_test.cc).
  test::TempDir d;
  const std::vector<std::vector<std::string>> cairnd = {
      {"--id", "x"},          {"--id", "0"},
      {"--id", "010x"},       {"--history", "x"},
      {"--max-value", "1e6"}, {"--snapshot-every", "-5"},
      {"--feed-hwm", "x"},    {"--cluster", "x=tcp://127.0.0.1:1"},
      {"--log-retain", "-1"},
  };
  for (const auto& args : cairnd) {
    std::vector<std::string> argv = {CAIRND_BIN, "--data", d.path() + "/n", "--client", addr};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = test::runProgram(argv);
    INFO("cairnd " << args[0] << " " << args[1] << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(args[0]) != std::string::npos);
  }
}

TEST_CASE("cli: cairn help set and cairn set --help print set's help", "[integration][cli]") {
  auto viaHelp = test::runProgram({CAIRN_BIN, "help", "set"});
  auto viaFlag = test::runProgram({CAIRN_BIN, "set", "--help"});
  CHECK(viaHelp.code == 0);
  CHECK(viaFlag.code == 0);
  CHECK(viaHelp.out == viaFlag.out);
  CHECK(viaHelp.out.find("cairn set [OPTIONS] PATH [VALUE]") != std::string::npos);
  CHECK(viaHelp.out.find("--rev") != std::string::npos);
  CHECK(viaHelp.out.find("--push") == std::string::npos);  // feed's, not set's
  auto feed = test::runProgram({CAIRN_BIN, "feed", "-h"});
  CHECK(feed.out.find("--push") != std::string::npos);
  auto all = test::runProgram({CAIRN_BIN, "help"});
  CHECK(all.code == 0);
  CHECK(all.out.find("watch GLOB") != std::string::npos);
  CHECK(all.out.find("set PATH [VALUE]") != std::string::npos);
  auto bad = test::runProgram({CAIRN_BIN, "help", "frobnicate"});
  CHECK(bad.code == 127);
  CHECK(bad.err.find("frobnicate") != std::string::npos);
}

TEST_CASE("cli: --version prints the version and the commit", "[integration][cli]") {
  for (const std::string& bin :
       {std::string(CAIRN_BIN), std::string(CAIRND_BIN), std::string(CAIRN_BENCH_BIN)}) {
    auto r = test::runProgram({bin, "--version"});
    const std::string name = bin.substr(bin.rfind('/') + 1);
    CHECK(r.code == 0);
    CHECK(r.out == name + " " CAIRN_VERSION " (commit " CAIRN_COMMIT ")\n");
  }
  CHECK(std::string(CAIRN_COMMIT) != "");
}

TEST_CASE("cli: get of a missing file prints nothing, says no such file and exits 3",
          "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/a", "1"}).code == 0);  // rev 1
  auto r = cairn({"get", "/nope"});
  CHECK(r.code == 3);
  CHECK(r.out.empty());
  CHECK(r.err == "cairn: no such file: /nope\n");
  r = cairn({"get", "--json", "/nope"});
  CHECK(r.code == 3);
  CHECK(r.out == "{\"path\":\"/nope\",\"exists\":false,\"head\":1}\n");
  REQUIRE(cairn({"set", "/b", "2"}).code == 0);      // rev 2
  r = cairn({"get", "--json", "--rev", "1", "/b"});  // before it was written
  CHECK(r.code == 3);
  CHECK(r.out == "{\"path\":\"/b\",\"exists\":false,\"head\":1}\n");
  r = cairn({"stat", "/nope"});
  CHECK(r.code == 3);
  CHECK(r.out.empty());
  CHECK(r.err == "cairn: no such file: /nope\n");
  r = cairn({"stat", "--json", "/nope"});
  CHECK(r.code == 3);
  CHECK(r.out == "{\"path\":\"/nope\",\"exists\":false,\"head\":2}\n");
  r = cairn({"get", "/a"});  // and one that exists, to be sure
  CHECK(r.code == 0);
  CHECK(r.out == "1");
  auto help = test::runProgram({CAIRN_BIN, "--help"});
  CHECK(help.out.find("3 no such file") != std::string::npos);
}

TEST_CASE("cli: get writes exactly the value's bytes to a pipe, and ends the line on a terminal",
          "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/a", "no newline"}).code == 0);
  REQUIRE(cairn({"set", "/b", "one newline\n"}).code == 0);
  auto r = cairn({"get", "/a"});
  CHECK(r.code == 0);
  CHECK(r.out == "no newline");
  CHECK(cairn({"get", "/b"}).out == "one newline\n");
  r = runOnTerminal({CAIRN_BIN, "--addr", n.client(), "get", "/a"}, "");
  CHECK(r.code == 0);
  CHECK(r.out == "no newline\n");
  r = runOnTerminal({CAIRN_BIN, "--addr", n.client(), "get", "/b"}, "");
  CHECK(r.out == "one newline\n");  // a value that ends its line is not given a second newline
}

TEST_CASE("cli: set without a VALUE tells a terminal it reads stdin until Ctrl-D",
          "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  auto r = runOnTerminal({CAIRN_BIN, "--addr", n.client(), "set", "/typed"}, "hello\n\x04");
  CHECK(r.code == 0);
  CHECK(r.out == "1\n");
  CHECK(r.err.find("reading the value of /typed from standard input") != std::string::npos);
  CHECK(r.err.find("Ctrl-D") != std::string::npos);
  CHECK(cairn({"get", "/typed"}).out == "hello\n");
  r = cairn({"set", "/piped"}, "bytes");  // from a pipe: not a word
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  r = runOnTerminal({CAIRN_BIN, "--addr", n.client(), "set", "/given", "v"}, "");
  CHECK(r.err.empty());  // a VALUE argument: nothing is read
}

TEST_CASE("cli: watch of a directory's path warns once that it matches only a file, and watches",
          "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/config/a", "1"}).code == 0);
  REQUIRE(cairn({"set", "/config/b", "2"}).code == 0);
  const std::string warning =
      "cairn: /config matches only the file /config; did you mean '/config/**'?\n";
  // --until ends the watch once it is complete to rev 2: it went on after the warning.
  auto r = cairn({"watch", "--rev", "1", "--until", "2", "/config"});
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  CHECK(r.err == warning);
  CHECK(count(r.err, "did you mean") == 1);
  r = cairn({"watch", "--rev", "1", "--until", "2", "/config/**"});
  CHECK(r.code == 0);
  CHECK(r.out == "1 set /config/a 1\n2 set /config/b 2\n");
  CHECK(r.err.empty());
  r = cairn({"watch", "--rev", "1", "--until", "2", "/config/a"});  // a file: as meant
  CHECK(r.out == "1 set /config/a 1\n");
  CHECK(r.err.empty());
  r = cairn({"watch", "--rev", "1", "--until", "2", "/nothing/yet"});  // may be created later
  CHECK(r.err.empty());
}

TEST_CASE("cli: errors say what happened in the CLI's words and keep the code's name",
          "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/config/a", "1"}).code == 0);  // rev 1
  REQUIRE(cairn({"set", "/config/a", "2"}).code == 0);  // rev 2
  auto r = cairn({"get", "/config"});
  CHECK(r.code == 2);
  CHECK(r.err == "cairn: /config is a directory (ISDIR); list it with: cairn ls /config\n");
  r = cairn({"add", "/config/a", "x"});
  CHECK(r.code == 1);
  CHECK(r.err ==
        "cairn: /config/a already exists at rev 2 (REV_MISMATCH); cairn set /config/a "
        "VALUE replaces it\n");
  r = cairn({"set", "--rev", "1", "/config/a", "x"});
  CHECK(r.code == 1);
  CHECK(r.err.find("/config/a changed after rev 1: it is at rev 2 now (REV_MISMATCH)") !=
        std::string::npos);
  r = cairn({"del", "--rev", "1", "/config/a"});
  CHECK(r.code == 1);
  CHECK(r.err.find("it is at rev 2 now (REV_MISMATCH); nothing deleted") != std::string::npos);
  r = cairn({"set", "/config", "x"});
  CHECK(r.code == 2);
  CHECK(r.err.find("/config is a directory (ISDIR)") != std::string::npos);
  r = cairn({"del", "/config/nope"});
  CHECK(r.code == 3);
  CHECK(r.err == "cairn: no such file: /config/nope (NOENT)\n");
  r = cairn({"ls", "/config/a"});
  CHECK(r.code == 2);
  CHECK(r.err == "cairn: /config/a is a file (NOTDIR); print it with: cairn get /config/a\n");
  r = test::runProgram({CAIRN_BIN, "--addr", "tcp://127.0.0.1:1", "--timeout", "100", "rev"});
  CHECK(r.code == 2);
  CHECK(r.err ==
        "cairn: no node answered at tcp://127.0.0.1:1 within 1 s (is cairnd running? is "
        "--addr/CAIRN_ADDR right?) (UNAVAILABLE)\n");
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"get", "/config"}, {"add", "/config/a", "x"}}) {
    r = cairn(args);  // the protocol's words stay out
    CHECK(r.err.find("GETDIR") == std::string::npos);
    CHECK(r.err.find("request has") == std::string::npos);
  }
}

TEST_CASE("cli: a read that finds no quorum suggests --local", "[integration][cli]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  REQUIRE(c.awaitLeader() > 0);
  const std::string one = c.client(1);
  REQUIRE(test::runProgram({CAIRN_BIN, "--addr", one, "set", "/a", "1"}).code == 0);
  c.kill9(2);
  c.kill9(3);
  auto r = test::runProgram({CAIRN_BIN, "--addr", one, "--timeout", "8000", "get", "/a"});
  CHECK(r.code == 2);
  CHECK(r.err.find("UNAVAILABLE") != std::string::npos);
  CHECK(r.err.find("use --local") != std::string::npos);
  CHECK(r.err.find("consistency") == std::string::npos);
  r = test::runProgram({CAIRN_BIN, "--addr", one, "get", "--local", "/a"});
  CHECK(r.code == 0);
  CHECK(r.out == "1");
}

TEST_CASE("cli: self prints the node's role, slot, lag, uptime, fsync and value limit",
          "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1", {"--max-value", "4096"});
  Cli cairn{n.client()};
  REQUIRE(cairn({"set", "/a", "1"}).code == 0);
  auto r = cairn({"self"});
  CHECK(r.code == 0);
  for (const char* line :
       {"\nrole leader\n", "\nslot ", "\nlag 0\n", "\nuptime ", "\nfsync ", "\nmax_value 4096\n"}) {
    INFO(r.out);
    CHECK(r.out.find(line) != std::string::npos);
  }
  r = cairn({"self", "--json"});
  for (const char* key : {"\"role\":\"leader\"", "\"slot\":", "\"lag\":0,",
                          "\"uptime_ms\":", "\"fsync_us\":", "\"max_value\":4096"}) {
    INFO(r.out);
    CHECK(r.out.find(key) != std::string::npos);
  }
}

TEST_CASE("cli: . and .. are refused as path names, not resolved", "[integration][cli]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  Cli cairn{n.client()};
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"set", "/dot/./x", "1"},
        std::vector<std::string>{"get", "/a/../b"}, std::vector<std::string>{"find", "/a/./**"}}) {
    INFO(args[0] << " " << args[1]);
    auto r = cairn(args);
    CHECK(r.code == 2);
    CHECK(r.err.find("\".\" and \"..\" are not names (BAD_PATH)") != std::string::npos);
  }
  CHECK(cairn({"ls", "/"}).out.empty());                // nothing was created
  auto r = cairn({"set", "/dots/.a/..b/...", "fine"});  // names that merely hold dots are names
  CHECK(r.code == 0);
  CHECK(cairn({"get", "/dots/.a/..b/..."}).out == "fine");
}
