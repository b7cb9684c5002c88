// Exercise 2-16 — reference solution: the sample tsTservKeep (samples/tsTservKeep.cpp) answers
// both parts: a handler that keeps the connection for all of a client's lines, on
// ThreadingTCPServer. Compiled here as it is.
#include "tsTservKeep.cpp"
