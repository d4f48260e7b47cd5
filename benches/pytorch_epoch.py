"""The training loop of `train_epoch.rs`, in PyTorch: MNIST-shaped data, `depth` hidden
layers of `width` ReLU nodes, Glorot-uniform init, Adam (lr 1e-3), MSE against one-hot
targets, batch 128, reshuffled every epoch. Prints one line per epoch: `epoch <i> <seconds>`.

Usage: python pytorch_epoch.py X.npy Y.npy THREADS EPOCHS DEPTH WIDTH
"""
import sys
import time

import numpy as np
import torch


def main():
    x_path, y_path, threads, epochs, depth, width = sys.argv[1:7]
    threads, epochs, depth, width = int(threads), int(epochs), int(depth), int(width)
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.from_numpy(np.load(x_path))
    y = torch.from_numpy(np.load(y_path).astype(np.int64))
    layers, fan_in = [], x.shape[1]
    for _ in range(depth):
        layers += [torch.nn.Linear(fan_in, width), torch.nn.ReLU()]
        fan_in = width
    layers.append(torch.nn.Linear(fan_in, 10))
    model = torch.nn.Sequential(*layers)
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = x.shape[0]
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n)
        for i in range(0, n, 128):
            idx = order[i:i + 128]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            out = model(xb)
            loss = torch.nn.functional.mse_loss(out, torch.nn.functional.one_hot(yb, 10).float())
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch} {time.perf_counter() - start:.4f}", flush=True)


if __name__ == "__main__":
    main()
