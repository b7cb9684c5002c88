// Exercise 2-9 — reference solution: the sample chatserv (samples/chatserv.cpp), a chat server
// for many users on the reactor, answers it (and its rooms answer exercise 2-10). Compiled
// here as it is.
#include "chatserv.cpp"
