#pragma once
// Real network faults between cairnd processes on one machine: a TCP proxy per directed peer
// link. Node i reaches node j through link (i, j) (cairnd --peer-via), so a link can be cut
// (its connections closed and new ones refused: a partition), or slowed (every byte held for a
// delay before it is forwarded, in order). The nodes see real TCP behaviour: resets, reconnects,
// stalls.
//
// One thread serves every link with poll(2). Thread: cut() and delay() may be called from any
// thread.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cairn::fault {

class FaultNet {
 public:
  FaultNet();
  ~FaultNet();
  FaultNet(const FaultNet&) = delete;
  FaultNet& operator=(const FaultNet&) = delete;

  // A link from node `from` to node `to`, whose peer ROUTER listens on 127.0.0.1:targetPort.
  // Returns the endpoint node `from` must use for `to`. Call before start().
  std::string addLink(int from, int to, int targetPort);
  void start();

  // Cuts (or heals) both directions between a and b.
  void cut(int a, int b, bool on);
  // Holds every byte on every link for `ms` before forwarding it (0: no delay).
  void delayAll(int ms);
  void healAll();

 private:
  struct Link;
  void loop();
  std::vector<std::unique_ptr<Link>> links_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cairn::fault
