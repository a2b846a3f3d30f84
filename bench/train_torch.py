#!/usr/bin/python3
"""The classify recipe's reference network in Python (Debian's python3-torch),
trained on the same digits as kura's run in bench/train.sh, for comparison.

  bench/train_torch.py DATA_DIR EPOCHS THREADS SEED

DATA_DIR holds train_x.u8/train_y.u8/val_x.u8/val_y.u8 (bench/digits.py).
Prints one JSON line: images_per_second (training loops only), validation
accuracy after the last epoch, peak RSS in bytes, seconds.
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)
        self.conv2, self.bn2 = nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64)
        self.conv3, self.bn3 = nn.Conv2d(64, 128, 3, padding=1, bias=False), nn.BatchNorm2d(128)
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        return self.fc(x.mean((2, 3)))


def load(data, name):
    x = torch.frombuffer(bytearray(open(os.path.join(data, name + "_x.u8"), "rb").read()), dtype=torch.uint8)
    y = torch.frombuffer(bytearray(open(os.path.join(data, name + "_y.u8"), "rb").read()), dtype=torch.uint8)
    x = x.view(-1, 1, 20, 20).float()
    # 20x20 grayscale to 32x32 RGB, scaled to [-1, 1] as kura does.
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 255).round()
    return x.expand(-1, 3, -1, -1).contiguous().div(127.5).sub(1.0), y.long()


def main():
    data, epochs, threads, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    start = time.monotonic()
    train_x, train_y = load(data, "train")
    val_x, val_y = load(data, "val")
    model = SmallNet(10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    train_seconds, images, accuracy = 0.0, 0, 0.0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(train_y), generator=g)
        t = time.monotonic()
        for at in range(0, len(order), 32):
            idx = order[at:at + 32]
            if len(idx) < 2:
                break
            x, y = train_x[idx], train_y[idx]
            opt.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            # kura reads the loss and the number right each batch for its progress line.
            loss.item(), logits.argmax(1).eq(y).sum().item()
            images += len(idx)
        train_seconds += time.monotonic() - t
        model.eval()
        with torch.no_grad():
            correct = 0
            for at in range(0, len(val_y), 256):
                correct += model(val_x[at:at + 256]).argmax(1).eq(val_y[at:at + 256]).sum().item()
        accuracy = correct / len(val_y)
    print(json.dumps({"images_per_second": images / train_seconds, "validation_accuracy": accuracy,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "seconds": time.monotonic() - start}))


if __name__ == "__main__":
    main()
