// Exercise 2-10 — reference solution: the sample chatserv (samples/chatserv.cpp), a chat
// server with many users and rooms on the reactor. Compiled here as it is.
#include "chatserv.cpp"
