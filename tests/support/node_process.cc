#include "tests/support/node_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace cairn::test {

client::Client clientFor(const std::string& endpoints, bool local) {
  client::Options o;
  o.endpoints = client::splitEndpoints(endpoints);
  o.timeout = std::chrono::milliseconds(8000);
  o.localReads = local;
  return client::Client(o);
}

Files walkFiles(client::Client& c, const std::string& glob, std::optional<std::int64_t> rev) {
  auto w = c.walk(glob, rev);
  if (!w) throw std::runtime_error("WALK " + glob + ": " + w.status().toString());
  Files out;
  for (const auto& e : *w)
    out[e.path] = {e.rev, e.value.value_or("")};
  return out;
}

bool awaitRev(const std::string& endpoint, std::int64_t rev, int timeoutMs) {
  auto local = clientFor(endpoint, true);
  return eventually(
      [&] {
        auto r = local.rev();
        return r.isOk() && *r >= rev;
      },
      timeoutMs);
}

std::int64_t counter(const std::string& endpoint, const std::string& name) {
  auto c = clientFor(endpoint);
  auto r = c.self();
  if (!r || !r->stats) return -1;
  for (const auto& ctr : *r->stats) {
    if (ctr.name == name) return ctr.value;
  }
  return 0;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/cairn-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  // CAIRN_KEEP_TEST_DIRS=1 leaves the nodes' data and logs behind for a post-mortem.
  if (const char* keep = std::getenv("CAIRN_KEEP_TEST_DIRS"); keep && *keep == '1') return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

namespace {

// In a forked child: runs argv[0] with argv, or exits 126.
[[noreturn]] void execArgs(std::vector<std::string> argv) {
  // Whatever a test starts dies with it, even when the test itself crashes or is killed (the
  // signal comes when the thread that forked exits: tests start programs from their main thread).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::vector<char*> av;
  for (auto& a : argv)
    av.push_back(a.data());
  av.push_back(nullptr);
  ::execv(av[0], av.data());
  _exit(126);
}

std::string field(const std::string& line, const std::string& key) {
  auto p = line.find(key + "=");
  if (p == std::string::npos) return "";
  p += key.size() + 1;
  return line.substr(p, line.find(' ', p) - p);
}

}  // namespace

NodeProcess::NodeProcess(std::string dataDir, std::vector<std::string> extra)
    : dataDir_(std::move(dataDir)) {
  log_ = dataDir_ + ".log";
  // Ports from freePort(), not `*`: the OS hands out `*` ports from the range it also uses for
  // outgoing connections, so a port a killed node held could be taken by another test's client
  // before the node is restarted on it.
  const auto loopback = [] { return "tcp://127.0.0.1:" + std::to_string(freePort()); };
  std::vector<std::string> args = {CAIRND_BIN, "--data",   dataDir_,  "--client",
                                   loopback(), "--events", loopback()};
  args.insert(args.end(), extra.begin(), extra.end());
  // The log is appended to across restarts: look only at what this process writes.
  std::error_code ec;
  std::size_t from = static_cast<std::size_t>(std::filesystem::file_size(log_, ec));
  if (ec) from = 0;
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 2);
      ::dup2(fd, 1);
    }
    execArgs(args);
  }
  std::string readyLine;
  bool ok = eventually(
      [&] {
        std::string log = slurp(log_);
        std::string mark = "ready client=";
        auto p = log.find(mark, from);
        if (p == std::string::npos) {
          int st;
          if (::waitpid(pid_, &st, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("cairnd exited before it was ready:\n" + log);
          }
          return false;
        }
        auto e = log.find('\n', p);
        if (e == std::string::npos) return false;
        readyLine = log.substr(p, e - p);
        return true;
      },
      60000);  // a node that --joins waits for the cluster's answer first (slow under ASan)
  if (!ok) {
    kill9();
    throw std::runtime_error("cairnd was not ready within 60 s:\n" + slurp(log_));
  }
  client_ = field(readyLine, "client");
  events_ = field(readyLine, "events");
  web_ = field(readyLine, "web");  // http://HOST:PORT/
  if (web_.rfind("http://", 0) == 0) web_ = web_.substr(7);
  if (!web_.empty() && web_.back() == '/') web_.pop_back();
}

