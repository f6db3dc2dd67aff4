// Process runtime: termination signals for thin mains.
#pragma once

namespace pdnsd {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread; threads started afterwards inherit
// the mask, so only WaitForTerminationSignal() sees them. Call first thing in main().
void BlockTerminationSignals();

// Waits until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForTerminationSignal();

}  // namespace pdnsd
