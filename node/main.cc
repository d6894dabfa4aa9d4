// cairnd: one Cairn node.

#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "node/config.h"
#include "node/identity.h"
#include "node/node.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  cairn::node::ParseOutcome parsed = cairn::node::parseArgs(args);
  if (!parsed.run) {
    std::fputs(parsed.message.c_str(), parsed.exitCode == 0 ? stdout : stderr);
    return parsed.exitCode;
  }
  // Signals arrive on a signalfd that the event loop polls; block them before any thread starts
  // (libzmq's I/O threads inherit the mask).
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    std::perror("cairnd: signalfd");
    return 1;
  }

  // Every feed subscriber and client connection is a descriptor: take all the system allows.
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &nofile);
  }

  zmq::context_t ctx(1);
  int code = 0;
  {
    cairn::node::Node server(parsed.config, ctx);
    cairn::wire::Status s = server.start();
    if (!s.isOk()) {
      if (server.wrongData()) {
        std::fprintf(stderr, "cairnd: %s\n", s.detail().c_str());
        return cairn::node::kExitWrongData;
      }
      std::fprintf(stderr, "cairnd: cannot start: %s\n", s.toString().c_str());
      return 1;
    }
    const std::string web =
        server.webListening().empty() ? "" : " web=http://" + server.webListening() + "/";
    std::fprintf(stderr, "cairnd: node %lld ready client=%s events=%s%s rev=%lld; %s\n",
                 static_cast<long long>(server.id()), server.clientEndpoint().c_str(),
                 server.eventsEndpoint().c_str(), web.c_str(), static_cast<long long>(server.rev()),
                 server.startupNote().c_str());
    std::fflush(stderr);
    code = server.run(sfd);
    std::fprintf(stderr, "cairnd: node %lld stopped at rev %lld\n",
                 static_cast<long long>(server.id()), static_cast<long long>(server.rev()));
  }
  ::close(sfd);
  return code;
}
