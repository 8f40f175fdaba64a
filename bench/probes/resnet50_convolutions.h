// The convolutions of torchvision's ResNet-50 v1.5 (stride on the 3x3), as the cuDNN INT8 probes time them: input
// H = W, in / out channels, kernel R = S, stride, occurrences. The stem's 3 channels padded to 4.
#pragma once

struct ConvShape {
  int h, c, k, r, stride, count;
};

static const ConvShape kResNet50Convolutions[] = {
    {224, 4, 64, 7, 2, 1},
    {56, 64, 64, 1, 1, 1},    {56, 256, 64, 1, 1, 2},   {56, 64, 64, 3, 1, 3},    {56, 64, 256, 1, 1, 4},
    {56, 256, 128, 1, 1, 1},  {56, 128, 128, 3, 2, 1},  {28, 128, 512, 1, 1, 4},  {56, 256, 512, 1, 2, 1},
    {28, 512, 128, 1, 1, 3},  {28, 128, 128, 3, 1, 3},  {28, 512, 256, 1, 1, 1},  {28, 256, 256, 3, 2, 1},
    {14, 256, 1024, 1, 1, 6}, {28, 512, 1024, 1, 2, 1}, {14, 1024, 256, 1, 1, 5}, {14, 256, 256, 3, 1, 5},
    {14, 1024, 512, 1, 1, 1}, {14, 512, 512, 3, 2, 1},  {7, 512, 2048, 1, 1, 3},  {14, 1024, 2048, 1, 2, 1},
    {7, 2048, 512, 1, 1, 2},  {7, 512, 512, 3, 1, 2},
};
