// Exercise 2-15 — reference solution: the sample tsTservThreaded (samples/tsTservThreaded.cpp)
// answers it, ThreadingTCPServer = ThreadingMixIn<TCPServer>. Compiled here as it is.
#include "tsTservThreaded.cpp"
