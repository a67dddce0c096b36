#pragma once

// A uniquely named, empty file under /tmp, removed when the object goes.

#include <stdexcept>
#include <string>

#include <stdlib.h>
#include <unistd.h>

namespace tao::test {

/// Owns a fresh temporary file (mkstemp); not thread-safe.
class temp_file {
public:
  /// Creates `/tmp/<prefix>-` plus a unique suffix; throws if it cannot.
  explicit temp_file(const std::string& prefix) {
    std::string name = "/tmp/" + prefix + "-" + std::string(6, 'X'); // mkstemp's template
    auto fd = ::mkstemp(name.data());
    if (fd < 0)
      throw std::runtime_error("mkstemp failed");
    ::close(fd);
    path_ = name;
  }

  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;

  ~temp_file() {
    ::unlink(path_.c_str());
  }

  /// The file's path.
  const std::string& path() const noexcept {
    return path_;
  }

private:
  std::string path_;
};

} // namespace tao::test
