// Wording shared by the build-log lines of the tactic stages (gemm_tactics.cc, cudnn_plan_choices.cc).
#pragma once
#include <cstdio>
#include <string>

namespace inferrt {

// "1.2 s"
inline std::string formatSeconds(double s) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f s", s);
  return text;
}

}  // namespace inferrt
