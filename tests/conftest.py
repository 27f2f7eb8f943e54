import os, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault('NAS_LT_PROGRESS', '0')
# Tests must stay fast on 2 CPU cores: one torch thread per process, also in subprocesses.
os.environ.setdefault('OMP_NUM_THREADS', '1')
try:
    import torch
    torch.set_num_threads(1)
except ImportError: pass