NodeProcess::~NodeProcess() {
  if (pid_ > 0) kill9();
}

void NodeProcess::reap(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  int st = 0;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
}

int NodeProcess::awaitExit(int timeoutMs) {
  int code = -1;
  eventually(
      [&] {
        if (pid_ <= 0) return true;
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) != pid_) return false;
        pid_ = -1;
        code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        return true;
      },
      timeoutMs);
  return code;
}

void NodeProcess::kill9() {
  reap(SIGKILL);
}

void NodeProcess::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void NodeProcess::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

int NodeProcess::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int st = 0;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
  return st;
}

BackgroundProgram::BackgroundProgram(const std::vector<std::string>& argv,
                                     const std::string& outFile)
    : outFile_(outFile) {
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int out = ::open(outFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open((outFile + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    execArgs(argv);
  }
}

BackgroundProgram::~BackgroundProgram() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::kill(pid_, SIGCONT);  // a stopped program acts on SIGTERM only once it runs
    int st;
    ::waitpid(pid_, &st, 0);
  }
}

void BackgroundProgram::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int BackgroundProgram::wait(int timeoutMs) {
  int code = -1;
  bool done = eventually(
      [&] {
        int st;
        if (pid_ <= 0 || ::waitpid(pid_, &st, WNOHANG) != pid_) return false;
        pid_ = -1;
        if (WIFEXITED(st)) code = WEXITSTATUS(st);
        return true;
      },
      timeoutMs);
  return done ? code : -1;
}

std::string BackgroundProgram::out() const {
  return slurp(outFile_);
}
std::string BackgroundProgram::err() const {
  return slurp(outFile_ + ".err");
}

int freePort() {
  static int next = static_cast<int>(::getpid() * 7919 % 10000);
  for (int tries = 0; tries < 10000; ++tries) {
    int port = 20000 + (next++ % 10000);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return port;
  }
  throw std::runtime_error("no free port in 20000..29999");
}

Cluster::Cluster(const std::string& dir, int n, std::vector<std::string> extra)
    : dir_(dir), extra_(std::move(extra)) {
  for (int i = 1; i <= n; ++i) {
    if (!list_.empty()) list_ += ",";
    peers_.push_back("tcp://127.0.0.1:" + std::to_string(freePort()));
    list_ += std::to_string(i) + "=" + peers_.back();
  }
  nodes_.resize(static_cast<std::size_t>(n));
  lastEndpoints_.resize(static_cast<std::size_t>(n));
  for (int i = 1; i <= n; ++i)
    start(i);
}

std::string Cluster::clients() const {
  std::string s;
  for (const auto& n : nodes_) {
    if (n) s += (s.empty() ? "" : ",") + n->client();
  }
  return s;
}

void Cluster::kill9(int id) {
  auto& n = nodes_.at(static_cast<std::size_t>(id - 1));
  if (n) lastEndpoints_.at(static_cast<std::size_t>(id - 1)) = {n->client(), n->events()};
  n.reset();
}

void Cluster::start(int id) {
  launch(id, {});
}

void Cluster::restart(int id) {
  const auto& [client, events] = lastEndpoints_.at(static_cast<std::size_t>(id - 1));
  if (client.empty()) throw std::runtime_error("restart of a node that was never killed");
  launch(id, {"--client", client, "--events", events});
}

void Cluster::launch(int id, std::vector<std::string> args) {
  args.insert(args.end(), {"--id", std::to_string(id), "--cluster", list_});
  args.insert(args.end(), extra_.begin(), extra_.end());
  nodes_.at(static_cast<std::size_t>(id - 1)) =
      std::make_unique<NodeProcess>(dir_ + "/n" + std::to_string(id), args);
}

