// Where each parameter block lives in the flat parameter vector.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace vaeconv {

enum class Group { theta = 0, phi = 1 };  // decoder, encoder

struct Block {
  std::string name;
  std::size_t offset, rows, cols;
  Group group;
  bool weight;  // a weight matrix (initialised at random), else a bias or scalar
  std::size_t size() const { return rows * cols; }
};

// Blocks are laid out in the order they are added; every theta block must be
// added before the first phi block, so theta is par[0, n_theta) and phi is
// par[n_theta, size).
class Layout {
 public:
  std::size_t add(const std::string& name, std::size_t rows, std::size_t cols,
                  Group group, bool weight = false) {
    blocks_.push_back(Block{name, size_, rows, cols, group, weight});
    size_ += rows * cols;
    if (group == Group::theta) n_theta_ = size_;
    return blocks_.back().offset;
  }
  const std::vector<Block>& blocks() const { return blocks_; }
  std::size_t size() const { return size_; }
  std::size_t n_theta() const { return n_theta_; }

 private:
  std::vector<Block> blocks_;
  std::size_t size_ = 0, n_theta_ = 0;
};

// A dense layer y = W x + b; W is out x in, column-major.
struct Dense {
  std::size_t in = 0, out = 0, w = 0, b = 0;
};

}  // namespace vaeconv
