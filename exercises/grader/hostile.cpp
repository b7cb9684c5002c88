// hostile.cpp — the worst a student's program can do to a grader, for the kit's self-test
// (grader/selftest.py, ctest exercise_kit_survives_a_hostile_program): it ignores Ctrl-C and
// SIGTERM, ignores --host/--port and never listens, forks a child that outlives it, and floods
// stdout without end. The grader must report failed checks in bounded time, keep bounded
// memory, and leave no process behind.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>

int main() {
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  const pid_t child = fork();
  if (child == 0) {
    for (;;) pause();  // the child: sleeps for ever
  }
  const std::string pid_line = "child " + std::to_string(child) + "\n";
  if (write(2, pid_line.data(), pid_line.size()) < 0) return 1;
  const std::string spam(4096, 'x');
  for (;;) {
    if (write(1, spam.data(), spam.size()) < 0) return 1;
  }
}
