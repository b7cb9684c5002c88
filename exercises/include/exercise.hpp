// exercise.hpp — the exercises' few extra command-line flags, next to samples/common.hpp.
//
// samples::parse_args() reads --host, --port and --help. Some exercises have one program with
// two roles (--server), a protocol switch (--udp) or options of their own (--output FILE);
// take those out of the arguments first, then hand the rest to parse_args:
//
//   exercise::Args args(argc, argv);
//   const bool server = args.take_flag("--server");
//   const std::string output = args.take_option("--output", "page.html");
//   const samples::Options opts = samples::parse_args(args.argc(), args.argv(), {...});
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace exercise {

class Args {
 public:
  Args(int argc, char* argv[]) : args_(argv, argv + argc) {}

  /// True when `name` ("--server") was given; it is removed from the arguments.
  bool take_flag(std::string_view name) {
    return std::erase_if(args_, [name](const char* a) { return name == a; }) > 0;
  }

  /// True when `name` ("--port") is among the arguments, as "--port 80" or "--port=80"; it
  /// stays there (for parse_args to read).
  [[nodiscard]] bool has(std::string_view name) const {
    return std::any_of(args_.begin() + 1, args_.end(), [name](std::string_view a) {
      return a == name || (a.starts_with(name) && a.size() > name.size() && a[name.size()] == '=');
    });
  }

  /// The value of `name` ("--output FILE" or "--output=FILE"), or `fallback` when absent;
  /// removed from the arguments. A name with no value after it is left for parse_args to
  /// report as an unknown argument.
  std::string take_option(std::string_view name, std::string fallback) {
    for (std::size_t i = 1; i < args_.size(); ++i) {
      const std::string_view a = args_[i];
      if (a == name && i + 1 < args_.size()) {
        std::string value = args_[i + 1];
        args_.erase(args_.begin() + static_cast<std::ptrdiff_t>(i),
                    args_.begin() + static_cast<std::ptrdiff_t>(i + 2));
        return value;
      }
      if (a.size() > name.size() && a.starts_with(name) && a[name.size()] == '=') {
        std::string value(a.substr(name.size() + 1));
        args_.erase(args_.begin() + static_cast<std::ptrdiff_t>(i));
        return value;
      }
    }
    return fallback;
  }

  /// What is left, for samples::parse_args(args.argc(), args.argv(), ...).
  [[nodiscard]] int argc() const { return static_cast<int>(args_.size()); }
  char** argv() { return args_.data(); }

 private:
  std::vector<char*> args_;
};

}  // namespace exercise