int Cluster::awaitLeader(int timeoutMs) {
  int leader = 0;
  eventually(
      [&] {
        int agreed = -1;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
          if (!nodes_[i]) continue;
          RunResult r =
              runProgram({CAIRN_BIN, "--timeout", "500", "--addr", nodes_[i]->client(), "self"});
          auto p = r.out.find("leader ");
          if (r.code != 0 || p == std::string::npos) return false;
          int l = std::atoi(r.out.c_str() + p + 7);
          if (l == 0 || (agreed != -1 && l != agreed)) return false;
          agreed = l;
        }
        leader = agreed;
        return agreed > 0 && nodes_.at(static_cast<std::size_t>(agreed - 1)) != nullptr;
      },
      timeoutMs);
  return leader;
}

int Cluster::awaitSettled(int timeoutMs) {
  const int leader = awaitLeader(timeoutMs);
  if (leader == 0) return 0;
  auto cl = clientFor(clients());
  auto is = [&](const std::string& path, const std::string& want) {
    auto f = cl.get(path);
    return f.isOk() && f->value == want;
  };
  const bool settled = eventually(
      [&] {
        if (!is("/ctl/leader", std::to_string(leader))) return false;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
          const std::string id = std::to_string(i + 1);
          auto member = cl.get("/ctl/members/" + id);
          if (!member.isOk() || member->rev == 0) return false;
          if (!nodes_[i]) continue;
          if (!is("/ctl/nodes/" + id + "/client", nodes_[i]->client()) ||
              !is("/ctl/nodes/" + id + "/events", nodes_[i]->events()))
            return false;
          // A node reports again what its own store does not show yet: its own view must.
          auto own = clientFor(nodes_[i]->client(), true);
          auto c = own.get("/ctl/nodes/" + id + "/client");
          auto e = own.get("/ctl/nodes/" + id + "/events");
          if (!c.isOk() || c->value != nodes_[i]->client() || !e.isOk() ||
              e->value != nodes_[i]->events())
            return false;
        }
        return true;
      },
      timeoutMs);
  return settled ? leader : 0;
}

RunResult runProgram(const std::vector<std::string>& argv, const std::string& input,
                     const std::vector<std::string>& env) {
  int in[2], out[2], err[2];
  if (::pipe(in) || ::pipe(out) || ::pipe(err)) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]})
      ::close(fd);
    for (const auto& e : env)
      ::putenv(const_cast<char*>(e.c_str()));
    execArgs(argv);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  // Feed stdin and read both outputs without blocking on any one of them.
  std::size_t written = 0;
  if (input.empty()) {
    ::close(in[1]);
    in[1] = -1;
  }
  RunResult r;
  bool outOpen = true, errOpen = true;
  while (outOpen || errOpen || in[1] >= 0) {
    pollfd fds[3];
    int n = 0;
    int iOut = -1, iErr = -1, iIn = -1;
    if (outOpen) fds[iOut = n++] = {out[0], POLLIN, 0};
    if (errOpen) fds[iErr = n++] = {err[0], POLLIN, 0};
    if (in[1] >= 0) fds[iIn = n++] = {in[1], POLLOUT, 0};
    ::poll(fds, static_cast<nfds_t>(n), -1);
    char buf[65536];
    if (iOut >= 0 && fds[iOut].revents) {
      ssize_t k = ::read(out[0], buf, sizeof buf);
      if (k <= 0)
        outOpen = false;
      else
        r.out.append(buf, static_cast<std::size_t>(k));
    }
    if (iErr >= 0 && fds[iErr].revents) {
      ssize_t k = ::read(err[0], buf, sizeof buf);
      if (k <= 0)
        errOpen = false;
      else
        r.err.append(buf, static_cast<std::size_t>(k));
    }
    if (iIn >= 0 && fds[iIn].revents) {
      ssize_t k = ::write(in[1], input.data() + written, input.size() - written);
      if (k > 0) written += static_cast<std::size_t>(k);
      if (k <= 0 || written == input.size()) {
        ::close(in[1]);
        in[1] = -1;
      }
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

}  // namespace cairn::test
