#include "core/runtime.h"

#include <pthread.h>
#include <signal.h>

namespace pdnsd {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a peer closing a socket must not kill the service
}

int WaitForTerminationSignal() {
  sigset_t set = TerminationSignals();
  for (;;) {
    int signal_number = 0;
    if (sigwait(&set, &signal_number) != 0) continue;
    if (signal_number == SIGHUP) continue;  // no reload yet; ignore rather than die
    return signal_number;
  }
}

}  // namespace pdnsd
